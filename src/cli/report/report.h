/* uswap report: turn a run's stats file and trace into an HTML page and a
 * plain-text summary. */
#ifndef USWAP_REPORT_H
#define USWAP_REPORT_H

/* argv[0] is "report"; returns the exit status (0, or 2 on any error). */
int report_main(int argc, char **argv);

#endif
