/* fuzz_report_stats / fuzz_report_trace: `uswap report`'s readers on a stats
 * file or a trace that is the input, the other file a real one (REAL_STATS or
 * REAL_TRACE, from a run of examples/churn, read once). What report_main does
 * with them runs whole: the stats file parsed and checked (input.c), the
 * trace read as CSV or JSON lines (trace.c), the summary computed and printed
 * (to /dev/null) and the HTML page written (to /dev/null). A bad file must
 * end in one line (cli_die), never a crash, and leak nothing on either path
 * (the harness runs them many times in one process). */
#define _GNU_SOURCE
#include "fuzz.h"

#include "report/html.h"
#include "report/input.h"
#include "report/summary.h"
#include "report/trace.h"

#include <json-c/json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report_seed.h" /* REAL_STATS, REAL_TRACE */

static void free_trace(struct trace *tr)
{
	for (int c = 0; c < TRACE_NCOL; c++)
		free(tr->v[c]);
	memset(tr, 0, sizeof(*tr));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Static: kept across cli_die's longjmp. */
	static struct json_object *st;
	static struct trace tr;
	static char path[64];
	static int inited;
	struct summary sum;
	int fd;

	if (!inited) {
		char real[64];

		inited = 1;
		if (!freopen("/dev/null", "w", stdout))
			abort();
			/* The real file of the pair, kept for every input. */
#ifdef FUZZ_TRACE
		fd = fuzz_memfile((const uint8_t *)REAL_STATS, strlen(REAL_STATS), real,
				  sizeof(real));
		if (fuzz_try())
			abort();
		st = input_load_stats(real);
#else
		fd = fuzz_memfile((const uint8_t *)REAL_TRACE, strlen(REAL_TRACE), real,
				  sizeof(real));
		if (fuzz_try())
			abort();
		trace_load(&tr, real);
		tr.path = "trace.csv";
#endif
		fuzz_done();
		close(fd);
	}
	fd = fuzz_memfile(data, size, path, sizeof(path));
	if (!fuzz_try()) {
#ifdef FUZZ_TRACE
		trace_load(&tr, path);
#else
		st = input_load_stats(path);
#endif
		summary_compute(&sum, st, &tr);
		html_write("/dev/null", st, &sum, "stats.json", &tr);
		summary_print(&sum, st, &tr, "/dev/null");
	}
	fuzz_done();
#ifdef FUZZ_TRACE
	free_trace(&tr);
#else
	json_object_put(st);
	st = NULL;
#endif
	close(fd);
	return 0;
}
