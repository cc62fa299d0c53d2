/*
 * buf.c - refcounted iobufs for bulk data and small key/value dicts.
 */
#include "config.h"

#include "buf.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUF_ALIGN 4096

/*
 * Big buffers are kept for reuse.  A buffer of a megabyte is what one
 * FUSE write or one brick read carries; malloc gives memory that large
 * straight from mmap and returns it at free, so each new one cost 256
 * page faults and the kernel zeroing 1 MiB: with four streams of writes
 * that was the brick's largest CPU cost.  Buffers of BUF_POOL_MIN and
 * more are rounded up to a power of two and, once unused, kept on their
 * size's free list, up to BUF_POOL_BYTES in all (the memory the pool may
 * keep out of use).  Under AddressSanitizer the pool is off, so a use
 * after the last unref is still caught.
 */
#define BUF_POOL_MIN	 (64u * 1024)
#define BUF_POOL_CLASSES 8 /* 64 KiB .. 8 MiB */
#define BUF_POOL_BYTES	 (32u * 1024 * 1024)

#if defined(__SANITIZE_ADDRESS__)
#define BUF_POOL_ON 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BUF_POOL_ON 0
#endif
#endif
#ifndef BUF_POOL_ON
#define BUF_POOL_ON 1
#endif

static struct {
	pthread_mutex_t lock;
	struct xl_iobuf *free[BUF_POOL_CLASSES]; /* linked through data */
	size_t bytes;				 /* kept on the lists */
} buf_pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The size class of a capacity, or -1 for one malloc'd as it is. */
static int buf_class(size_t capacity)
{
	size_t room = BUF_POOL_MIN;

	if (!BUF_POOL_ON || capacity < BUF_POOL_MIN)
		return -1;
	for (int c = 0; c < BUF_POOL_CLASSES; c++, room *= 2)
		if (capacity <= room)
			return c;
	return -1;
}

static size_t buf_class_room(int c)
{
	return (size_t)BUF_POOL_MIN << c;
}

static struct xl_iobuf *buf_pool_take(int c)
{
	struct xl_iobuf *b;

	pthread_mutex_lock(&buf_pool.lock);
	b = buf_pool.free[c];
	if (b) {
		memcpy(&buf_pool.free[c], b->data, sizeof(b));
		buf_pool.bytes -= buf_class_room(c);
	}
	pthread_mutex_unlock(&buf_pool.lock);
	return b;
}

/* Keep b for reuse; false when the pool is full (the caller frees). */
static bool buf_pool_give(struct xl_iobuf *b)
{
	bool kept = false;

	if (b->pool_class < 0)
		return false;
	pthread_mutex_lock(&buf_pool.lock);
	if (buf_pool.bytes + buf_class_room(b->pool_class) <= BUF_POOL_BYTES) {
		memcpy(b->data, &buf_pool.free[b->pool_class], sizeof(b));
		buf_pool.free[b->pool_class] = b;
		buf_pool.bytes += buf_class_room(b->pool_class);
		kept = true;
	}
	pthread_mutex_unlock(&buf_pool.lock);
	return kept;
}

struct xl_iobuf *xl_iobuf_new(size_t capacity)
{
	struct xl_iobuf *b;
	void *mem = NULL;
	int c = buf_class(capacity);
	/* Header and data share one allocation; the data starts on the next
	 * page boundary so O_DIRECT and RDMA registration work on it. */
	size_t room = c >= 0 ? buf_class_room(c) : (capacity ? capacity : 1);

	b = c >= 0 ? buf_pool_take(c) : NULL;
	if (!b) {
		if (posix_memalign(&mem, BUF_ALIGN, BUF_ALIGN + room) != 0)
			return NULL;
		b = mem;
		b->data = (char *)mem + BUF_ALIGN;
		b->pool_class = c;
	}
	atomic_init(&b->refs, 1);
	b->size = 0;
	b->capacity = capacity;
	return b;
}

struct xl_iobuf *xl_iobuf_from(const void *data, size_t len)
{
	struct xl_iobuf *b = xl_iobuf_new(len);

	if (!b)
		return NULL;
	if (len)
		memcpy(b->data, data, len);
	b->size = len;
	return b;
}

struct xl_iobuf *xl_iobuf_ref(struct xl_iobuf *b)
{
	atomic_fetch_add(&b->refs, 1);
	return b;
}

void xl_iobuf_unref(struct xl_iobuf *b)
{
	if (b && atomic_fetch_sub(&b->refs, 1) == 1 && !buf_pool_give(b))
		free(b);
}

struct xl_dict *xl_dict_new(void)
{
	struct xl_dict *d = calloc(1, sizeof(*d));

	if (d)
		atomic_init(&d->refs, 1);
	return d;
}

struct xl_dict *xl_dict_ref(struct xl_dict *d)
{
	atomic_fetch_add(&d->refs, 1);
	return d;
}

void xl_dict_unref(struct xl_dict *d)
{
	if (!d || atomic_fetch_sub(&d->refs, 1) != 1)
		return;
	for (uint32_t i = 0; i < d->count; i++) {
		free(d->pairs[i].key);
		free(d->pairs[i].value);
	}
	free(d->pairs);
	free(d);
}

static struct xl_dict_pair *dict_find(const struct xl_dict *d, const char *key)
{
	for (uint32_t i = 0; i < d->count; i++)
		if (strcmp(d->pairs[i].key, key) == 0)
			return &d->pairs[i];
	return NULL;
}

int xl_dict_set(struct xl_dict *d, const char *key, const void *value,
		uint32_t len)
{
	struct xl_dict_pair *p = dict_find(d, key);
	void *copy = malloc(len ? len : 1);

	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, value, len);
	if (p) {
		free(p->value);
		p->value = copy;
		p->len = len;
		return 0;
	}
	if (d->count == d->capacity) {
		uint32_t cap = d->capacity ? d->capacity * 2 : 4;
		struct xl_dict_pair *np = realloc(d->pairs, cap * sizeof(*np));
		if (!np) {
			free(copy);
			return -ENOMEM;
		}
		d->pairs = np;
		d->capacity = cap;
	}
	p = &d->pairs[d->count];
	p->key = strdup(key);
	if (!p->key) {
		free(copy);
		return -ENOMEM;
	}
	p->value = copy;
	p->len = len;
	d->count++;
	return 0;
}

int xl_dict_set_str(struct xl_dict *d, const char *key, const char *value)
{
	return xl_dict_set(d, key, value, (uint32_t)strlen(value) + 1);
}

int xl_dict_set_u64(struct xl_dict *d, const char *key, uint64_t value)
{
	return xl_dict_set(d, key, &value, sizeof(value));
}

const struct xl_dict_pair *xl_dict_get(const struct xl_dict *d, const char *key)
{
	return d ? dict_find(d, key) : NULL;
}

int xl_dict_get_u64(const struct xl_dict *d, const char *key, uint64_t *out)
{
	const struct xl_dict_pair *p = xl_dict_get(d, key);

	if (!p)
		return -ENOENT;
	if (p->len != sizeof(*out))
		return -EINVAL;
	memcpy(out, p->value, sizeof(*out));
	return 0;
}

int xl_dict_del(struct xl_dict *d, const char *key)
{
	struct xl_dict_pair *p = dict_find(d, key);

	if (!p)
		return -ENOENT;
	free(p->key);
	free(p->value);
	memmove(p, p + 1, (size_t)(&d->pairs[d->count] - (p + 1)) * sizeof(*p));
	d->count--;
	return 0;
}

struct xl_dict *xl_dict_copy(const struct xl_dict *d)
{
	struct xl_dict *c = xl_dict_new();

	if (!c)
		return NULL;
	for (uint32_t i = 0; d && i < d->count; i++) {
		if (xl_dict_set(c, d->pairs[i].key, d->pairs[i].value,
				d->pairs[i].len)) {
			xl_dict_unref(c);
			return NULL;
		}
	}
	return c;
}
