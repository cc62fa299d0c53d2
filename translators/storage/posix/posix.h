/*
 * posix.h - private types and cross-file functions of storage/posix.
 *
 * Files: posix.c (descriptor, init, entry fops), posix-handle.c (gfid
 * handles, confinement, resolution), posix-io.c (open/read/write/readdir
 * and other fd fops), posix-xattr.c (xattr fops), posix-index.c
 * (xattrop and the pending-heal index), posix-opens.c (open objects and
 * the unlinked-but-open area), posix-dircache.c (open directory fds by
 * gfid), posix-sys.c (the overridable syscall table).
 *
 * Confinement model.  Every object a fop touches is reached as
 * (pfd, name): pfd an open directory fd inside the brick and name one
 * component looked up with *at() calls that never follow a final symlink
 * (AT_SYMLINK_NOFOLLOW / O_NOFOLLOW).  A directory reached by gfid is its
 * own pfd with name ".".  A non-directory reached by gfid is its handle:
 * pfd = the handle bucket .mortar/handles/<aa>/<bb>, name = <gfid-str>.
 * Directory fds only ever come from the root fd or from openat2 under it
 * with RESOLVE_BENEATH, so nothing outside the brick is reachable.
 */
#ifndef MORTAR_POSIX_H
#define MORTAR_POSIX_H

#include "fop.h"
#include "xdata-keys.h"
#include "xlator.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

#define POSIX_GFID_XATTR	    "trusted.mortar.gfid"
#define POSIX_INTERNAL_XATTR_PREFIX "trusted.mortar."
#define POSIX_META_DIR		    ".mortar"
#define POSIX_HANDLES_DIR	    ".mortar/handles"
/* .mortar/unlink: files open here whose last name is gone (posix-opens.c) */
#define POSIX_UNLINK_DIR "unlink"
/* chains of the open-gfid table */
#define POSIX_OPEN_BUCKETS 256
/* ".mortar/handles/aa/bb/" + gfid string */
#define POSIX_HANDLE_PATH_MAX 64
/* deepest directory chain the component-wise resolver follows */
#define POSIX_MAX_DEPTH 4096
/* mutexes that make xattrops on one object atomic (posix-index.c) */
#define POSIX_XATTROP_STRIPES 64
/* mutexes between creating an entry and labelling it (posix-handle.c) */
#define POSIX_ENTRY_STRIPES 64
/* read size of one rchecksum step */
#define POSIX_CHECKSUM_BUF (128u << 10)

struct posix_open;
struct posix_dircache;

/* xl->private.  Set at init, read-only afterwards except the counters and
 * the open table (opens_lock). */
struct posix_priv {
	char *base;	/* brick directory as configured; owned */
	int root_fd;	/* O_DIRECTORY fd of the brick root; owned */
	int handles_fd; /* O_DIRECTORY fd of .mortar/handles; owned */
	int index_fd;	/* .mortar/indices/xattrop; owned */
	int unlink_fd;	/* .mortar/unlink; owned */
	pthread_mutex_t opens_lock;		      /* guards opens */
	struct posix_open *opens[POSIX_OPEN_BUCKETS]; /* open gfids */
	atomic_bool no_openat2;		 /* set once openat2 said ENOSYS */
	atomic_long open_fds;		 /* fd ctxs alive (files and dirs) */
	atomic_ulong tmp_seq;		 /* unique names for handle rewrites */
	struct posix_dircache *dircache; /* NULL when off; posix-dircache.c */
	const char *name;		 /* xl->name, for logs */
};

/* An object on the brick; see the confinement model above. */
struct posix_obj {
	int pfd; /* owned; -1 when none */
	char name[XL_NAME_MAX + 1];
	struct stat st; /* valid when exists */
	bool exists;
	bool parked; /* reached in the unlink area: a file with no name */
};

/* The OS side of an open fd, stored in the xl_fd ctx slot. */
struct posix_fd {
	atomic_int refs;      /* the fd ctx slot's + one per fop using it */
	int fd;		      /* owned */
	void *dir;	      /* DIR * for directories, owns a dup of fd */
	pthread_mutex_t lock; /* guards dir (readdir position) */
	uint8_t gfid[XL_GFID_LEN];
	struct posix_fd *open_next; /* same gfid's fds; priv->opens_lock */
	bool in_opens;		    /* entered in priv->opens */
};

/* posix-handle.c */
int posix_handle_init(struct posix_priv *priv, const char *dir, char **err);
void posix_handle_fini(struct posix_priv *priv);
void posix_handle_path(const uint8_t *gfid, char *buf);
int posix_name_check(const uint8_t *pargfid, const char *name);
void posix_obj_init(struct posix_obj *obj);
void posix_obj_release(struct posix_obj *obj);
int posix_obj_stat(struct posix_obj *obj);
int posix_obj_xpath(const struct posix_obj *obj, char *buf, size_t len);
int posix_open_dir_gfid(struct posix_priv *priv, const uint8_t *gfid);
int posix_resolve_gfid(struct posix_priv *priv, const uint8_t *gfid,
		       struct posix_obj *obj);
int posix_resolve_entry(struct posix_priv *priv, const uint8_t *pargfid,
			const char *name, struct posix_obj *obj);
int posix_resolve_loc(struct posix_priv *priv, const struct xl_loc *loc,
		      struct posix_obj *obj);
int posix_gfid_get_path(const char *xpath, uint8_t *gfid);
int posix_gfid_get(const struct posix_obj *obj, uint8_t *gfid);
int posix_gfid_set(const struct posix_obj *obj, const uint8_t *gfid);
pthread_mutex_t *posix_entry_lock(const char *name);
int posix_gfid_ensure(struct posix_priv *priv, struct posix_obj *obj,
		      const uint8_t *pargfid, uint8_t *gfid);
int posix_handle_create(struct posix_priv *priv, const struct posix_obj *obj,
			const uint8_t *gfid, const uint8_t *pargfid);
int posix_handle_remove(struct posix_priv *priv, const uint8_t *gfid,
			bool is_dir);
int posix_handle_rewrite(struct posix_priv *priv, const uint8_t *gfid,
			 const uint8_t *pargfid, const char *name);
bool posix_is_dir_handle(int bucket_fd, const char *gfid_str,
			 const struct stat *st, const uint8_t *gfid);

/* posix-io.c: fd fops */
void posix_open(struct xl *xl, struct xl_call *call);
void posix_create(struct xl *xl, struct xl_call *call);
void posix_read(struct xl *xl, struct xl_call *call);
void posix_write(struct xl *xl, struct xl_call *call);
void posix_flush(struct xl *xl, struct xl_call *call);
void posix_release(struct xl *xl, struct xl_call *call);
void posix_fsync(struct xl *xl, struct xl_call *call);
void posix_opendir(struct xl *xl, struct xl_call *call);
void posix_readdir(struct xl *xl, struct xl_call *call);
void posix_falloc(struct xl *xl, struct xl_call *call);
void posix_lseek(struct xl *xl, struct xl_call *call);
void posix_rchecksum(struct xl *xl, struct xl_call *call);
void posix_fd_ctx_free(struct xl *xl, void *ctx);
struct posix_fd *posix_fd_get(struct xl *xl, struct xl_fd *fd);
void posix_fd_put(struct posix_priv *priv, struct posix_fd *pfd);
int posix_fill_attr_fd(struct posix_priv *priv, int fd, const uint8_t *gfid,
		       struct xl_iatt *ia);
int posix_open_existing(int pfd, const char *name, int flags);

/* posix-dircache.c: open directory fds by gfid (see its header) */
int posix_dircache_init(struct posix_priv *priv, struct xl *xl, unsigned cap);
void posix_dircache_fini(struct posix_priv *priv);
/* A new fd of the directory (a duplicate of the cached one), or -ENOENT
 * when it is not cached. */
int posix_dircache_get(struct posix_priv *priv, const uint8_t *gfid);
/* Read before resolving a directory; pass to posix_dircache_put. */
unsigned long posix_dircache_epoch(const struct posix_priv *priv);
/* Cache a copy of fd (the caller keeps fd) unless a directory was removed
 * since epoch. */
void posix_dircache_put(struct posix_priv *priv, const uint8_t *gfid, int fd,
			unsigned long epoch);
/* The directory gfid is being removed: drop its fd. */
void posix_dircache_forget(struct posix_priv *priv, const uint8_t *gfid);
void posix_dircache_dump(const struct posix_priv *priv, FILE *out);

/* posix-opens.c: open objects and the unlinked-but-open area */
int posix_opens_init(struct posix_priv *priv, int meta_fd);
void posix_opens_fini(struct posix_priv *priv);
int posix_opens_add(struct posix_priv *priv, struct posix_fd *pfd);
void posix_opens_remove(struct posix_priv *priv, struct posix_fd *pfd);
int posix_opens_park(struct posix_priv *priv, int bfd, const char *gstr,
		     const uint8_t *gfid, bool *parked);
bool posix_opens_parked(struct posix_priv *priv, const uint8_t *gfid);
int posix_opens_resolve(struct posix_priv *priv, const uint8_t *gfid,
			struct posix_obj *obj);
struct posix_fd *posix_opens_dir_fd(struct posix_priv *priv,
				    const uint8_t *gfid);

/* posix.c: shared by the fop files */
int posix_new_entry_owner(struct posix_obj *parent_dir_obj,
			  const struct xl_cred *cred, uint32_t *gid,
			  bool *parent_sgid);
int posix_new_entry_finish(struct posix_priv *priv, struct posix_obj *obj,
			   struct xl_call *call, mode_t want_mode,
			   bool set_mode);
void posix_iatt_fill(struct xl_iatt *ia, const struct stat *st,
		     const uint8_t *gfid);
/* Reply XL_KEY_POSTPARENT (pfd: the changed directory) when asked. */
void posix_postparent(struct xl_call *call, int pfd);
void posix_attr_reply(struct xl_call *call, const struct posix_obj *obj,
		      const uint8_t *gfid);

/* Where an xattr fop acts: an OS fd (xpath empty) or a path. */
struct posix_xtarget {
	struct posix_obj obj;
	struct posix_fd *pfd; /* ref, or NULL */
	int fd;		      /* the f*xattr calls' fd (pfd's or pin), or -1 */
	int pin;	      /* owned: a file reached by gfid, held open */
	char xpath[XL_NAME_MAX + 40]; /* the l*xattr calls' path when fd < 0 */
};

/* posix-xattr.c */
bool posix_call_internal(const struct xl_call *call);
int posix_xtarget_get(struct xl *xl, struct xl_call *call,
		      struct posix_xtarget *t);
void posix_xtarget_put(struct xl *xl, struct posix_xtarget *t);
ssize_t posix_xtarget_list(const struct posix_xtarget *t, char **list);
ssize_t posix_xtarget_get_value(const struct posix_xtarget *t, const char *name,
				void *buf, size_t cap);
int posix_xtarget_set_value(const struct posix_xtarget *t, const char *name,
			    const void *value, size_t len);
int posix_xtarget_remove_value(const struct posix_xtarget *t, const char *name);
int posix_xtarget_gfid(const struct posix_xtarget *t, uint8_t *gfid);
void posix_setxattr(struct xl *xl, struct xl_call *call);
void posix_getxattr(struct xl *xl, struct xl_call *call);
void posix_listxattr(struct xl *xl, struct xl_call *call);
void posix_removexattr(struct xl *xl, struct xl_call *call);
void posix_lookup_xattrs(struct posix_obj *obj, struct xl_call *call);

/* posix-index.c: XATTROP and the pending-heal index */
int posix_index_init(struct posix_priv *priv, int meta_fd);
int posix_index_open(struct posix_priv *priv, struct posix_obj *obj);
int posix_index_unlink(struct posix_priv *priv, const char *name);
void posix_xattrop(struct xl *xl, struct xl_call *call);

#endif
