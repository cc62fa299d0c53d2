/*
 * xdata-keys.h - every xdata key Mortar's translators and tools pass to
 * each other, with what it means.  Keys travel on the wire in a fop's
 * args.xdata (requests) or reply.xdata (answers); doc/cluster.md has the
 * same table for people.
 */
#ifndef MORTAR_XDATA_KEYS_H
#define MORTAR_XDATA_KEYS_H

/* u64 1; set by the cluster translators and the admin tools.  The call
 * may touch trusted.mortar.* xattrs (storage/posix; the gfid stays
 * read-only), and a creating fop sets the trusted.mortar.* keys of its
 * xdata as xattrs on the new node.  The FUSE bridge never sets it. */
#define XL_KEY_INTERNAL "mortar.internal"

/* NUL-separated xattr names; on lookup.  storage/posix answers each that
 * exists in reply.xdata (key = name, value = its bytes).  A translator
 * adds its names to those asked for above it.  On readdirplus (at most 4
 * names): reply.xdata key = name, value = the names of the listed entries
 * that carry that xattr, each NUL-terminated (none: no key). */
#define XL_KEY_XATTR_REQ "mortar.xattr-req"

/* u64; set by protocol/server on every call from a connection: the
 * client's id, owner of its locks (features/locks). */
#define XL_KEY_CLIENT_ID "mortar.client-id"

/* u64 1; set by protocol/server on the cleanup calls of a connection that
 * went away: release what that client held.  features/locks refuses every
 * lock request of that client-id from then on (ENOTCONN), since requests
 * still queued below protocol/server can reach it after the cleanup. */
#define XL_KEY_DISCONNECT "mortar.disconnect"

/* u64 1; on an inodelk that protocol/server sends once per gone client,
 * after every call of that client and every cleanup call was answered:
 * no request of that client-id can arrive any more, so features/locks
 * forgets the id it kept to refuse late ones. */
#define XL_KEY_CLIENT_FORGET "mortar.client-forget"

/* u64 1; on lk/flock: withdraw a parked blocking lock request (the FUSE
 * bridge, when the waiting application was interrupted). */
#define XL_KEY_LK_CANCEL "mortar.lk-cancel"

/* u64 1; on lk (F_SETLK only) and flock (with LOCK_NB, or LOCK_UN): the
 * request gives back a lock its fd held before the connection to the
 * brick dropped (cluster/replicate, re-taking on a copy that came back
 * the locks another copy kept; an unlock undoes a partial restore).  An
 * fd that held a lock is reopened after a reconnect with its locks lost:
 * protocol/client fails every fop on it with EBADFD but these, until
 * the marker below.  Never blocking: a restore that meets a conflict is
 * refused (EAGAIN / EWOULDBLOCK), the lock belongs to someone else now. */
#define XL_KEY_LK_RESTORE "mortar.lk-restore"

/* u64 N; on lk F_GETLK: the end of an fd's restore, N = the restore
 * requests granted for it.  protocol/client answers it itself (the brick
 * never sees it): an fd with locks lost works again when exactly N
 * restore requests were granted on its current connection, else ESTALE
 * (the connection changed under the restore) and it stays lost; any
 * other fd answers 0. */
#define XL_KEY_LK_RESTORED "mortar.lk-restored"

/* u64 1; on flush, set by the FUSE bridge: this mount never asked for a
 * POSIX lock on the file.  A brick's flush does nothing but drop the
 * POSIX locks (and parked lock requests) of the closing owner, so
 * protocol/client answers such a flush itself instead of a round trip per
 * close(2); the translators above still see it (write-behind still
 * writes back and reports errors there, replicate still runs its
 * post-op). */
#define XL_KEY_FLUSH_NO_LOCKS "mortar.flush-no-locks"

/* u64 1; on rename: make every check rename(2) makes (the target
 * directory empty, the types agree, RENAME_NOREPLACE/EXCHANGE) and
 * answer its errno, without renaming.  cluster/unify asks every child
 * before renaming a directory over another, so no child replaces it. */
#define XL_KEY_CHECK_ONLY "mortar.check-only"

/* u64 1, in a reply's xdata: what this reply says is not settled (a
 * replica copy to heal or in split-brain, a directory or layout being
 * repaired), so a cache above must not keep it, and drops what it had
 * for the object: the next call goes down and meets the translator that
 * decides (performance/md-cache). */
#define XL_KEY_NO_CACHE "mortar.no-cache"

/* On create, mknod, mkdir, symlink, unlink and rmdir: u64 1 in the
 * request asks for it; in the reply, the parent directory's attributes
 * right after the change (an xl_iatt, xl_dict_set_iatt), read by
 * storage/posix on the brick.  performance/md-cache asks when no
 * translator below it merges directories from several bricks, and keeps
 * them: the kernel's GETATTR of the directory that follows every entry
 * change is then answered without a round trip. */
#define XL_KEY_POSTPARENT "mortar.postparent"

/* On unlink and rmdir on the brick: u64 1 in the request asks for it; in
 * the reply, the gfid (16 bytes) of the inode whose name went, read by
 * storage/posix before it removed the name.  features/upcall asks (the
 * client names the entry, not its inode) so it can tell the inode's
 * readers and forget its record, and deletes it from the reply: it does
 * not leave the brick. */
#define XL_KEY_REMOVED "mortar.removed"

#endif
