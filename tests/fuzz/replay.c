/* The harnesses without libFuzzer: run LLVMFuzzerTestOneInput on every file
 * named, or in a directory named, as libFuzzer does when given files. A
 * crash is the test's failure; the file it ran is printed first. */
#define _GNU_SOURCE
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0, r;

	if (!f) {
		perror(path);
		return 1;
	}
	do {
		if (cap - n < 4096)
			buf = realloc(buf, cap = cap * 2 + 4096);
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r);
	fclose(f);
	/* A copy of exactly n bytes: an overread past the input is caught by
	 * a sanitizer, as in libFuzzer. */
	uint8_t *exact = malloc(n ? n : 1);
	memcpy(exact, buf, n);
	free(buf);
	fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
	LLVMFuzzerTestOneInput(exact, n);
	free(exact);
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	int fails = 0, files = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		struct dirent *e;
		char **names = NULL;
		size_t nn = 0;
		DIR *d;

		if (stat(argv[i], &st)) {
			perror(argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			fails += run_file(argv[i]);
			files++;
			continue;
		}
		d = opendir(argv[i]);
		while (d && (e = readdir(d)))
			if (e->d_name[0] != '.') {
				names = realloc(names, (nn + 1) * sizeof(*names));
				if (asprintf(&names[nn++], "%s/%s", argv[i], e->d_name) < 0)
					return 1;
			}
		if (d)
			closedir(d);
		if (nn)
			qsort(names, nn, sizeof(*names), cmp);
		for (size_t k = 0; k < nn; k++) {
			fails += run_file(names[k]);
			files++;
			free(names[k]);
		}
		free(names);
	}
	printf("replay: %d inputs, %d unreadable\n", files, fails);
	return fails ? 1 : 0;
}
