/*
 * error-gen-plan.c - debug/error-gen's decisions (see error-gen-plan.h).
 */
#include "config.h"

#include "error-gen-plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The errnos a test can ask for by name: what disks, quotas, networks
 * and permissions make fops fail with. */
static const struct {
	const char *name;
	int err;
} egen_errno_names[] = {
    {"EIO", EIO},	{"ENOSPC", ENOSPC},
    {"EDQUOT", EDQUOT}, {"ENOTCONN", ENOTCONN},
    {"EROFS", EROFS},	{"EACCES", EACCES},
    {"EPERM", EPERM},	{"ENOMEM", ENOMEM},
    {"ESTALE", ESTALE}, {"ETIMEDOUT", ETIMEDOUT},
    {"EAGAIN", EAGAIN}, {"EBUSY", EBUSY},
    {"EFBIG", EFBIG},	{"ENOENT", ENOENT},
};

int egen_errno_of(const char *name)
{
	for (size_t i = 0;
	     i < sizeof(egen_errno_names) / sizeof(egen_errno_names[0]); i++)
		if (strcmp(egen_errno_names[i].name, name) == 0)
			return egen_errno_names[i].err;
	return 0;
}

const char *egen_errno_name(int err)
{
	for (size_t i = 0;
	     i < sizeof(egen_errno_names) / sizeof(egen_errno_names[0]); i++)
		if (egen_errno_names[i].err == err)
			return egen_errno_names[i].name;
	return "?";
}

/* Fops a plan never fails, even under "all": a release cannot fail (the
 * fd is gone either way), and failing it would only leak brick fds. */
static bool egen_never(int fop)
{
	return fop == XL_FOP_RELEASE || fop == XL_FOP_RELEASEDIR;
}

/* Split list at commas and spaces; fn(token) for each; stop at the first
 * failure and copy the token to bad. */
static int egen_each(const char *list, int (*fn)(void *, const char *),
		     void *arg, const char **bad)
{
	static _Thread_local char badbuf[64];
	char *copy = strdup(list ? list : ""), *save = NULL;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	for (char *tok = strtok_r(copy, ", ", &save); tok && ret == 0;
	     tok = strtok_r(NULL, ", ", &save)) {
		ret = fn(arg, tok);
		if (ret < 0 && bad) {
			snprintf(badbuf, sizeof(badbuf), "%s", tok);
			*bad = badbuf;
		}
	}
	free(copy);
	return ret;
}

static int egen_add_fop(void *arg, const char *name)
{
	struct egen_plan *plan = arg;

	for (int fop = 0; fop < XL_FOP_COUNT; fop++) {
		if (egen_never(fop))
			continue;
		if (strcmp(name, "all") == 0 ||
		    strcmp(xl_fop_name(fop), name) == 0) {
			plan->fops[fop] = true;
			if (strcmp(name, "all") != 0)
				return 0;
		}
	}
	return strcmp(name, "all") == 0 ? 0 : -EINVAL;
}

int egen_parse_fops(struct egen_plan *plan, const char *list, const char **bad)
{
	memset(plan->fops, 0, sizeof(plan->fops));
	return egen_each(list, egen_add_fop, plan, bad);
}

static int egen_add_errno(void *arg, const char *name)
{
	struct egen_plan *plan = arg;
	int err = egen_errno_of(name);

	if (!err || plan->nerrnos == EGEN_ERRNOS_MAX)
		return -EINVAL;
	plan->errnos[plan->nerrnos++] = err;
	return 0;
}

int egen_parse_errnos(struct egen_plan *plan, const char *list,
		      const char **bad)
{
	int ret;

	plan->nerrnos = 0;
	ret = egen_each(list, egen_add_errno, plan, bad);
	if (ret == 0 && plan->nerrnos == 0) {
		if (bad)
			*bad = "(empty list)";
		return -EINVAL;
	}
	return ret;
}

void egen_seed(struct egen_plan *plan, uint64_t seed)
{
	plan->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
}

static uint64_t egen_next(struct egen_plan *plan)
{
	uint64_t x = plan->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	plan->rng = x;
	return x;
}

/* True with probability pct percent. */
static bool egen_chance(struct egen_plan *plan, int64_t pct)
{
	return pct > 0 && (int64_t)(egen_next(plan) % 100) < pct;
}

struct egen_verdict egen_decide(struct egen_plan *plan, int fop)
{
	struct egen_verdict v = {0, 0};
	bool fail;

	if (fop < 0 || fop >= XL_FOP_COUNT || !plan->fops[fop])
		return v;
	plan->seen++;
	if (plan->delay_usec > 0 && egen_chance(plan, plan->delay_pct))
		v.delay_usec =
		    egen_next(plan) % (uint64_t)(plan->delay_usec + 1);
	fail = (plan->fail_after >= 0 &&
		plan->seen > (uint64_t)plan->fail_after) ||
	       (plan->fail_every > 0 &&
		plan->seen % (uint64_t)plan->fail_every == 0) ||
	       egen_chance(plan, plan->failure_pct);
	if (fail && plan->nerrnos > 0)
		v.err =
		    -plan->errnos[egen_next(plan) % (uint64_t)plan->nerrnos];
	return v;
}
