/*
 * fileops.c - times many small metadata operations for bench.sh, so the
 * shell's own cost per file does not swamp what is measured.
 *
 *   fileops create|stat|unlink|readdir DIR COUNT
 *
 * Files are DIR/f000000 ... DIR/f<COUNT-1>.  create makes empty files
 * (O_CREAT|O_EXCL, then close), stat stats each, unlink removes each,
 * readdir reads DIR once and counts its entries (COUNT is only checked).
 * Prints "OPS SECONDS" on stdout; exit 0, or 1 with a message on the first
 * failure (a benchmark that silently skips files measures nothing).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double fo_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
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

int main(int argc, char **argv)
{
	char path[4096];
	double t0, t1;
	long count, done = 0;
	int ret = 0;

	if (argc != 4 ||
	    (strcmp(argv[1], "create") && strcmp(argv[1], "stat") &&
	     strcmp(argv[1], "unlink") && strcmp(argv[1], "readdir"))) {
		fprintf(
		    stderr,
		    "usage: fileops create|stat|unlink|readdir DIR COUNT\n");
		return 2;
	}
	count = strtol(argv[3], NULL, 10);
	t0 = fo_now();
	if (!strcmp(argv[1], "readdir")) {
		ret = fo_readdir(argv[2], count, &done);
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
