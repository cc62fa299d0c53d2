/*
 * hostile.h - what the hostile client's files share (hostile.c: the
 * connection, framing and fixed cases; hostile-fuzz.c: the live fuzzer).
 */
#ifndef MORTAR_HOSTILE_H
#define MORTAR_HOSTILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a case accepts as the brick's answer. */
enum ho_want {
	HO_ERR_OR_CLOSE = 1, /* an error reply (ret < 0) or a closed conn */
	HO_CLOSE,	     /* the connection must be closed */
	HO_ANY,		     /* anything but a crash (checked by PING) */
};

enum ho_result { HO_R_TIMEOUT, HO_R_CLOSED, HO_R_REPLY, HO_R_BADREPLY };

struct ho_conn {
	int fd;
	uint64_t next_xid;
};

extern const char *ho_escape_dir; /* -e */
extern double ho_fuzz_secs;	  /* -T */

/* One "# pass:" or "# FAIL:" line; a failure makes the exit status 1. */
void __attribute__((format(printf, 2, 3)))
ho_check(bool cond, const char *fmt, ...);
int ho_connect(struct ho_conn *c);
void ho_close(struct ho_conn *c);
/* A connected, handshaken connection, or a failed check. */
int ho_session(struct ho_conn *c);
int ho_send_frame(struct ho_conn *c, uint32_t proc, const void *body,
		  size_t body_len, const void *bulk, size_t bulk_len,
		  uint64_t *xid);
/* Wait for the answer to xid (see hostile.c). */
enum ho_result ho_wait(struct ho_conn *c, uint64_t xid, int32_t *ret,
		       uint8_t **body, size_t *body_len);
/* A PING on a fresh connection is answered (a check named after). */
bool ho_alive(const char *after);

/* The cases in hostile-fuzz.c. */
void ho_case_live_fuzz(void);

#endif
