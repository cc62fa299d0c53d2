/*
 * datacheck: random-operations data checker for one file on a mount.
 *
 * It runs a reproducible stream of pwrite / ftruncate / pread / fstat /
 * fsync / close+reopen operations on FILE, all chosen by a PRNG seeded with
 * --seed, and keeps the expected content in memory.  The first read whose
 * bytes or length differ from the reference stops the run: it prints the
 * seed, the op number, the file offset and the first differing byte, and
 * exits 1.  A failing system call also exits 1.  Same seed, same ops.
 *
 * usage: datacheck [-s SEED] [-n OPS] [-m MAX_SIZE] [-v] FILE
 *   defaults: seed 1, 20000 ops, max size 8 MiB; -v logs every op.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DC_MAX_IO (256 * 1024)

/* Run state: single-threaded, owned by main(). */
struct dc_state {
	const char *path;
	uint64_t seed;
	uint64_t rng;
	unsigned long op;
	unsigned long ops;
	size_t max_size;
	size_t size;	    /* expected file size */
	unsigned char *ref; /* expected content; zero beyond size */
	unsigned char *buf; /* I/O scratch, DC_MAX_IO or max_size bytes */
	int fd;
	int verbose;
	unsigned long n_write, n_read, n_trunc, n_reopen, n_fsync, n_verify;
	uint64_t bytes_written, bytes_read;
};

/* xorshift64*: tiny, fast, and the same on every platform. */
static uint64_t dc_rand(struct dc_state *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545F4914F6CDD1DULL;
}

static uint64_t dc_below(struct dc_state *s, uint64_t n)
{
	return n ? dc_rand(s) % n : 0;
}

static void dc_fill(struct dc_state *s, unsigned char *p, size_t len)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if ((i & 7) == 0)
			v = dc_rand(s);
		p[i] = (unsigned char)(v >> ((i & 7) * 8));
	}
}

static int dc_fail_sys(struct dc_state *s, const char *what, long long off,
		       int err)
{
	fprintf(stderr,
		"datacheck: FAIL seed=%" PRIu64 " op=%lu %s offset=%lld: %s\n",
		s->seed, s->op, what, off, strerror(err));
	return -err;
}

static int dc_open(struct dc_state *s, int flags)
{
	s->fd = open(s->path, O_RDWR | flags, 0644);
	if (s->fd < 0)
		return dc_fail_sys(s, "open", 0, errno);
	return 0;
}

static int dc_write(struct dc_state *s)
{
	size_t off = dc_below(s, s->max_size);
	size_t len = 1 + dc_below(s, DC_MAX_IO);
	size_t done = 0;
	ssize_t n;

	if (len > s->max_size - off)
		len = s->max_size - off;
	dc_fill(s, s->buf, len);
	if (s->verbose)
		printf("%lu pwrite off=%zu len=%zu\n", s->op, off, len);
	while (done < len) {
		n = pwrite(s->fd, s->buf + done, len - done, off + done);
		if (n <= 0)
			return dc_fail_sys(s, "pwrite", off + done,
					   n < 0 ? errno : EIO);
		done += n;
	}
	memcpy(s->ref + off, s->buf, len);
	if (off + len > s->size)
		s->size = off + len;
	s->n_write++;
	s->bytes_written += len;
	return 0;
}

static int dc_truncate(struct dc_state *s)
{
	size_t len = dc_below(s, s->max_size + 1);

	if (s->verbose)
		printf("%lu ftruncate %zu (was %zu)\n", s->op, len, s->size);
	if (ftruncate(s->fd, len) != 0)
		return dc_fail_sys(s, "ftruncate", len, errno);
	/* Keep the invariant: the reference is zero beyond the size. */
	if (len < s->size)
		memset(s->ref + len, 0, s->size - len);
	s->size = len;
	s->n_trunc++;
	return 0;
}

/* Read [off, off+len) and compare with the reference, EOF included. */
static int dc_check_range(struct dc_state *s, size_t off, size_t len,
			  const char *what)
{
	size_t want = off >= s->size ? 0 : s->size - off;
	size_t got = 0, i;
	ssize_t n;

	if (want > len)
		want = len;
	while (got < len) {
		n = pread(s->fd, s->buf + got, len - got, off + got);
		if (n < 0)
			return dc_fail_sys(s, what, off + got, errno);
		if (n == 0)
			break;
		got += n;
	}
	s->bytes_read += got;
	for (i = 0; i < got && i < want; i++)
		if (s->buf[i] != s->ref[off + i])
			break;
	if (i < want || got != want) {
		fprintf(stderr,
			"datacheck: MISMATCH seed=%" PRIu64 " op=%lu %s "
			"read off=%zu len=%zu: ",
			s->seed, s->op, what, off, len);
		if (i < got && i < want)
			fprintf(stderr,
				"first difference at offset %zu: expected "
				"0x%02x got 0x%02x\n",
				off + i, s->ref[off + i], s->buf[i]);
		else
			fprintf(
			    stderr,
			    "read %zu bytes, expected %zu (file size %zu)\n",
			    got, want, s->size);
		return -EIO;
	}
	return 0;
}

static int dc_read(struct dc_state *s)
{
	size_t off = dc_below(s, s->size + 4096);
	size_t len = 1 + dc_below(s, DC_MAX_IO);

	if (s->verbose)
		printf("%lu pread off=%zu len=%zu\n", s->op, off, len);
	s->n_read++;
	return dc_check_range(s, off, len, "pread");
}

static int dc_verify_all(struct dc_state *s, const char *what)
{
	struct stat st;
	size_t off;
	int ret;

	if (fstat(s->fd, &st) != 0)
		return dc_fail_sys(s, "fstat", 0, errno);
	if ((size_t)st.st_size != s->size) {
		fprintf(stderr,
			"datacheck: MISMATCH seed=%" PRIu64 " op=%lu %s: "
			"st_size %lld, expected %zu\n",
			s->seed, s->op, what, (long long)st.st_size, s->size);
		return -EIO;
	}
	for (off = 0; off <= s->size; off += DC_MAX_IO) {
		ret = dc_check_range(s, off, DC_MAX_IO, what);
		if (ret)
			return ret;
	}
	s->n_verify++;
	return 0;
}

static int dc_reopen(struct dc_state *s)
{
	if (s->verbose)
		printf("%lu reopen\n", s->op);
	if (close(s->fd) != 0)
		return dc_fail_sys(s, "close", 0, errno);
	s->n_reopen++;
	return dc_open(s, 0);
}

static int dc_one_op(struct dc_state *s)
{
	unsigned pick = dc_below(s, 1000);

	if (pick < 420)
		return dc_write(s);
	if (pick < 500)
		return dc_truncate(s);
	if (pick < 900)
		return dc_read(s);
	if (pick < 930) {
		s->n_fsync++;
		return fsync(s->fd) == 0 ? 0
					 : dc_fail_sys(s, "fsync", 0, errno);
	}
	if (pick < 995)
		return dc_reopen(s);
	return dc_verify_all(s, "verify");
}

static int dc_parse_u64(const char *arg, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(arg, &end, 0);
	return errno || !*arg || *end ? -EINVAL : 0;
}

static int dc_parse_args(struct dc_state *s, int argc, char **argv)
{
	uint64_t v;
	int opt;

	while ((opt = getopt(argc, argv, "s:n:m:v")) != -1) {
		switch (opt) {
		case 's':
			if (dc_parse_u64(optarg, &s->seed))
				return -EINVAL;
			break;
		case 'n':
			if (dc_parse_u64(optarg, &v))
				return -EINVAL;
			s->ops = v;
			break;
		case 'm':
			if (dc_parse_u64(optarg, &v) || v < 1)
				return -EINVAL;
			s->max_size = v;
			break;
		case 'v':
			s->verbose = 1;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc - 1)
		return -EINVAL;
	s->path = argv[optind];
	return 0;
}

int main(int argc, char **argv)
{
	struct dc_state s = {
	    .seed = 1, .ops = 20000, .max_size = 8 << 20, .fd = -1};
	int ret;

	if (dc_parse_args(&s, argc, argv)) {
		fprintf(stderr, "usage: datacheck [-s SEED] [-n OPS] "
				"[-m MAX_SIZE] [-v] FILE\n");
		return 2;
	}
	/* xorshift needs a non-zero state; mix the seed so 0 works too. */
	s.rng = (s.seed ^ 0x9E3779B97F4A7C15ULL) | 1;
	s.ref = calloc(1, s.max_size + DC_MAX_IO + 4096);
	s.buf = malloc(DC_MAX_IO);
	ret = -ENOMEM;
	if (!s.ref || !s.buf)
		goto out;
	ret = dc_open(&s, O_CREAT | O_TRUNC);
	if (ret)
		goto out;
	for (s.op = 1; s.op <= s.ops; s.op++) {
		ret = dc_one_op(&s);
		if (ret)
			goto out;
	}
	s.op = s.ops;
	ret = dc_verify_all(&s, "final verify");
	if (ret == 0 && fsync(s.fd) != 0)
		ret = dc_fail_sys(&s, "fsync", 0, errno);
	if (ret == 0)
		ret = dc_reopen(&s);
	if (ret == 0)
		ret = dc_verify_all(&s, "verify after reopen");
out:
	if (s.fd >= 0)
		close(s.fd);
	printf("datacheck: %s seed=%" PRIu64 " ops=%lu writes=%lu "
	       "(%" PRIu64 " bytes) reads=%lu (%" PRIu64 " bytes) "
	       "truncates=%lu fsyncs=%lu reopens=%lu verifies=%lu "
	       "final_size=%zu\n",
	       ret ? "FAILED" : "OK", s.seed, s.op, s.n_write, s.bytes_written,
	       s.n_read, s.bytes_read, s.n_trunc, s.n_fsync, s.n_reopen,
	       s.n_verify, s.size);
	free(s.ref);
	free(s.buf);
	return ret ? 1 : 0;
}
