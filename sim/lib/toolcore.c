// SPDX-License-Identifier: MIT
/*
 * libxentoolcore: the registry of open handles behind
 * xentoolcore_restrict_all(), which restricts every one of them to a domain.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "toolcore.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct xtc_handle *handles;

void xentoolcore__register_active_handle(struct xtc_handle *ah)
{
	pthread_mutex_lock(&lock);
	ah->next = handles;
	if (handles)
		handles->pprev = &ah->next;
	ah->pprev = &handles;
	handles = ah;
	pthread_mutex_unlock(&lock);
}

void xentoolcore__deregister_active_handle(struct xtc_handle *ah)
{
	pthread_mutex_lock(&lock);
	if (ah->pprev) {
		*ah->pprev = ah->next;
		if (ah->next)
			ah->next->pprev = ah->pprev;
		ah->pprev = NULL;
		ah->next = NULL;
	}
	pthread_mutex_unlock(&lock);
}

int xentoolcore_restrict_all(domid_t domid)
{
	int rc = 0;

	pthread_mutex_lock(&lock);
	for (struct xtc_handle *ah = handles; ah && !rc; ah = ah->next)
		rc = ah->restrict_cb(ah, domid);
	pthread_mutex_unlock(&lock);
	return rc;
}

int xentoolcore__restrict_by_dup2_null(int fd)
{
	int nullfd, saved;

	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nullfd < 0)
		return -1;
	if (dup2(nullfd, fd) < 0) {
		saved = errno;
		close(nullfd);
		errno = saved;
		return -1;
	}
	close(nullfd);
	return 0;
}
