/*
 * upcall-table.c - the record of which clients cache which inodes (see
 * upcall-table.h).  Pure bookkeeping: no locks, no I/O.
 */
#include "config.h"

#include "upcall-table.h"
#include "xlator.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint32_t ut_hash(const struct upcall_table *t, const uint8_t *gfid)
{
	uint64_t h = 1469598103934665603ull;

	for (int i = 0; i < 16; i++)
		h = (h ^ gfid[i]) * 1099511628211ull;
	return (uint32_t)(h % t->nbuckets);
}

int upcall_table_init(struct upcall_table *t, struct xl *owner, uint32_t max,
		      uint64_t timeout_ms)
{
	memset(t, 0, sizeof(*t));
	t->owner = owner;
	t->max = max ? max : 1;
	t->nbuckets = t->max < 1024 ? 1024 : t->max;
	t->timeout_ms = timeout_ms;
	t->buckets = xl_calloc(t->owner, t->nbuckets, sizeof(*t->buckets));
	return t->buckets ? 0 : -ENOMEM;
}

void upcall_table_fini(struct upcall_table *t)
{
	struct upcall_inode *ui = t->lru_head;

	while (ui) {
		struct upcall_inode *next = ui->lru_next;

		xl_free(t->owner, ui);
		ui = next;
	}
	xl_free(t->owner, t->buckets);
	memset(t, 0, sizeof(*t));
}

static void ut_lru_unlink(struct upcall_table *t, struct upcall_inode *ui)
{
	if (ui->lru_prev)
		ui->lru_prev->lru_next = ui->lru_next;
	else
		t->lru_head = ui->lru_next;
	if (ui->lru_next)
		ui->lru_next->lru_prev = ui->lru_prev;
	else
		t->lru_tail = ui->lru_prev;
	ui->lru_prev = ui->lru_next = NULL;
}

static void ut_lru_push(struct upcall_table *t, struct upcall_inode *ui)
{
	ui->lru_next = t->lru_head;
	if (t->lru_head)
		t->lru_head->lru_prev = ui;
	t->lru_head = ui;
	if (!t->lru_tail)
		t->lru_tail = ui;
}

static struct upcall_inode *ut_find(struct upcall_table *t, const uint8_t *gfid)
{
	for (struct upcall_inode *ui = t->buckets[ut_hash(t, gfid)]; ui;
	     ui = ui->hnext)
		if (memcmp(ui->gfid, gfid, 16) == 0)
			return ui;
	return NULL;
}

static void ut_remove(struct upcall_table *t, struct upcall_inode *ui)
{
	struct upcall_inode **pp = &t->buckets[ut_hash(t, ui->gfid)];

	while (*pp != ui)
		pp = &(*pp)->hnext;
	*pp = ui->hnext;
	ut_lru_unlink(t, ui);
	t->count--;
	xl_free(t->owner, ui);
}

static void ut_target(struct upcall_target *out, const struct upcall_inode *ui,
		      uint64_t id)
{
	memcpy(out->gfid, ui->gfid, 16);
	out->gen = ui->gen;
	out->client_id = id;
}

/* Find or make gfid's record; an evicted inode's live clients go to out[]
 * (*n counts them). */
static struct upcall_inode *ut_get(struct upcall_table *t, const uint8_t *gfid,
				   uint64_t now_ms, struct upcall_target *out,
				   int *n)
{
	struct upcall_inode *ui = ut_find(t, gfid);

	if (ui) {
		ut_lru_unlink(t, ui);
		ut_lru_push(t, ui);
		return ui;
	}
	if (t->count >= t->max && t->lru_tail) {
		struct upcall_inode *old = t->lru_tail;

		/* out[] has room for one evicted inode's clients only when
		 * nothing was written yet; otherwise they are told nothing
		 * and the table grows by one instead. */
		if (*n == 0) {
			for (int i = 0; i < old->nclients; i++)
				if (old->clients[i].expires_ms > now_ms)
					ut_target(&out[(*n)++], old,
						  old->clients[i].id);
			ut_remove(t, old);
		}
	}
	ui = xl_calloc(t->owner, 1, sizeof(*ui));
	if (!ui)
		return NULL;
	memcpy(ui->gfid, gfid, 16);
	ui->gen = 1;
	/* What happened to it before it had a record is unknown: a fop in
	 * flight since before the last change anywhere is told to drop. */
	ui->changed_seq = t->seq;
	ui->hnext = t->buckets[ut_hash(t, gfid)];
	t->buckets[ut_hash(t, gfid)] = ui;
	ut_lru_push(t, ui);
	t->count++;
	return ui;
}

int upcall_table_note(struct upcall_table *t, const uint8_t *gfid, uint64_t id,
		      uint64_t now_ms, uint64_t since,
		      struct upcall_target *out)
{
	struct upcall_inode *ui;
	int n = 0, victim = 0;

	ui = ut_get(t, gfid, now_ms, out, &n);
	if (!ui)
		return n;
	if (ui->changed_seq > since)
		ut_target(&out[n++], ui, id);
	for (int i = 0; i < ui->nclients; i++) {
		if (ui->clients[i].id == id) {
			ui->clients[i].expires_ms = now_ms + t->timeout_ms;
			return n;
		}
		if (ui->clients[i].expires_ms < ui->clients[victim].expires_ms)
			victim = i;
	}
	if (ui->nclients < UPCALL_CLIENTS_MAX) {
		victim = ui->nclients++;
	} else if (ui->clients[victim].expires_ms > now_ms) {
		/* the client closest to expiry loses its place: it must
		 * drop what it cached */
		ut_target(&out[n++], ui, ui->clients[victim].id);
	}
	ui->clients[victim].id = id;
	ui->clients[victim].expires_ms = now_ms + t->timeout_ms;
	return n;
}

int upcall_table_changed(struct upcall_table *t, const uint8_t *gfid,
			 uint64_t id, uint64_t now_ms, uint64_t *gen,
			 struct upcall_target *out)
{
	struct upcall_inode *ui;
	int n = 0, kept = 0;

	*gen = 0;
	/* A record even when nobody caches it yet: a read in flight notes
	 * itself after it and must learn of the change. */
	ui = ut_get(t, gfid, now_ms, out, &n);
	if (!ui) {
		t->seq++;
		return n;
	}
	ui->gen++;
	ui->changed_seq = ++t->seq;
	*gen = ui->gen;
	for (int i = 0; i < ui->nclients; i++) {
		struct upcall_client c = ui->clients[i];

		if (c.expires_ms <= now_ms)
			continue;
		ui->clients[kept++] = c;
		if (c.id != id)
			ut_target(&out[n++], ui, c.id);
	}
	ui->nclients = kept;
	return n;
}

void upcall_table_forget(struct upcall_table *t, const uint8_t *gfid)
{
	struct upcall_inode *ui = ut_find(t, gfid);

	if (ui)
		ut_remove(t, ui);
}

uint64_t upcall_table_gen(struct upcall_table *t, const uint8_t *gfid)
{
	struct upcall_inode *ui = ut_find(t, gfid);

	return ui ? ui->gen : 0;
}
