/* uswap ctl: read and change a running program's settings through its
 * control socket (src/control/ctl.c). */
#ifndef USWAP_CTL_CLIENT_H
#define USWAP_CTL_CLIENT_H

/* argv[0] is "ctl"; returns the exit status (0, or 2 on any error). */
int ctl_main(int argc, char **argv);

#endif
