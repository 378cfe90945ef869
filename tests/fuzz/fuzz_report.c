/* fuzz_report_stats / fuzz_report_trace: `uswap report` on a stats file or a
 * trace that is the input, the other file a real one (REAL_STATS or
 * REAL_TRACE below, from a run of examples/churn). report_main runs whole:
 * the stats file parsed and checked (input.c), the trace read as CSV or
 * JSON lines (trace.c), the summary computed and printed and the HTML page
 * written (to /dev/null). A bad file must end in one line (cli_die), never a
 * crash. Leaks on that path are the exiting CLI's and not checked (run.sh). */
#define _GNU_SOURCE
#include "fuzz.h"

#include "report/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report_seed.h" /* REAL_STATS, REAL_TRACE */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	char stats[64], trace[64];
	int sfd, tfd;

	if (!inited) {
		inited = 1;
		if (!freopen("/dev/null", "w", stdout))
			abort();
	}
#ifdef FUZZ_TRACE
	sfd = fuzz_memfile((const uint8_t *)REAL_STATS, strlen(REAL_STATS), stats, sizeof(stats));
	tfd = fuzz_memfile(data, size, trace, sizeof(trace));
#else
	sfd = fuzz_memfile(data, size, stats, sizeof(stats));
	tfd = fuzz_memfile((const uint8_t *)REAL_TRACE, strlen(REAL_TRACE), trace, sizeof(trace));
#endif
	char *argv[] = { "report", stats, "--trace", trace, "-o", "/dev/null", NULL };

	if (!fuzz_try())
		report_main(6, argv);
	fuzz_done();
	close(sfd);
	close(tfd);
	return 0;
}
