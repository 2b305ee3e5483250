/* SPDX-License-Identifier: MIT */
/*
 * What /proc says of a process, for tests that check nothing leaked, find
 * a worker process or measure its CPU time.
 */
#ifndef XVB_TESTS_PROCFS_H
#define XVB_TESTS_PROCFS_H

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

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

/* The fields of /proc/<pid>/stat that tests read. */
struct t_proc_stat {
	char state; /* R, S, D, T, Z (zombie: dead, not reaped), X, ... */
	pid_t ppid;
	unsigned long long utime, stime; /* clock ticks, every thread's */
};

/*
 * Reads /proc/@pid/stat into @st. The command name in parentheses may hold
 * anything, ')' and spaces included: the fields start after its last ')'.
 * Returns 0, or -1 if @pid is gone or the line does not parse.
 */
static inline int t_proc_stat(pid_t pid, struct t_proc_stat *st)
{
	char path[64], buf[1024];
	const char *p;
	ssize_t n;
	int fd, ppid;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime */
	if (!p || sscanf(p + 1,
			 " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &st->state, &ppid, &st->utime, &st->stime) != 4)
		return -1;
	st->ppid = ppid;
	return 0;
}

/* CPU seconds (user + system, every thread, live or gone) of @pid, or -1. */
static inline double t_cpu_s(pid_t pid)
{
	struct t_proc_stat st;

	if (t_proc_stat(pid, &st))
		return -1;
	return (double)(st.utime + st.stime) / sysconf(_SC_CLK_TCK);
}

/* True while @pid runs: not gone, and not a zombie waiting to be reaped. */
static inline bool t_proc_alive(pid_t pid)
{
	struct t_proc_stat st;

	return pid > 0 && !t_proc_stat(pid, &st) && st.state != 'Z' &&
	       st.state != 'X';
}

/* A live child of @parent (the first /proc lists), or -1 if it has none. */
static inline pid_t t_child_of(pid_t parent)
{
	struct t_proc_stat st;
	struct dirent *e;
	pid_t found = -1;
	DIR *d = opendir("/proc");

	while (d && found < 0 && (e = readdir(d))) {
		pid_t pid;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid = atoi(e->d_name);
		if (!t_proc_stat(pid, &st) && st.ppid == parent &&
		    st.state != 'Z' && st.state != 'X')
			found = pid;
	}
	if (d)
		closedir(d);
	return found;
}

#endif
