/*
 * merge.h - helpers for translators that merge their children's answers
 * into one (cluster/unify, cluster/distribute): readdir offsets,
 * directory times and statfs sums.
 *
 * readdir: the children are listed one after another.  The offset handed up
 * carries the child's index in its low bits and the child's own offset above
 * them, so a listing resumes (telldir/seekdir, or a readdir on another thread)
 * from any offset it returned, with no state kept per offset.  An offset goes
 * up as a signed off_t: bit 63 stays clear, else the kernel refuses to seek to
 * it.
 *
 * A child offset small enough is shifted left by the index bits.  A
 * larger one (ext4's 63-bit hash offsets) keeps its high bits, loses its
 * lowest 1 + bits bits (where ext4 keeps the minor hash) and is marked
 * with bit 62; resuming there may list again the rare entries whose hash
 * differs only in those bits.
 */
#ifndef MORTAR_MERGE_H
#define MORTAR_MERGE_H

#include "fop.h"

#include <stdint.h>

/* The offset to hand up for child idx (0 <= idx < nchildren) at the
 * child's offset off.  Offset 0 of child 0 is 0. */
uint64_t xl_doff_encode(int nchildren, int idx, uint64_t off);
/* The child and its offset from an offset made by xl_doff_encode (idx may
 * be >= nchildren for an offset we did not make: the caller checks). */
void xl_doff_decode(int nchildren, uint64_t d, int *idx, uint64_t *off);

/* A directory that exists on several children shows the newest access,
 * change and modification time of its copies (a file made or removed on
 * any child changed the directory): fold copy a's times into into. */
void xl_iatt_merge_dir(struct xl_iatt *into, const struct xl_iatt *a);

/* A directory entry of a listing read from one child of several: its
 * attributes are that copy's, not the merged ones, so they are dropped
 * (the kernel looks the directory up before using it); d_ino keeps the
 * number stat will show. */
void xl_dirent_drop_dir_attr(struct xl_dirent *d);

/* Add one child's statfs answer to sum, which starts zeroed: the first
 * answer added gives the block size (frsize) the others are scaled to,
 * and the other fields; the smallest namemax wins. */
void xl_statfs_add(struct xl_statfs *sum, const struct xl_statfs *s);

#endif
