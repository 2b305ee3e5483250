// SPDX-License-Identifier: MIT
/* The test harness behind t.h: runs cases, prints one line each. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "t.h"

static bool cur_failed, cur_skipped;
static char cur_msg[512];

void t_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (cur_failed)
		return; /* keep the first failure */
	cur_failed = true;
	n = snprintf(cur_msg, sizeof(cur_msg), "%s:%d: ", file, line);
	if (n < 0 || (size_t)n >= sizeof(cur_msg))
		return;
	va_start(ap, fmt);
	vsnprintf(cur_msg + n, sizeof(cur_msg) - n, fmt, ap);
	va_end(ap);
}

void t_skip(const char *fmt, ...)
{
	va_list ap;

	cur_skipped = true;
	va_start(ap, fmt);
	vsnprintf(cur_msg, sizeof(cur_msg), fmt, ap);
	va_end(ap);
}

bool t_failed(void)
{
	return cur_failed;
}

static bool selected(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

int t_main(const struct t_case *cases, size_t n, int argc, char **argv)
{
	unsigned int passed = 0, failed = 0, skipped = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < n; i++) {
		if (!selected(cases[i].name, argc, argv))
			continue;
		cur_failed = cur_skipped = false;
		cur_msg[0] = '\0';
		cases[i].fn();
		if (cur_failed) {
			printf("FAIL %s: %s\n", cases[i].name, cur_msg);
			failed++;
		} else if (cur_skipped) {
			printf("skip %s: %s\n", cases[i].name, cur_msg);
			skipped++;
		} else {
			printf("ok %s\n", cases[i].name);
			passed++;
		}
	}
	if (failed)
		return 1;
	if (!passed && skipped)
		return 77;
	return 0;
}
