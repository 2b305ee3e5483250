/* SPDX-License-Identifier: MIT */
/*
 * The event loop: one io_uring per thread. Every in-flight operation is a
 * struct evl_op embedded in whatever owns it, carrying its completion
 * callback; the loop calls it with the CQE's result. File descriptors
 * (eventfds, event channels, sockets) are watched with poll operations on
 * the same ring, so a thread blocks in exactly one place.
 */
#ifndef XVB_LIB_EVL_H
#define XVB_LIB_EVL_H

#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <liburing.h>

struct evl_op;

/*
 * Called once per CQE of @op. @res is the CQE's res (a count or -errno),
 * @cqe_flags its flags (IORING_CQE_F_MORE for a multishot that goes on).
 */
typedef void evl_cb(struct evl_op *op, int res, unsigned int cqe_flags);

struct evl_op {
	evl_cb *cb;
};

struct evl;

/* Readiness callback of a watch: @revents as poll(2) reports them. */
struct evl_watch;
typedef void evl_watch_cb(struct evl_watch *w, unsigned int revents);

/*
 * A file descriptor watched for @events with a multishot poll, re-armed
 * whenever the kernel ends the multishot. Embed it; recover the owner with
 * container_of(). While armed it must stay at the same address.
 */
struct evl_watch {
	struct evl_op op;
	struct evl_op cancel_op;
	struct evl *loop;
	evl_watch_cb *cb;
	int fd;
	unsigned int events;
	bool armed;	   /* a poll SQE or its CQEs are outstanding */
	bool active;	   /* the owner wants events */
	bool cancelling;   /* the poll_remove's CQE has not come yet */
	bool rearm_queued; /* on loop->rearm: no SQE was free to re-arm */
	struct evl_watch *rearm_next;
};

/*
 * Work handed to a loop by another thread (evl_post). Embed it in its owner;
 * it stays queued at most once: posting it again before it ran is a no-op.
 */
struct evl_msg;
typedef void evl_msg_fn(struct evl_msg *m);

struct evl_msg {
	struct evl_msg *next;
	evl_msg_fn *fn;
	bool queued; /* atomic: on a mailbox, not yet run */
};

struct evl {
	struct io_uring ring;
	unsigned int inflight; /* SQEs handed out whose last CQE has not come */
	bool stop;
	int wake_fd; /* eventfd: evl_wake() from other threads */
	struct evl_watch wake;
	struct evl_op noop;	 /* consumes the CQEs of evl_cancel()'s SQEs */
	struct evl_watch *rearm; /* watches waiting for an SQE to re-arm */
	struct evl_msg *mbox;	 /* atomic: posted messages, newest first */
	bool mbox_running;	 /* inside evl_mbox_run */
	pthread_t tid;		 /* the thread that last ran it, if tid_set */
	bool tid_set;
	bool ready; /* evl_init() succeeded and evl_exit() has not run */
};

/* Sets up a ring of @entries SQEs. Returns 0 or -errno. */
int evl_init(struct evl *l, unsigned int entries);

/*
 * Tears the ring down. The owner must have cancelled and reaped its
 * operations first (evl_drain); accepts a zeroed or half-built loop.
 */
void evl_exit(struct evl *l);

/*
 * An SQE for a new operation. If the submission queue is full, submits what
 * is queued and tries again. Returns NULL only if the ring cannot take more
 * (the caller backs off and retries after completions). The caller must
 * then call evl_set_op() on it before the next evl call.
 */
struct io_uring_sqe *evl_get_sqe(struct evl *l);

/*
 * Ties @sqe to @op: its CQEs go to @cb. Counts the op as in flight until a
 * CQE without IORING_CQE_F_MORE arrives (so multishot ops count once).
 */
void evl_set_op(struct evl *l, struct io_uring_sqe *sqe, struct evl_op *op,
		evl_cb *cb);

/* Submits queued SQEs without waiting. Returns the count or -errno. */
int evl_submit(struct evl *l);

/*
 * Runs until evl_stop(), and clears the request on return. Returns 0, or
 * -errno if the ring failed. This is the only blocking call in a worker
 * thread.
 */
int evl_run(struct evl *l);

/*
 * One round: submit, wait for at least one CQE if @wait, run the callbacks
 * of every CQE available. Returns the number of CQEs handled or -errno.
 */
int evl_run_once(struct evl *l, bool wait);

/*
 * Makes evl_run() return after the current round. From another thread,
 * follow it with evl_wake() so a blocked loop sees it.
 */
void evl_stop(struct evl *l);

/* Wakes a loop blocked in another thread (it then rechecks ->stop). */
void evl_wake(struct evl *l);

/*
 * Starts watching @fd for @events (POLLIN ...). @w must be zeroed or idle
 * (!evl_watch_busy). Returns 0, -EBUSY if @w is not idle, or -EAGAIN if the
 * ring has no SQE free. Callbacks run from evl_run on this loop's thread. If
 * the kernel ends the poll with an error (a bad fd), the watch stops and the
 * callback runs a last time with POLLERR, or POLLNVAL for -EBADF.
 */
int evl_watch_start(struct evl *l, struct evl_watch *w, int fd,
		    unsigned int events, evl_watch_cb *cb);

/*
 * Stops a watch: no callback runs after this returns. The poll is cancelled
 * in the kernel; the watch's memory must stay valid until evl_watch_busy()
 * reads false (evl_drain waits for that). May be called from the watch's own
 * callback, which must not free @w: the loop reads it after the callback.
 */
void evl_watch_stop(struct evl_watch *w);
bool evl_watch_busy(const struct evl_watch *w);

/*
 * Runs the loop until no operation is in flight, or @timeout_ms passes. The
 * loop's own wake watch does not count. Returns 0, -ETIMEDOUT with
 * operations still in flight, or -errno if the ring failed.
 */
int evl_drain(struct evl *l, unsigned int timeout_ms);

/* Asks the kernel to cancel every operation of @op. Returns 0 or -errno. */
int evl_cancel(struct evl *l, struct evl_op *op);

/* ---- other threads ---------------------------------------------------------
 * A loop belongs to one thread; these are how other threads reach it. */

/*
 * From any thread: runs @fn(@m) on @l's thread, from its loop. Messages run
 * in the order they were posted (a repost of one still queued keeps its
 * place and runs once). @m must stay valid until it ran.
 */
void evl_post(struct evl *l, struct evl_msg *m, evl_msg_fn *fn);

/*
 * True if the calling thread is @l's: the one that last ran it, or any
 * thread before it ever ran.
 */
static inline bool evl_is_mine(const struct evl *l)
{
	return !l->tid_set || pthread_equal(l->tid, pthread_self());
}

/*
 * Runs @fn(@arg) on @l's thread and returns when it has. From another
 * thread, it runs after every message posted before; @l's thread must be
 * in evl_run and must not wait for the caller. From @l's own thread it is
 * a plain call, at once.
 */
void evl_call(struct evl *l, void (*fn)(void *arg), void *arg);

/* A thread of its own running a loop: a queue's worker thread. */
struct evl_thread {
	struct evl loop;
	pthread_t tid;
	sem_t started;
	bool running;
	int rc; /* evl_run's result once the thread ended */
	char name[16];
};

/*
 * Sets up @t's loop (@entries SQEs) and starts a thread running it, named
 * @name (at most 15 bytes are used), with every signal blocked. Returns 0
 * or -errno.
 */
int evl_thread_start(struct evl_thread *t, const char *name,
		     unsigned int entries);

/*
 * Stops the loop after the messages posted before, joins the thread and
 * tears the loop down; whatever the thread's work was must be finished
 * (evl_call a stop of it first). Accepts a zeroed or stopped @t. Returns
 * evl_run's result: 0, or -errno if the ring failed.
 */
int evl_thread_stop(struct evl_thread *t);

#endif
