/* Messages of the uswap command: one line on stderr, "uswap: PREFIX...". */
#ifndef USWAP_CLI_MSG_H
#define USWAP_CLI_MSG_H

/* prefix: "" for the command itself, "warning: ", "report: ", "ctl: "... */
void cli_msg(const char *prefix, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* cli_msg; returns 2, the exit status of an error. */
int cli_error(const char *prefix, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* cli_msg, then exit status 2: a bad setting or input, nothing was run. */
void cli_die(const char *prefix, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

#endif
