// SPDX-License-Identifier: MIT
/*
 * Logging: formats "ident[pid]: level mod: prefix: text" into a stack buffer
 * and hands it to a sink, with a per-context limiter for guest noise. When
 * standard error is the journal, or with syslog, the ident and pid are the
 * receiver's to add, and the priority travels with the line.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "logsys.h"

#define LOG_LINE_MAX 1024 /* longer lines are truncated */
#define LOG_IDENT_MAX 32

/*
 * Process-wide settings. The level and the sink are read by every thread
 * and changed with relaxed atomics; the ident is set once at startup, before
 * threads exist (log_setup's contract).
 */
static char log_ident[LOG_IDENT_MAX] = "xvbd";
static enum log_level log_level_max = LOG_INFO;
static log_sink_fn *log_sink; /* NULL: log_stderr_sink */
/* Where the default sink writes; set with the ident, before threads. */
static enum log_dest log_dest_now = LOG_DEST_STDERR;

/* Limiter for log_rl_msg() calls without a context. */
static struct log_rl log_rl_anon;

static const char *const log_words[] = {
	[LOG_ERR] = "err",
	[LOG_WARN] = "warn",
	[LOG_INFO] = "info",
	[LOG_DBG] = "debug",
};

/* syslog(3) priorities: what journald and syslog filter on (-p err). */
static const int log_prios[] = {
	[LOG_ERR] = 3,
	[LOG_WARN] = 4,
	[LOG_INFO] = 6,
	[LOG_DBG] = 7,
};

static int log_prio(enum log_level level)
{
	return (unsigned int)level < ARRAY_SIZE(log_prios) ? log_prios[level] :
							     7;
}

/*
 * The line and its '\n' in one write(2): threads never interleave lines.
 * To the journal, a "<N>" head carries the priority (sd-daemon(3)).
 */
static void log_stderr_sink(enum log_level level, const char *line)
{
	char buf[LOG_LINE_MAX + 8];
	size_t len = strnlen(line, LOG_LINE_MAX), head = 0;

	if (log_dest_now == LOG_DEST_SYSLOG) {
		log_syslog_write(log_prio(level), line);
		return;
	}
	if (log_dest_now == LOG_DEST_JOURNAL)
		head = snprintf(buf, sizeof(buf), "<%d>", log_prio(level));
	memcpy(buf + head, line, len);
	buf[head + len] = '\n';
	while (write(STDERR_FILENO, buf, head + len + 1) < 0 && errno == EINTR)
		;
}

bool log_stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	/* "DEV:INO" of the stream systemd connected; stderr may since have
	 * been redirected elsewhere, so it must still be that one. */
	if (!v || sscanf(v, "%llu:%llu%c", &dev, &ino, &tail) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st))
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

void log_setup(const char *ident, enum log_level max_level)
{
	if (ident)
		snprintf(log_ident, sizeof(log_ident), "%s", ident);
	__atomic_store_n(&log_level_max, max_level, __ATOMIC_RELAXED);
	if (log_dest_now != LOG_DEST_SYSLOG)
		log_dest_now = log_stderr_is_journal() ? LOG_DEST_JOURNAL :
							 LOG_DEST_STDERR;
}

void log_use_syslog(bool on)
{
	if (on) {
		log_syslog_open(log_ident);
		log_dest_now = LOG_DEST_SYSLOG;
	} else {
		if (log_dest_now == LOG_DEST_SYSLOG)
			log_syslog_close();
		log_dest_now = log_stderr_is_journal() ? LOG_DEST_JOURNAL :
							 LOG_DEST_STDERR;
	}
}

enum log_dest log_dest(void)
{
	return log_dest_now;
}

void log_set_sink(log_sink_fn *sink)
{
	__atomic_store_n(&log_sink, sink, __ATOMIC_RELAXED);
}

enum log_level log_max_level(void)
{
	return __atomic_load_n(&log_level_max, __ATOMIC_RELAXED);
}

void log_ctx_init(struct log_ctx *ctx, int domid, const char *dev)
{
	if (domid >= 0 && dev)
		snprintf(ctx->prefix, sizeof(ctx->prefix), "d%d %s", domid,
			 dev);
	else if (domid >= 0)
		snprintf(ctx->prefix, sizeof(ctx->prefix), "d%d", domid);
	else
		snprintf(ctx->prefix, sizeof(ctx->prefix), "%s",
			 dev ? dev : "");
	memset(&ctx->rl, 0, sizeof(ctx->rl));
}

static bool log_enabled(enum log_level level)
{
	return (unsigned int)level <= (unsigned int)log_max_level();
}

/*
 * Writes the "ident[pid]: level mod: prefix: " head (without "ident[pid]: "
 * for the journal and syslog, which add their own); returns its length.
 */
static size_t log_head(char *buf, size_t size, enum log_level level,
		       const char *mod, const char *prefix)
{
	const char *word = "?";
	int n = 0;

	if ((unsigned int)level < ARRAY_SIZE(log_words))
		word = log_words[level];
	if (log_dest_now == LOG_DEST_STDERR)
		n = snprintf(buf, size, "%s[%d]: ", log_ident, (int)getpid());
	if (n < 0 || (size_t)n >= size) {
		buf[0] = '\0';
		return 0;
	}
	n += snprintf(buf + n, size - n, "%s %s: %s%s", word, mod ? mod : "xvb",
		      prefix, *prefix ? ": " : "");
	if (n < 0) {
		buf[0] = '\0';
		return 0;
	}
	return (size_t)n < size ? (size_t)n : size - 1;
}

void log_vmsg(enum log_level level, const char *mod, const struct log_ctx *ctx,
	      const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	log_sink_fn *sink;
	int saved_errno = errno; /* callers log, then return -errno */
	size_t n;

	if (!log_enabled(level))
		return;
	n = log_head(line, sizeof(line), level, mod, ctx ? ctx->prefix : "");
	if (n < sizeof(line) - 1 &&
	    vsnprintf(line + n, sizeof(line) - n, fmt, ap) < 0)
		line[n] = '\0';
	/* The sink adds its own line end; drop any the caller put in. */
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';

	sink = __atomic_load_n(&log_sink, __ATOMIC_RELAXED);
	(sink ? sink : log_stderr_sink)(level, line);
	errno = saved_errno;
}

void log_msg(enum log_level level, const char *mod, const struct log_ctx *ctx,
	     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, mod, ctx, fmt, ap);
	va_end(ap);
}

/*
 * Fixed windows of LOG_RL_INTERVAL_MS, LOG_RL_BURST lines each. Several
 * threads may share @rl: every field is accessed with relaxed atomics, and
 * the caller whose compare-exchange opens a window owns its drop count.
 * Races only blur the edge of a window (a line more or less), never corrupt.
 * A clock that went backwards also opens a new window.
 */
int log_rl_allow(struct log_rl *rl, uint64_t now_ms, unsigned int *dropped)
{
	uint64_t start =
		__atomic_load_n(&rl->window_start_ms, __ATOMIC_RELAXED);
	unsigned int printed, n = 0;
	int ok = 0;

	if (now_ms - start >= LOG_RL_INTERVAL_MS &&
	    __atomic_compare_exchange_n(&rl->window_start_ms, &start, now_ms,
					false, __ATOMIC_RELAXED,
					__ATOMIC_RELAXED)) {
		__atomic_store_n(&rl->printed, 1, __ATOMIC_RELAXED);
		n = __atomic_exchange_n(&rl->suppressed, 0, __ATOMIC_RELAXED);
		ok = 1;
	} else {
		printed = __atomic_load_n(&rl->printed, __ATOMIC_RELAXED);
		while (!ok && printed < LOG_RL_BURST)
			ok = __atomic_compare_exchange_n(&rl->printed, &printed,
							 printed + 1, false,
							 __ATOMIC_RELAXED,
							 __ATOMIC_RELAXED);
		if (!ok)
			__atomic_fetch_add(&rl->suppressed, 1,
					   __ATOMIC_RELAXED);
	}
	if (dropped)
		*dropped = n;
	return ok;
}

static uint64_t log_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int log_rl_msg(enum log_level level, const char *mod, struct log_ctx *ctx,
	       const char *fmt, ...)
{
	unsigned int dropped;
	va_list ap;

	/* A filtered level spends no tokens. */
	if (!log_enabled(level))
		return 0;
	if (!log_rl_allow(ctx ? &ctx->rl : &log_rl_anon, log_now_ms(),
			  &dropped))
		return 0;
	if (dropped)
		log_msg(level, mod, ctx, "%u messages suppressed", dropped);
	va_start(ap, fmt);
	log_vmsg(level, mod, ctx, fmt, ap);
	va_end(ap);
	return 1;
}
