/*
 * log.h - one line per event: time, level, component, message.
 *
 *   [2026-11-22 01:02:03.456789] E [posix] open failed: path=a/b errno=13
 *
 * Thread-safe; each line is written with one write(2).  The component is
 * the translator's name (xl->name) or the program's part ("rpc", "fuse").
 */
#ifndef MORTAR_LOG_H
#define MORTAR_LOG_H

enum xl_log_level {
	XL_LOG_NONE = 0,
	XL_LOG_ERROR,
	XL_LOG_WARNING,
	XL_LOG_INFO,
	XL_LOG_DEBUG,
	XL_LOG_TRACE,
};

/* Where lines go: a file path (appended), or NULL for stderr.  0 or -errno. */
int xl_log_init(const char *path, enum xl_log_level level);
void xl_log_set_level(enum xl_log_level level);
enum xl_log_level xl_log_get_level(void);
/* "error", "warning", "info", "debug", "trace" -> level; -1 if unknown. */
int xl_log_level_parse(const char *s);

void xl_log(enum xl_log_level level, const char *component, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));

#define XL_LOG_ON(level) ((level) <= xl_log_get_level())

#define xl_err(comp, ...) xl_log(XL_LOG_ERROR, (comp), __VA_ARGS__)
#define xl_warn(comp, ...) xl_log(XL_LOG_WARNING, (comp), __VA_ARGS__)
#define xl_info(comp, ...) xl_log(XL_LOG_INFO, (comp), __VA_ARGS__)
#define xl_debug(comp, ...)                                                    \
	do {                                                                   \
		if (XL_LOG_ON(XL_LOG_DEBUG))                                   \
			xl_log(XL_LOG_DEBUG, (comp), __VA_ARGS__);             \
	} while (0)
#define xl_trace(comp, ...)                                                    \
	do {                                                                   \
		if (XL_LOG_ON(XL_LOG_TRACE))                                   \
			xl_log(XL_LOG_TRACE, (comp), __VA_ARGS__);             \
	} while (0)

#endif
