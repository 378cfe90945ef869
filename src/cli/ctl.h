/* uswap ctl: read and change a running program's settings through its
 * control socket (src/ctl.c). */
#ifndef USWAP_CLI_CTL_H
#define USWAP_CLI_CTL_H

/* argv[0] is "ctl"; returns the exit status (0, or 2 on any error). */
int ctl_main(int argc, char **argv);

#endif
