/* fork() under uswap (fork.c): the pthread_atfork handlers, one protocol
 * that calls each module's hook in a fixed order. */
#ifndef USWAP_FORK_H
#define USWAP_FORK_H

#include <stdbool.h>

void fork_prepare(void);
void fork_parent(void);
/* Returns false if the child runs unmanaged. */
bool fork_child(void);

#endif
