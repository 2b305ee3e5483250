// SPDX-License-Identifier: MIT
/*
 * syslog(3) for lib/log.c, in a file of its own: <syslog.h> defines
 * LOG_ERR and LOG_INFO, which lib/log.h's levels are also called.
 */
#include <syslog.h>

#include "logsys.h"

void log_syslog_open(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_syslog_write(int prio, const char *line)
{
	syslog(prio, "%s", line);
}

void log_syslog_close(void)
{
	closelog();
}
