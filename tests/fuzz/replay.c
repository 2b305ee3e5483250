// SPDX-License-Identifier: MIT
/*
 * Replays fuzz inputs without libFuzzer: runs LLVMFuzzerTestOneInput over
 * every file named on the command line, or in a directory named there
 * (entries in sorted order). `make check` runs the checked-in corpora.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional, as with libFuzzer: a target's one-time setup. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static unsigned long replayed;

/* Reads @path whole and runs it. Returns 0 or -errno. */
static int replay_file(const char *path)
{
	uint8_t *buf = NULL;
	long len;
	FILE *f;
	int rc = 0;

	f = fopen(path, "rb");
	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET)) {
		rc = -errno;
		goto out_close;
	}
	buf = malloc(len ? len : 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out_close;
	}
	if (len && fread(buf, 1, len, f) != (size_t)len) {
		rc = -EIO;
		goto out_free;
	}
	LLVMFuzzerTestOneInput(buf, len);
	replayed++;
out_free:
	free(buf);
out_close:
	fclose(f);
	return rc;
}

static int replay_dir(const char *dir)
{
	struct dirent **ents;
	int n, rc = 0;

	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		if (!rc && ents[i]->d_name[0] != '.' &&
		    snprintf(path, sizeof(path), "%s/%s", dir,
			     ents[i]->d_name) < (int)sizeof(path) &&
		    !stat(path, &st) && S_ISREG(st.st_mode)) {
			rc = replay_file(path);
			if (rc)
				fprintf(stderr, "replay: %s: %s\n", path,
					strerror(-rc));
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

int main(int argc, char **argv)
{
	int rc = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc && !rc; i++) {
		struct stat st;

		if (stat(argv[i], &st)) {
			rc = -errno;
		} else if (S_ISDIR(st.st_mode)) {
			rc = replay_dir(argv[i]);
		} else {
			rc = replay_file(argv[i]);
		}
		if (rc)
			fprintf(stderr, "replay: %s: %s\n", argv[i],
				strerror(-rc));
	}
	printf("replayed %lu inputs\n", replayed);
	return rc ? 1 : 0;
}
