/* SPDX-License-Identifier: MIT */
/*
 * An adaptive idle-polling window: how many times a queue that just went
 * idle looks at its ring again (a timer apart) before it asks the driver
 * to kick. The looks pay when the driver adds work soon after a drain (it
 * then traps for no kick) and cost a wake-up each when it does not, on the
 * vCPUs the guest and dom0 share. So the window adapts: one that ran out
 * without finding anything halves the next (down to none: kicks are asked
 * for at once), a look that found work or a kick the driver had to make
 * grows it back by one, up to its cap. Plain state, one thread's.
 */
#ifndef XVB_LIB_POLLWIN_H
#define XVB_LIB_POLLWIN_H

#include <stdbool.h>

struct pollwin {
	unsigned int looks; /* idle looks since work was last found */
	unsigned int max;   /* looks this window */
	unsigned int cap;   /* the most a window grows to */
};

static inline void pollwin_init(struct pollwin *w, unsigned int cap)
{
	w->looks = 0;
	w->max = w->cap = cap;
}

/* An idle ring: true, and counted, if the window has a look left. */
static inline bool pollwin_look(struct pollwin *w)
{
	if (w->looks >= w->max)
		return false;
	w->looks++;
	return true;
}

/* Work found: idle looks before it paid, the next window grows by one. */
static inline void pollwin_found(struct pollwin *w)
{
	if (w->looks && w->max < w->cap)
		w->max++;
	w->looks = 0;
}

/* The driver had to kick: it is busy again, looking may pay. */
static inline void pollwin_kicked(struct pollwin *w)
{
	if (w->max < w->cap)
		w->max++;
}

/*
 * Kicks go back on with nothing in flight: a window spent without finding
 * work halves the next one, which starts afresh.
 */
static inline void pollwin_idle_end(struct pollwin *w)
{
	if (w->looks && w->looks >= w->max) {
		w->max /= 2;
		w->looks = 0;
	}
}

#endif
