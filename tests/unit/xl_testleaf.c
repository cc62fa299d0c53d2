/*
 * xl_testleaf.c - a translator for the runtime's unit tests only.
 *
 * "test/leaf" answers LOOKUP with ret = option value and STAT with
 * ret = value + 100; with `async on` it answers from a new thread, so the
 * tests exercise completions on foreign threads.  Its option table covers
 * every option type.
 */
#include "config.h"

#include "xlator.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

static const char *const leaf_kinds[] = {"a", "b", NULL};

static const struct xl_option_desc leaf_options[] = {
    {.key = "value",
     .type = XL_OPT_INT,
     .default_value = "7",
     .min = 0,
     .max = 1000,
     .help = "what LOOKUP answers"},
    {.key = "kind",
     .type = XL_OPT_ENUM,
     .default_value = "a",
     .choices = leaf_kinds,
     .help = "a or b"},
    {.key = "limit",
     .type = XL_OPT_SIZE,
     .default_value = "1M",
     .min = 1,
     .max = 1 << 30,
     .help = "a size"},
    {.key = "async",
     .type = XL_OPT_BOOL,
     .default_value = "off",
     .help = "answer from another thread"},
    {.key = "allow", .type = XL_OPT_ADDRLIST, .help = "addresses"},
    {.key = "dir", .type = XL_OPT_PATH, .help = "a path"},
    {.key = "need", .type = XL_OPT_STR, .help = "required when set up so"},
    {0},
};

struct leaf_priv {
	int64_t value;
	bool async;
	/* Answering threads, joined by fini: a thread still returning from
	 * xl_unwind must not outlive the module (dlclose). */
	pthread_mutex_t lock;
	pthread_t *threads;
	size_t thread_count;
	size_t thread_cap;
};

static int leaf_init(struct xl *xl, char **err)
{
	struct leaf_priv *p = xl_calloc(xl, 1, sizeof(*p));

	(void)err;
	if (!p)
		return -ENOMEM;
	xl_opt_int(xl, "value", &p->value);
	xl_opt_bool(xl, "async", &p->async);
	pthread_mutex_init(&p->lock, NULL);
	xl->private = p;
	return 0;
}

static void leaf_fini(struct xl *xl)
{
	struct leaf_priv *p = xl->private;

	for (size_t i = 0; i < p->thread_count; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	pthread_mutex_destroy(&p->lock);
	xl_free(xl, p);
}

/* Remember t for fini; false when out of memory (then t is joined now). */
static bool leaf_track(struct leaf_priv *p, pthread_t t)
{
	bool ok = true;

	pthread_mutex_lock(&p->lock);
	if (p->thread_count == p->thread_cap) {
		size_t cap = p->thread_cap ? p->thread_cap * 2 : 64;
		pthread_t *n = realloc(p->threads, cap * sizeof(*n));
		if (n) {
			p->threads = n;
			p->thread_cap = cap;
		} else {
			ok = false;
		}
	}
	if (ok)
		p->threads[p->thread_count++] = t;
	pthread_mutex_unlock(&p->lock);
	return ok;
}

static void *leaf_thread(void *arg)
{
	xl_unwind(arg);
	return NULL;
}

static void leaf_answer(struct xl *xl, struct xl_call *call, int32_t ret)
{
	struct leaf_priv *p = xl->private;
	pthread_t t;

	call->reply.ret = ret;
	if (p->async && pthread_create(&t, NULL, leaf_thread, call) == 0) {
		if (!leaf_track(p, t))
			pthread_join(t, NULL);
		return;
	}
	xl_unwind(call);
}

static void leaf_lookup(struct xl *xl, struct xl_call *call)
{
	leaf_answer(xl, call,
		    (int32_t)((struct leaf_priv *)xl->private)->value);
}

static void leaf_stat(struct xl *xl, struct xl_call *call)
{
	leaf_answer(xl, call,
		    (int32_t)((struct leaf_priv *)xl->private)->value + 100);
}

const struct xl_desc mortar_xlator = {
    .api_version = XL_API_VERSION,
    .size = sizeof(struct xl_desc),
    .type = "test/leaf",
    .init = leaf_init,
    .fini = leaf_fini,
    .options = leaf_options,
    .fops = {[XL_FOP_LOOKUP] = leaf_lookup, [XL_FOP_STAT] = leaf_stat},
};
