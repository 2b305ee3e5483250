// SPDX-License-Identifier: MIT
/*
 * Unit tests of lib/pollwin.h, the adaptive idle-polling window of a disk
 * queue: a window spent without finding work halves the next, work found
 * by a look or a kick grows it back by one, never past the cap.
 */
#include "lib/pollwin.h"
#include "../lib/t.h"

/* Takes looks until the window says none is left; returns how many. */
static unsigned int spend(struct pollwin *w)
{
	unsigned int n = 0;

	while (pollwin_look(w) && n < 100)
		n++;
	pollwin_idle_end(w);
	return n;
}

/* A fresh window has its cap; each spent one halves the next, down to 0. */
static void spent_windows_halve(void)
{
	struct pollwin w;

	pollwin_init(&w, 4);
	T_EQ(spend(&w), 4);
	T_EQ(w.max, 2);
	T_EQ(w.looks, 0);
	T_EQ(spend(&w), 2);
	T_EQ(spend(&w), 1);
	T_EQ(w.max, 0);
	/* None left: kicks at once, and it stays so without work. */
	T_EQ(spend(&w), 0);
	T_EQ(spend(&w), 0);
	T_EQ(w.max, 0);
}

/* A look that found work grows the next window by one, up to the cap. */
static void found_by_a_look_grows(void)
{
	struct pollwin w;

	pollwin_init(&w, 4);
	T_EQ(spend(&w), 4);
	T_EQ(spend(&w), 2);
	T_EQ(w.max, 1);
	T_ASSERT(pollwin_look(&w));
	pollwin_found(&w); /* the look paid */
	T_EQ(w.max, 2);
	T_EQ(w.looks, 0);
	/* Two idle looks before work was found: grows again. */
	T_ASSERT(pollwin_look(&w));
	T_ASSERT(pollwin_look(&w));
	pollwin_found(&w);
	T_EQ(w.max, 3);
	for (int i = 0; i < 5; i++) {
		T_ASSERT(pollwin_look(&w));
		pollwin_found(&w);
	}
	T_EQ(w.max, 4); /* the cap */
	/* Work found with no idle look before (a kick's run): no growth. */
	T_EQ(spend(&w), 4);
	T_EQ(w.max, 2);
	pollwin_found(&w);
	T_EQ(w.max, 2);
}

/* A kick the driver had to make grows it by one, up to the cap. */
static void kick_grows(void)
{
	struct pollwin w;

	pollwin_init(&w, 4);
	T_EQ(spend(&w), 4);
	T_EQ(spend(&w), 2);
	T_EQ(spend(&w), 1);
	T_EQ(w.max, 0);
	pollwin_kicked(&w);
	T_EQ(w.max, 1);
	for (int i = 0; i < 10; i++)
		pollwin_kicked(&w);
	T_EQ(w.max, 4);
}

/*
 * A guest that kicks for every request after the queue went idle: polling
 * never found anything, so the window settles at one or two looks instead
 * of four; a guest whose requests the looks find keeps the whole window.
 */
static void settles_by_what_pays(void)
{
	struct pollwin w;
	unsigned int total = 0;

	pollwin_init(&w, 4);
	for (int i = 0; i < 8; i++) {
		pollwin_kicked(&w);
		pollwin_found(&w); /* the kick's run pops the request */
		total += spend(&w);
	}
	T_EQ(w.max, 1);
	T_EQ(total, 4 + 3 + 6 * 2);
	pollwin_init(&w, 4);
	for (int i = 0; i < 8; i++) {
		T_ASSERT(pollwin_look(&w));
		T_ASSERT(pollwin_look(&w));
		pollwin_found(&w); /* the second idle look found one */
	}
	T_EQ(w.max, 4);
}

/* A window ended early (no timer for the look) is not counted as spent. */
static void early_end_keeps_window(void)
{
	struct pollwin w;

	pollwin_init(&w, 4);
	T_ASSERT(pollwin_look(&w));
	pollwin_idle_end(&w);
	T_EQ(w.max, 4);
	T_EQ(w.looks, 1);
	/* Cap 0 (polling off): never a look, nothing changes. */
	pollwin_init(&w, 0);
	T_ASSERT(!pollwin_look(&w));
	pollwin_idle_end(&w);
	pollwin_found(&w);
	pollwin_kicked(&w);
	T_EQ(w.max, 0);
}

T_MAIN(T_CASE(spent_windows_halve), T_CASE(found_by_a_look_grows),
       T_CASE(kick_grows), T_CASE(settles_by_what_pays),
       T_CASE(early_end_keeps_window))
