// SPDX-License-Identifier: GPL-2.0
/*
 * Small kernel-DTLS endpoint for the namespace test and the unload checks.
 *
 *   dtls_pair send CIPHER LOCAL_IP LOCAL_PORT REMOTE_IP REMOTE_PORT COUNT [GAP_US]
 *   dtls_pair recv CIPHER LOCAL_IP LOCAL_PORT REMOTE_IP REMOTE_PORT COUNT [IDLE_MS]
 *   dtls_pair hold [SECONDS]   a loopback socket with DTLS_TX+RX; prints "ready",
 *                              holds it until stdin closes or SECONDS pass
 *   dtls_pair noproto          exit 0 iff setsockopt(SOL_DTLS) on a UDP socket
 *                              fails with ENOPROTOOPT (module not loaded)
 *
 * CIPHER is one of aes128gcm aes256gcm aes128ccm aes128ccm8 chacha20poly1305.
 * Each record carries an id and a checksum (dtls_common.h payload_make()).
 * The receiver prints one line
 *   RESULT count=N received=R unique=U dup=D corrupt=C lost=L reordered=O
 * and exits 0 iff D == 0, C == 0 and U > 0.
 */
#define _GNU_SOURCE
#include "dtls_common.h"

#define EPOCH 1

static void die(const char *what)
{
	fprintf(stderr, "dtls_pair: %s: %s\n", what, strerror(errno));
	exit(2);
}

static socklen_t parse_addr(const char *ip, const char *port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (void *)ss;
	struct sockaddr_in6 *sin6 = (void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(atoi(port));
		return sizeof(*sin);
	}
	if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(atoi(port));
		return sizeof(*sin6);
	}
	fprintf(stderr, "dtls_pair: bad address %s\n", ip);
	exit(2);
}

static int endpoint(char **argv, const struct cdesc *c, int sender)
{
	struct sockaddr_storage l, r;
	socklen_t ll = parse_addr(argv[0], argv[1], &l);
	socklen_t rl = parse_addr(argv[2], argv[3], &r);
	struct dkey s2r, r2s;
	int fd;

	fd = socket(l.ss_family, SOCK_DGRAM, IPPROTO_UDP);
	if (fd < 0)
		die("socket");
	set_rcvbuf(fd, 8 << 20);
	if (bind(fd, (void *)&l, ll))
		die("bind");
	if (connect(fd, (void *)&r, rl))
		die("connect");
	dkey_derive(&s2r, c, "pair-sender-to-receiver");
	dkey_derive(&r2s, c, "pair-receiver-to-sender");
	if (dtls_install(fd, DTLS_TX, sender ? &s2r : &r2s, REC_NUM(EPOCH, 1)))
		die("setsockopt DTLS_TX");
	if (dtls_install(fd, DTLS_RX, sender ? &r2s : &s2r, REC_NUM(EPOCH, 1)))
		die("setsockopt DTLS_RX");
	return fd;
}

static int do_send(int fd, long count, long gap_us)
{
	uint8_t buf[2000];

	for (long i = 0; i < count; i++) {
		size_t len = payload_make(buf, i, 16 + (i * 97) % 1200);

		if (send(fd, buf, len, 0) != (ssize_t)len) {
			/* ICMP errors from the peer may surface as ECONNREFUSED */
			if (errno == ECONNREFUSED) {
				i--;
				usleep(1000);
				continue;
			}
			die("send");
		}
		if (gap_us)
			usleep(gap_us);
	}
	return 0;
}

static int do_recv(int fd, long count, long idle_ms)
{
	uint8_t *seen = calloc(count, 1);
	uint8_t buf[20000];
	long received = 0, unique = 0, dup = 0, corrupt = 0, reordered = 0, max_id = -1;
	uint64_t last = now_ms(), first_deadline = now_ms() + 30000;

	if (!seen)
		die("calloc");
	for (;;) {
		ssize_t n;
		long id;

		if (unique == count)
			break;
		if (received ? now_ms() - last > (uint64_t)idle_ms : now_ms() > first_deadline)
			break;
		if (wait_readable(fd, 100) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == ECONNREFUSED)
				continue;
			die("recv");
		}
		last = now_ms();
		received++;
		id = payload_check(buf, n);
		if (id < 0 || id >= count) {
			corrupt++;
			continue;
		}
		if (seen[id]++) {
			dup++;
			continue;
		}
		unique++;
		if (id < max_id)
			reordered++;
		else
			max_id = id;
	}
	printf("RESULT count=%ld received=%ld unique=%ld dup=%ld corrupt=%ld lost=%ld reordered=%ld\n",
	       count, received, unique, dup, corrupt, count - unique, reordered);
	fflush(stdout);
	return dup == 0 && corrupt == 0 && unique > 0 ? 0 : 1;
}

static int do_hold(long seconds)
{
	const struct cdesc *c = &cdescs[0];
	struct dkey k;
	int a, b;
	char ch;

	if (udp_pair(SK_IPV4, SK_IPV4, &a, &b))
		die("udp_pair");
	dkey_derive(&k, c, "hold");
	if (dtls_install(a, DTLS_TX, &k, REC_NUM(EPOCH, 1)))
		die("setsockopt DTLS_TX");
	if (dtls_install(a, DTLS_RX, &k, REC_NUM(EPOCH, 1)))
		die("setsockopt DTLS_RX");
	printf("ready\n");
	fflush(stdout);
	if (seconds > 0) {
		alarm(seconds);
	}
	while (read(0, &ch, 1) > 0)
		;
	close(a);
	close(b);
	return 0;
}

static int do_noproto(void)
{
	const struct cdesc *c = &cdescs[0];
	struct dkey k;
	int a, b, r, e;

	if (udp_pair(SK_IPV4, SK_IPV4, &a, &b))
		die("udp_pair");
	dkey_derive(&k, c, "noproto");
	r = dtls_install(a, DTLS_TX, &k, REC_NUM(EPOCH, 1));
	e = errno;
	if (r == 0) {
		printf("setsockopt(SOL_DTLS) succeeded\n");
		return 1;
	}
	if (e != ENOPROTOOPT) {
		printf("setsockopt(SOL_DTLS): %s, want ENOPROTOOPT\n", strerror(e));
		return 1;
	}
	/* and UDP itself still works */
	if (send(a, "x", 1, 0) != 1 || recv(b, &r, sizeof(r), 0) != 1) {
		printf("plain UDP broken after unload\n");
		return 1;
	}
	close(a);
	close(b);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: dtls_pair send|recv CIPHER LOCAL_IP LOCAL_PORT REMOTE_IP REMOTE_PORT COUNT [GAP_US|IDLE_MS]\n"
		"       dtls_pair hold [SECONDS]\n"
		"       dtls_pair noproto\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const struct cdesc *c;
	int fd;

	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "hold"))
		return do_hold(argc > 2 ? atol(argv[2]) : 0);
	if (!strcmp(argv[1], "noproto"))
		return do_noproto();
	if (argc < 8 || (strcmp(argv[1], "send") && strcmp(argv[1], "recv")))
		usage();
	c = cdesc_by_name(argv[2]);
	if (!c) {
		fprintf(stderr, "dtls_pair: unknown cipher %s\n", argv[2]);
		return 2;
	}
	if (!strcmp(argv[1], "send")) {
		fd = endpoint(argv + 3, c, 1);
		return do_send(fd, atol(argv[7]), argc > 8 ? atol(argv[8]) : 200);
	}
	fd = endpoint(argv + 3, c, 0);
	printf("ready\n");
	fflush(stdout);
	return do_recv(fd, atol(argv[7]), argc > 8 ? atol(argv[8]) : 2000);
}
