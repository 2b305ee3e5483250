/* SPDX-License-Identifier: MIT */
/* syslog(3) behind names that do not clash with lib/log.h's levels. */
#ifndef XVB_LIB_LOGSYS_H
#define XVB_LIB_LOGSYS_H

/* openlog(@ident, LOG_PID | LOG_NDELAY, LOG_DAEMON); @ident must live on. */
void log_syslog_open(const char *ident);
/* syslog(@prio, "%s", @line): @prio is a syslog priority (3 err ...). */
void log_syslog_write(int prio, const char *line);
void log_syslog_close(void);

#endif
