/*
 * mortar-rebalance.c - grow a distribute volume: write every directory's
 * layout again so new bricks get their share of new files (fix-layout),
 * then move every file to the child its name now hashes to while the
 * volume stays mounted and written to (start).
 *
 * The crawler (main thread) walks the directories breadth first through
 * the volume's client graph, fixes each one's layout, lists each child's
 * copy and queues the files that are not on their hashed child; --threads
 * workers move them (rebalance-ops.c).  A directory is recorded in the
 * state file once all its files are handled, so a stopped run (SIGINT,
 * SIGTERM: the files being copied are abandoned cleanly) resumes after
 * the directories it finished.  A reporter thread prints progress every
 * --progress seconds.
 *
 * A file with several names (hard links; all its names live on the child
 * that holds its data) is moved once, with all its names: the crawl
 * gathers the names it lists on that child (rb_hl_*), and when it has
 * found as many as the file's link count says, the file is queued with
 * all of them, unless one of them hashes to where the file is.  One whose
 * names are not all found (a directory that could not be listed, names
 * made or removed during the run) stays where it is, with a message, and
 * is counted in the summary.
 */
#include "config.h"

#include "rebalance.h"

#include "buf.h"
#include "inode.h"
#include "log.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t rb_stop;

static const char rb_usage[] =
    "Usage: mortar-rebalance (--volfile-server HOST[:PORT][,HOST[:PORT]...]\n"
    "                         --volume NAME | -f CLIENT.vol)\n"
    "                        COMMAND [options]\n"
    "Grow a distribute volume after bricks were added to it.\n"
    "\n"
    "Commands:\n"
    "  fix-layout   write every directory's layout again over all bricks\n"
    "               (new files then land on new bricks too)\n"
    "  start        fix-layout, then move every file to the brick its name\n"
    "               hashes to, while the volume is in use\n"
    "  status       print what the state file (--state) records\n"
    "\n"
    "Options:\n"
    "  --threads N       files moved in parallel (default 4, 1..64)\n"
    "  --throttle MB/s   limit the copy rate (default: unlimited)\n"
    "  --state FILE      record progress; a run with the same FILE resumes\n"
    "                    after the directories already done\n"
    "  --progress SEC    print progress every SEC seconds (default 5)\n"
    "  --timeout SEC     wait this long for the volume to come up (10)\n"
    "  --log-file FILE   the graph's log (default: stderr, warnings)\n"
    "  -h, --help\n"
    "SIGINT/SIGTERM stop the run: files being copied are abandoned (they\n"
    "stay where they were), the state file is written, and the exit status\n"
    "is 2.  Exit status 1: errors (some files could not be moved).\n";

struct rb_dir {
	uint8_t gfid[16];
	uint8_t pargfid[16];
	char *name; /* NULL: the root */
	char *path;
};

struct rb_state {
	char *path;
	char status[32];
	uint8_t (*done)[16];
	size_t ndone, cap;
	uint64_t files, bytes, failed, dirs;
};

/* The work queue between the crawler and the workers. */
struct rb_queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct rb_job *jobs;
	size_t head, count, cap;
	int busy; /* jobs taken and not finished */
	bool closing;
};

/* A file with several names being gathered by the crawl: keyed by (src,
 * gfid) in rb_run.hl_index. */
struct rb_hl {
	uint8_t gfid[16];
	int src;
	uint32_t nlink; /* its names on src, as listed */
	uint64_t size;
	bool bad;    /* the link count changed while listing */
	bool closed; /* queued, or in place: no more names taken */
	char *path;  /* the first name found, for messages */
	struct rb_link *links;
	int nlinks, cap;
};

struct rb_run {
	struct rb_vol vol;
	struct rb_queue q;
	struct rb_state st;
	bool migrate;
	int progress_sec;
	pthread_mutex_t report_lock;
	pthread_cond_t report_cond;
	bool report_done;
	struct rb_dir *dirs;
	size_t ndirs, dcap, dnext;
	uint64_t base_files, base_bytes; /* from earlier runs */
	/* files with several names (crawler thread only) */
	struct rb_hl *hl;
	size_t nhl, hlcap;
	size_t *hl_index; /* open addressing over hl, hl_size slots; ~0 free */
	size_t hl_size;
};

static void rb_on_signal(int sig)
{
	(void)sig;
	rb_stop = 1;
}

/* ---- state file ------------------------------------------------------- */

static bool rb_state_has(const struct rb_state *st, const uint8_t *gfid)
{
	for (size_t i = 0; i < st->ndone; i++)
		if (memcmp(st->done[i], gfid, 16) == 0)
			return true;
	return false;
}

static int rb_state_add(struct rb_state *st, const uint8_t *gfid)
{
	if (st->ndone == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		void *p = realloc(st->done, cap * 16);

		if (!p)
			return -ENOMEM;
		st->done = p;
		st->cap = cap;
	}
	memcpy(st->done[st->ndone++], gfid, 16);
	return 0;
}

static int rb_state_load(struct rb_state *st)
{
	char line[256], g[XL_GFID_STR_LEN];
	uint8_t gfid[16];
	FILE *f;

	if (!st->path)
		return 0;
	f = fopen(st->path, "r");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "done %36s", g) == 1 &&
		    xl_gfid_parse(g, gfid) == 0)
			rb_state_add(st, gfid);
		else if (sscanf(line, "status %31s", st->status) == 1)
			;
		else if (sscanf(line, "files-moved %" SCNu64, &st->files) == 1)
			;
		else if (sscanf(line, "bytes-moved %" SCNu64, &st->bytes) == 1)
			;
		else if (sscanf(line, "files-failed %" SCNu64, &st->failed) ==
			 1)
			;
		else
			sscanf(line, "dirs-done %" SCNu64, &st->dirs);
	}
	fclose(f);
	return 0;
}

/* Write the state to a temporary file and rename it over: a crash leaves
 * the old or the new state, never half of one. */
static int rb_state_save(struct rb_run *run, const char *status)
{
	struct rb_state *st = &run->st;
	struct rb_vol *v = &run->vol;
	char tmp[4096], g[XL_GFID_STR_LEN];
	FILE *f;

	if (!st->path)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", st->path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f,
		"# mortar-rebalance state: directories done are skipped when "
		"run again\n"
		"status %s\nfiles-moved %" PRIu64 "\nbytes-moved %" PRIu64
		"\nfiles-failed %" PRIu64 "\ndirs-done %zu\n",
		status, run->base_files + atomic_load(&v->files_moved),
		run->base_bytes + atomic_load(&v->bytes_moved),
		st->failed + atomic_load(&v->files_failed), st->ndone);
	for (size_t i = 0; i < st->ndone; i++)
		fprintf(f, "done %s\n", xl_gfid_to_str(st->done[i], g));
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fclose(f);
		return -errno;
	}
	fclose(f);
	return rename(tmp, st->path) == 0 ? 0 : -errno;
}

static int rb_status(const char *path)
{
	struct rb_state st = {.path = (char *)path};
	int ret;

	if (!path) {
		fprintf(stderr,
			"mortar-rebalance: status needs --state FILE\n");
		return 1;
	}
	strcpy(st.status, "none");
	ret = rb_state_load(&st);
	if (ret < 0) {
		fprintf(stderr, "mortar-rebalance: %s: %s\n", path,
			strerror(-ret));
		return 1;
	}
	printf("status: %s\nfiles moved: %" PRIu64 "\nbytes moved: %" PRIu64
	       "\nfiles failed: %" PRIu64 "\ndirectories done: %zu\n",
	       st.status, st.files, st.bytes, st.failed, st.ndone);
	free(st.done);
	return 0;
}

/* ---- queue ------------------------------------------------------------- */

static int rb_queue_put(struct rb_queue *q, struct rb_job *job)
{
	pthread_mutex_lock(&q->lock);
	if (q->count == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		struct rb_job *jobs = malloc(cap * sizeof(*jobs));

		if (!jobs) {
			pthread_mutex_unlock(&q->lock);
			return -ENOMEM;
		}
		for (size_t i = 0; i < q->count; i++)
			jobs[i] = q->jobs[(q->head + i) % q->cap];
		free(q->jobs);
		q->jobs = jobs;
		q->head = 0;
		q->cap = cap;
	}
	q->jobs[(q->head + q->count) % q->cap] = *job;
	q->count++;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

/* Wait until every queued job is finished. */
static void rb_queue_drain(struct rb_queue *q)
{
	pthread_mutex_lock(&q->lock);
	while (q->count > 0 || q->busy > 0)
		pthread_cond_wait(&q->cond, &q->lock);
	pthread_mutex_unlock(&q->lock);
}

struct rb_worker {
	struct rb_run *run;
	int index;
	pthread_t thread;
};

static void *rb_worker_main(void *arg)
{
	struct rb_worker *w = arg;
	struct rb_run *run = w->run;
	struct rb_queue *q = &run->q;
	struct rb_vol *v = &run->vol;
	char g[XL_GFID_STR_LEN];

	for (;;) {
		struct rb_job job;
		int ret;

		pthread_mutex_lock(&q->lock);
		while (q->count == 0 && !q->closing)
			pthread_cond_wait(&q->cond, &q->lock);
		if (q->count == 0) {
			pthread_mutex_unlock(&q->lock);
			return NULL;
		}
		job = q->jobs[q->head];
		q->head = (q->head + 1) % q->cap;
		q->count--;
		q->busy++;
		pthread_mutex_unlock(&q->lock);

		ret = rb_stop ? -EINTR : rb_migrate(v, &job, w->index);
		if (ret == 0)
			atomic_fetch_add(&v->files_moved, 1);
		else if (ret == 1)
			atomic_fetch_add(&v->files_skipped, 1);
		else if (ret == -EINTR)
			atomic_fetch_add(&v->files_abandoned, 1);
		else {
			atomic_fetch_add(&v->files_failed, 1);
			fprintf(stderr,
				"mortar-rebalance: %s/%s: not moved from %s to "
				"%s: %s\n",
				xl_gfid_to_str(job.pargfid, g), job.name,
				v->subvols[job.src]->name,
				v->subvols[job.dst]->name, strerror(-ret));
		}
		if (job.links && ret == 0)
			atomic_fetch_add(&v->links_moved, 1);
		else if (job.links && ret == 1)
			atomic_fetch_add(&v->links_skipped, 1);
		rb_job_clear(&job);
		pthread_mutex_lock(&q->lock);
		q->busy--;
		pthread_cond_broadcast(&q->cond);
		pthread_mutex_unlock(&q->lock);
	}
}

/* ---- progress ---------------------------------------------------------- */

static void rb_report(struct rb_run *run, const char *what)
{
	struct rb_vol *v = &run->vol;
	double secs = (double)(rb_now_ns() - v->start_ns) / 1e9;
	uint64_t files = atomic_load(&v->files_moved);
	uint64_t bytes = atomic_load(&v->bytes_moved);
	uint64_t qbytes = atomic_load(&v->bytes_queued);
	double rate = secs > 0 ? (double)bytes / secs : 0;
	double left =
	    rate > 0 && qbytes > bytes ? (double)(qbytes - bytes) / rate : 0;

	printf("%s: %.0f s, dirs %" PRIu64 ", files moved %" PRIu64
	       " of %" PRIu64 " found (skipped %" PRIu64 ", failed %" PRIu64
	       "), %.1f MiB, %.2f MiB/s, %.1f files/s, about %.0f s left "
	       "(of what is found so far)\n",
	       what, secs, atomic_load(&v->dirs_done), files,
	       atomic_load(&v->files_queued), atomic_load(&v->files_skipped),
	       atomic_load(&v->files_failed), (double)bytes / 1048576.0,
	       rate / 1048576.0, secs > 0 ? (double)files / secs : 0, left);
	fflush(stdout);
}

static void *rb_reporter_main(void *arg)
{
	struct rb_run *run = arg;
	struct timespec deadline;

	pthread_mutex_lock(&run->report_lock);
	while (!run->report_done) {
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += run->progress_sec;
		if (pthread_cond_timedwait(&run->report_cond, &run->report_lock,
					   &deadline) == ETIMEDOUT &&
		    !run->report_done) {
			pthread_mutex_unlock(&run->report_lock);
			rb_report(run, "progress");
			pthread_mutex_lock(&run->report_lock);
		}
	}
	pthread_mutex_unlock(&run->report_lock);
	return NULL;
}

/* ---- the crawl ---------------------------------------------------------- */

static int rb_dir_push(struct rb_run *run, const uint8_t *pargfid,
		       const char *name, const char *parent_path)
{
	struct rb_dir *d;

	for (size_t i = run->dnext; i < run->ndirs; i++)
		if (run->dirs[i].name &&
		    !memcmp(run->dirs[i].pargfid, pargfid, 16) &&
		    !strcmp(run->dirs[i].name, name))
			return 0; /* listed by another child too */
	if (run->ndirs == run->dcap) {
		size_t cap = run->dcap ? run->dcap * 2 : 64;
		void *p = realloc(run->dirs, cap * sizeof(*run->dirs));

		if (!p)
			return -ENOMEM;
		run->dirs = p;
		run->dcap = cap;
	}
	d = &run->dirs[run->ndirs];
	memset(d, 0, sizeof(*d));
	if (pargfid)
		memcpy(d->pargfid, pargfid, 16);
	d->name = name ? strdup(name) : NULL;
	if (asprintf(&d->path, "%s/%s", parent_path ? parent_path : "",
		     name ? name : "") < 0)
		d->path = NULL;
	run->ndirs++;
	return 0;
}

/* One directory being listed: the files to move are collected first and
 * queued once every child is listed, so no worker creates entries in a
 * copy the crawler is still reading (a brick's readdirplus may give a
 * gfid to an entry that its creator has not labelled yet). */
struct rb_listing {
	struct rb_run *run;
	struct rb_dir *dir;
	const struct dht_range *ranges;
	bool skip_files;
	struct rb_job *jobs;
	size_t njobs, cap;
};

static int rb_listing_add(struct rb_listing *l, struct rb_job *job)
{
	if (l->njobs == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct rb_job *jobs = realloc(l->jobs, cap * sizeof(*jobs));

		if (!jobs) {
			rb_job_clear(job);
			return -ENOMEM;
		}
		l->jobs = jobs;
		l->cap = cap;
	}
	l->jobs[l->njobs++] = *job;
	return 0;
}

/* ---- files with several names ------------------------------------------ */

static size_t rb_hl_slot(const struct rb_run *run, const uint8_t *gfid, int s)
{
	uint64_t h;

	memcpy(&h, gfid + 8, sizeof(h)); /* random bits of a gfid */
	return (size_t)(h ^ (uint64_t)s * 0x9e3779b97f4a7c15ull) &
	       (run->hl_size - 1);
}

/* The gathering for (s, gfid), made when new; NULL on ENOMEM. */
static struct rb_hl *rb_hl_get(struct rb_run *run, const uint8_t *gfid, int s)
{
	size_t i;

	if (run->nhl * 2 >= run->hl_size) {
		size_t size = run->hl_size ? run->hl_size * 2 : 256;
		size_t *index = malloc(size * sizeof(*index));

		if (!index)
			return NULL;
		memset(index, 0xff, size * sizeof(*index));
		free(run->hl_index);
		run->hl_index = index;
		run->hl_size = size;
		for (size_t k = 0; k < run->nhl; k++) {
			i = rb_hl_slot(run, run->hl[k].gfid, run->hl[k].src);
			while (index[i] != (size_t)-1)
				i = (i + 1) & (size - 1);
			index[i] = k;
		}
	}
	for (i = rb_hl_slot(run, gfid, s); run->hl_index[i] != (size_t)-1;
	     i = (i + 1) & (run->hl_size - 1)) {
		struct rb_hl *g = &run->hl[run->hl_index[i]];

		if (g->src == s && memcmp(g->gfid, gfid, 16) == 0)
			return g;
	}
	if (run->nhl == run->hlcap) {
		size_t cap = run->hlcap ? run->hlcap * 2 : 64;
		struct rb_hl *p = realloc(run->hl, cap * sizeof(*p));

		if (!p)
			return NULL;
		run->hl = p;
		run->hlcap = cap;
	}
	memset(&run->hl[run->nhl], 0, sizeof(run->hl[0]));
	memcpy(run->hl[run->nhl].gfid, gfid, 16);
	run->hl[run->nhl].src = s;
	run->hl_index[i] = run->nhl;
	return &run->hl[run->nhl++];
}

static void rb_hl_free(struct rb_run *run)
{
	for (size_t k = 0; k < run->nhl; k++) {
		for (int i = 0; i < run->hl[k].nlinks; i++)
			free(run->hl[k].links[i].name);
		free(run->hl[k].links);
		free(run->hl[k].path);
	}
	free(run->hl);
	free(run->hl_index);
}

/* All the names of g are found: queue it with them (it moves to where its
 * first name found hashes), unless one of them hashes to where it is. */
static int rb_hl_complete(struct rb_listing *l, struct rb_hl *g)
{
	struct rb_job job;
	int dst = -1;

	g->closed = true;
	for (int i = 0; i < g->nlinks; i++) {
		if (g->links[i].hashed == g->src)
			return 0; /* in place for one of its names */
		if (dst < 0 && g->links[i].hashed >= 0)
			dst = g->links[i].hashed;
	}
	if (dst < 0)
		return 0;
	memset(&job, 0, sizeof(job));
	memcpy(job.pargfid, g->links[0].pargfid, 16);
	memcpy(job.gfid, g->gfid, 16);
	job.src = g->src;
	job.dst = dst;
	job.size = g->size;
	job.name = strdup(g->links[0].name);
	if (!job.name)
		return -ENOMEM;
	/* the job takes the names */
	job.links = g->links;
	job.nlinks = g->nlinks;
	g->links = NULL;
	g->nlinks = g->cap = 0;
	return rb_listing_add(l, &job);
}

/* A name of a file with several (d, on child s, hashing to h). */
static int rb_hl_note(struct rb_listing *l, int s, const struct xl_dirent *d,
		      int h)
{
	struct rb_hl *g = rb_hl_get(l->run, d->attr.gfid, s);
	struct rb_link *link;

	if (!g)
		return -ENOMEM;
	if (g->closed)
		return 0;
	if (g->nlinks == 0) {
		g->nlink = d->attr.nlink;
		g->size = d->attr.size;
		if (asprintf(&g->path, "%s/%s",
			     l->dir->path ? l->dir->path : "", d->name) < 0)
			g->path = NULL;
	} else if (g->nlink != d->attr.nlink) {
		g->bad = true;
	}
	if (g->nlinks == g->cap) {
		int cap = g->cap ? g->cap * 2 : 4;
		struct rb_link *p = realloc(g->links, (size_t)cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		g->links = p;
		g->cap = cap;
	}
	link = &g->links[g->nlinks];
	memcpy(link->pargfid, l->dir->gfid, 16);
	link->hashed = h;
	link->name = strdup(d->name);
	if (!link->name)
		return -ENOMEM;
	g->nlinks++;
	if (!g->bad && (uint32_t)g->nlinks == g->nlink)
		return rb_hl_complete(l, g);
	return 0;
}

/* After the crawl: the files whose names were not all found. */
static void rb_hl_report(struct rb_run *run)
{
	for (size_t k = 0; k < run->nhl; k++) {
		struct rb_hl *g = &run->hl[k];

		if (g->closed)
			continue;
		atomic_fetch_add(&run->vol.links_skipped, 1);
		atomic_fetch_add(&run->vol.files_skipped, 1);
		fprintf(stderr,
			"mortar-rebalance: %s: not moved: a file with %u names "
			"on %s, %d of them found%s\n",
			g->path ? g->path : "?", g->nlink,
			run->vol.subvols[g->src]->name, g->nlinks,
			g->bad ? " (its link count changed meanwhile)" : "");
	}
}

static int rb_entry(void *arg, int s, const struct xl_dirent *d, bool linkto)
{
	struct rb_listing *l = arg;
	struct rb_run *run = l->run;
	struct rb_job job;
	int h;

	if (S_ISDIR(d->attr.mode))
		return rb_dir_push(run, l->dir->gfid, d->name, l->dir->path);
	if (!run->migrate || !S_ISREG(d->attr.mode) || linkto)
		return 0;
	h = dht_layout_search(l->ranges, run->vol.n, dht_hash_name(d->name));
	/* Names of a file with several are gathered in every directory, also
	 * the ones an earlier run finished: its other names may be in one
	 * this run has yet to list. */
	if (d->attr.nlink > 1)
		return rb_hl_note(l, s, d, h);
	if (l->skip_files || h < 0 || h == s)
		return 0;
	memset(&job, 0, sizeof(job));
	memcpy(job.pargfid, l->dir->gfid, 16);
	job.name = strdup(d->name);
	if (!job.name)
		return -ENOMEM;
	job.src = s;
	job.dst = h;
	job.size = d->attr.size;
	return rb_listing_add(l, &job);
}

/* Queue what a listing collected (the queue owns the names after). */
static int rb_queue_listing(struct rb_run *run, struct rb_listing *l)
{
	int ret = 0;

	for (size_t i = 0; i < l->njobs; i++) {
		if (ret == 0 && !rb_stop) {
			atomic_fetch_add(&run->vol.files_queued, 1);
			atomic_fetch_add(&run->vol.bytes_queued,
					 l->jobs[i].size);
			ret = rb_queue_put(&run->q, &l->jobs[i]);
			if (ret == 0)
				continue;
		}
		rb_job_clear(&l->jobs[i]);
	}
	free(l->jobs);
	l->jobs = NULL;
	l->njobs = l->cap = 0;
	return ret;
}

static int rb_crawl(struct rb_run *run)
{
	struct rb_vol *v = &run->vol;
	struct dht_range ranges[DHT_MAX_SUBVOLS];
	int ret = 0, errors = 0;

	if (rb_dir_push(run, NULL, NULL, NULL) < 0)
		return -ENOMEM;
	while (run->dnext < run->ndirs && !rb_stop) {
		struct rb_dir *dir = &run->dirs[run->dnext];
		struct rb_listing l = {.run = run, .ranges = ranges};
		bool done_before;

		ret = rb_fix_layout(v, dir->name ? dir->pargfid : NULL,
				    dir->name, dir->gfid, ranges);
		dir = &run->dirs[run->dnext];
		if (ret < 0) {
			fprintf(stderr,
				"mortar-rebalance: %s: layout not "
				"written: %s\n",
				dir->path ? dir->path : "?", strerror(-ret));
			errors++;
			run->dnext++;
			continue;
		}
		done_before = rb_state_has(&run->st, dir->gfid);
		l.skip_files = done_before;
		for (int s = 0; s < v->n && ret == 0 && !rb_stop; s++) {
			l.dir = &run->dirs[run->dnext];
			ret = rb_list_dir(v, s, l.dir->gfid, rb_entry, &l);
		}
		if (rb_queue_listing(run, &l) < 0 && ret == 0)
			ret = -ENOMEM;
		rb_queue_drain(&run->q);
		dir = &run->dirs[run->dnext];
		if (ret < 0) {
			fprintf(stderr,
				"mortar-rebalance: %s: not listed: %s\n",
				dir->path ? dir->path : "?", strerror(-ret));
			errors++;
		} else if (!rb_stop && !done_before && run->migrate) {
			/* Every file of it handled: record it (fix-layout
			 * moves no file, so it records nothing to skip). */
			rb_state_add(&run->st, dir->gfid);
			atomic_fetch_add(&v->dirs_done, 1);
			rb_state_save(run, "running");
		}
		ret = 0;
		run->dnext++;
	}
	if (!rb_stop)
		rb_hl_report(run);
	return errors ? -EIO : 0;
}

static int rb_find_dht(struct rb_vol *v)
{
	struct xl_graph *g = tool_graph_get(v->tg);

	for (int i = 0; i < g->count; i++) {
		if (strcmp(g->xls[i]->desc->type, "cluster/distribute") == 0) {
			v->dht = g->xls[i];
			v->subvols = v->dht->children;
			v->n = v->dht->child_count;
			return 0;
		}
	}
	return -ENOENT;
}

struct rb_opts {
	struct rpc_volfile_servers servers; /* tried in order */
	const char *volume, *volfile, *state, *log_file, *command;
	int threads, progress, timeout;
	double throttle_mb;
};

static int rb_parse(int argc, char **argv, struct rb_opts *o)
{
	static const struct option longopts[] = {
	    {"volfile-server", required_argument, NULL, 's'},
	    {"volume", required_argument, NULL, 'v'},
	    {"threads", required_argument, NULL, 't'},
	    {"throttle", required_argument, NULL, 'T'},
	    {"state", required_argument, NULL, 'S'},
	    {"progress", required_argument, NULL, 'p'},
	    {"timeout", required_argument, NULL, 'w'},
	    {"log-file", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	char *end;
	int c;

	o->threads = 4;
	o->progress = 5;
	o->timeout = 10;
	while ((c = getopt_long(argc, argv, "f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (tool_servers_add(&o->servers, "mortar-rebalance",
					     optarg) < 0)
				return -EINVAL;
			break;
		case 'v':
			o->volume = optarg;
			break;
		case 'f':
			o->volfile = optarg;
			break;
		case 't':
			o->threads = (int)strtol(optarg, &end, 10);
			if (*end || o->threads < 1 || o->threads > 64)
				goto bad;
			break;
		case 'T':
			o->throttle_mb = strtod(optarg, &end);
			if (*end || o->throttle_mb <= 0)
				goto bad;
			break;
		case 'S':
			o->state = optarg;
			break;
		case 'p':
			o->progress = (int)strtol(optarg, &end, 10);
			if (*end || o->progress < 1)
				goto bad;
			break;
		case 'w':
			o->timeout = (int)strtol(optarg, &end, 10);
			if (*end || o->timeout < 1)
				goto bad;
			break;
		case 'l':
			o->log_file = optarg;
			break;
		case 'h':
			fputs(rb_usage, stdout);
			exit(0);
		default:
			fputs(rb_usage, stderr);
			return -EINVAL;
		}
	}
	if (optind != argc - 1) {
		fputs(rb_usage, stderr);
		return -EINVAL;
	}
	o->command = argv[optind];
	if (strcmp(o->command, "start") && strcmp(o->command, "fix-layout") &&
	    strcmp(o->command, "status")) {
		fprintf(stderr, "mortar-rebalance: unknown command '%s'\n",
			o->command);
		return -EINVAL;
	}
	if (strcmp(o->command, "status") &&
	    !o->volfile == !(o->servers.count && o->volume)) {
		fprintf(stderr, "mortar-rebalance: give -f CLIENT.vol, or "
				"--volfile-server and --volume\n");
		return -EINVAL;
	}
	return 0;
bad:
	fprintf(stderr, "mortar-rebalance: bad value '%s'\n", optarg);
	return -EINVAL;
}

static int rb_start_workers(struct rb_run *run, struct rb_worker *w, int n)
{
	for (int i = 0; i < n; i++) {
		w[i].run = run;
		w[i].index = i;
		if (pthread_create(&w[i].thread, NULL, rb_worker_main, &w[i]))
			return i;
	}
	return n;
}

static void rb_stop_workers(struct rb_run *run, struct rb_worker *w, int n)
{
	pthread_mutex_lock(&run->q.lock);
	run->q.closing = true;
	pthread_cond_broadcast(&run->q.cond);
	pthread_mutex_unlock(&run->q.lock);
	for (int i = 0; i < n; i++)
		pthread_join(w[i].thread, NULL);
}

/* Record how the run ended, report it, release everything; the exit
 * status. */
static int rb_finish(struct rb_run *run, int ret)
{
	const char *status;

	status = rb_stop ? "stopped" : ret < 0 ? "failed" : "completed";
	if (atomic_load(&run->vol.files_failed))
		status = rb_stop ? "stopped" : "failed";
	rb_state_save(run, status);
	rb_report(run, status);
	if (atomic_load(&run->vol.links_moved) ||
	    atomic_load(&run->vol.links_skipped))
		printf("files with several names (hard links): %" PRIu64
		       " moved, %" PRIu64 " not moved\n",
		       atomic_load(&run->vol.links_moved),
		       atomic_load(&run->vol.links_skipped));
	fflush(stdout);
	tool_graph_close(run->vol.tg);
	rb_hl_free(run);
	for (size_t i = 0; i < run->ndirs; i++) {
		free(run->dirs[i].name);
		free(run->dirs[i].path);
	}
	free(run->dirs);
	free(run->q.jobs);
	free(run->st.done);
	if (rb_stop)
		return 2;
	return strcmp(status, "completed") == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct rb_run run;
	struct rb_opts o = {0};
	struct rb_worker workers[64];
	pthread_t reporter;
	struct sigaction sa;
	char *err = NULL;
	int ret, nworkers;

	if (rb_parse(argc, argv, &o) < 0)
		return 1;
	if (strcmp(o.command, "status") == 0)
		return rb_status(o.state);
	memset(&run, 0, sizeof(run));
	run.migrate = strcmp(o.command, "start") == 0;
	run.progress_sec = o.progress;
	run.st.path = (char *)o.state;
	strcpy(run.st.status, "none");
	ret = rb_state_load(&run.st);
	if (ret < 0) {
		fprintf(stderr, "mortar-rebalance: %s: %s\n", o.state,
			strerror(-ret));
		return 1;
	}
	if (strcmp(run.st.status, "completed") == 0) {
		/* A finished run is not resumed: start over. */
		run.st.ndone = 0;
		run.st.files = run.st.bytes = run.st.failed = 0;
	}
	run.base_files = run.st.files;
	run.base_bytes = run.st.bytes;
	xl_log_init(o.log_file, XL_LOG_WARNING);
	ret = tool_graph_open(&o.servers, o.volume, o.volfile, o.timeout,
			      &run.vol.tg, &err);
	rpc_volfile_servers_free(&o.servers);
	if (ret < 0) {
		fprintf(stderr, "mortar-rebalance: %s\n",
			err ? err : strerror(-ret));
		free(err);
		return 1;
	}
	if (rb_find_dht(&run.vol) < 0) {
		fprintf(stderr, "mortar-rebalance: the volume has no "
				"cluster/distribute translator\n");
		tool_graph_close(run.vol.tg);
		return 1;
	}
	run.vol.throttle_bps = (int64_t)(o.throttle_mb * 1048576.0);
	run.vol.start_ns = rb_now_ns();
	pthread_mutex_init(&run.q.lock, NULL);
	pthread_cond_init(&run.q.cond, NULL);
	pthread_mutex_init(&run.report_lock, NULL);
	pthread_cond_init(&run.report_cond, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = rb_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	printf("%s: %d subvolumes, %d threads%s%s\n", o.command, run.vol.n,
	       o.threads, run.st.ndone ? ", resuming" : "",
	       o.throttle_mb > 0 ? ", throttled" : "");
	if (o.throttle_mb > 0)
		printf("throttle: %.2f MiB/s\n", o.throttle_mb);
	fflush(stdout);
	nworkers = rb_start_workers(&run, workers, o.threads);
	pthread_create(&reporter, NULL, rb_reporter_main, &run);
	rb_state_save(&run, "running");
	ret = nworkers > 0 ? rb_crawl(&run) : -EAGAIN;
	rb_stop_workers(&run, workers, nworkers);
	pthread_mutex_lock(&run.report_lock);
	run.report_done = true;
	pthread_cond_broadcast(&run.report_cond);
	pthread_mutex_unlock(&run.report_lock);
	pthread_join(reporter, NULL);

	return rb_finish(&run, ret);
}
