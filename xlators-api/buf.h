/*
 * buf.h - refcounted byte buffers (bulk data) and dicts (small key/values).
 *
 * An iobuf carries read/write data from the socket to the disk and back
 * without copies in between: whoever fills it hands a ref along.  Data is
 * immutable once shared (refs > 1).
 *
 * A dict is an ordered list of (string key, byte value) pairs used for
 * xdata between translators and for xattr batches.  Refcounted.
 */
#ifndef MORTAR_BUF_H
#define MORTAR_BUF_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct xl_iobuf {
	atomic_int refs;
	size_t size; /* bytes of valid data */
	size_t capacity;
	char *data;	/* points into the same allocation, page-aligned */
	int pool_class; /* buf.c's size class (kept for reuse), or -1 */
};

/* New buffer with room for capacity bytes, size 0.  Page-aligned data so it
 * can be used for O_DIRECT.  NULL on ENOMEM. */
struct xl_iobuf *xl_iobuf_new(size_t capacity);
/* New buffer holding a copy of len bytes. */
struct xl_iobuf *xl_iobuf_from(const void *data, size_t len);
struct xl_iobuf *xl_iobuf_ref(struct xl_iobuf *b);
void xl_iobuf_unref(struct xl_iobuf *b);

struct xl_dict_pair {
	char *key;
	void *value;
	uint32_t len;
};

struct xl_dict {
	atomic_int refs;
	struct xl_dict_pair *pairs;
	uint32_t count;
	uint32_t capacity;
};

struct xl_dict *xl_dict_new(void);
struct xl_dict *xl_dict_ref(struct xl_dict *d);
void xl_dict_unref(struct xl_dict *d);
/* Set (replace) key to a copy of len bytes.  0 or -ENOMEM. */
int xl_dict_set(struct xl_dict *d, const char *key, const void *value,
		uint32_t len);
int xl_dict_set_str(struct xl_dict *d, const char *key, const char *value);
int xl_dict_set_u64(struct xl_dict *d, const char *key, uint64_t value);
/* Borrowed value or NULL. */
const struct xl_dict_pair *xl_dict_get(const struct xl_dict *d,
				       const char *key);
int xl_dict_get_u64(const struct xl_dict *d, const char *key, uint64_t *out);
int xl_dict_del(struct xl_dict *d, const char *key);
struct xl_dict *xl_dict_copy(const struct xl_dict *d);

#endif
