/*
 * log.c - leveled, one-line-per-event logging, safe from any thread.
 */
#include "config.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = XL_LOG_INFO;
static atomic_int log_fd = 2;

static const char log_letters[] = " EWIDT";
static const char *const log_names[] = {"none", "error", "warning",
					"info", "debug", "trace"};

int xl_log_init(const char *path, enum xl_log_level level)
{
	atomic_store(&log_level, level);
	if (path) {
		int fd =
		    open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
		int old = atomic_exchange(&log_fd, fd);
		if (old > 2)
			close(old);
	}
	return 0;
}

void xl_log_set_level(enum xl_log_level level)
{
	atomic_store(&log_level, level);
}

enum xl_log_level xl_log_get_level(void)
{
	return (enum xl_log_level)atomic_load_explicit(&log_level,
						       memory_order_relaxed);
}

int xl_log_level_parse(const char *s)
{
	for (int i = 0; i <= XL_LOG_TRACE; i++)
		if (strcasecmp(s, log_names[i]) == 0)
			return i;
	if (strcasecmp(s, "warn") == 0)
		return XL_LOG_WARNING;
	return -1;
}

void xl_log(enum xl_log_level level, const char *component, const char *fmt,
	    ...)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	size_t n;
	va_list ap;
	int saved = errno;

	if (level > xl_log_get_level() || level <= XL_LOG_NONE)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "[%Y-%m-%d %H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, ".%06ld] %c [%s] ",
			      (long)tv.tv_usec, log_letters[level],
			      component ? component : "-");
	if (n < sizeof(line)) {
		va_start(ap, fmt);
		int m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		if (m > 0)
			n += (size_t)m;
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2; /* truncated: keep the line whole */
	line[n++] = '\n';
	/* One write per line so lines from threads never interleave. */
	if (write(atomic_load(&log_fd), line, n) < 0) {
		/* Nowhere left to report it. */
	}
	errno = saved;
}
