// SPDX-License-Identifier: GPL-2.0
/*
 * libdtls_offload's many-peer calls where no kernel is needed (runs on
 * the host): argument and state checks of dtls_offload_set_peer(),
 * dtls_offload_input(), dtls_offload_move(), dtls_offload_recv() on a
 * peer, and dtls_offload_record_info() on a message with and without the
 * kernel's control message.  TAP output; status 1 if any check failed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <linux/dtls.h>

#include "dtls_offload.h"

static int n, failed;

static void ok(int cond, const char *what, long got)
{
	n++;
	if (!cond)
		failed++;
	printf("%sok %d - %s%s", cond ? "" : "not ", n, what,
	       cond ? "\n" : "");
	if (!cond)
		printf(" (got %ld)\n", got);
}

static void set_peer_checks(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct sockaddr_un u = { .sun_family = AF_UNIX };
	struct dtls_offload *h = dtls_offload_new();
	char b[4] = "abc";
	int r;

	r = dtls_offload_set_peer(h, 0, (struct sockaddr *)&a, sizeof(a));
	ok(r == -EINVAL, "set_peer: id 0 is EINVAL", r);
	r = dtls_offload_set_peer(h, 1, (struct sockaddr *)&u, sizeof(u));
	ok(r == -EINVAL, "set_peer: AF_UNIX is EINVAL", r);
	r = dtls_offload_input(h, b, sizeof(b));
	ok(r == -DTLS_OFFLOAD_E_STATE, "input: not a peer is E_STATE", r);
	r = dtls_offload_set_peer(h, 7, (struct sockaddr *)&a, sizeof(a));
	ok(r == 0, "set_peer: id 7, AF_INET", r);
	r = dtls_offload_input(h, b, sizeof(b));
	ok(r == -DTLS_OFFLOAD_E_STATE, "input: before _prepare is E_STATE", r);
	r = dtls_offload_input(h, b, 0);
	ok(r == -EINVAL, "input: empty datagram is EINVAL", r);
	r = (int)dtls_offload_recv(h, b, sizeof(b), 0);
	ok(r == -DTLS_OFFLOAD_E_STATE,
	   "recv: a peer's handle before handoff is E_STATE", r);
	r = (int)dtls_offload_send(h, b, sizeof(b), 0);
	ok(r == -DTLS_OFFLOAD_E_STATE, "send: before handoff is E_STATE", r);
	r = dtls_offload_move(h, 0);
	ok(r == -DTLS_OFFLOAD_E_STATE, "move: before handoff is E_STATE", r);
	dtls_offload_free(h);
}

static void record_info_checks(void)
{
	union {
		char b[CMSG_SPACE(sizeof(struct dtls_record_info)) +
		       CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cb;
	struct dtls_record_info in = { .rec_num = 1ULL << 48 | 5,
				       .content_type = 23,
				       .flags = DTLS_RECORD_F_PROTECTED |
						DTLS_RECORD_F_MOVED,
				       .peer_id = 42 }, out;
	struct msghdr msg = { .msg_control = cb.b,
			      .msg_controllen = sizeof(cb.b) };
	struct cmsghdr *c;
	int r;

	memset(&cb, 0, sizeof(cb));
	c = CMSG_FIRSTHDR(&msg);	/* something else first */
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	c = CMSG_NXTHDR(&msg, c);
	c->cmsg_level = SOL_DTLS;
	c->cmsg_type = DTLS_GET_RECORD_TYPE;
	c->cmsg_len = CMSG_LEN(sizeof(in));
	memcpy(CMSG_DATA(c), &in, sizeof(in));
	memset(&out, 0, sizeof(out));
	r = dtls_offload_record_info(&msg, &out);
	ok(r == 0 && !memcmp(&in, &out, sizeof(in)),
	   "record_info: found after another control message", r);
	msg.msg_controllen = CMSG_SPACE(sizeof(int));
	r = dtls_offload_record_info(&msg, &out);
	ok(r == -ENOENT, "record_info: none is ENOENT", r);
	msg.msg_controllen = 0;
	r = dtls_offload_record_info(&msg, &out);
	ok(r == -ENOENT, "record_info: no control data is ENOENT", r);
}

int main(void)
{
	printf("TAP version 13\n1..12\n");
	set_peer_checks();
	record_info_checks();
	printf("# %d passed, %d failed\n", n - failed, failed);
	return failed ? 1 : 0;
}
