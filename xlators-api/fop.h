/*
 * fop.h - the file operations and the one request object that carries them.
 *
 * Every fop travels the graph as a struct xl_call (call.h) holding a
 * struct xl_args (inputs) and a struct xl_reply (outputs).  Each fop uses a
 * subset of the fields; xl_fop_info[] (fop.c) says which, and is the single
 * table the wire codec, the trace translator and the state dump read.
 *
 * Fop numbers go on the wire: the enum is only ever appended to.
 */
#ifndef MORTAR_FOP_H
#define MORTAR_FOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define XL_GFID_LEN	  16
#define XL_NAME_MAX	  255
#define XL_MAX_GROUPS	  128
#define XL_XATTR_NAME_MAX 255
#define XL_XATTR_SIZE_MAX 65536
#define XL_IO_SIZE_MAX	  (1u << 20) /* largest read/write a fop carries */

enum xl_fop {
	XL_FOP_LOOKUP = 0,
	XL_FOP_STAT,
	XL_FOP_SETATTR,
	XL_FOP_ACCESS,
	XL_FOP_READLINK,
	XL_FOP_MKNOD,
	XL_FOP_MKDIR,
	XL_FOP_UNLINK,
	XL_FOP_RMDIR,
	XL_FOP_SYMLINK,
	XL_FOP_RENAME,
	XL_FOP_LINK,
	XL_FOP_CREATE,
	XL_FOP_OPEN,
	XL_FOP_READ,
	XL_FOP_WRITE,
	XL_FOP_FLUSH,
	XL_FOP_RELEASE,
	XL_FOP_FSYNC,
	XL_FOP_OPENDIR,
	XL_FOP_READDIR,
	XL_FOP_READDIRPLUS,
	XL_FOP_RELEASEDIR,
	XL_FOP_FSYNCDIR,
	XL_FOP_STATFS,
	XL_FOP_SETXATTR,
	XL_FOP_GETXATTR,
	XL_FOP_LISTXATTR,
	XL_FOP_REMOVEXATTR,
	XL_FOP_LK,
	XL_FOP_FLOCK,
	XL_FOP_FALLOCATE,
	XL_FOP_LSEEK,
	/* Appended for the cluster translators (doc/cluster.md). */
	XL_FOP_INODELK,	  /* internal lock: xname = domain, lock, cmd */
	XL_FOP_XATTROP,	  /* atomic add to internal xattrs in xdata */
	XL_FOP_RCHECKSUM, /* XXH64 of a range of an open file */
	XL_FOP_COUNT
};

/* xattrop: args.flags.  Each xdata value is n x int64 big-endian added
 * element-wise to the stored value. */
#define XL_XATTROP_ADD64 1
/* rchecksum: the largest range one call hashes. */
#define XL_RCHECKSUM_MAX (4u << 20)

/* Attributes of one file, as the brick's file system reports them. */
struct xl_iatt {
	uint8_t gfid[XL_GFID_LEN];
	uint64_t ino;
	uint64_t dev;
	uint32_t mode; /* type and permission bits, as st_mode */
	uint32_t nlink;
	uint32_t uid;
	uint32_t gid;
	uint64_t rdev;
	uint64_t size;
	uint64_t blocks; /* 512-byte blocks */
	uint32_t blksize;
	int64_t atime;
	int64_t mtime;
	int64_t ctime;
	uint32_t atime_nsec;
	uint32_t mtime_nsec;
	uint32_t ctime_nsec;
};

/* setattr: which fields of args.attr to apply (args.valid). */
enum {
	XL_SET_MODE = 1u << 0,
	XL_SET_UID = 1u << 1,
	XL_SET_GID = 1u << 2,
	XL_SET_SIZE = 1u << 3,
	XL_SET_ATIME = 1u << 4,
	XL_SET_MTIME = 1u << 5,
	XL_SET_ATIME_NOW = 1u << 6,
	XL_SET_MTIME_NOW = 1u << 7,
};

/*
 * Where a fop acts.  Either by name (pargfid + name) or by identity (gfid,
 * name NULL).  For fops that create an entry (mknod, mkdir, symlink, create,
 * and link's loc2) gfid is the identity the new entry must get: the client
 * chooses it so every brick copy shares it.  A zero gfid means "unknown".
 */
struct xl_loc {
	uint8_t gfid[XL_GFID_LEN];
	uint8_t pargfid[XL_GFID_LEN];
	char *name;		 /* owned by the loc; one path component */
	struct xl_inode *inode;	 /* optional, owned ref (client side only) */
	struct xl_inode *parent; /* optional, owned ref (client side only) */
};

/* A byte-range lock, as struct flock but with a 64-bit owner. */
struct xl_flock {
	int16_t type;	/* F_RDLCK, F_WRLCK, F_UNLCK */
	int16_t whence; /* always SEEK_SET once it leaves the bridge */
	int64_t start;
	int64_t len; /* 0 = to end of file */
	uint32_t pid;
	uint64_t owner;
};

struct xl_statfs {
	uint64_t bsize;
	uint64_t frsize;
	uint64_t blocks;
	uint64_t bfree;
	uint64_t bavail;
	uint64_t files;
	uint64_t ffree;
	uint64_t favail;
	uint64_t fsid;
	uint64_t namemax;
};

/* One directory entry.  attr is filled by readdirplus only. */
struct xl_dirent {
	uint64_t d_off; /* offset to pass to resume after this entry */
	uint64_t d_ino;
	uint32_t d_type;
	char *name; /* owned */
	struct xl_iatt attr;
};

/* Who is asking.  Filled by the FUSE bridge from the kernel request. */
struct xl_cred {
	uint32_t uid;
	uint32_t gid;
	uint32_t pid;
	uint32_t ngroups;
	uint32_t groups[XL_MAX_GROUPS];
	uint64_t lk_owner;
};

struct xl_iobuf;
struct xl_dict;
struct xl_fd;
struct xl_inode;

/*
 * The inputs of a fop.  Field use per fop (see xl_fop_info for the table):
 *   loc      every path fop; the object or the parent+name
 *   loc2     rename (new location), link (new name)
 *   fd       fd fops; optional for stat/setattr (fstat/fsetattr)
 *   flags    open/create flags, rename flags (RENAME_*), setxattr flags,
 *            xattrop op (XL_XATTROP_*)
 *   mode     mknod/mkdir/create/open mode, access mask
 *   umask    mknod/mkdir/create
 *   rdev     mknod
 *   offset   read/write/fallocate/lseek/readdir/rchecksum offset
 *   size     read/readdir/rchecksum size, fallocate length,
 *            getxattr/listxattr size
 *   cmd      lk (F_GETLK/F_SETLK/F_SETLKW), inodelk (F_SETLK/F_SETLKW),
 *            flock (LOCK_* | LOCK_NB),
 *            lseek whence, fsync/fsyncdir datasync, fallocate mode
 *   valid    setattr XL_SET_* mask; attr holds the values
 *   lock     lk, inodelk
 *   xname    xattr name (get/set/remove); symlink target; inodelk domain
 *   data     write payload, setxattr value
 *   xdata    extra key/values between translators
 */
struct xl_args {
	struct xl_loc loc;
	struct xl_loc loc2;
	struct xl_fd *fd; /* owned ref */
	int32_t flags;
	uint32_t mode;
	uint32_t umask;
	uint64_t rdev;
	int64_t offset;
	uint64_t size;
	int32_t cmd;
	uint32_t valid;
	struct xl_iatt attr;
	struct xl_flock lock;
	char *xname;	       /* owned */
	struct xl_iobuf *data; /* owned ref */
	struct xl_dict *xdata; /* owned ref */
};

/*
 * The outputs of a fop.  ret >= 0 is success (bytes for read/write, 0
 * otherwise); ret < 0 is -errno.  Field use:
 *   attr      lookup/stat/setattr/mknod/mkdir/symlink/link/create/
 *             write/fallocate/open: the object after the fop
 *   data      read data, readlink target, getxattr value, listxattr
 *             names, rchecksum (8 bytes, XXH64 big-endian)
 *   entries   readdir/readdirplus (count in entry_count)
 *   statfs    statfs
 *   lock      lk F_GETLK result
 *   offset    lseek result; rchecksum: bytes hashed
 *   xdata     extra key/values between translators; xattrop: new values
 */
struct xl_reply {
	int32_t ret;
	struct xl_iatt attr;
	struct xl_iobuf *data; /* owned ref */
	struct xl_dirent *entries;
	uint32_t entry_count;
	struct xl_statfs statfs;
	struct xl_flock lock;
	int64_t offset;
	struct xl_dict *xdata; /* owned ref */
};

/* Which fields a fop uses; drives the codec and the trace output. */
enum {
	XL_A_LOC = 1u << 0,
	XL_A_LOC2 = 1u << 1,
	XL_A_FD = 1u << 2,
	XL_A_FLAGS = 1u << 3,
	XL_A_MODE = 1u << 4,
	XL_A_UMASK = 1u << 5,
	XL_A_RDEV = 1u << 6,
	XL_A_OFFSET = 1u << 7,
	XL_A_SIZE = 1u << 8,
	XL_A_CMD = 1u << 9,
	XL_A_ATTR = 1u << 10, /* valid + attr */
	XL_A_LOCK = 1u << 11,
	XL_A_XNAME = 1u << 12,
	XL_A_DATA = 1u << 13,
	XL_A_FD_OPT = 1u << 14, /* fd may be NULL */
};
enum {
	XL_R_ATTR = 1u << 0,
	XL_R_DATA = 1u << 1,
	XL_R_ENTRIES = 1u << 2,
	XL_R_STATFS = 1u << 3,
	XL_R_LOCK = 1u << 4,
	XL_R_OFFSET = 1u << 5,
};

/* Facts about a fop every layer that carries it needs (the bridge, the
 * codec, protocol/client and protocol/server), said once here. */
enum {
	XL_F_OPENS_FD = 1u << 0,   /* answers with a new fd (open, create,
				    * opendir) */
	XL_F_DIR_FD = 1u << 1,	   /* its fd must be a directory's */
	XL_F_FILE_FD = 1u << 2,	   /* its fd must be a file's */
	XL_F_CLIENT_TAG = 1u << 3, /* the brick tags it with the calling
				    * client (lock owner, cleanup;
				    * features/upcall: who caches an inode,
				    * who changed it) */
};

struct xl_fop_info {
	const char *name;
	uint32_t args;	/* XL_A_* */
	uint32_t reply; /* XL_R_* */
	uint32_t flags; /* XL_F_* */
};

extern const struct xl_fop_info xl_fop_info[XL_FOP_COUNT];

const char *xl_fop_name(int fop); /* "lookup"...; "unknown" when out of range */
/* Whether fop (in range) has every XL_F_* flag in flags. */
bool xl_fop_is(int fop, uint32_t flags);

/* Release everything args / reply own and zero them. */
void xl_args_clear(struct xl_args *args);
void xl_reply_clear(struct xl_reply *reply);
/* Deep copy (refs taken, strings duplicated).  0 or -ENOMEM. */
int xl_args_copy(struct xl_args *dst, const struct xl_args *src);
int xl_loc_copy(struct xl_loc *dst, const struct xl_loc *src);
void xl_loc_clear(struct xl_loc *loc);
/* Move src into dst (dst cleared first); src is left zeroed. */
void xl_reply_move(struct xl_reply *dst, struct xl_reply *src);
/* Mark a reply XL_KEY_NO_CACHE (xdata-keys.h): caches above keep none of
 * it.  0 or -ENOMEM. */
int xl_reply_no_cache(struct xl_reply *reply);
/* An xl_iatt as bytes, the layout the wire carries it in (fields in
 * struct order, little-endian): the rpc codec and dict values share it.
 * unpack: 0, or -EINVAL when a nanosecond field is out of range. */
#define XL_IATT_PACKED_LEN (XL_GFID_LEN + 8 * 8 + 8 * 4)
void xl_iatt_pack(uint8_t out[XL_IATT_PACKED_LEN], const struct xl_iatt *ia);
int xl_iatt_unpack(const uint8_t in[XL_IATT_PACKED_LEN], struct xl_iatt *ia);
/* An xl_iatt as a dict value (xl_iatt_pack's bytes): set 0 or -ENOMEM;
 * get 0, -ENOENT (no key) or -EINVAL (not an iatt). */
int xl_dict_set_iatt(struct xl_dict *d, const char *key,
		     const struct xl_iatt *ia);
int xl_dict_get_iatt(const struct xl_dict *d, const char *key,
		     struct xl_iatt *ia);
int xl_reply_copy(struct xl_reply *dst, const struct xl_reply *src);

void xl_dirents_free(struct xl_dirent *entries, uint32_t count);

/* gfid helpers */
extern const uint8_t xl_gfid_root[XL_GFID_LEN]; /* 00..01 */
/* The brick's pending-heal index as a virtual directory (doc/cluster.md):
 * opendir/readdir list gfid strings; unlink drops one. 00..05 */
extern const uint8_t xl_gfid_index[XL_GFID_LEN];
bool xl_gfid_is_index(const uint8_t *gfid);
bool xl_gfid_is_null(const uint8_t *gfid);
bool xl_gfid_is_root(const uint8_t *gfid);
void xl_gfid_generate(uint8_t *gfid);
/* 37 bytes incl. NUL, canonical 8-4-4-4-12 form */
#define XL_GFID_STR_LEN 37
char *xl_gfid_to_str(const uint8_t *gfid, char *buf);
int xl_gfid_parse(const char *s, uint8_t *gfid); /* 0 or -EINVAL */
/* st_ino the client reports: stable across clients and bricks */
uint64_t xl_gfid_to_ino(const uint8_t *gfid);

/* A name is a valid single component: not empty, not "." or "..", no '/',
 * no NUL, at most XL_NAME_MAX bytes. */
bool xl_name_is_valid(const char *name);

void xl_iatt_from_stat(struct xl_iatt *ia, const struct stat *st);
void xl_iatt_to_stat(const struct xl_iatt *ia, struct stat *st);

#endif
