/* SPDX-License-Identifier: MIT */
/*
 * Logging: one line per event, "xvbd[pid]: level module: d<domid> <dev>: text".
 * Messages a guest can trigger go through a rate limiter so a hostile guest
 * cannot flood the backend domain's log.
 */
#ifndef XVB_LIB_LOG_H
#define XVB_LIB_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/compiler.h"

enum log_level {
	LOG_ERR,
	LOG_WARN,
	LOG_INFO,
	LOG_DBG,
};

/* Token bucket: at most LOG_RL_BURST messages per LOG_RL_INTERVAL_MS. */
#define LOG_RL_BURST 10
#define LOG_RL_INTERVAL_MS 5000

struct log_rl {
	uint64_t window_start_ms;
	unsigned int printed;
	unsigned int suppressed;
};

/*
 * Who a message is about: a domain, a device, or both. Embedded in the
 * objects that log (a device, a queue's owner); the prefix is built once.
 */
struct log_ctx {
	char prefix[48];
	struct log_rl rl;
};

/* Where lines go; the default writes to stderr. Tests capture them. */
typedef void log_sink_fn(enum log_level level, const char *line);

/*
 * Where the default sink writes. STDERR: "ident[pid]: level mod: ..."
 * lines. JOURNAL (standard error is the journal's stream): "<N>level mod:
 * ..." with N the syslog priority, ident and pid left to journald. SYSLOG:
 * syslog(3), LOG_DAEMON, with the same priorities.
 */
enum log_dest {
	LOG_DEST_STDERR,
	LOG_DEST_JOURNAL,
	LOG_DEST_SYSLOG,
};

/*
 * Process-wide settings. @ident names the program ("xvbd"). Also finds
 * out whether standard error is the journal (JOURNAL_STREAM).
 */
void log_setup(const char *ident, enum log_level max_level);
/* Sends lines to syslog(3) (after log_setup), or back to stderr. */
void log_use_syslog(bool on);
enum log_dest log_dest(void);
/* True if JOURNAL_STREAM names the stream standard error is. */
bool log_stderr_is_journal(void);
void log_set_sink(log_sink_fn *sink);
enum log_level log_max_level(void);

/* Sets ctx's prefix: "d5 vblk51712", or "d5", or "" for domid < 0. */
void log_ctx_init(struct log_ctx *ctx, int domid, const char *dev);

/*
 * Core entry points; use the macros below. @ctx may be NULL. log_vmsg
 * formats the line and hands it to the sink if @level is enabled.
 */
void log_vmsg(enum log_level level, const char *mod, const struct log_ctx *ctx,
	      const char *fmt, va_list ap) __printf(4, 0);
void log_msg(enum log_level level, const char *mod, const struct log_ctx *ctx,
	     const char *fmt, ...) __printf(4, 5);

/*
 * Rate-limited message for anything a guest can cause. Returns 1 if the line
 * was printed, 0 if it was suppressed. When a window with suppressed lines
 * ends, the next printed line is preceded by a count of what was dropped.
 */
int log_rl_msg(enum log_level level, const char *mod, struct log_ctx *ctx,
	       const char *fmt, ...) __printf(4, 5);

/* Pure limiter decision at time @now_ms (exposed for tests). */
int log_rl_allow(struct log_rl *rl, uint64_t now_ms, unsigned int *dropped);

#ifndef LOG_MOD
#define LOG_MOD "xvb"
#endif

#define log_err(ctx, ...) log_msg(LOG_ERR, LOG_MOD, ctx, __VA_ARGS__)
#define log_warn(ctx, ...) log_msg(LOG_WARN, LOG_MOD, ctx, __VA_ARGS__)
#define log_info(ctx, ...) log_msg(LOG_INFO, LOG_MOD, ctx, __VA_ARGS__)
#define log_dbg(ctx, ...)                                            \
	do {                                                         \
		if (unlikely(log_max_level() >= LOG_DBG))            \
			log_msg(LOG_DBG, LOG_MOD, ctx, __VA_ARGS__); \
	} while (0)
/* For guest-triggered events: @ctx must be writable (it holds the limiter). */
#define log_guest(ctx, ...) log_rl_msg(LOG_WARN, LOG_MOD, ctx, __VA_ARGS__)

#endif
