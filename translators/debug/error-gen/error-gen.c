/*
 * error-gen.c - debug/error-gen: fail chosen fops with chosen errnos, at
 * a rate or on a pattern, or delay them, then pass the rest through
 * unchanged.  For tests of what a failing disk, a full disk or a slow
 * brick does to the volume: loadable anywhere in a graph (above
 * storage/posix on a brick is the disk; above protocol/client on a client
 * is that brick's link).
 *
 * A failed fop is answered at once with the errno and never reaches the
 * translator below, as a real ENOSPC write never writes.  A delay sleeps
 * the calling thread before the fop goes on (an io-threads worker on a
 * brick; on a client the thread that sent it).  The rules and their order
 * are error-gen-plan.h's.  Each failure is counted by fop and errno in
 * the state dump; the first few are logged.
 */
#include "config.h"

#include "error-gen-plan.h"
#include "log.h"
#include "xlator.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Failures logged one by one before the log goes quiet (the dump keeps
 * counting). */
#define EGEN_LOG_FIRST 10

struct egen_priv {
	pthread_mutex_t lock;
	struct egen_plan plan; /* lock */
	atomic_uint_fast64_t failed[XL_FOP_COUNT];
	atomic_uint_fast64_t delayed, passed;
};

static void egen_sleep_usec(uint64_t usec)
{
	struct timespec ts = {.tv_sec = (time_t)(usec / 1000000u),
			      .tv_nsec = (long)(usec % 1000000u) * 1000};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void egen_fop(struct xl *xl, struct xl_call *call)
{
	struct egen_priv *priv = xl->private;
	struct egen_verdict v;
	uint64_t nfailed;

	pthread_mutex_lock(&priv->lock);
	v = egen_decide(&priv->plan, call->fop);
	pthread_mutex_unlock(&priv->lock);
	if (v.delay_usec) {
		atomic_fetch_add(&priv->delayed, 1);
		egen_sleep_usec(v.delay_usec);
	}
	if (!v.err) {
		atomic_fetch_add(&priv->passed, 1);
		xl_default_fop(xl, call);
		return;
	}
	nfailed = atomic_fetch_add(&priv->failed[call->fop], 1) + 1;
	if (nfailed <= EGEN_LOG_FIRST)
		xl_info(xl->name,
			"failing %s with %s (injected, %" PRIu64
			" so far for this fop)",
			xl_fop_name(call->fop), egen_errno_name(-v.err),
			nfailed);
	xl_unwind_error(call, v.err);
}

static int egen_fail_init(char **err, const char *what, const char *bad)
{
	if (asprintf(err, "%s: '%s' is not known", what, bad) < 0)
		*err = NULL;
	return -EINVAL;
}

static int egen_init(struct xl *xl, char **err)
{
	struct egen_priv *priv = calloc(1, sizeof(*priv));
	const char *fops = "all", *errnos = "EIO", *bad = NULL;
	int64_t seed = 0;
	struct egen_plan *p;

	if (!priv)
		return -ENOMEM;
	p = &priv->plan;
	xl_opt_str(xl, "enable", &fops);
	xl_opt_str(xl, "error-no", &errnos);
	p->fail_after = -1;
	xl_opt_int(xl, "fail-after", &p->fail_after);
	xl_opt_int(xl, "fail-every", &p->fail_every);
	xl_opt_int(xl, "failure", &p->failure_pct);
	xl_opt_int(xl, "delay-usec", &p->delay_usec);
	xl_opt_int(xl, "delay-percent", &p->delay_pct);
	xl_opt_int(xl, "random-seed", &seed);
	if (egen_parse_fops(p, fops, &bad) != 0) {
		free(priv);
		return egen_fail_init(err, "enable: fop", bad);
	}
	if (egen_parse_errnos(p, errnos, &bad) != 0) {
		free(priv);
		return egen_fail_init(err, "error-no: errno", bad);
	}
	egen_seed(p, seed ? (uint64_t)seed
			  : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32));
	pthread_mutex_init(&priv->lock, NULL);
	xl->private = priv;
	xl_info(xl->name,
		"injecting faults: fops %s, errnos %s, fail-after %" PRId64
		", fail-every %" PRId64 ", failure %" PRId64
		"%%, delay up to %" PRId64 " us for %" PRId64 "%%",
		fops, errnos, p->fail_after, p->fail_every, p->failure_pct,
		p->delay_usec, p->delay_pct);
	return 0;
}

static void egen_fini(struct xl *xl)
{
	struct egen_priv *priv = xl->private;

	if (!priv)
		return;
	pthread_mutex_destroy(&priv->lock);
	free(priv);
	xl->private = NULL;
}

static void egen_dump(struct xl *xl, FILE *out)
{
	struct egen_priv *priv = xl->private;
	uint64_t seen;

	if (!priv)
		return;
	pthread_mutex_lock(&priv->lock);
	seen = priv->plan.seen;
	pthread_mutex_unlock(&priv->lock);
	fprintf(out,
		"covered=%" PRIu64 "\npassed=%" PRIuFAST64
		"\ndelayed=%" PRIuFAST64 "\n",
		seen, atomic_load(&priv->passed), atomic_load(&priv->delayed));
	for (int fop = 0; fop < XL_FOP_COUNT; fop++) {
		uint64_t n = atomic_load(&priv->failed[fop]);

		if (n)
			fprintf(out, "failed.%s=%" PRIu64 "\n",
				xl_fop_name(fop), n);
	}
}

static const struct xl_option_desc egen_options[] = {
    {.key = "enable",
     .type = XL_OPT_STR,
     .default_value = "all",
     .help = "the fops it may fail or delay: all, or a comma list of fop "
	     "names (write,create,...); release and releasedir never"},
    {.key = "error-no",
     .type = XL_OPT_STR,
     .default_value = "EIO",
     .help = "comma list of errno names a failure answers (EIO, ENOSPC, "
	     "EDQUOT, ENOTCONN, EROFS, EACCES, ...), one at random"},
    {.key = "fail-after",
     .type = XL_OPT_INT,
     .default_value = "-1",
     .min = -1,
     .max = INT64_MAX,
     .help = "let the first N covered fops pass and fail every later one "
	     "(a disk that fills); -1 never"},
    {.key = "fail-every",
     .type = XL_OPT_INT,
     .default_value = "0",
     .min = 0,
     .max = INT64_MAX,
     .help = "fail every Nth covered fop; 0 never"},
    {.key = "failure",
     .type = XL_OPT_PERCENT,
     .default_value = "0",
     .help = "share of the covered fops failed at random"},
    {.key = "delay-usec",
     .type = XL_OPT_INT,
     .default_value = "0",
     .min = 0,
     .max = 60000000,
     .help = "longest delay, in microseconds, before a delayed fop goes "
	     "on (each delay is random up to it)"},
    {.key = "delay-percent",
     .type = XL_OPT_PERCENT,
     .default_value = "0",
     .help = "share of the covered fops delayed"},
    {.key = "random-seed",
     .type = XL_OPT_INT,
     .default_value = "0",
     .min = 0,
     .max = INT64_MAX,
     .help = "seed of the random choices, for a run that repeats; 0 picks "
	     "one from the time"},
    {0},
};

const struct xl_desc mortar_xlator = {
    .api_version = XL_API_VERSION,
    .size = sizeof(struct xl_desc),
    .type = "debug/error-gen",
    .description = "fails or delays chosen fops with chosen errnos, at a "
		   "rate or on a pattern (fault injection for tests)",
    .init = egen_init,
    .fini = egen_fini,
    .dump = egen_dump,
    .options = egen_options,
    .min_children = 1,
    .max_children = 1,
    .fops =
	{
	    [0 ... XL_FOP_COUNT - 1] = egen_fop,
	},
};
