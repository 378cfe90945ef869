/* Programs this one runs (exec.c). */
#ifndef USWAP_PRELOAD_EXEC_H
#define USWAP_PRELOAD_EXEC_H

/* --no-children: the programs this one execs run without us (our entry
 * leaves LD_PRELOAD, and USWAP_LIMIT goes). */
void exec_no_children(void);

#endif
