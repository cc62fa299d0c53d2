/*
 * fileops.c - times many small metadata operations for bench.sh, so the
 * shell's own cost per file does not swamp what is measured.
 *
 *   fileops create|stat|unlink|readdir|write4k DIR COUNT
 *   fileops mkdirtree|rmdirtree DIR FANOUT
 *   fileops pstat DIR COUNT PROCS
 *   fileops tree create|stat|readdir|unlink TOP FIRST NDIRS PER_DIR EVERY
 *
 * Files are DIR/f000000 ... DIR/f<COUNT-1>.  create makes empty files
 * (O_CREAT|O_EXCL, then close), write4k makes files of 4 KiB (create,
 * one 4 KiB write, close), stat stats each, unlink removes each, readdir
 * reads DIR once and counts its entries (COUNT is only checked).
 * mkdirtree makes a tree FANOUT wide and FO_TREE_DEPTH deep under DIR
 * (DIR/d000/d000/d000 ...: FANOUT + FANOUT^2 + FANOUT^3 directories,
 * parents first); rmdirtree removes that tree, children first.
 * pstat forks PROCS processes that stat the COUNT files at once, each its
 * own names (process k: f<k>, f<k+PROCS>, ...), so every name is stat'ed
 * once; they start together and the time runs to the last one's end.
 * Prints "OPS SECONDS" on stdout; exit 0, or 1 with a message on the first
 * failure (a benchmark that silently skips files measures nothing).
 *
 * tree works on the directories TOP/d<FIRST> ... TOP/d<FIRST+NDIRS-1>
 * (d%06ld), each holding the files f000000 ... f<PER_DIR-1>: create
 * makes each directory, then its empty files; stat stats every file;
 * readdir reads each directory once and fails unless it holds exactly
 * PER_DIR entries; unlink removes the files, then the directory.  Several
 * of them run at once (one per client, each its own range), so instead
 * of one total it prints progress: "TIME DONE" lines, TIME the wall clock
 * (seconds since the epoch, the clock every process shares) and DONE the
 * files done so far, once at the start (DONE 0), after every EVERY files
 * (readdir: after the directory that passes a multiple of EVERY) and
 * after the last one.  Line-buffered, so a run that fails or is killed
 * leaves its progress so far.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FO_TREE_DEPTH 3
#define FO_SMALL_SIZE 4096

static const char fo_block[FO_SMALL_SIZE];

static double fo_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fo_write4k(const char *path)
{
	ssize_t n;
	int fd, err;

	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	n = write(fd, fo_block, sizeof(fo_block));
	if (n != (ssize_t)sizeof(fo_block)) {
		err = n < 0 ? -errno : -EIO;
		close(fd);
		return err;
	}
	if (close(fd) < 0)
		return -errno;
	return 0;
}

static int fo_one(const char *op, const char *path)
{
	struct stat st;
	int fd;

	if (!strcmp(op, "create")) {
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
		if (close(fd) < 0)
			return -errno;
		return 0;
	}
	if (!strcmp(op, "write4k"))
		return fo_write4k(path);
	if (!strcmp(op, "stat"))
		return stat(path, &st) < 0 ? -errno : 0;
	return unlink(path) < 0 ? -errno : 0;
}

static int fo_readdir(const char *dir, long count, long *seen)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	*seen = 0;
	if (!d)
		return -errno;
	errno = 0;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			(*seen)++;
	if (errno) {
		int err = -errno;

		closedir(d);
		return err;
	}
	closedir(d);
	return *seen == count ? 0 : -EIO;
}

/*
 * One level of the tree under path (a buffer of size bytes that holds the
 * parent's name; restored on return).  make: mkdir each child, then
 * descend; otherwise descend, then rmdir each child.  *done counts the
 * directories made or removed; on failure path names the one that failed.
 */
static int fo_tree(char *path, size_t size, long fanout, int depth, int make,
		   long *done)
{
	size_t len = strlen(path);
	long i;
	int ret;

	for (i = 0; i < fanout; i++) {
		if ((size_t)snprintf(path + len, size - len, "/d%03ld", i) >=
		    size - len)
			return -ENAMETOOLONG;
		if (make) {
			if (mkdir(path, 0755) < 0)
				return -errno;
			(*done)++;
		}
		if (depth > 1) {
			ret =
			    fo_tree(path, size, fanout, depth - 1, make, done);
			if (ret)
				return ret;
		}
		if (!make) {
			if (rmdir(path) < 0)
				return -errno;
			(*done)++;
		}
		path[len] = '\0';
	}
	return 0;
}

/* One pstat process: wait for the start (EOF on go), stat its names.
 * Exits 0, or 1 after a message on the first failure. */
static void fo_pstat_child(const char *dir, long count, long procs, long k,
			   int go)
{
	char path[4096], c;
	struct stat st;

	if (read(go, &c, 1) < 0)
		_exit(1);
	for (long i = k; i < count; i += procs) {
		snprintf(path, sizeof(path), "%s/f%06ld", dir, i);
		if (stat(path, &st) < 0) {
			fprintf(stderr, "fileops: pstat %s: %s\n", path,
				strerror(errno));
			_exit(1);
		}
	}
	_exit(0);
}

/* pstat: PROCS processes started at once; *t0 is taken when they are
 * let go.  0, or -EIO when one failed (it said why), -errno for fork. */
static int fo_pstat(const char *dir, long count, long procs, double *t0)
{
	int go[2], status, ret = 0;
	long started = 0;

	if (procs < 1 || procs > 1024 || pipe(go) < 0)
		return -EINVAL;
	for (; started < procs; started++) {
		pid_t pid = fork();

		if (pid < 0) {
			ret = -errno;
			break;
		}
		if (pid == 0) {
			close(go[1]);
			fo_pstat_child(dir, count, procs, started, go[0]);
		}
	}
	close(go[0]);
	*t0 = fo_now();
	close(go[1]); /* EOF: every child starts */
	while (started-- > 0) {
		if (wait(&status) < 0)
			return -errno;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			ret = -EIO;
	}
	return ret;
}

static double fo_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* readdir of one tree directory: 0 when it holds exactly want entries
 * (besides . and ..), -EIO with a message when not, -errno on failure. */
static int fo_tree_list(const char *dir, long want)
{
	long seen;
	int ret = fo_readdir(dir, want, &seen);

	if (ret == -EIO)
		fprintf(stderr, "fileops: %s holds %ld entries, not %ld\n", dir,
			seen, want);
	return ret;
}

/* The files of one tree directory: OP on each, a progress line after
 * every EVERY files in all (*next is the count due the next line). */
static int fo_tree_files(const char *op, const char *dir, long per_dir,
			 long every, char *path, size_t size, long *done,
			 long *next)
{
	long i;
	int ret;

	for (i = 0; i < per_dir; i++) {
		if ((size_t)snprintf(path, size, "%s/f%06ld", dir, i) >= size)
			return -ENAMETOOLONG;
		ret = fo_one(op, path);
		if (ret)
			return ret;
		if (++*done == *next) {
			printf("%.6f %ld\n", fo_wall(), *done);
			*next += every;
		}
	}
	return 0;
}

/*
 * fileops tree OP TOP FIRST NDIRS PER_DIR EVERY (see the top of the
 * file).  *done counts the files done; on failure path names the file or
 * directory that failed.
 */
static int fo_tree_run(const char *op, const char *top, long first, long ndirs,
		       long per_dir, long every, char *path, size_t size,
		       long *done)
{
	long d, next = every;
	int ret;

	printf("%.6f 0\n", fo_wall());
	for (d = first; d < first + ndirs; d++) {
		if ((size_t)snprintf(path, size, "%s/d%06ld", top, d) >= size)
			return -ENAMETOOLONG;
		if (!strcmp(op, "create") && mkdir(path, 0755) < 0)
			return -errno;
		if (!strcmp(op, "readdir")) {
			ret = fo_tree_list(path, per_dir);
			if (ret)
				return ret;
			*done += per_dir;
		} else {
			char dir[4096];

			snprintf(dir, sizeof(dir), "%s", path);
			ret = fo_tree_files(op, dir, per_dir, every, path, size,
					    done, &next);
			if (ret)
				return ret;
			snprintf(path, size, "%s", dir);
		}
		if (!strcmp(op, "unlink") && rmdir(path) < 0)
			return -errno;
		if (*done >= next) { /* readdir: a directory at a time */
			printf("%.6f %ld\n", fo_wall(), *done);
			while (next <= *done)
				next += every;
		}
	}
	if (*done % every)
		printf("%.6f %ld\n", fo_wall(), *done);
	return 0;
}

static int fo_tree_main(int argc, char **argv)
{
	static const char *const ops[] = {"create", "stat", "readdir",
					  "unlink"};
	char path[4096] = "";
	long first, ndirs, per_dir, every, done = 0;
	size_t i;
	int ret;

	for (i = 0; argc == 8 && i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(argv[2], ops[i]))
			break;
	if (argc != 8 || i == sizeof(ops) / sizeof(ops[0])) {
		fprintf(stderr,
			"usage: fileops tree create|stat|readdir|unlink "
			"TOP FIRST NDIRS PER_DIR EVERY\n");
		return 2;
	}
	first = strtol(argv[4], NULL, 10);
	ndirs = strtol(argv[5], NULL, 10);
	per_dir = strtol(argv[6], NULL, 10);
	every = strtol(argv[7], NULL, 10);
	if (first < 0 || ndirs < 0 || per_dir < 0 || every < 1) {
		fprintf(stderr, "fileops: tree: bad numbers\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = fo_tree_run(argv[2], argv[3], first, ndirs, per_dir, every, path,
			  sizeof(path), &done);
	if (ret) {
		fprintf(stderr,
			"fileops: tree %s %s: failed after %ld files: "
			"%s\n",
			argv[2], path, done, strerror(-ret));
		return 1;
	}
	return 0;
}

static int fo_known(const char *op)
{
	static const char *const ops[] = {"create",   "stat",	 "unlink",
					  "readdir",  "write4k", "mkdirtree",
					  "rmdirtree"};
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(op, ops[i]))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	char path[4096];
	double t0, t1;
	long count, done = 0;
	int ret = 0;

	if (argc > 1 && !strcmp(argv[1], "tree"))
		return fo_tree_main(argc, argv);
	if ((argc != 4 || !fo_known(argv[1])) &&
	    (argc != 5 || strcmp(argv[1], "pstat"))) {
		fprintf(stderr,
			"usage: fileops create|stat|unlink|readdir|write4k DIR "
			"COUNT\n"
			"       fileops mkdirtree|rmdirtree DIR FANOUT\n"
			"       fileops pstat DIR COUNT PROCS\n"
			"       fileops tree create|stat|readdir|unlink TOP "
			"FIRST NDIRS PER_DIR EVERY\n");
		return 2;
	}
	count = strtol(argv[3], NULL, 10);
	t0 = fo_now();
	if (!strcmp(argv[1], "pstat")) {
		ret = fo_pstat(argv[2], count, strtol(argv[4], NULL, 10), &t0);
		done = ret ? 0 : count;
	} else if (!strcmp(argv[1], "readdir")) {
		ret = fo_readdir(argv[2], count, &done);
	} else if (!strcmp(argv[1], "mkdirtree") ||
		   !strcmp(argv[1], "rmdirtree")) {
		snprintf(path, sizeof(path), "%s", argv[2]);
		ret = fo_tree(path, sizeof(path), count, FO_TREE_DEPTH,
			      argv[1][0] == 'm', &done);
		count = done;
	} else {
		for (done = 0; done < count; done++) {
			snprintf(path, sizeof(path), "%s/f%06ld", argv[2],
				 done);
			ret = fo_one(argv[1], path);
			if (ret)
				break;
		}
	}
	t1 = fo_now();
	if (ret) {
		fprintf(stderr, "fileops: %s %s: failed after %ld of %ld: %s\n",
			argv[1], argv[2], done, count, strerror(-ret));
		return 1;
	}
	printf("%ld %.6f\n", done, t1 - t0);
	return 0;
}
