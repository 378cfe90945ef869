/* SIGSEGV for mprotect tracking (signals.c). */
#ifndef USWAP_PRELOAD_SIGNALS_H
#define USWAP_PRELOAD_SIGNALS_H

/* Install our SIGSEGV handler, the program's action kept aside; 0 or -1. */
int signals_install_segv(void);

#endif
