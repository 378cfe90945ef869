#ifndef USWAP_LOG_H
#define USWAP_LOG_H

/* One line on stderr, prefixed "uswap: ". Never allocates; safe on any thread. */
void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, at most once per call site. */
#define log_once(...)                                                  \
	do {                                                           \
		static int once_;                                      \
		if (!__atomic_exchange_n(&once_, 1, __ATOMIC_RELAXED)) \
			log_line(__VA_ARGS__);                         \
	} while (0)
/* Print and end the program with status 2 (configuration errors, before it runs). */
void log_fatal_config(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Print and end the program the way the kernel's OOM killer would. */
void log_oom_kill(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
