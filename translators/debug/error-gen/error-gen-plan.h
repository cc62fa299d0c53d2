/*
 * error-gen-plan.h - debug/error-gen's decisions, with no I/O and no
 * locks so they are tested alone (tests/unit/test_error_gen.c): which
 * fops a plan covers, which errnos it answers, and for each covered fop
 * whether to fail it, with which errno, and how long to delay it first.
 *
 * A plan fails a covered fop when any of its rules says so:
 *   fail-after N   the first N covered fops pass, every later one fails
 *                  (a disk that fills: writes work, then ENOSPC);
 *   fail-every N   every Nth covered fop fails;
 *   failure P      each covered fop fails with probability P percent.
 * The errno is one of the plan's list, picked at random when there are
 * several.  Independently, delay-percent of the covered fops first wait
 * a random time up to delay-usec.
 */
#ifndef MORTAR_ERROR_GEN_PLAN_H
#define MORTAR_ERROR_GEN_PLAN_H

#include "fop.h"

#include <stdbool.h>
#include <stdint.h>

#define EGEN_ERRNOS_MAX 8

struct egen_plan {
	bool fops[XL_FOP_COUNT]; /* covered */
	int errnos[EGEN_ERRNOS_MAX];
	int nerrnos;
	int64_t fail_after; /* -1: off */
	int64_t fail_every; /* 0: off */
	int64_t failure_pct;
	int64_t delay_usec, delay_pct;
	/* State (the caller serialises egen_decide). */
	uint64_t seen; /* covered fops so far */
	uint64_t rng;  /* xorshift64 state, never 0 */
};

struct egen_verdict {
	int err;	     /* 0: pass it on, else -errno to answer */
	uint64_t delay_usec; /* wait first */
};

/* Parse "all", or a comma list of fop names ("write,create"), into
 * plan->fops.  0, or -EINVAL with *bad pointing at the bad name (inside
 * a static buffer). */
int egen_parse_fops(struct egen_plan *plan, const char *list, const char **bad);
/* Parse a comma list of errno names ("ENOSPC,EIO") into plan->errnos.
 * 0 or -EINVAL (*bad as above). */
int egen_parse_errnos(struct egen_plan *plan, const char *list,
		      const char **bad);
/* The errno a name stands for (EIO -> 5), or 0. */
int egen_errno_of(const char *name);
/* The name of an errno the plan may answer ("ENOSPC"), or "?". */
const char *egen_errno_name(int err);

void egen_seed(struct egen_plan *plan, uint64_t seed);
/* Decide for one fop (covered or not: an uncovered one always passes). */
struct egen_verdict egen_decide(struct egen_plan *plan, int fop);

#endif
