/* SPDX-License-Identifier: MIT */
/* What /proc says of a process, for tests that check nothing leaked. */
#ifndef XVB_TESTS_PROCFS_H
#define XVB_TESTS_PROCFS_H

#include <dirent.h>
#include <stdio.h>
#include <sys/types.h>

/*
 * Open file descriptors of process @pid (0: this process, counting the one
 * the count itself opens), or -1 if it is gone.
 */
static inline int t_count_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/fd");
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

#endif
