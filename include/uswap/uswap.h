/* uswap public API.
 *
 * Programs need nothing from this header to run under uswap: the runtime is
 * preloaded and transparent. It names the settings and counters for tools
 * that read them. */
#ifndef USWAP_USWAP_H
#define USWAP_USWAP_H

#define USWAP_VERSION_MAJOR 0
#define USWAP_VERSION_MINOR 1

/* Environment variables read by libuswap.so (see README.md). */
#define USWAP_ENV_LIMIT "USWAP_LIMIT"
#define USWAP_ENV_SWAP "USWAP_SWAP"
#define USWAP_ENV_SWAP_SIZE "USWAP_SWAP_SIZE"
#define USWAP_ENV_SWAPPINESS "USWAP_SWAPPINESS"
#define USWAP_ENV_STATS "USWAP_STATS"
#define USWAP_ENV_TRACK "USWAP_TRACK"

#endif
