/* Programs this one runs (exec.c). */
#ifndef USWAP_PRELOAD_EXEC_H
#define USWAP_PRELOAD_EXEC_H

/* At start-up, after config_load: save what an exec'd program inherits
 * from us (our LD_PRELOAD entry; the settings are config's saved copy). */
void exec_init(void);

/* --no-children: the programs this one execs run without us (our entry
 * leaves LD_PRELOAD, and USWAP_LIMIT goes). */
void exec_no_children(void);

#endif
