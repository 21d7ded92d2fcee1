/*
 * replay — runs one fuzz harness over its seed corpus and its regressions,
 * without libFuzzer, so `make check` replays every seed and every crasher
 * ever found on each plain build, with the project's own compiler.
 *
 * The harness is linked in beside this file; FUZZ_NAME names its
 * directories under $LI_SRCDIR/test/fuzz/. Prints TAP: one line per file.
 * A property that fails aborts the harness, and with it this program, which
 * the TAP driver reports as an error after the name of the file at fault.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static int run;

/* Reads the whole file path into a buffer of exactly its size. */
static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL, *grown;
	size_t cap = 0, n;
	char chunk[4096];

	*len = 0;
	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if ((grown = realloc(buf, cap + n)) == NULL) {
			free(buf);
			fclose(f);
			return NULL;
		}
		buf = grown;
		memcpy(buf + cap, chunk, n);
		cap += n;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = cap;
	return buf != NULL ? buf : malloc(1);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays every file of dir (sorted, dot files skipped). Returns how many
 * there were, or -1 when the directory cannot be read. */
static int
replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL, **grown, path[4096];
	size_t count = 0;
	uint8_t *data;
	size_t len;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if ((grown = realloc(names, (count + 1) * sizeof(*names))) == NULL ||
		    (grown[count] = strdup(e->d_name)) == NULL) {
			fprintf(stderr, "replay: out of memory\n");
			exit(1);
		}
		names = grown;
		count++;
	}
	closedir(d);
	if (count > 1)      /* qsort() wants a non-null array, even of none */
		qsort(names, count, sizeof(*names), by_name);
	for (size_t i = 0; i < count; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		printf("# %s\n", path);
		fflush(stdout);     /* the name is out before any crash */
		if ((data = slurp(path, &len)) == NULL) {
			printf("not ok %d - %s cannot be read: %s\n", ++run, path,
			    strerror(errno));
		} else {
			(void)LLVMFuzzerTestOneInput(data, len);
			printf("ok %d - %s\n", ++run, path);
			free(data);
		}
		free(names[i]);
	}
	free(names);
	return (int)count;
}

int
main(void)
{
	const char *srcdir = getenv("LI_SRCDIR");
	char dir[4096];
	int seeds, regressions;

	if (srcdir == NULL)
		srcdir = ".";
	snprintf(dir, sizeof(dir), "%s/test/fuzz/corpus/%s", srcdir, FUZZ_NAME);
	seeds = replay_dir(dir);
	if (seeds <= 0)
		printf("not ok %d - no seeds in %s\n", ++run, dir);
	snprintf(dir, sizeof(dir), "%s/test/fuzz/regressions/%s", srcdir,
	    FUZZ_NAME);
	regressions = replay_dir(dir);
	if (regressions < 0)
		printf("not ok %d - cannot read %s\n", ++run, dir);
	printf("1..%d\n", run);
	return seeds > 0 && regressions >= 0 ? 0 : 1;
}
