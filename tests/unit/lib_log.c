// SPDX-License-Identifier: MIT
/*
 * Unit tests of lib/log.c: line format through a capturing sink, context
 * prefixes, level filtering, the rate limiter and the default stderr sink.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_MOD "tmod"
#include "lib/log.h"
#include "../lib/t.h"

#define CAP_LINES 32

/* What the capturing sink saw. */
static struct {
	unsigned int n;
	enum log_level level[CAP_LINES];
	char line[CAP_LINES][1100];
} cap;

static void cap_sink(enum log_level level, const char *line)
{
	if (cap.n < CAP_LINES) {
		cap.level[cap.n] = level;
		snprintf(cap.line[cap.n], sizeof(cap.line[0]), "%s", line);
	}
	cap.n++;
}

/* Every case starts from a known setup: ident "xvbd", all levels, capture. */
static void cap_reset(enum log_level max)
{
	memset(&cap, 0, sizeof(cap));
	/* Plain stderr lines, even if this test runs under systemd. */
	unsetenv("JOURNAL_STREAM");
	log_setup("xvbd", max);
	log_set_sink(cap_sink);
}

/* The "xvbd[pid]: " head every line starts with. */
static const char *head(void)
{
	static char buf[32];

	snprintf(buf, sizeof(buf), "xvbd[%d]: ", (int)getpid());
	return buf;
}

/* Checks captured line @i is head() + @rest; returns -1 (failed) if not. */
static int expect_line(unsigned int i, const char *rest)
{
	char want[1100];

	snprintf(want, sizeof(want), "%s%s", head(), rest);
	T_CHECK(i < cap.n);
	if (strcmp(cap.line[i], want)) {
		t_fail(__FILE__, __LINE__, "line %u: \"%s\" != \"%s\"", i,
		       cap.line[i], want);
		return -1;
	}
	return 0;
}

static void format_with_prefix(void)
{
	struct log_ctx ctx;

	cap_reset(LOG_DBG);
	log_ctx_init(&ctx, 5, "vblk51712");
	log_msg(LOG_WARN, "vq", &ctx, "bad %s %d", "idx", 3);
	T_EQ(cap.n, 1);
	T_EQ(cap.level[0], LOG_WARN);
	if (expect_line(0, "warn vq: d5 vblk51712: bad idx 3"))
		return;
}

static void format_without_prefix(void)
{
	struct log_ctx empty;

	cap_reset(LOG_DBG);
	log_ctx_init(&empty, -1, NULL);
	log_msg(LOG_INFO, "main", NULL, "hello");
	log_msg(LOG_INFO, "main", &empty, "hello");
	T_EQ(cap.n, 2);
	if (expect_line(0, "info main: hello") ||
	    expect_line(1, "info main: hello"))
		return;
}

static void level_words(void)
{
	static const struct {
		enum log_level level;
		const char *want;
	} cases[] = {
		{ LOG_ERR, "err m: x" },
		{ LOG_WARN, "warn m: x" },
		{ LOG_INFO, "info m: x" },
		{ LOG_DBG, "debug m: x" },
	};

	cap_reset(LOG_DBG);
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		log_msg(cases[i].level, "m", NULL, "x");
		if (expect_line(i, cases[i].want))
			return;
		T_EQ(cap.level[i], cases[i].level);
	}
}

static void macros_use_log_mod(void)
{
	cap_reset(LOG_DBG);
	log_err(NULL, "e%d", 1);
	log_warn(NULL, "w");
	log_info(NULL, "i");
	log_dbg(NULL, "d");
	T_EQ(cap.n, 4);
	if (expect_line(0, "err tmod: e1") || expect_line(3, "debug tmod: d"))
		return;
}

static void trailing_newline_dropped(void)
{
	cap_reset(LOG_DBG);
	log_msg(LOG_INFO, "m", NULL, "two\n\n");
	if (expect_line(0, "info m: two"))
		return;
}

static void ctx_prefix_table(void)
{
	static const struct {
		int domid;
		const char *dev;
		const char *want;
	} cases[] = {
		{ 5, "vblk51712", "d5 vblk51712" },
		{ 5, NULL, "d5" },
		{ 0, "vnet0", "d0 vnet0" },
		{ 32767, NULL, "d32767" },
		{ -1, NULL, "" },
		{ -1, "tap0", "tap0" },
		{ -7, "", "" },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct log_ctx ctx;

		memset(&ctx, 0xa5, sizeof(ctx));
		log_ctx_init(&ctx, cases[i].domid, cases[i].dev);
		T_ASSERT(!strcmp(ctx.prefix, cases[i].want));
		T_EQ(ctx.rl.printed, 0);
		T_EQ(ctx.rl.suppressed, 0);
		T_EQ_U64(ctx.rl.window_start_ms, 0);
	}
}

static void ctx_prefix_truncated(void)
{
	char dev[200];
	struct log_ctx ctx;

	memset(dev, 'x', sizeof(dev) - 1);
	dev[sizeof(dev) - 1] = '\0';
	log_ctx_init(&ctx, 12, dev);
	T_EQ(strlen(ctx.prefix), sizeof(ctx.prefix) - 1);
	T_ASSERT(!strncmp(ctx.prefix, "d12 xxx", 7));
}

static void long_line_truncated(void)
{
	static char big[4000];

	cap_reset(LOG_DBG);
	memset(big, 'y', sizeof(big) - 1);
	log_msg(LOG_INFO, "m", NULL, "%s", big);
	T_EQ(cap.n, 1);
	T_ASSERT(strlen(cap.line[0]) > 900);
	T_ASSERT(strlen(cap.line[0]) < 1100 - 1);
	T_ASSERT(!strncmp(cap.line[0], head(), strlen(head())));
}

static void level_filter(void)
{
	static const enum log_level all[] = { LOG_ERR, LOG_WARN, LOG_INFO,
					      LOG_DBG };

	for (unsigned int max = LOG_ERR; max <= LOG_DBG; max++) {
		cap_reset(max);
		T_EQ(log_max_level(), max);
		for (unsigned int i = 0; i < ARRAY_SIZE(all); i++)
			log_msg(all[i], "m", NULL, "x");
		T_EQ(cap.n, max + 1);
		for (unsigned int i = 0; i < cap.n; i++)
			T_EQ(cap.level[i], all[i]);
	}
}

static int dbg_args_evaluated;

static int count_eval(void)
{
	return ++dbg_args_evaluated;
}

static void dbg_args_not_evaluated_when_off(void)
{
	cap_reset(LOG_INFO);
	dbg_args_evaluated = 0;
	log_dbg(NULL, "%d", count_eval());
	T_EQ(dbg_args_evaluated, 0);
	T_EQ(cap.n, 0);
}

static void errno_preserved(void)
{
	cap_reset(LOG_DBG);
	errno = EPROTO;
	log_msg(LOG_ERR, "m", NULL, "x");
	T_EQ(errno, EPROTO);
}

/* Limiter decisions at synthetic times: burst, suppression, next window. */
static void rl_burst_then_suppress(void)
{
	struct log_rl rl = { 0 };
	unsigned int dropped, i;
	const uint64_t t0 = 100000;

	for (i = 0; i < LOG_RL_BURST; i++) {
		dropped = 99;
		T_EQ(log_rl_allow(&rl, t0 + i, &dropped), 1);
		T_EQ(dropped, 0);
	}
	for (i = 0; i < 7; i++) {
		T_EQ(log_rl_allow(&rl, t0 + LOG_RL_INTERVAL_MS - 1, &dropped),
		     0);
		T_EQ(dropped, 0);
	}
	/* The first line of the next window reports what was dropped. */
	T_EQ(log_rl_allow(&rl, t0 + LOG_RL_INTERVAL_MS, &dropped), 1);
	T_EQ(dropped, 7);
	T_EQ(log_rl_allow(&rl, t0 + LOG_RL_INTERVAL_MS + 1, &dropped), 1);
	T_EQ(dropped, 0);
}

static void rl_new_window_refills(void)
{
	struct log_rl rl = { 0 };
	unsigned int dropped, i;
	uint64_t t = 7 * LOG_RL_INTERVAL_MS;

	for (i = 0; i < LOG_RL_BURST + 3; i++)
		log_rl_allow(&rl, t, &dropped);
	t += 3 * LOG_RL_INTERVAL_MS;
	for (i = 0; i < LOG_RL_BURST; i++)
		T_EQ(log_rl_allow(&rl, t, NULL), 1);
	T_EQ(log_rl_allow(&rl, t, &dropped), 0);
}

/* A zeroed limiter works from time 0, and a clock going back resyncs. */
static void rl_time_edges(void)
{
	struct log_rl rl = { 0 };
	unsigned int dropped, i;

	for (i = 0; i < LOG_RL_BURST; i++)
		T_EQ(log_rl_allow(&rl, 0, &dropped), 1);
	T_EQ(log_rl_allow(&rl, LOG_RL_INTERVAL_MS - 1, &dropped), 0);
	rl.window_start_ms = 50000;
	T_EQ(log_rl_allow(&rl, 40000, &dropped), 1);
	T_EQ(dropped, 1);
	T_EQ_U64(rl.window_start_ms, 40000);
}

/* log_rl_msg end to end: the window is moved back instead of sleeping. */
static void rl_msg_reports_suppressed(void)
{
	struct log_ctx ctx;
	unsigned int printed = 0, i;

	cap_reset(LOG_DBG);
	log_ctx_init(&ctx, 3, "vnet0");
	for (i = 0; i < LOG_RL_BURST + 4; i++)
		printed += log_rl_msg(LOG_WARN, "vq", &ctx, "storm %u", i);
	T_EQ(printed, LOG_RL_BURST);
	T_EQ(cap.n, LOG_RL_BURST);
	ctx.rl.window_start_ms -= LOG_RL_INTERVAL_MS;
	T_EQ(log_rl_msg(LOG_WARN, "vq", &ctx, "after"), 1);
	T_EQ(cap.n, LOG_RL_BURST + 2);
	if (expect_line(LOG_RL_BURST,
			"warn vq: d3 vnet0: 4 messages suppressed") ||
	    expect_line(LOG_RL_BURST + 1, "warn vq: d3 vnet0: after"))
		return;
}

static void rl_msg_filtered_level_spends_nothing(void)
{
	struct log_ctx ctx;

	cap_reset(LOG_ERR);
	log_ctx_init(&ctx, 1, NULL);
	T_EQ(log_rl_msg(LOG_WARN, "m", &ctx, "x"), 0);
	T_EQ(ctx.rl.printed, 0);
	T_EQ(ctx.rl.suppressed, 0);
	T_EQ(cap.n, 0);
}

static void rl_msg_without_ctx(void)
{
	cap_reset(LOG_DBG);
	T_EQ(log_guest(NULL, "no ctx"), 1);
	if (expect_line(0, "warn tmod: no ctx"))
		return;
}

/* The default sink: the line and its '\n' land on fd 2 in one piece. */
static void default_sink_writes_stderr(void)
{
	char want[128], got[256];
	int p[2], saved;
	ssize_t n;

	T_ASSERT(!pipe2(p, O_NONBLOCK));
	saved = dup(STDERR_FILENO);
	T_ASSERT(saved >= 0);
	T_ASSERT(dup2(p[1], STDERR_FILENO) == STDERR_FILENO);
	unsetenv("JOURNAL_STREAM");
	log_setup("xvbd", LOG_DBG);
	log_set_sink(NULL);
	log_msg(LOG_ERR, "dm", NULL, "ioreq %d", 7);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = read(p[0], got, sizeof(got) - 1);
	close(p[0]);
	close(p[1]);
	T_ASSERT(n > 0);
	got[n] = '\0';
	snprintf(want, sizeof(want), "%serr dm: ioreq 7\n", head());
	T_ASSERT(!strcmp(got, want));
}

/* Sets JOURNAL_STREAM to @fd's device and inode. */
static int journal_is(int fd)
{
	struct stat st;
	char v[64];

	T_CHECK(!fstat(fd, &st));
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	T_CHECK(!setenv("JOURNAL_STREAM", v, 1));
	return 0;
}

/*
 * Standard error is the journal: each line starts with its syslog
 * priority, and the ident and pid are left to journald (no "xvbd[pid]:"
 * twice in journalctl); `journalctl -p err` then finds the errors.
 */
static void journal_gets_priorities(void)
{
	char got[512];
	int p[2], saved;
	ssize_t n;

	T_ASSERT(!pipe2(p, O_NONBLOCK));
	saved = dup(STDERR_FILENO);
	T_ASSERT(saved >= 0);
	T_ASSERT(dup2(p[1], STDERR_FILENO) == STDERR_FILENO);
	T_ASSERT(!journal_is(p[1]));
	log_setup("xvbd", LOG_DBG);
	log_set_sink(NULL);
	log_msg(LOG_ERR, "dm", NULL, "a %d", 1);
	log_msg(LOG_WARN, "dm", NULL, "b");
	log_msg(LOG_INFO, "dm", NULL, "c");
	log_msg(LOG_DBG, "dm", NULL, "d");
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = read(p[0], got, sizeof(got) - 1);
	close(p[0]);
	close(p[1]);
	unsetenv("JOURNAL_STREAM");
	log_setup("xvbd", LOG_DBG);
	T_ASSERT(n > 0);
	got[n] = '\0';
	T_ASSERT(!strcmp(got, "<3>err dm: a 1\n<4>warn dm: b\n<6>info dm: c\n"
			      "<7>debug dm: d\n"));
}

/* JOURNAL_STREAM naming another stream (stderr redirected since), or
 * none at all: plain lines. */
static void journal_only_if_stderr_is_it(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	T_ASSERT(fd >= 0);
	T_ASSERT(!journal_is(fd));
	close(fd);
	T_ASSERT(!log_stderr_is_journal());
	T_ASSERT(!journal_is(STDERR_FILENO));
	T_ASSERT(log_stderr_is_journal());
	T_ASSERT(!setenv("JOURNAL_STREAM", "12", 1));
	T_ASSERT(!log_stderr_is_journal());
	T_ASSERT(!setenv("JOURNAL_STREAM", "1:2x", 1));
	T_ASSERT(!log_stderr_is_journal());
	unsetenv("JOURNAL_STREAM");
	T_ASSERT(!log_stderr_is_journal());
	cap_reset(LOG_DBG);
	T_EQ(log_dest(), LOG_DEST_STDERR);
	log_msg(LOG_ERR, "m", NULL, "x");
	T_ASSERT(!expect_line(0, "err m: x"));
}

/* --syslog: syslog adds ident and pid, so the line has neither. */
static void syslog_lines_without_ident(void)
{
	cap_reset(LOG_DBG);
	log_use_syslog(true);
	T_EQ(log_dest(), LOG_DEST_SYSLOG);
	/* log_setup (a worker's, say) keeps it. */
	log_setup("xvbd", LOG_DBG);
	T_EQ(log_dest(), LOG_DEST_SYSLOG);
	log_msg(LOG_WARN, "m", NULL, "y");
	log_use_syslog(false);
	T_EQ(log_dest(), LOG_DEST_STDERR);
	T_EQ(cap.n, 1);
	T_ASSERT(!strcmp(cap.line[0], "warn m: y"));
}

static void setup_sets_ident(void)
{
	char want[64];

	cap_reset(LOG_DBG);
	log_setup("xvbd-test", LOG_DBG);
	log_msg(LOG_INFO, "m", NULL, "x");
	snprintf(want, sizeof(want), "xvbd-test[%d]: info m: x", (int)getpid());
	T_ASSERT(!strcmp(cap.line[0], want));
}

/* Threads logging at once through one shared context (for TSan). */
#define NTHREADS 4
#define PER_THREAD 200

static unsigned int mt_lines;

static void mt_sink(enum log_level level, const char *line)
{
	__atomic_fetch_add(&mt_lines, 1, __ATOMIC_RELAXED);
}

static struct log_ctx mt_ctx;

static void *mt_worker(void *arg)
{
	for (unsigned int i = 0; i < PER_THREAD; i++) {
		log_msg(LOG_INFO, "mt", &mt_ctx, "plain %u", i);
		log_rl_msg(LOG_WARN, "mt", &mt_ctx, "limited %u", i);
	}
	return NULL;
}

static void threads_share_ctx(void)
{
	pthread_t th[NTHREADS];
	unsigned int i, lines;

	log_setup("xvbd", LOG_DBG);
	log_set_sink(mt_sink);
	log_ctx_init(&mt_ctx, 9, "vblk0");
	mt_lines = 0;
	for (i = 0; i < NTHREADS; i++)
		T_ASSERT(!pthread_create(&th[i], NULL, mt_worker, NULL));
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	lines = __atomic_load_n(&mt_lines, __ATOMIC_RELAXED);
	/* Every plain line; of the limited ones a burst, far from all. */
	T_ASSERT(lines >= NTHREADS * PER_THREAD + LOG_RL_BURST);
	T_ASSERT(lines < 2 * NTHREADS * PER_THREAD);
}

T_MAIN(T_CASE(format_with_prefix), T_CASE(format_without_prefix),
       T_CASE(level_words), T_CASE(macros_use_log_mod),
       T_CASE(trailing_newline_dropped), T_CASE(ctx_prefix_table),
       T_CASE(ctx_prefix_truncated), T_CASE(long_line_truncated),
       T_CASE(level_filter), T_CASE(dbg_args_not_evaluated_when_off),
       T_CASE(errno_preserved), T_CASE(rl_burst_then_suppress),
       T_CASE(rl_new_window_refills), T_CASE(rl_time_edges),
       T_CASE(rl_msg_reports_suppressed),
       T_CASE(rl_msg_filtered_level_spends_nothing), T_CASE(rl_msg_without_ctx),
       T_CASE(default_sink_writes_stderr), T_CASE(journal_gets_priorities),
       T_CASE(journal_only_if_stderr_is_it), T_CASE(syslog_lines_without_ident),
       T_CASE(setup_sets_ident), T_CASE(threads_share_ctx))
