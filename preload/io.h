/* read and write on mapped files (io.c). */
#ifndef USWAP_PRELOAD_IO_H
#define USWAP_PRELOAD_IO_H

/* Find libc's read/write family now (at load), not on first use. */
void io_init(void);

#endif
