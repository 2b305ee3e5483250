// SPDX-License-Identifier: MIT
/*
 * Unit tests of lib/evl.c on a real io_uring: op callbacks, multishot
 * watches and their stop, cross-thread wake, drain, cancel, a full SQ, and
 * fd hygiene. Skipped where io_uring is unavailable.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/evl.h"
#include "../lib/hang.h"
#include "../lib/procfs.h"
#include "../lib/t.h"

/* An owner of one operation: remembers its last CQE. */
struct top {
	struct evl_op op;
	int calls;
	int res;
	unsigned int flags;
};

static void top_cb(struct evl_op *op, int res, unsigned int flags)
{
	struct top *t = container_of(op, struct top, op);

	t->calls++;
	t->res = res;
	t->flags = flags;
}

/* An owner of a watch on an eventfd: counts events and drains the fd. */
struct twatch {
	struct evl_watch w;
	int efd;
	int calls;
	unsigned int revents;
	bool stop_in_cb;
};

static void twatch_cb(struct evl_watch *w, unsigned int revents)
{
	struct twatch *t = container_of(w, struct twatch, w);
	uint64_t v;

	t->calls++;
	t->revents = revents;
	if (read(t->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: another CQE of the same burst got there first */
	}
	if (t->stop_in_cb)
		evl_watch_stop(w);
}

static void kick(int efd)
{
	uint64_t one = 1;

	if (write(efd, &one, sizeof(one)) != sizeof(one))
		t_fail(__FILE__, __LINE__, "eventfd write: %s",
		       strerror(errno));
}

/*
 * Sets up @l, or marks the case skipped (no io_uring here) or failed.
 * Returns true if the case should go on.
 */
static bool loop_init(struct evl *l, unsigned int entries)
{
	int rc = evl_init(l, entries);

	if (rc == -ENOSYS || rc == -EPERM) {
		t_skip("io_uring unavailable: %s", strerror(-rc));
		return false;
	}
	if (rc) {
		t_fail(__FILE__, __LINE__, "evl_init: %s", strerror(-rc));
		return false;
	}
	return true;
}

/* Operations in flight that are the owner's (the wake watch is not). */
static unsigned int owner_ops(const struct evl *l)
{
	return l->inflight - l->wake.armed - l->wake.cancelling;
}

static void nop_calls_back(void)
{
	struct evl l;
	struct top t = { 0 };
	struct io_uring_sqe *sqe;

	if (!loop_init(&l, 8))
		return;
	sqe = evl_get_sqe(&l);
	T_ASSERT(sqe);
	io_uring_prep_nop(sqe);
	evl_set_op(&l, sqe, &t.op, top_cb);
	T_EQ(owner_ops(&l), 1);
	T_ASSERT(evl_run_once(&l, true) >= 1);
	T_EQ(t.calls, 1);
	T_EQ(t.res, 0);
	T_EQ(t.flags & IORING_CQE_F_MORE, 0);
	T_EQ(owner_ops(&l), 0);
	evl_exit(&l);
}

static void read_returns_count(void)
{
	struct evl l;
	struct top t = { 0 };
	struct io_uring_sqe *sqe;
	char buf[16] = { 0 };
	int p[2];

	if (!loop_init(&l, 8))
		return;
	T_ASSERT(!pipe(p));
	T_EQ(write(p[1], "hello", 5), 5);
	sqe = evl_get_sqe(&l);
	T_ASSERT(sqe);
	io_uring_prep_read(sqe, p[0], buf, sizeof(buf), 0);
	evl_set_op(&l, sqe, &t.op, top_cb);
	T_EQ(evl_drain(&l, (int)t_hang_ms()), 0);
	T_EQ(t.calls, 1);
	T_EQ(t.res, 5);
	T_ASSERT(!memcmp(buf, "hello", 5));
	close(p[0]);
	close(p[1]);
	evl_exit(&l);
}

/* Starts @t watching a fresh eventfd; false (case failed) on error. */
static bool twatch_start(struct evl *l, struct twatch *t)
{
	int rc;

	*t = (struct twatch){ .efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) };
	if (t->efd < 0) {
		t_fail(__FILE__, __LINE__, "eventfd: %s", strerror(errno));
		return false;
	}
	rc = evl_watch_start(l, &t->w, t->efd, POLLIN, twatch_cb);
	if (rc) {
		t_fail(__FILE__, __LINE__, "evl_watch_start: %d", rc);
		close(t->efd);
		return false;
	}
	return true;
}

/* Runs rounds until @t saw @calls events, at most @rounds blocking rounds. */
static int wait_calls(struct evl *l, const struct twatch *t, int calls,
		      int rounds)
{
	while (t->calls < calls && rounds--)
		T_CHECK(evl_run_once(l, true) >= 0);
	T_CHECK(t->calls == calls);
	return 0;
}

static void watch_fires_repeatedly(void)
{
	struct evl l;
	struct twatch t;
	unsigned int tail;

	if (!loop_init(&l, 8))
		return;
	if (!twatch_start(&l, &t))
		return;
	T_ASSERT(evl_run_once(&l, false) >= 0); /* submit the poll */
	tail = l.ring.sq.sqe_tail;
	for (int i = 1; i <= 5; i++) {
		kick(t.efd);
		if (wait_calls(&l, &t, i, 10))
			return;
		T_ASSERT(t.revents & POLLIN);
	}
	/* One SQE served every event: the poll is multishot. */
	T_EQ(l.ring.sq.sqe_tail, tail);
	T_ASSERT(t.w.armed);
	evl_watch_stop(&t.w);
	T_EQ(evl_drain(&l, (int)t_hang_ms()), 0);
	close(t.efd);
	evl_exit(&l);
}

static void watch_silent_after_stop(void)
{
	struct evl l;
	struct twatch t;

	if (!loop_init(&l, 8))
		return;
	if (!twatch_start(&l, &t))
		return;
	kick(t.efd);
	if (wait_calls(&l, &t, 1, 10))
		return;
	evl_watch_stop(&t.w);
	T_ASSERT(!t.w.active);
	kick(t.efd);
	T_EQ(evl_drain(&l, (int)t_hang_ms()), 0);
	T_ASSERT(!evl_watch_busy(&t.w));
	T_EQ(t.calls, 1);
	close(t.efd);
	evl_exit(&l);
}

/* A CQE already posted when the watch stops is swallowed, not delivered. */
static void watch_stop_drops_queued_event(void)
{
	struct evl l;
	struct twatch t;
	struct io_uring_cqe *cqe;

	if (!loop_init(&l, 8))
		return;
	if (!twatch_start(&l, &t))
		return;
	T_ASSERT(evl_run_once(&l, false) >= 0);
	kick(t.efd);
	T_EQ(io_uring_wait_cqe(&l.ring, &cqe), 0); /* posted, not consumed */
	evl_watch_stop(&t.w);
	T_EQ(evl_drain(&l, (int)t_hang_ms()), 0);
	T_EQ(t.calls, 0);
	T_ASSERT(!evl_watch_busy(&t.w));
	close(t.efd);
	evl_exit(&l);
}

static void watch_stop_from_own_callback(void)
{
	struct evl l;
	struct twatch t;

	if (!loop_init(&l, 8))
		return;
	if (!twatch_start(&l, &t))
		return;
	t.stop_in_cb = true;
	kick(t.efd);
	if (wait_calls(&l, &t, 1, 10))
		return;
	kick(t.efd);
	T_EQ(evl_drain(&l, (int)t_hang_ms()), 0);
	T_EQ(t.calls, 1);
	T_ASSERT(!evl_watch_busy(&t.w));
	close(t.efd);
	evl_exit(&l);
}

static void watch_restart_after_stop(void)
{
	struct evl l;
	struct twatch t;

	if (!loop_init(&l, 8))
		return;
	if (!twatch_start(&l, &t))
		return;
	T_EQ(evl_watch_start(&l, &t.w, t.efd, POLLIN, twatch_cb), -EBUSY);
	evl_watch_stop(&t.w);
	T_EQ(evl_drain(&l, (int)t_hang_ms()), 0);
	T_EQ(evl_watch_start(&l, &t.w, t.efd, POLLIN, twatch_cb), 0);
	kick(t.efd);
	if (wait_calls(&l, &t, 1, 10))
		return;
	evl_watch_stop(&t.w);
	T_EQ(evl_drain(&l, (int)t_hang_ms()), 0);
	close(t.efd);
	evl_exit(&l);
}

/* Sits between the loop and a watch's poll callback, to see CQE flags. */
static evl_cb *spied_cb;
static int spied_endings;

static void spy_cb(struct evl_op *op, int res, unsigned int flags)
{
	if (!(flags & IORING_CQE_F_MORE) && res >= 0)
		spied_endings++;
	spied_cb(op, res, flags);
}

/*
 * A CQ too small for a burst of events makes the kernel end the multishot
 * (its last CQE has a mask but no F_MORE); the loop must poll again itself.
 */
static void watch_rearms_when_multishot_ends(void)
{
	struct evl l;
	struct twatch t;
	unsigned int tail;
	int calls;

	if (!loop_init(&l, 1))
		return;
	if (!twatch_start(&l, &t))
		return;
	T_ASSERT(evl_run_once(&l, false) >= 0);
	tail = l.ring.sq.sqe_tail;
	spied_cb = t.w.op.cb;
	spied_endings = 0;
	t.w.op.cb = spy_cb; /* a re-arm puts the real one back */
	for (unsigned int i = 0; i < 4 * l.ring.cq.ring_entries; i++)
		kick(t.efd);
	while (evl_run_once(&l, false) > 0)
		;
	if (!spied_endings) {
		t_skip("this kernel did not end the multishot on a full CQ");
		goto out;
	}
	T_EQ(spied_endings, 1);
	T_ASSERT(t.w.armed);
	T_ASSERT(l.ring.sq.sqe_tail != tail); /* a new poll SQE */
	calls = t.calls;
	kick(t.efd);
	if (wait_calls(&l, &t, calls + 1, 10))
		return;
out:
	evl_watch_stop(&t.w);
	T_EQ(evl_drain(&l, (int)t_hang_ms()), 0);
	close(t.efd);
	evl_exit(&l);
}

/*
 * Fault injection for the next case: when the multishot ends, fill the SQ
 * with nops and point the ring's fd number at /dev/null, so the re-arm finds
 * no SQE and submitting cannot make room.
 */
static struct evl *jam_loop;
static struct top jam_ops[64];
static int jam_saved_fd = -1, jam_n;

static void jam_spy_cb(struct evl_op *op, int res, unsigned int flags)
{
	struct io_uring_sqe *sqe;
	int null_fd;

	if (!(flags & IORING_CQE_F_MORE) && jam_saved_fd < 0) {
		while (jam_n < (int)ARRAY_SIZE(jam_ops) &&
		       (sqe = io_uring_get_sqe(&jam_loop->ring))) {
			io_uring_prep_nop(sqe);
			evl_set_op(jam_loop, sqe, &jam_ops[jam_n++].op, top_cb);
		}
		null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		jam_saved_fd = dup(jam_loop->ring.ring_fd);
		dup2(null_fd, jam_loop->ring.ring_fd);
		close(null_fd);
	}
	spied_cb(op, res, flags);
}

static void jam_clear(void)
{
	if (jam_saved_fd < 0)
		return;
	dup2(jam_saved_fd, jam_loop->ring.ring_fd);
	close(jam_saved_fd);
	jam_saved_fd = -1;
}

/*
 * Ends @t's multishot with the ring jammed, then unjams it. Returns 1 if the
 * watch now waits on the re-arm list, 0 if the kernel never ended the
 * multishot (case skipped), -1 if the case failed.
 */
static int jam_multishot_end(struct evl *l, struct twatch *t)
{
	T_CHECK(evl_run_once(l, false) >= 0);
	jam_loop = l;
	jam_n = 0;
	memset(jam_ops, 0, sizeof(jam_ops));
	spied_cb = t->w.op.cb;
	t->w.op.cb = jam_spy_cb;
	for (unsigned int i = 0; i < 4 * l->ring.cq.ring_entries; i++)
		kick(t->efd);
	while (evl_run_once(l, false) > 0)
		;
	if (jam_saved_fd < 0) {
		t_skip("this kernel did not end the multishot on a full CQ");
		return 0;
	}
	jam_clear();
	T_CHECK(jam_n > 0);
	T_CHECK(t->w.rearm_queued && !t->w.armed);
	T_CHECK(evl_watch_busy(&t->w));
	return 1;
}

static void watch_rearm_retried_without_sqe(void)
{
	struct evl l;
	struct twatch t;
	int calls;

	if (!loop_init(&l, 2))
		return;
	if (!twatch_start(&l, &t))
		return;
	if (jam_multishot_end(&l, &t) <= 0)
		goto out;
	/* The next round re-arms it, and events flow again. */
	T_ASSERT(evl_run_once(&l, false) >= 0);
	T_ASSERT(t.w.armed && !t.w.rearm_queued);
	calls = t.calls;
	kick(t.efd);
	if (wait_calls(&l, &t, calls + 1, 10))
		return;
	for (int i = 0; i < jam_n; i++)
		T_EQ(jam_ops[i].calls, 1);
out:
	evl_watch_stop(&t.w);
	T_EQ(evl_drain(&l, (int)t_hang_ms()), 0);
	close(t.efd);
	evl_exit(&l);
}

static void watch_stop_while_rearm_queued(void)
{
	struct evl l;
	struct twatch t;

	if (!loop_init(&l, 2))
		return;
	if (!twatch_start(&l, &t))
		return;
	if (jam_multishot_end(&l, &t) <= 0)
		goto out;
	evl_watch_stop(&t.w);
	T_ASSERT(!evl_watch_busy(&t.w));
	T_ASSERT(!l.rearm);
	T_ASSERT(evl_run_once(&l, false) >= 0);
	T_ASSERT(!t.w.armed);
out:
	evl_watch_stop(&t.w);
	T_EQ(evl_drain(&l, (int)t_hang_ms()), 0);
	close(t.efd);
	evl_exit(&l);
}

static void watch_bad_fd_ends_with_nval(void)
{
	struct evl l;
	struct twatch t;
	int fd;

	if (!loop_init(&l, 8))
		return;
	fd = eventfd(0, EFD_CLOEXEC);
	T_ASSERT(fd >= 0);
	close(fd); /* now a number with nothing behind it */
	t = (struct twatch){ .efd = -1 };
	T_EQ(evl_watch_start(&l, &t.w, fd, POLLIN, twatch_cb), 0);
	T_EQ(evl_drain(&l, (int)t_hang_ms()), 0);
	T_EQ(t.calls, 1);
	T_EQ(t.revents, POLLNVAL);
	T_ASSERT(!t.w.active);
	T_ASSERT(!evl_watch_busy(&t.w));
	evl_exit(&l);
}

struct waker {
	struct evl *l;
	pthread_t th;
};

static void *waker_main(void *arg)
{
	struct waker *wk = arg;
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	evl_stop(wk->l);
	evl_wake(wk->l);
	return NULL;
}

static void wake_from_thread_stops_run(void)
{
	struct evl l;
	struct waker wk = { .l = &l };

	if (!loop_init(&l, 8))
		return;
	T_ASSERT(!pthread_create(&wk.th, NULL, waker_main, &wk));
	T_EQ(evl_run(&l), 0);
	pthread_join(wk.th, NULL);
	T_ASSERT(!l.stop); /* the request was consumed */
	T_ASSERT(l.wake.armed);
	evl_exit(&l);
}

/* An op whose completion asks its loop to stop. */
struct stopper {
	struct evl_op op;
	struct evl *l;
	int calls;
};

static void stopper_cb(struct evl_op *op, int res, unsigned int flags)
{
	struct stopper *s = container_of(op, struct stopper, op);

	s->calls++;
	evl_stop(s->l);
}

static void stop_from_callback_ends_run(void)
{
	struct evl l;
	struct stopper s = { .l = &l };
	struct io_uring_sqe *sqe;

	if (!loop_init(&l, 8))
		return;
	sqe = evl_get_sqe(&l);
	T_ASSERT(sqe);
	io_uring_prep_nop(sqe);
	evl_set_op(&l, sqe, &s.op, stopper_cb);
	T_EQ(evl_run(&l), 0);
	T_EQ(s.calls, 1);
	T_ASSERT(!l.stop);
	evl_exit(&l);
}

static void drain_waits_for_op(void)
{
	struct evl l;
	struct top t = { 0 };
	struct __kernel_timespec ts = { 0, 30 * 1000 * 1000 };
	struct io_uring_sqe *sqe;

	if (!loop_init(&l, 8))
		return;
	sqe = evl_get_sqe(&l);
	T_ASSERT(sqe);
	io_uring_prep_timeout(sqe, &ts, 0, 0);
	evl_set_op(&l, sqe, &t.op, top_cb);
	T_EQ(evl_drain(&l, (int)t_hang_ms()), 0);
	T_EQ(t.calls, 1);
	T_EQ(t.res, -ETIME);
	T_EQ(owner_ops(&l), 0);
	evl_exit(&l);
}

/* Queues a read on the empty pipe @fd into @t; false (failed) on error. */
static bool queue_stuck_read(struct evl *l, struct top *t, int fd, char *buf)
{
	struct io_uring_sqe *sqe = evl_get_sqe(l);

	if (!sqe) {
		t_fail(__FILE__, __LINE__, "no SQE");
		return false;
	}
	io_uring_prep_read(sqe, fd, buf, 8, 0);
	evl_set_op(l, sqe, &t->op, top_cb);
	return true;
}

static void drain_times_out(void)
{
	struct evl l;
	struct top t = { 0 };
	struct timespec a, b;
	char buf[8];
	int p[2];
	long ms;

	if (!loop_init(&l, 8))
		return;
	T_ASSERT(!pipe(p));
	if (!queue_stuck_read(&l, &t, p[0], buf))
		return;
	clock_gettime(CLOCK_MONOTONIC, &a);
	T_EQ(evl_drain(&l, 100), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	T_ASSERT(ms >= 90 && ms < t_hang_ms()); /* on time, and no hang */
	T_EQ(t.calls, 0);
	T_EQ(owner_ops(&l), 1);
	/* Clean up: the cancel is tested on its own below. */
	T_EQ(evl_cancel(&l, &t.op), 0);
	T_EQ(evl_drain(&l, (int)t_hang_ms()), 0);
	close(p[0]);
	close(p[1]);
	evl_exit(&l);
}

static void cancel_pending_read(void)
{
	struct evl l;
	struct top t = { 0 };
	char buf[8];
	int p[2];

	if (!loop_init(&l, 8))
		return;
	T_ASSERT(!pipe(p));
	if (!queue_stuck_read(&l, &t, p[0], buf))
		return;
	T_ASSERT(evl_submit(&l) >= 0);
	T_EQ(evl_cancel(&l, &t.op), 0);
	T_EQ(evl_drain(&l, (int)t_hang_ms()), 0);
	T_EQ(t.calls, 1);
	T_EQ(t.res, -ECANCELED);
	T_EQ(owner_ops(&l), 0);
	close(p[0]);
	close(p[1]);
	evl_exit(&l);
}

/* Cancelling what is not in flight costs one internal CQE and no callback. */
static void cancel_unknown_op(void)
{
	struct evl l;
	struct top t = { 0 };

	if (!loop_init(&l, 8))
		return;
	T_EQ(evl_cancel(&l, &t.op), 0);
	T_EQ(owner_ops(&l), 1);
	T_EQ(evl_drain(&l, (int)t_hang_ms()), 0);
	T_EQ(t.calls, 0);
	evl_exit(&l);
}

#define MANY 100

static void many_ops_overflow_sq(void)
{
	static struct top t[MANY];
	struct evl l;

	if (!loop_init(&l, 4))
		return;
	memset(t, 0, sizeof(t));
	for (int i = 0; i < MANY; i++) {
		struct io_uring_sqe *sqe = evl_get_sqe(&l);

		T_ASSERT(sqe); /* a full SQ was submitted, not refused */
		io_uring_prep_nop(sqe);
		evl_set_op(&l, sqe, &t[i].op, top_cb);
	}
	T_EQ(evl_drain(&l, (int)t_hang_ms()), 0);
	for (int i = 0; i < MANY; i++) {
		T_EQ(t[i].calls, 1);
		T_EQ(t[i].res, 0);
	}
	T_EQ(owner_ops(&l), 0);
	evl_exit(&l);
}

static void exit_leaks_no_fd(void)
{
	int before = t_count_fds(0), efd;
	struct evl l;
	struct twatch t;

	T_ASSERT(before > 0);
	if (!loop_init(&l, 8))
		return;
	if (!twatch_start(&l, &t))
		return;
	efd = t.efd;
	kick(efd);
	if (wait_calls(&l, &t, 1, 10))
		return;
	evl_watch_stop(&t.w);
	T_EQ(evl_drain(&l, (int)t_hang_ms()), 0);
	evl_exit(&l);
	close(efd);
	T_EQ(t_count_fds(0), before);
	T_EQ(l.wake_fd, -1);
}

static void exit_accepts_zeroed_and_twice(void)
{
	struct evl zero = { 0 }, l;

	evl_exit(&zero);
	if (!loop_init(&l, 8))
		return;
	evl_exit(&l);
	evl_exit(&l);
}

/* ---- other threads: messages, calls, loop threads ----------------------- */

struct tmsg {
	struct evl_msg m;
	unsigned int id;
	unsigned int *log; /* ids in the order they ran */
	unsigned int *n;
	pthread_t ran_on;
};

static void tmsg_run(struct evl_msg *m)
{
	struct tmsg *t = container_of(m, struct tmsg, m);

	t->log[(*t->n)++] = t->id;
	t->ran_on = pthread_self();
}

/* Posted messages run in posting order, a repost while queued runs once. */
static void post_runs_in_order_once(void)
{
	unsigned int log[8], n = 0;
	struct tmsg m[4];
	struct evl l;

	if (!loop_init(&l, 8))
		return;
	for (unsigned int i = 0; i < 4; i++)
		m[i] = (struct tmsg){ .id = i, .log = log, .n = &n };
	evl_post(&l, &m[2].m, tmsg_run);
	evl_post(&l, &m[0].m, tmsg_run);
	evl_post(&l, &m[2].m, tmsg_run); /* still queued: keeps its place */
	evl_post(&l, &m[3].m, tmsg_run);
	for (int i = 0; i < 10 && n < 3; i++)
		T_ASSERT(evl_run_once(&l, true) >= 0);
	T_EQ(n, 3);
	T_EQ(log[0], 2);
	T_EQ(log[1], 0);
	T_EQ(log[2], 3);
	/* Once run, it can be posted again. */
	evl_post(&l, &m[2].m, tmsg_run);
	for (int i = 0; i < 10 && n < 4; i++)
		T_ASSERT(evl_run_once(&l, true) >= 0);
	T_EQ(n, 4);
	T_EQ(log[3], 2);
	evl_exit(&l);
}

struct tcall {
	pthread_t ran_on;
	unsigned int calls;
};

static void tcall_fn(void *arg)
{
	struct tcall *c = arg;

	c->ran_on = pthread_self();
	c->calls++;
}

struct tnest {
	struct evl *loop;
	struct tcall inner;
};

static void tnest_fn(void *arg)
{
	struct tnest *t = arg;

	evl_call(t->loop, tcall_fn, &t->inner); /* from the loop's thread */
}

/* evl_call from the loop's own thread is a call at once, not a deadlock. */
static void call_from_own_thread_runs_at_once(void)
{
	struct evl_thread th;
	struct tnest t = { 0 };
	int rc = evl_thread_start(&th, "evl-test", 8);

	if (rc == -ENOSYS || rc == -EPERM) {
		t_skip("io_uring unavailable: %s", strerror(-rc));
		return;
	}
	T_EQ(rc, 0);
	t.loop = &th.loop;
	evl_call(&th.loop, tnest_fn, &t);
	T_EQ(t.inner.calls, 1);
	T_ASSERT(pthread_equal(t.inner.ran_on, th.tid));
	T_EQ(evl_thread_stop(&th), 0);
}

/*
 * evl_call runs on the loop's thread, after what was posted before, and
 * returns only once it ran; the thread stops cleanly.
 */
static void call_runs_on_loop_thread(void)
{
	unsigned int log[4], n = 0;
	struct evl_thread th;
	struct tcall c = { 0 };
	struct tmsg m = { .id = 9, .log = log, .n = &n };
	int rc = evl_thread_start(&th, "evl-test", 8);

	if (rc == -ENOSYS || rc == -EPERM) {
		t_skip("io_uring unavailable: %s", strerror(-rc));
		return;
	}
	T_EQ(rc, 0);
	evl_post(&th.loop, &m.m, tmsg_run);
	evl_call(&th.loop, tcall_fn, &c);
	T_EQ(c.calls, 1);
	T_EQ(n, 1); /* the message posted before ran first */
	T_ASSERT(pthread_equal(c.ran_on, th.tid));
	T_ASSERT(pthread_equal(m.ran_on, th.tid));
	T_ASSERT(!pthread_equal(c.ran_on, pthread_self()));
	T_EQ(evl_thread_stop(&th), 0);
	T_EQ(evl_thread_stop(&th), 0); /* twice is fine */
}

#define POSTERS 3
#define POSTS 20000

struct poster {
	struct evl *l;
	struct evl_msg m;
	unsigned int posted;
	unsigned int ran; /* written on the loop thread only */
};

static void poster_run(struct evl_msg *m)
{
	container_of(m, struct poster, m)->ran++;
}

static void *poster_main(void *arg)
{
	struct poster *p = arg;

	for (unsigned int i = 0; i < POSTS; i++) {
		evl_post(p->l, &p->m, poster_run);
		p->posted++;
		if (i % 64 == 0)
			sched_yield();
	}
	return NULL;
}

static void count_call(void *arg)
{
	struct poster *p = arg;

	for (unsigned int i = 0; i < POSTERS; i++)
		p[POSTERS].ran += p[i].ran;
}

/*
 * Three threads post their message over and over to a loop thread: no
 * message is lost (each runs at least once after its last post) and none
 * runs more often than it was posted.
 */
static void post_from_many_threads(void)
{
	struct poster p[POSTERS + 1] = { 0 };
	pthread_t tid[POSTERS];
	struct evl_thread th;
	int rc = evl_thread_start(&th, "evl-test", 8);

	if (rc == -ENOSYS || rc == -EPERM) {
		t_skip("io_uring unavailable: %s", strerror(-rc));
		return;
	}
	T_EQ(rc, 0);
	for (unsigned int i = 0; i < POSTERS; i++) {
		p[i].l = &th.loop;
		T_EQ(pthread_create(&tid[i], NULL, poster_main, &p[i]), 0);
	}
	for (unsigned int i = 0; i < POSTERS; i++)
		pthread_join(tid[i], NULL);
	/* A call runs after every earlier post: all of them have run. */
	evl_call(&th.loop, count_call, p);
	for (unsigned int i = 0; i < POSTERS; i++) {
		T_ASSERT(p[i].ran >= 1);
		T_ASSERT(p[i].ran <= POSTS);
		T_ASSERT(!__atomic_load_n(&p[i].m.queued, __ATOMIC_ACQUIRE));
	}
	T_EQ(evl_thread_stop(&th), 0);
}

T_MAIN(T_CASE(nop_calls_back), T_CASE(read_returns_count),
       T_CASE(watch_fires_repeatedly), T_CASE(watch_silent_after_stop),
       T_CASE(watch_stop_drops_queued_event),
       T_CASE(watch_stop_from_own_callback), T_CASE(watch_restart_after_stop),
       T_CASE(watch_rearms_when_multishot_ends),
       T_CASE(watch_rearm_retried_without_sqe),
       T_CASE(watch_stop_while_rearm_queued),
       T_CASE(watch_bad_fd_ends_with_nval), T_CASE(wake_from_thread_stops_run),
       T_CASE(stop_from_callback_ends_run), T_CASE(drain_waits_for_op),
       T_CASE(drain_times_out), T_CASE(cancel_pending_read),
       T_CASE(cancel_unknown_op), T_CASE(many_ops_overflow_sq),
       T_CASE(exit_leaks_no_fd), T_CASE(exit_accepts_zeroed_and_twice),
       T_CASE(post_runs_in_order_once), T_CASE(call_runs_on_loop_thread),
       T_CASE(call_from_own_thread_runs_at_once),
       T_CASE(post_from_many_threads))
