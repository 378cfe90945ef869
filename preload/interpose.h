/* Interposing libc: EXPORT gives one of our definitions of a libc name
 * default visibility (the rest of the object is hidden; libuswap.map lists
 * what is exported). */
#ifndef USWAP_PRELOAD_INTERPOSE_H
#define USWAP_PRELOAD_INTERPOSE_H

#define EXPORT __attribute__((visibility("default")))

#endif
