// SPDX-License-Identifier: MIT
/*
 * The io_uring event loop: every SQE's user_data is a struct evl_op whose
 * callback gets each CQE; fd readiness comes from multishot polls.
 */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/evl.h"

#define EVL_REARM_RETRY_NS 1000000 /* 1 ms */

static void evl_noop_cb(struct evl_op *op, int res, unsigned int cqe_flags)
{
}

static void evl_mbox_run(struct evl *l);

/*
 * The wake watch: reset the eventfd, run what other threads posted; evl_run
 * then rechecks ->stop.
 */
static void evl_wake_cb(struct evl_watch *w, unsigned int revents)
{
	struct evl *l = container_of(w, struct evl, wake);
	uint64_t v;

	/* EAGAIN only means an earlier CQE already reset it. */
	while (read(l->wake_fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
	evl_mbox_run(l);
}

int evl_init(struct evl *l, unsigned int entries)
{
	int rc;

	*l = (struct evl){ .wake_fd = -1 };
	rc = io_uring_queue_init(entries, &l->ring, 0);
	if (rc)
		return rc;
	l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->wake_fd < 0) {
		rc = -errno;
		goto err_ring;
	}
	rc = evl_watch_start(l, &l->wake, l->wake_fd, POLLIN, evl_wake_cb);
	if (rc)
		goto err_wake_fd;
	l->ready = true;
	return 0;

err_wake_fd:
	close(l->wake_fd);
	l->wake_fd = -1;
err_ring:
	io_uring_queue_exit(&l->ring);
	return rc;
}

void evl_exit(struct evl *l)
{
	if (!l->ready)
		return;
	evl_watch_stop(&l->wake);
	close(l->wake_fd);
	l->wake_fd = -1;
	/* Also drops what the kernel still holds, the wake poll included. */
	io_uring_queue_exit(&l->ring);
	l->ready = false;
}

struct io_uring_sqe *evl_get_sqe(struct evl *l)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);

	if (sqe)
		return sqe;
	/* SQ full: hand what is queued to the kernel and try once more. */
	io_uring_submit(&l->ring);
	return io_uring_get_sqe(&l->ring);
}

void evl_set_op(struct evl *l, struct io_uring_sqe *sqe, struct evl_op *op,
		evl_cb *cb)
{
	op->cb = cb;
	io_uring_sqe_set_data(sqe, op);
	l->inflight++;
}

int evl_submit(struct evl *l)
{
	return io_uring_submit(&l->ring);
}

/*
 * Runs the callbacks of the CQEs already posted, at most one ring's worth so
 * a busy multishot cannot keep a round going forever. Each CQE is released
 * before its callback runs, so callbacks may queue and submit freely.
 */
static int evl_reap(struct evl *l)
{
	unsigned int budget = l->ring.cq.ring_entries;
	struct io_uring_cqe *cqe;
	struct evl_op *op;
	unsigned int flags;
	int n = 0, res;

	while (n < (int)budget && !io_uring_peek_cqe(&l->ring, &cqe)) {
		op = io_uring_cqe_get_data(cqe);
		res = cqe->res;
		flags = cqe->flags;
		io_uring_cqe_seen(&l->ring, cqe);
		/* Every SQE went through evl_set_op(). */
		assert(op && l->inflight);
		if (!(flags & IORING_CQE_F_MORE))
			l->inflight--;
		op->cb(op, res, flags);
		n++;
	}
	return n;
}

/* Errors of io_uring_enter after which reaping is still the right move. */
static bool evl_transient(int rc)
{
	return rc == -EINTR || rc == -ETIME || rc == -EAGAIN || rc == -EBUSY;
}

static int evl_watch_arm(struct evl_watch *w);

/* Retries the re-arms that found no free SQE (see evl_watch_rearm). */
static void evl_rearm_pending(struct evl *l)
{
	struct evl_watch *w;

	while ((w = l->rearm)) {
		if (evl_watch_arm(w))
			break;
		l->rearm = w->rearm_next;
		w->rearm_next = NULL;
		w->rearm_queued = false;
	}
}

static uint64_t evl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* Submits, then waits up to @ns for a CQE. Returns 0 or -errno. */
static int evl_wait(struct evl *l, uint64_t ns)
{
	struct __kernel_timespec ts = {
		.tv_sec = ns / 1000000000,
		.tv_nsec = ns % 1000000000,
	};
	struct io_uring_cqe *cqe;
	int rc;

	rc = io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, &ts, NULL);
	return rc < 0 && !evl_transient(rc) ? rc : 0;
}

int evl_run_once(struct evl *l, bool wait)
{
	int rc;

	if (!l->tid_set || !pthread_equal(l->tid, pthread_self())) {
		l->tid = pthread_self();
		l->tid_set = true;
	}
	evl_rearm_pending(l);
	if (wait && l->rearm) /* a watch is down: do not sleep for long */
		rc = evl_wait(l, EVL_REARM_RETRY_NS);
	else if (wait)
		rc = io_uring_submit_and_wait(&l->ring, 1);
	else
		rc = io_uring_submit(&l->ring);
	if (rc < 0 && !evl_transient(rc))
		return rc;
	return evl_reap(l);
}

int evl_run(struct evl *l)
{
	int rc = 0;

	/* Acquire pairs with the release in evl_stop() of another thread. */
	while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
		rc = evl_run_once(l, true);
		if (rc < 0)
			break;
		rc = 0;
	}
	__atomic_store_n(&l->stop, false, __ATOMIC_RELAXED);
	return rc;
}

void evl_stop(struct evl *l)
{
	__atomic_store_n(&l->stop, true, __ATOMIC_RELEASE);
}

void evl_wake(struct evl *l)
{
	uint64_t one = 1;

	/* EAGAIN: the counter is saturated, so the fd is readable anyway. */
	while (write(l->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

/* ---- watches ------------------------------------------------------------ */

static void evl_watch_poll_cb(struct evl_op *op, int res, unsigned int flags);
static void evl_watch_cancel_cb(struct evl_op *op, int res, unsigned int flags);

static int evl_watch_arm(struct evl_watch *w)
{
	struct io_uring_sqe *sqe = evl_get_sqe(w->loop);

	if (!sqe)
		return -EAGAIN;
	io_uring_prep_poll_multishot(sqe, w->fd, w->events);
	evl_set_op(w->loop, sqe, &w->op, evl_watch_poll_cb);
	w->armed = true;
	return 0;
}

/* The kernel ended the multishot cleanly: poll again, now or next round. */
static void evl_watch_rearm(struct evl_watch *w)
{
	struct evl *l = w->loop;

	if (!evl_watch_arm(w))
		return;
	w->rearm_next = l->rearm;
	l->rearm = w;
	w->rearm_queued = true;
}

static void evl_watch_unqueue(struct evl_watch *w)
{
	struct evl_watch **pp;

	for (pp = &w->loop->rearm; *pp; pp = &(*pp)->rearm_next) {
		if (*pp == w) {
			*pp = w->rearm_next;
			break;
		}
	}
	w->rearm_next = NULL;
	w->rearm_queued = false;
}

/*
 * Queues and submits a poll_remove for an armed watch; its CQE goes to
 * w->cancel_op. Without a free SQE it is retried from the next poll CQE.
 */
static void evl_watch_cancel(struct evl_watch *w)
{
	struct io_uring_sqe *sqe;

	if (!w->armed || w->cancelling)
		return;
	sqe = evl_get_sqe(w->loop);
	if (!sqe)
		return;
	io_uring_prep_poll_remove(sqe, (uint64_t)(uintptr_t)&w->op);
	evl_set_op(w->loop, sqe, &w->cancel_op, evl_watch_cancel_cb);
	w->cancelling = true;
	io_uring_submit(&w->loop->ring);
}

static void evl_watch_cancel_cb(struct evl_op *op, int res, unsigned int flags)
{
	struct evl_watch *w = container_of(op, struct evl_watch, cancel_op);

	/* res is 0, or -ENOENT if the poll had already ended: both fine. */
	w->cancelling = false;
}

static void evl_watch_poll_cb(struct evl_op *op, int res, unsigned int flags)
{
	struct evl_watch *w = container_of(op, struct evl_watch, op);
	bool more = flags & IORING_CQE_F_MORE;

	if (!more)
		w->armed = false;
	if (!w->active) {
		/* Stopped: swallow, and retry a cancel that found no SQE. */
		if (more)
			evl_watch_cancel(w);
		return;
	}
	if (res < 0) {
		/* -EBADF, -ECANCELED, -ENOMEM...: the watch is over. */
		w->active = false;
		w->cb(w, res == -EBADF ? POLLNVAL : POLLERR);
		return;
	}
	if (res)
		w->cb(w, res);
	/* The callback may have stopped, or stopped and restarted, @w. */
	if (!more && w->active && !w->armed && !w->rearm_queued)
		evl_watch_rearm(w);
}

int evl_watch_start(struct evl *l, struct evl_watch *w, int fd,
		    unsigned int events, evl_watch_cb *cb)
{
	int rc;

	if (w->active || evl_watch_busy(w))
		return -EBUSY;
	w->loop = l;
	w->cb = cb;
	w->fd = fd;
	w->events = events;
	w->rearm_next = NULL;
	rc = evl_watch_arm(w);
	if (rc)
		return rc;
	w->active = true;
	return 0;
}

void evl_watch_stop(struct evl_watch *w)
{
	if (!w->active)
		return;
	w->active = false;
	if (w->rearm_queued)
		evl_watch_unqueue(w);
	evl_watch_cancel(w);
}

bool evl_watch_busy(const struct evl_watch *w)
{
	return w->armed || w->cancelling || w->rearm_queued;
}

/* ---- teardown helpers ---------------------------------------------------- */

int evl_cancel(struct evl *l, struct evl_op *op)
{
	struct io_uring_sqe *sqe = evl_get_sqe(l);

	if (!sqe)
		return -EAGAIN;
	io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op,
			       IORING_ASYNC_CANCEL_ALL);
	evl_set_op(l, sqe, &l->noop, evl_noop_cb);
	io_uring_submit(&l->ring); /* on failure it stays queued */
	return 0;
}

/* In-flight operations that are the loop's own, not the owner's. */
static unsigned int evl_internal_ops(const struct evl *l)
{
	return l->wake.armed + l->wake.cancelling;
}

int evl_drain(struct evl *l, unsigned int timeout_ms)
{
	uint64_t end = evl_now_ns() + (uint64_t)timeout_ms * 1000000, now;
	int rc;

	for (;;) {
		rc = evl_run_once(l, false);
		if (rc < 0)
			return rc;
		if (l->inflight <= evl_internal_ops(l))
			return 0;
		now = evl_now_ns();
		if (now >= end)
			return -ETIMEDOUT;
		rc = evl_wait(l, end - now);
		if (rc)
			return rc;
	}
}

/* ---- other threads ------------------------------------------------------- */

/*
 * Runs the mailbox oldest first. A message may run the loop (a queue's
 * reset reaps its I/O so): messages posted meanwhile wait for this outer
 * call, which looks again until the mailbox stays empty, so order holds.
 */
static void evl_mbox_run(struct evl *l)
{
	struct evl_msg *m, *next, *todo;
	evl_msg_fn *fn;

	if (l->mbox_running)
		return;
	l->mbox_running = true;
	while ((m = __atomic_exchange_n(&l->mbox, NULL, __ATOMIC_ACQUIRE))) {
		/* Posted newest first: reverse into posting order. */
		for (todo = NULL; m; m = next) {
			next = m->next;
			m->next = todo;
			todo = m;
		}
		while ((m = todo)) {
			todo = m->next;
			fn = m->fn;
			/* From here the poster may queue (or free) it again. */
			__atomic_store_n(&m->queued, false, __ATOMIC_RELEASE);
			fn(m);
		}
	}
	l->mbox_running = false;
}

void evl_post(struct evl *l, struct evl_msg *m, evl_msg_fn *fn)
{
	struct evl_msg *head;

	if (__atomic_exchange_n(&m->queued, true, __ATOMIC_ACQ_REL))
		return; /* still queued: it runs once, in its place */
	m->fn = fn;
	head = __atomic_load_n(&l->mbox, __ATOMIC_RELAXED);
	do {
		m->next = head;
	} while (!__atomic_compare_exchange_n(
		&l->mbox, &head, m, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	/* Whoever fills an empty mailbox wakes the loop. */
	if (!head)
		evl_wake(l);
}

struct evl_call_msg {
	struct evl_msg m;
	void (*fn)(void *arg);
	void *arg;
	sem_t done;
};

static void evl_call_run(struct evl_msg *m)
{
	struct evl_call_msg *c = container_of(m, struct evl_call_msg, m);

	c->fn(c->arg);
	sem_post(&c->done); /* the caller's frame may be gone after this */
}

void evl_call(struct evl *l, void (*fn)(void *arg), void *arg)
{
	struct evl_call_msg c = { .fn = fn, .arg = arg };

	/* Waiting for our own loop would never end: it is a plain call. */
	if (evl_is_mine(l)) {
		fn(arg);
		return;
	}

	sem_init(&c.done, 0, 0);
	evl_post(l, &c.m, evl_call_run);
	while (sem_wait(&c.done) && errno == EINTR)
		;
	sem_destroy(&c.done);
}

static void *evl_thread_main(void *arg)
{
	struct evl_thread *t = arg;

	/* Ours before the starter returns: evl_is_mine() holds from now. */
	t->loop.tid = pthread_self();
	t->loop.tid_set = true;
	sem_post(&t->started);
	t->rc = evl_run(&t->loop);
	return NULL;
}

int evl_thread_start(struct evl_thread *t, const char *name,
		     unsigned int entries)
{
	sigset_t all, old;
	int rc;

	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	rc = evl_init(&t->loop, entries);
	if (rc)
		return rc;
	/* Signals stay with the thread that reads its signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	sem_init(&t->started, 0, 0);
	rc = -pthread_create(&t->tid, NULL, evl_thread_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		sem_destroy(&t->started);
		evl_exit(&t->loop);
		return rc;
	}
	while (sem_wait(&t->started) && errno == EINTR)
		;
	sem_destroy(&t->started);
	pthread_setname_np(t->tid, t->name);
	t->running = true;
	return 0;
}

static void evl_thread_quit(void *arg)
{
	evl_stop(arg);
}

int evl_thread_stop(struct evl_thread *t)
{
	if (!t->running)
		return 0;
	evl_call(&t->loop, evl_thread_quit, &t->loop);
	pthread_join(t->tid, NULL);
	t->running = false;
	evl_exit(&t->loop);
	return t->rc;
}
