// SPDX-License-Identifier: GPL-2.0
/*
 * Bounded receive-path fuzzer for the kernel DTLS record layer.
 *
 *   dtls_fuzz [-n DATAGRAMS] [-t SECONDS] [-s SEED] [-c CIPHER] [-f 4|6] [-V 12|13]
 *             [-C 0|1] [-P 0|1] [-v]
 *   (defaults: -n 1000000 -t 120)
 *
 * For every DTLS 1.2 cipher and DTLS 1.3 suite, for IPv4 and IPv6, and
 * without and with connection IDs (-C 0 or 1: only one of the two), an
 * offloaded socket (DTLS_RX with a known key, random epoch, start sequence
 * number and replay window) is connected to a plain UDP peer socket.  The
 * peer sends batches of datagrams mixing real records (sealed with the
 * libcrypto reference, increasing sequence numbers, payload with an id and
 * a checksum) and hostile input: random bytes, truncated headers, lengths
 * past the datagram, several records per datagram, wrong epochs, versions
 * and content types, flipped bits anywhere in a record, replays of records
 * already delivered, records older than the window, epoch-0 plaintext
 * records, oversized plaintext.  DTLS 1.3 adds every header form (8- or
 * 16-bit sequence number, with or without a length), the epoch bits of an
 * epoch without keys, a connection ID, records too short to sample, and
 * authentic records with padding alone or a content type 1.3 does not
 * protect.  A connection ID run gives the socket a DTLS_RX_CID of 1 to 255
 * bytes, which the real records carry (DTLS 1.2: tls12_cid records, some
 * padded), and adds: another connection ID (one byte flipped, sealed so or
 * after sealing: dropped before the tag, as UnknownCid), one of another
 * length, none, additional data made with another one, a header cut inside
 * it, one in the clear, and (DTLS 1.2) authentic records whose
 * DTLSInnerPlaintext is padding alone, of a type 1.2 does not have or
 * holds more than 2^14 bytes, the numbers of which the window takes.  In a
 * quarter of those runs the socket has no connection ID and the peer sends
 * records with one among its others.  After each batch the offloaded
 * socket is drained with recvmsg and its DTLS_GET_RECORD_TYPE control
 * message.
 *
 * A model written from Documentation/networking/dtls.rst classifies every
 * record the peer sent.  For DTLS 1.3 it follows the records in order with
 * its own replay window, since a sequence number is reconstructed from the
 * highest one accepted before it (RFC 9147 4.2.2), and each verdict is
 * exact.  Checks per (version, cipher, family):
 *   - every delivered protected record is one of the real ones, intact,
 *     with the right record number and type, delivered exactly once;
 *   - every real record is delivered (loopback, big receive buffer, paced);
 *   - epoch-0 plaintext records are delivered unprotected, as predicted;
 *   - DtlsRxRecords and DtlsRxPlaintext grew by what was delivered;
 *   - the drop counters (DecryptError, Replay, Malformed, BadVersion,
 *     UnknownEpoch, UnknownCid, Dropped) grew by exactly the number of
 *     rejected records, and each one lies within the range the model
 *     allows (a DTLS 1.2 record with several faults may be counted under
 *     any of them, but a connection ID where the socket expects none, or
 *     none where it expects one, is Malformed whatever else is wrong);
 *   - a connection ID run: getsockopt(DTLS_RX_CID) reads the one set;
 *   - DTLS 1.3: the epoch's forgery count (DTLS_KEY_USAGE rx_forged) is the
 *     number of records that failed the tag.  CCM_8's integrity limit is
 *     raised with DTLS_KEY_LIMITS, as its 2^7 forgeries would end the epoch.
 *
 * Many peers on one socket (-P 1: only these runs, -P 0: none of them),
 * for IPv4 and IPv6, without and with connection IDs (-C as above): one
 * unconnected server socket with 8 to 24 peers to start with, each of a
 * random DTLS 1.2 cipher or 1.3 suite (one of each version at least; not
 * 1.3's CCM_8, whose 2^7 forgeries would end its epoch, since
 * DTLS_KEY_LIMITS is refused on such a socket), three in four with a
 * receive connection ID of the socket's one length in a connection ID
 * run, some without RX keys for a while; 44 plain UDP clients on distinct
 * addresses and ports (IPv4 ones v4-mapped on the IPv6 socket), one per
 * peer and 4 spare ones.  Each peer's own struct fz generates its hostile
 * mix above, sent mostly from its address, else from its starting one or
 * any other; to that come floats (one authentic newest record by
 * connection ID from another address: the peer moves), forged ones (a
 * flipped tag), replayed ones and older-after-newer ones (a record
 * authentic and within the window but not the newest: delivered, no
 * move), and records sealed with one peer's keys that carry another's
 * connection ID.  Between batches peers are deleted (their records then
 * reach nobody, or whoever holds their address), added at free addresses
 * and given RX keys late; a thread adds, keys, reads and deletes other
 * peers (addresses nobody sends from, no connection IDs) all along.  The
 * model routes each datagram as dtls.rst says (the first record's
 * connection ID, else the source address; whole for no peer, for a peer
 * without RX keys, or for an epoch-0 first record) and then classifies
 * its records with the model of the peer whose keys open them, in the
 * order they arrive, so that it knows which record is the newest and
 * moves its peer.  Checks: every delivered record is its peer's (peer_id,
 * record number, type, content, DTLS_RECORD_F_MOVED exactly on the
 * records that move, msg_name the client that sent it), every whole
 * datagram comes up in order with the same bytes, peer_id and sender;
 * DTLS_PEER_INFO gives each peer's address after the floats, its keys and
 * connection IDs, ENOENT once deleted; the /proc/net/dtls line of each
 * peer its rx_records and rx_dropped; the counters as above, summed over
 * the peers.
 *
 * The run is bounded by both DATAGRAMS (total, shared by the 44 runs) and
 * SECONDS.  The program enters a new network namespace when it can, so the
 * counters are its own.  Prints TAP, then "N passed, N failed".
 */
#define _GNU_SOURCE
#include "dtls13_ref.h"

#include <getopt.h>
#include <stdarg.h>
#include <net/if.h>
#include <sched.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>

/* ---------------------------------------------------------------------- */
/* PRNG                                                                    */

static struct rng rng;	/* one stream for the whole run: -s repeats it */

static uint64_t rnd64(void)
{
	return rng_next(&rng);
}

static uint32_t rnd(uint32_t n)	/* 0..n-1 */
{
	return rng_below(&rng, n);
}

static int chance(int percent)
{
	return (int)rnd(100) < percent;
}

static void rnd_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = rnd64() >> 56;
}

/* ---------------------------------------------------------------------- */
/* Counters                                                                */

enum {
	S_RECORDS, S_PLAIN, S_DECRYPT, S_REPLAY, S_MALF, S_BADVER, S_EPOCH,
	S_UCID, S_DROPPED, S_CURR_RX, S_N
};
static const char *const snames[S_N] = {
	"DtlsRxRecords", "DtlsRxPlaintext", "DtlsRxDecryptError",
	"DtlsRxReplay", "DtlsRxMalformed", "DtlsRxBadVersion",
	"DtlsRxUnknownEpoch", "DtlsRxUnknownCid", "DtlsRxDropped", "DtlsCurrRxSw",
};

static int snap(long long *v)
{
	char n[64];
	long long x;
	FILE *f = fopen(DSTAT_FILE, "r");
	int found = 0;

	for (int i = 0; i < S_N; i++)
		v[i] = -1;
	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", n, &x) == 2)
		for (int i = 0; i < S_N; i++)
			if (!strcmp(n, snames[i])) {
				v[i] = x;
				found++;
			}
	fclose(f);
	return found == S_N ? 0 : -1;
}

/* ---------------------------------------------------------------------- */
/* Model                                                                   */

/* Verdict bits: what the kernel may do with one record. */
#define V_DELIVER	0x01	/* protected record delivered */
#define V_PLAIN		0x02	/* epoch-0 record delivered */
#define V_DECRYPT	0x04
#define V_REPLAY	0x08
#define V_MALF		0x10
#define V_BADVER	0x20
#define V_EPOCH		0x40
#define V_UCID		0x80	/* another connection ID than the socket's */
#define V_BAD		(V_DECRYPT | V_REPLAY | V_MALF | V_BADVER | V_EPOCH | V_UCID)
/* bad category i <-> bit V_DECRYPT << i <-> counter S_DECRYPT + i */
#define N_BAD		6
static const char *const badname[N_BAD] = {
	"decrypt", "replay", "malformed", "badversion", "unknownepoch", "unknowncid",
};

#define MAX_DGRAM	65000
#define M_RING		(1u << 17)	/* > the largest window + 64 */
#define MAX_REAL_PT	DTLS_MAX_PLAINTEXT
#define FORGED_ID	0x80000000u	/* ids of records that must never arrive */

/*
 * A record sealed with a fresh sequence number.  DTLS 1.2 with a
 * connection ID: one whose DTLSInnerPlaintext the kernel refuses after the
 * tag (@bad_inner) is one too, since the window takes its number.
 */
struct real {
	uint64_t seq;
	uint8_t type;
	uint8_t delivered;
	uint8_t expected;	/* the model says the window will take it */
	uint8_t bad_inner;	/* and then drop it: nothing to deliver */
	uint8_t moved;		/* many peers: it moves its peer (DTLS_RECORD_F_MOVED) */
	uint8_t src;		/* many peers: the client that sent it */
};

#define N_CAPTURE	128
#define CAPTURE_MAX	1400

struct dgram {
	uint8_t *b;
	size_t len;
};

struct fz {
	const struct cdesc *c;
	struct dkey k;
	/* DTLS 1.3: the suite (NULL: DTLS 1.2), its keys, and the model's window */
	const struct cdesc13 *s13;
	struct dkey13 k13;
	uint64_t m_next;	/* one more than the highest accepted */
	uint64_t m_ring[M_RING / 64];
	int lone;		/* generating the datagram's only record */
	/*
	 * A connection ID run: the socket's DTLS_RX_CID (@cid_len 0: none,
	 * and the peer sends records with connection IDs among the others)
	 */
	int cid_run;
	size_t cid_len;
	uint8_t cid[DTLS_CID_MAX_SIZE];
	int fd, peer;
	uint16_t epoch;
	uint32_t win;
	uint64_t s0;		/* first acceptable sequence number */
	uint64_t next_start;	/* kernel's window "next" at batch start */
	uint64_t seqctr;	/* next sequence number to allocate */
	uint64_t max_real;	/* highest real seq allocated so far */

	struct real *reals;
	size_t nreal, areal;
	size_t batch_first;	/* first real id of the current batch */
	long last_id;		/* the real record the model last let the window take */

	uint8_t cap[N_CAPTURE][CAPTURE_MAX];
	size_t caplen[N_CAPTURE];
	uint32_t capid[N_CAPTURE];
	size_t ncap;

	/* model totals */
	long long def[N_BAD], may[N_BAD], bad_total;
	long long exp_plain, exp_real;
	/* pass-1 results of the current batch */
	long long batch_plain;
	/* observed */
	long long got_real, got_plain, errors;
	long long datagrams, records;
	int batches;
	uint64_t t0;		/* the run's start, ms */
	/* counters: before DTLS_RX, and their growth at the end */
	long long before[S_N], grew[S_N];
	char errmsg[256];
};

static int verbose;

/* Count an error; print the first (all with -v), keep it in @msg */
static void err_report(long long *errors, char *msg, size_t len, const char *fmt,
		       va_list ap)
{
	if (++*errors > 1 && !verbose)
		return;
	vsnprintf(msg, len, fmt, ap);
	printf("# error: %s\n", msg);
}

static void fz_err(struct fz *z, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fz_err(struct fz *z, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_report(&z->errors, z->errmsg, sizeof(z->errmsg), fmt, ap);
	va_end(ap);
}

/* Real record ids are allocated with increasing seq: binary search. */
static long real_by_seq(const struct fz *z, uint64_t seq)
{
	size_t lo = 0, hi = z->nreal;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (z->reals[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < z->nreal && z->reals[lo].seq == seq ? (long)lo : -1;
}

static int seq_accepted(const struct fz *z, uint64_t s)
{
	long id = real_by_seq(z, s);

	return id >= 0 && (size_t)id < z->batch_first && z->reals[id].expected;
}

/* Definitely rejected by the replay window, whatever else is in flight. */
static int seq_definitely_replay(const struct fz *z, uint64_t s)
{
	return s < z->s0 || seq_accepted(z, s) ||
	       (z->next_start > s && z->next_start - s > z->win);
}

/* A record that does not authenticate, with a plausible header. */
static int verdict_unauthentic(const struct fz *z, uint64_t s)
{
	long id;

	if (seq_definitely_replay(z, s))
		return V_REPLAY;
	if (s > z->max_real)
		return V_DECRYPT;	/* newer than anything accepted */
	id = real_by_seq(z, s);
	if (id >= 0 && (size_t)id >= z->batch_first && z->reals[id].expected)
		return V_REPLAY | V_DECRYPT;	/* races its real twin */
	if (z->max_real + 1 - s > z->win)
		return V_REPLAY | V_DECRYPT;	/* may fall out of the window */
	return V_DECRYPT;
}

static uint8_t ptbuf[70000];

/*
 * DTLS 1.2: a header's length.  Only the outer type tls12_cid says a
 * connection ID follows the sequence number, of the length the socket
 * asked for (none on a socket without one).
 */
static size_t hdr12_len(const struct fz *z, uint8_t type)
{
	return DTLS_HDR_LEN + (type == TLS12_CID_TYPE ? z->cid_len : 0);
}

/*
 * Authenticate the DTLS 1.2 record at @rec (@rl bytes) into ptbuf: its
 * plaintext's length (a DTLSInnerPlaintext's if it has a connection ID),
 * or -1.
 */
static ssize_t open12(const struct fz *z, const uint8_t *rec, size_t rl)
{
	struct rec_hdr h;
	size_t ptlen;

	if (rec[0] == TLS12_CID_TYPE)
		return ref12_cid_unseal(&z->k, rec, rl, z->cid_len, &h, ptbuf);
	if (ref_open(&z->k, rec, rl, &h, ptbuf, &ptlen) < 0)
		return -1;
	return ptlen;
}

/*
 * RFC 9146, after the tag: the content type is the last non-zero byte of
 * the DTLSInnerPlaintext in ptbuf; padding alone, a type DTLS 1.2 does
 * not have or more than 2^14 bytes of content are malformed.
 */
static int inner12_verdict(size_t inner)
{
	size_t i = inner;

	while (i > 0 && !ptbuf[i - 1])
		i--;
	if (!i || ptbuf[i - 1] < 20 || ptbuf[i - 1] > 23 || i - 1 > DTLS_MAX_PLAINTEXT)
		return V_MALF;
	return V_DELIVER;
}

/*
 * The checks a DTLS 1.2 record's header and length get before the tag: the
 * faults found (any of them may be counted), or 0.  A connection ID where
 * the socket expects none, or none where it expects one, is the first
 * thing checked after the content type, so that verdict is exact.
 */
static int check12_header(const struct fz *z, const uint8_t *rec, size_t len)
{
	const struct cdesc *c = z->c;
	int cid = rec[0] == TLS12_CID_TYPE;
	size_t overhead = c->xnonce_len + c->tag_len + cid;
	size_t max = cid ? DTLS_MAX_PLAINTEXT + 256 : DTLS_MAX_PLAINTEXT;
	uint16_t version = get_be(rec + 1, 2);
	int m = 0;

	if (!cid && (rec[0] < 20 || rec[0] > 23))
		return V_MALF;
	if (cid != !!z->cid_len)
		return V_MALF;
	if (len < overhead || len - overhead > max)
		m |= V_MALF;
	if (version != DTLS_1_2_VERSION)
		m |= V_BADVER;
	if (cid && memcmp(rec + 11, z->cid, z->cid_len))
		m |= V_UCID;
	if (get_be(rec + 3, 2) != z->epoch)
		m |= V_EPOCH;
	return m;
}

/*
 * Classify one record (header of @hlen bytes at @rec, body length @len).
 * Pass 1 only marks the real records the window will take; pass 2
 * returns the verdict.
 */
static int classify_record(struct fz *z, const uint8_t *rec, size_t hlen,
			   unsigned int len, int pass)
{
	uint8_t type = rec[0];
	uint16_t version = get_be(rec + 1, 2);
	uint16_t epoch = get_be(rec + 3, 2);
	uint64_t seq = get_be(rec + 5, 6);
	int type_ok = type >= 20 && type <= 23;
	int m = 0;
	ssize_t ptlen;
	long id;

	if (!epoch) {
		if (type == TLS12_CID_TYPE)
			return V_MALF;	/* no connection ID in the clear */
		if (!type_ok || type == 23 || len > DTLS_MAX_PLAINTEXT)
			m |= V_MALF;
		if (version != DTLS_1_2_VERSION && version != 0xfeff)
			m |= V_BADVER;
		return m ? m : V_PLAIN;
	}
	m = check12_header(z, rec, len);
	if (m)
		return m;

	ptlen = open12(z, rec, hlen + len);
	if (ptlen < 0)
		return pass == 1 ? V_DECRYPT : verdict_unauthentic(z, seq);

	/* authentic */
	id = real_by_seq(z, seq);
	if (id >= 0 && (size_t)id >= z->batch_first) {
		m = type == TLS12_CID_TYPE ? inner12_verdict(ptlen) : V_DELIVER;
		if ((m != V_DELIVER) != z->reals[id].bad_inner)
			fz_err(z, "generator bug: real id %ld verdict %#x", id, m);
		if (pass == 1) {
			if (z->reals[id].expected)
				fz_err(z, "generator bug: real id %ld twice in a batch", id);
			z->reals[id].expected = 1;
			z->last_id = id;
		}
		return m;
	}
	if (seq_definitely_replay(z, seq))
		return V_REPLAY;
	fz_err(z, "generator bug: authentic record seq %llu of unknown fate",
	       (unsigned long long)seq);
	return V_REPLAY;
}

/* Add one record's verdict to the model's totals. */
static void count_verdict(struct fz *z, int m)
{
	int bits = __builtin_popcount(m);

	z->records++;
	if (m == V_DELIVER)
		return;		/* counted from reals[].expected */
	if (m == V_PLAIN) {
		z->exp_plain++;
		z->batch_plain++;
		return;
	}
	z->bad_total++;
	for (int i = 0; i < N_BAD; i++)
		if (m & (V_DECRYPT << i)) {
			if (bits == 1)
				z->def[i]++;
			else
				z->may[i]++;
		}
}

/* Walk a datagram the way the kernel frames it. */
static void classify_dgram(struct fz *z, const uint8_t *b, size_t n, int pass)
{
	size_t off = 0;

	while (off < n) {
		size_t avail = n - off, hlen;
		unsigned int len;
		int m, lost = 0;

		hlen = avail < DTLS_HDR_LEN ? DTLS_HDR_LEN : hdr12_len(z, b[off]);
		if (avail < hlen || get_be(b + off + hlen - 2, 2) > avail - hlen) {
			m = V_MALF;	/* framing lost: one count, stop */
			lost = 1;
		} else {
			len = get_be(b + off + hlen - 2, 2);
			m = classify_record(z, b + off, hlen, len, pass);
			off += hlen + len;
		}
		if (pass == 2)
			count_verdict(z, m);
		if (lost)
			break;
	}
}

/*
 * DTLS 1.3.  The kernel opens the records of a datagram one after the
 * other, and a record's sequence number is reconstructed from the highest
 * one accepted before it (RFC 9147 4.2.2): the model follows the records
 * in the order they are sent, with its own copy of the replay window, and
 * every verdict is exact.  It runs as each datagram is generated, so that
 * the generator knows where the window is.
 */

static int m_fresh(const struct fz *z, uint64_t s)
{
	if (s >= z->m_next)
		return 1;
	if (s < z->s0 || z->m_next - s > z->win)
		return 0;	/* below the start counts as received */
	return !(z->m_ring[s % M_RING / 64] >> (s % 64) & 1);
}

static void m_accept(struct fz *z, uint64_t s)
{
	if (s >= z->m_next) {
		if (s - z->m_next >= M_RING)
			memset(z->m_ring, 0, sizeof(z->m_ring));
		else
			for (uint64_t t = z->m_next; t < s; t++)
				z->m_ring[t % M_RING / 64] &= ~(1ULL << (t % 64));
		z->m_next = s + 1;
	}
	z->m_ring[s % M_RING / 64] |= 1ULL << (s % 64);
}

static int type13_valid(uint8_t t)
{
	return (t >= 21 && t <= 23) || t == DTLS_RECORD_TYPE_ACK;
}

/* A DTLSPlaintext on a 1.3 socket: epoch 0, handshake, alert or ACK. */
static int classify13_plain(const uint8_t *rec, size_t avail, size_t *used)
{
	size_t len;
	uint16_t v;
	int m = 0;

	if (avail < DTLS_HDR_LEN || get_be(rec + 11, 2) > avail - DTLS_HDR_LEN)
		return V_MALF;	/* framing lost */
	len = get_be(rec + 11, 2);
	*used = DTLS_HDR_LEN + len;
	v = get_be(rec + 1, 2);
	if ((rec[0] != 21 && rec[0] != 22 && rec[0] != DTLS_RECORD_TYPE_ACK) ||
	    get_be(rec + 3, 8) >> 48 || len > DTLS_MAX_PLAINTEXT)
		m |= V_MALF;
	if (v != DTLS_1_2_VERSION && v != 0xfeff)
		m |= V_BADVER;
	return m ? m : V_PLAIN;
}

static void capture13(struct fz *z, const uint8_t *rec, size_t len, long id)
{
	size_t slot;

	if (!(rec[0] & DTLS13_HDR_L) || len > CAPTURE_MAX || !chance(30))
		return;
	slot = z->ncap++ % N_CAPTURE;
	memcpy(z->cap[slot], rec, len);
	z->caplen[slot] = len;
	z->capid[slot] = id;
}

/* An authentic record the window took: one of the real ones, or a bug. */
static int m_deliver(struct fz *z, const uint8_t *rec, const struct rec13 *r)
{
	long id = payload_check(ptbuf, r->ptlen);

	if (id < 0 || (size_t)id >= z->nreal || (size_t)id < z->batch_first ||
	    z->reals[id].seq != r->seq || z->reals[id].type != r->type ||
	    z->reals[id].expected) {
		fz_err(z, "generator bug: authentic record seq %llu (id %ld) would be delivered",
		       (unsigned long long)r->seq, id);
		return V_REPLAY;
	}
	z->reals[id].expected = 1;
	z->last_id = id;
	capture13(z, rec, r->len, id);
	return V_DELIVER;
}

/*
 * One record of a datagram on a 1.3 socket, with @avail bytes left: its
 * verdict, and in @used the bytes it takes (all of them when the framing
 * is lost).  The checks in order: the header, the epoch bits (before the
 * length: a record of an epoch without keys is never looked into), the
 * length, then as dtls.rst says the window on the reconstructed number,
 * the tag, the window moved, and the content type inside.
 */
static int classify13_record(struct fz *z, const uint8_t *rec, size_t avail, size_t *used)
{
	const struct cdesc *c = z->c;
	size_t hlen, len;
	struct rec13 r;

	*used = avail;
	if ((rec[0] & DTLS13_HDR_FIXED_MASK) != DTLS13_HDR_FIXED)
		return classify13_plain(rec, avail, used);
	/* a connection ID where none is expected, or none where one is */
	if (!(rec[0] & DTLS13_HDR_C) != !z->cid_len)
		return V_MALF;
	hlen = ref13_hdr_len_cid(rec[0], z->cid_len);
	if (avail < hlen)
		return V_MALF;
	len = rec[0] & DTLS13_HDR_L ? get_be(rec + hlen - 2, 2) : avail - hlen;
	if (len > avail - hlen)
		return V_MALF;
	*used = hlen + len;
	if (z->cid_len && memcmp(rec + 1, z->cid, z->cid_len))
		return V_UCID;
	if ((rec[0] & DTLS13_HDR_EPOCH_MASK) != (z->epoch & DTLS13_HDR_EPOCH_MASK))
		return V_EPOCH;
	if (len < DTLS13_SN_SAMPLE || len < c->tag_len + 1U ||
	    len > DTLS_MAX_PLAINTEXT + 256)
		return V_MALF;
	ref13_open_cid(&z->k13, rec, hlen + len, z->cid_len, z->m_next, &r, ptbuf);
	if (r.seq > SEQ_MASK)
		return V_MALF;
	if (!m_fresh(z, r.seq))
		return V_REPLAY;
	if (!r.authentic)
		return V_DECRYPT;
	m_accept(z, r.seq);
	if (!type13_valid(r.type) || r.ptlen > DTLS_MAX_PLAINTEXT)	/* or all padding */
		return V_MALF;
	return m_deliver(z, rec, &r);
}

static void classify13_dgram(struct fz *z, const uint8_t *b, size_t n)
{
	size_t off = 0, used;

	while (off < n) {
		count_verdict(z, classify13_record(z, b + off, n - off, &used));
		off += used;
	}
}

/* ---------------------------------------------------------------------- */
/* Generators                                                              */

static uint64_t alloc_seq(struct fz *z)
{
	uint64_t s = z->seqctr;

	z->seqctr += 1 + (chance(12) ? rnd(4) : 0);
	return s;
}

static void seal_failed(void)
{
	fprintf(stderr, "dtls_fuzz: libcrypto seal failed\n");
	exit(2);
}

/*
 * DTLS 1.2, RFC 9146: a record with connection ID @cid (@cid_len bytes)
 * whose DTLSInnerPlaintext is @pt, @type and @pad zeros.
 */
static size_t seal_cid(struct fz *z, uint8_t type, uint16_t epoch, uint64_t seq,
		       const uint8_t *cid, size_t cid_len, const uint8_t *pt, size_t len,
		       size_t pad, uint8_t *out)
{
	uint8_t ex[8];
	size_t n;

	rnd_bytes(ex, sizeof(ex));
	n = ref12_cid_seal(&z->k, type, epoch, seq, ex, cid, cid_len, pt, len, pad, out);
	if (!n)
		seal_failed();
	return n;
}

/*
 * A DTLS 1.2 record as the run's peer sends it: with the socket's
 * connection ID and @pad bytes of padding if it has one.
 */
static size_t seal_pad(struct fz *z, uint8_t type, uint16_t version, uint16_t epoch,
		       uint64_t seq, const uint8_t *pt, size_t len, size_t pad, uint8_t *out)
{
	uint8_t ex[8];
	size_t n;

	if (z->cid_len) {
		n = seal_cid(z, type, epoch, seq, z->cid, z->cid_len, pt, len, pad, out);
		put_be(out + 1, version, 2);	/* checked before the tag */
		return n;
	}
	rnd_bytes(ex, sizeof(ex));
	n = ref_seal(&z->k, type, version, epoch, seq, ex, pt, len, out);
	if (!n)
		seal_failed();
	return n;
}

static size_t seal(struct fz *z, uint8_t type, uint16_t version, uint16_t epoch,
		   uint64_t seq, const uint8_t *pt, size_t len, uint8_t *out)
{
	return seal_pad(z, type, version, epoch, seq, pt, len, 0, out);
}

/* A DTLS 1.2 record's overhead on this run's socket, padding aside */
static size_t overhead12(const struct fz *z)
{
	return rec_overhead(z->c) + (z->cid_len ? z->cid_len + 1 : 0);
}

/* The padding of a real DTLS 1.2 record with a connection ID */
static size_t rnd_pad12(const struct fz *z)
{
	if (!z->cid_len || chance(75))
		return 0;
	return chance(80) ? rnd(32) : rnd(256);
}

/* A DTLS 1.2 header with connection ID @cid: its length. */
static size_t put_cid_hdr(uint8_t *out, uint16_t epoch, uint64_t seq, const uint8_t *cid,
			  size_t cid_len, uint16_t length)
{
	put_hdr(out, TLS12_CID_TYPE, DTLS_1_2_VERSION, epoch, seq, 0);
	memcpy(out + 11, cid, cid_len);
	put_be(out + 11 + cid_len, length, 2);
	return DTLS_HDR_LEN + cid_len;
}

static size_t rnd_ptlen(size_t max)
{
	size_t l;

	if (chance(3))
		l = rnd(max + 1);
	else if (chance(10))
		l = rnd(13);
	else
		l = rnd(1200);
	return l > max ? max : l;
}

/* A new entry in reals[] with a fresh sequence number: its id. */
static size_t real_add(struct fz *z, uint8_t type, int bad_inner)
{
	struct real *r;

	if (z->nreal == z->areal) {
		z->areal = z->areal ? z->areal * 2 : 4096;
		z->reals = realloc(z->reals, z->areal * sizeof(*z->reals));
		if (!z->reals) {
			perror("realloc");
			exit(2);
		}
	}
	r = &z->reals[z->nreal];
	memset(r, 0, sizeof(*r));
	r->seq = alloc_seq(z);
	r->type = type;
	r->bad_inner = bad_inner;
	z->max_real = r->seq;
	return z->nreal++;
}

/* A new real record of @type, @ptlen bytes of payload in @pt: its seq. */
static uint64_t real_new(struct fz *z, uint8_t type, uint8_t *pt, size_t ptlen)
{
	size_t id = real_add(z, type, 0);

	payload_make(pt, id, ptlen);
	return z->reals[id].seq;
}

/*
 * DTLS 1.2 with a connection ID: the number of an authentic record whose
 * DTLSInnerPlaintext the kernel will refuse after its window took it.
 */
static uint64_t bad_inner_seq(struct fz *z)
{
	size_t id = real_add(z, 0, 1);	/* before z->reals: it may move */

	return z->reals[id].seq;
}

static size_t gen13_real(struct fz *z, uint8_t *out, size_t room, size_t maxpt);

/* A real record: returns its length, 0 if @room is too small. */
static size_t gen_real(struct fz *z, uint8_t *out, size_t room, size_t maxpt)
{
	static uint8_t pt[MAX_REAL_PT];
	size_t ptlen = rnd_ptlen(maxpt);
	uint8_t type = chance(90) ? 23 : 20 + rnd(3);
	size_t pad = rnd_pad12(z);
	uint64_t seq;

	if (z->s13)
		return gen13_real(z, out, room, maxpt);
	if (ptlen < PAYLOAD_HDR)
		ptlen = PAYLOAD_HDR;
	if (room < overhead12(z) + ptlen + pad)
		return 0;
	seq = real_new(z, type, pt, ptlen);
	return seal_pad(z, type, DTLS_1_2_VERSION, z->epoch, seq, pt, ptlen, pad, out);
}

/* A forgery-marked payload: any delivery of it is a failure. */
static size_t forged_pt(uint8_t *pt, size_t max)
{
	size_t len = rnd_ptlen(max);

	if (len < PAYLOAD_HDR)
		len = PAYLOAD_HDR;
	return payload_make(pt, FORGED_ID | rnd(1 << 20), len);
}

/* A sealed record in an epoch other than the socket's (0: a plaintext one). */
static size_t seal_wrong_epoch(struct fz *z, const uint8_t *pt, size_t ptlen, uint8_t *out)
{
	uint16_t e;

	do
		e = chance(50) ? z->epoch + 1 + rnd(3) :
			chance(50) ? (uint16_t)(z->epoch - 1) : (uint16_t)rnd64();
	while (e == z->epoch);
	return seal(z, 23, DTLS_1_2_VERSION, e, alloc_seq(z), pt, ptlen, out);
}

/* A sealed record with a version other than DTLS 1.2's. */
static size_t seal_wrong_version(struct fz *z, const uint8_t *pt, size_t ptlen, uint8_t *out)
{
	uint16_t v;

	do
		v = chance(50) ? 0xfeff + rnd(3) - 1 : rnd64();
	while (v == DTLS_1_2_VERSION);
	if (chance(30))
		v = chance(50) ? 0x0303 : 0xfefc;
	return seal(z, 23, v, z->epoch, alloc_seq(z), pt, ptlen, out);
}

/*
 * A sealed record of a content type DTLS 1.2 does not have.  With a
 * connection ID that type is inside (not 0, which would make the
 * content's last byte the type): the window takes the record's number.
 */
static size_t seal_unknown_type(struct fz *z, const uint8_t *pt, size_t ptlen, uint8_t *out)
{
	uint8_t t;

	do
		t = rnd(256);
	while ((t >= 20 && t <= 23) || (z->cid_len && !t));
	return seal(z, t, DTLS_1_2_VERSION, z->epoch,
		    z->cid_len ? bad_inner_seq(z) : alloc_seq(z), pt, ptlen, out);
}

enum flip_part { FLIP_TAG, FLIP_CIPHERTEXT, FLIP_NONCE, FLIP_HEADER };

/* A sealed record with one bit flipped in @part. */
static size_t seal_flipped(struct fz *z, enum flip_part part, const uint8_t *pt,
			   size_t ptlen, uint8_t *out)
{
	const struct cdesc *c = z->c;
	size_t n = seal(z, 23, DTLS_1_2_VERSION, z->epoch, alloc_seq(z), pt, ptlen, out);
	size_t hl = hdr12_len(z, out[0]);

	switch (part) {
	case FLIP_TAG:
		out[n - 1 - rnd(c->tag_len)] ^= 1 << rnd(8);
		break;
	case FLIP_CIPHERTEXT:
		out[hl + c->xnonce_len + rnd(ptlen)] ^= 1 << rnd(8);
		break;
	case FLIP_NONCE:	/* ChaCha20 has none: then in the body */
		out[hl + rnd(c->xnonce_len ? c->xnonce_len : ptlen)] ^= 1 << rnd(8);
		break;
	case FLIP_HEADER:	/* type, version, epoch, seq, connection ID or length */
		out[rnd(hl)] ^= 1 << rnd(8);
		break;
	}
	return n;
}

/*
 * A header of the run's form (with the socket's connection ID if it has
 * one) over @n random bytes.
 */
static size_t rnd_record12(struct fz *z, uint8_t type, uint64_t seq, size_t n, uint8_t *out)
{
	size_t hl = DTLS_HDR_LEN;

	if (z->cid_len)
		hl = put_cid_hdr(out, z->epoch, seq, z->cid, z->cid_len, n);
	else
		put_hdr(out, type, DTLS_1_2_VERSION, z->epoch, seq, n);
	rnd_bytes(out + hl, n);
	return hl + n;
}

/* A record whose length is shorter than explicit nonce + tag (+ content type). */
static size_t short_record(struct fz *z, uint8_t *out)
{
	return rnd_record12(z, 23, alloc_seq(z), rnd(overhead12(z) - hdr12_len(z, 25)), out);
}

/* A sequence number anywhere near the window, the generator or the start. */
static uint64_t seq_near(struct fz *z)
{
	uint64_t s = z->next_start;

	switch (rnd(4)) {
	case 0:
		s = s > z->win ? s - z->win + rnd(2 * z->win) : rnd(2 * z->win);
		break;
	case 1:
		s = z->seqctr + rnd(100);
		break;
	case 2:
		s = rnd64() & SEQ_MASK;
		break;
	default:
		s = z->s0 > 10 ? z->s0 - 1 - rnd(10) : 0;
	}
	return s;
}

/* A plausible header over a random body, with a sequence number near. */
static size_t noise_record(struct fz *z, uint8_t *out, size_t maxpt)
{
	size_t n = rnd(maxpt + overhead12(z) - hdr12_len(z, 25));

	return rnd_record12(z, 20 + rnd(4), seq_near(z), n, out);
}

/*
 * DTLS 1.3 records.  Real ones use every header form the model can
 * predict: no length only as the datagram's last record, an 8-bit
 * sequence number only close to the window's top.  The bad ones mirror
 * the 1.2 kinds, plus what the unified header and the inner plaintext
 * add: other epoch bits, a connection ID, too short to sample, padding
 * alone, a content type 1.3 does not protect.
 */
/* With connection ID @cid (@cid_len bytes, none if 0) */
static size_t seal13_cid(struct fz *z, uint8_t flags, const uint8_t *cid, size_t cid_len,
			 uint64_t seq, uint8_t type, const uint8_t *pt, size_t len, size_t pad,
			 uint8_t *out)
{
	size_t n;

	pad += ref13_min_pad(&z->k13, len);
	n = ref13_seal_cid(&z->k13, flags, cid, cid_len, seq, type, pt, len, pad, out);
	if (!n)
		seal_failed();
	return n;
}

/* As the run's peer sends: with the socket's connection ID, if it has one */
static size_t seal13(struct fz *z, uint8_t flags, uint64_t seq, uint8_t type,
		     const uint8_t *pt, size_t len, size_t pad, uint8_t *out)
{
	return seal13_cid(z, flags, z->cid, z->cid_len, seq, type, pt, len, pad, out);
}

/* The most a record of @len bytes and @pad of padding can take. */
static size_t room13(const struct fz *z, size_t len, size_t pad)
{
	return 5 + z->cid_len + len + 1 + pad + DTLS13_SN_SAMPLE + z->c->tag_len;
}

/* The run's first header byte for flags @f: C if the socket has a CID */
static uint8_t first13(const struct fz *z, uint8_t f)
{
	return DTLS13_HDR_FIXED | f | (z->cid_len ? DTLS13_HDR_C : 0) |
	       (z->epoch & DTLS13_HDR_EPOCH_MASK);
}

static uint8_t form13(struct fz *z, uint64_t seq)
{
	uint8_t f = (z->lone && chance(30)) || chance(2) ? 0 : DTLS13_HDR_L;

	if (seq < z->m_next || seq - z->m_next >= 64 || chance(70))
		f |= DTLS13_HDR_S;
	return f;
}

static size_t gen13_real(struct fz *z, uint8_t *out, size_t room, size_t maxpt)
{
	static const uint8_t types[] = { 21, 22, DTLS_RECORD_TYPE_ACK };
	static uint8_t pt[MAX_REAL_PT];
	size_t ptlen = rnd_ptlen(maxpt), pad = chance(80) ? 0 : rnd(64);
	uint8_t type = chance(90) ? 23 : types[rnd(3)];
	uint64_t seq;

	if (ptlen < PAYLOAD_HDR)
		ptlen = PAYLOAD_HDR;
	if (room < room13(z, ptlen, pad))
		return 0;
	seq = real_new(z, type, pt, ptlen);
	return seal13(z, form13(z, seq), seq, type, pt, ptlen, pad, out);
}

/*
 * The run's header (16-bit sequence number, length, the socket's
 * connection ID) over @n random bytes; 0 if @room is too small.
 */
static size_t rnd_record13(struct fz *z, size_t n, uint8_t *out, size_t room)
{
	size_t hl = 5 + z->cid_len;

	if (room < hl + n)
		return 0;
	out[0] = first13(z, DTLS13_HDR_S | DTLS13_HDR_L);
	memcpy(out + 1, z->cid, z->cid_len);
	rnd_bytes(out + 1 + z->cid_len, 2);
	put_be(out + hl - 2, n, 2);
	rnd_bytes(out + hl, n);
	return hl + n;
}

/* Shorter than the sample, or than a tag and a content type. */
static size_t short13(struct fz *z, uint8_t *out, size_t room)
{
	size_t min = z->c->tag_len + 1 > DTLS13_SN_SAMPLE ? z->c->tag_len + 1 : DTLS13_SN_SAMPLE;

	return rnd_record13(z, rnd(min), out, room);
}

/* A unified header of any form over random bytes. */
static size_t noise13(struct fz *z, uint8_t *out, size_t maxpt)
{
	size_t n = rnd(maxpt + 40), hlen;

	out[0] = DTLS13_HDR_FIXED | (rnd(8) << 2) |
		 (chance(80) ? z->epoch & DTLS13_HDR_EPOCH_MASK : rnd(4));
	if (z->cid_run && chance(80))	/* the C bit the socket expects */
		out[0] = (out[0] & ~DTLS13_HDR_C) | (z->cid_len ? DTLS13_HDR_C : 0);
	hlen = ref13_hdr_len_cid(out[0], z->cid_len);
	rnd_bytes(out + 1, hlen - 1 + n);
	if ((out[0] & DTLS13_HDR_C) && chance(80))
		memcpy(out + 1, z->cid, z->cid_len);
	if (out[0] & DTLS13_HDR_L)
		put_be(out + hlen - 2, n, 2);
	return hlen + n;
}

/* Authentic, with a fresh number, but nothing 1.3 may deliver inside. */
static size_t bad_inner13(struct fz *z, uint8_t *pt, size_t ptlen, uint8_t *out)
{
	uint64_t s = alloc_seq(z);
	uint8_t t;

	if (chance(30))		/* padding alone */
		return seal13(z, form13(z, s), s, 0, pt, 0, rnd(40), out);
	do
		t = chance(50) ? 20 : rnd(256);
	while (!t || type13_valid(t));
	return seal13(z, form13(z, s), s, t, pt, ptlen, 0, out);
}

/*
 * DTLS 1.3, a connection ID run: a record with a connection ID where the
 * socket has none; on a socket with one, another connection ID (one byte
 * other, sealed so or flipped after sealing: dropped before the tag), one
 * of another length, none at all, or additional data made with another
 * connection ID.  @pt has room for 256 more bytes than @ptlen.
 */
static size_t gen13_cid_bad(struct fz *z, const uint8_t *pt, size_t ptlen, uint8_t *out)
{
	uint8_t cid[DTLS_CID_MAX_SIZE];
	size_t cl = z->cid_len, n;
	uint64_t s = alloc_seq(z);
	uint8_t f = form13(z, s);

	if (!cl) {
		cl = chance(50) ? 1 + rnd(8) : 1 + rnd(DTLS_CID_MAX_SIZE);
		rnd_bytes(cid, cl);
		return seal13_cid(z, f, cid, cl, s, 23, pt, ptlen, 0, out);
	}
	memcpy(cid, z->cid, cl);
	switch (rnd(5)) {
	case 0:
		cid[rnd(cl)] ^= 1 << rnd(8);
		return seal13_cid(z, f, cid, cl, s, 23, pt, ptlen, 0, out);
	case 1:
		n = seal13(z, f, s, 23, pt, ptlen, 0, out);
		out[1 + rnd(cl)] ^= 1 << rnd(8);
		return n;
	case 2:		/* the socket's as its start, or cut short */
		do
			n = 1 + rnd(DTLS_CID_MAX_SIZE);
		while (n == cl);
		if (n > cl)
			rnd_bytes(cid + cl, n - cl);
		return seal13_cid(z, f, cid, n, s, 23, pt, ptlen, 0, out);
	case 3:
		return seal13_cid(z, f, NULL, 0, s, 23, pt, ptlen, 0, out);
	default:	/* the header's connection ID is the socket's */
		cid[rnd(cl)] ^= 1 << rnd(8);
		n = seal13_cid(z, f, cid, cl, s, 23, pt, ptlen, 0, out);
		memcpy(out + 1, z->cid, cl);
		return n;
	}
}

static size_t gen13_bad(struct fz *z, uint8_t *out, size_t room)
{
	static uint8_t pt[1400];
	/* room for any connection ID in a connection ID run */
	size_t over = 100 + (z->cid_run ? DTLS_CID_MAX_SIZE + 1 : 0);
	size_t maxpt = room > over ? room - over : 0, ptlen, n, hlen;
	int kind = rnd(9);
	uint64_t s;

	if (maxpt > 1400)
		maxpt = 1400;
	if (maxpt < PAYLOAD_HDR)
		return short13(z, out, room);
	ptlen = forged_pt(pt, maxpt);
	if (z->cid_run && chance(35))
		return gen13_cid_bad(z, pt, ptlen, out);
	switch (kind) {
	case 0 ... 4:
		s = alloc_seq(z);
		n = seal13(z, form13(z, s), s, 23, pt, ptlen, 0, out);
		hlen = ref13_hdr_len_cid(out[0], z->cid_len);
		if (kind == 0)		/* the bits of an epoch it has no keys for */
			out[0] = (out[0] & ~DTLS13_HDR_EPOCH_MASK) |
				 ((z->epoch + 1 + rnd(3)) & DTLS13_HDR_EPOCH_MASK);
		else if (kind == 1)	/* a connection ID none was agreed for, or none */
			out[0] ^= DTLS13_HDR_C;
		else if (kind == 2)
			out[n - 1 - rnd(z->c->tag_len)] ^= 1 << rnd(8);
		else if (kind == 3)	/* the body, the sample included */
			out[hlen + rnd(n - hlen)] ^= 1 << rnd(8);
		else	/* form, epoch bits, connection ID, sequence number, length */
			out[rnd(hlen)] ^= 1 << rnd(8);
		return n;
	case 5:
		return bad_inner13(z, pt, ptlen, out);
	case 6:
		return short13(z, out, room);
	default:
		return noise13(z, out, maxpt);
	}
}

/* A DTLSPlaintext, good or bad: 1.3 has epoch-0 handshake, alerts and ACKs. */
static size_t gen13_plain(struct fz *z, uint8_t *out, size_t room)
{
	static const uint8_t types[] = { 21, 22, DTLS_RECORD_TYPE_ACK };
	static uint8_t pt[1400];
	size_t len = rnd(room - DTLS_HDR_LEN < 1400 ? room - DTLS_HDR_LEN + 1 : 1400);
	uint16_t v = chance(60) ? DTLS_1_2_VERSION : chance(70) ? 0xfeff : rnd64();
	uint8_t t = chance(85) ? types[rnd(3)] : rnd(256);
	uint16_t e = chance(90) ? 0 : rnd64();

	(void)z;
	rnd_bytes(pt, len);
	return plain_record(out, t, v, e, rnd64() & SEQ_MASK, pt, len);
}

/* An authentic record older than the window, or below the installed start. */
static size_t gen13_old(struct fz *z, uint8_t *out, size_t room)
{
	static uint8_t pt[1400];
	size_t ptlen = forged_pt(pt, 200);
	uint64_t s;

	if (room < room13(z, ptlen, 0))
		return 0;
	if (chance(50) && z->m_next > (uint64_t)z->win + 1) {
		uint64_t top = z->m_next - z->win - 1;

		s = top - rnd(top < z->win ? top + 1 : z->win);
	} else {
		s = z->s0 - 1 - rnd(z->s0 < 1000 ? z->s0 : 1000);
	}
	return seal13(z, form13(z, s), s, 23, pt, ptlen, 0, out);
}

static size_t maybe_real(struct fz *z, uint8_t *b);

/* A unified header or a DTLSPlaintext header cut short. */
static size_t gen13_truncated_hdr(struct fz *z, uint8_t *b)
{
	size_t n = maybe_real(z, b), r;

	if (chance(50)) {	/* maybe inside the connection ID */
		r = rnd_record13(z, 0, b + n, MAX_DGRAM - n);
		r = 1 + rnd(r - 1);
	} else {
		put_hdr(b + n, 22, DTLS_1_2_VERSION, 0, rnd64() & SEQ_MASK, 0);
		r = 1 + rnd(DTLS_HDR_LEN - 1);
	}
	return n + r;
}

/* A length past the end of the datagram. */
static size_t gen13_overlong(struct fz *z, uint8_t *b)
{
	size_t n = maybe_real(z, b), r = gen13_bad(z, b + n, 1500 - n), hlen, have;

	hlen = ref13_hdr_len_cid(b[n], z->cid_len);
	if ((b[n] & DTLS13_HDR_FIXED_MASK) == DTLS13_HDR_FIXED &&
	    (b[n] & DTLS13_HDR_L) && r >= hlen) {
		have = r - hlen;
		put_be(b + n + hlen - 2, have + 1 + rnd(65535 - have), 2);
		if (have && chance(50))
			r -= 1 + rnd(have);	/* and cut the body */
	}
	return n + r;
}

/*
 * Over 2^14 bytes: an authentic record whose plaintext is (the window
 * takes its number), a ciphertext over 2^14 + 256, or a DTLSPlaintext.
 */
static size_t gen13_oversized(struct fz *z, uint8_t *out, size_t room)
{
	static uint8_t pt[DTLS_MAX_PLAINTEXT + 2000];
	size_t l;

	if (room < DTLS_MAX_PLAINTEXT + 1300 + z->cid_len)
		return 0;
	forged_pt(pt, 0);
	switch (rnd(3)) {
	case 0:
		l = DTLS_MAX_PLAINTEXT + 1 + rnd(200);
		return seal13(z, DTLS13_HDR_S | DTLS13_HDR_L, alloc_seq(z), 23, pt, l, 0, out);
	case 1:
		l = DTLS_MAX_PLAINTEXT + 300 + rnd(900);
		return seal13(z, DTLS13_HDR_S | DTLS13_HDR_L, alloc_seq(z), 23, pt, l, 0, out);
	default:
		l = DTLS_MAX_PLAINTEXT + 1 + rnd(1000);
		return plain_record(out, 22, DTLS_1_2_VERSION, 0, rnd64() & SEQ_MASK, pt, l);
	}
}

/*
 * DTLS 1.2, a connection ID run: a record with a connection ID where the
 * socket has none; on a socket with one, another connection ID (one byte
 * other, sealed so or flipped after sealing: dropped before the tag), one
 * of another length, none at all, additional data made with another
 * connection ID, or authentic with padding alone or a content type 1.2
 * does not have inside.  @pt has room for 256 more bytes than @ptlen.
 */
static size_t gen_cid12_bad(struct fz *z, const uint8_t *pt, size_t ptlen, uint8_t *out)
{
	uint8_t cid[DTLS_CID_MAX_SIZE], t;
	size_t cl = z->cid_len, n, pad = rnd(40);
	uint64_t s;

	if (!cl) {
		cl = chance(50) ? 1 + rnd(8) : 1 + rnd(DTLS_CID_MAX_SIZE);
		rnd_bytes(cid, cl);
		return seal_cid(z, 23, z->epoch, alloc_seq(z), cid, cl, pt, ptlen, 0, out);
	}
	memcpy(cid, z->cid, cl);
	switch (rnd(7)) {
	case 0:
		cid[rnd(cl)] ^= 1 << rnd(8);
		return seal_cid(z, 23, z->epoch, alloc_seq(z), cid, cl, pt, ptlen, 0, out);
	case 1:
		n = seal(z, 23, DTLS_1_2_VERSION, z->epoch, alloc_seq(z), pt, ptlen, out);
		out[11 + rnd(cl)] ^= 1 << rnd(8);
		return n;
	case 2:		/* the socket's as its start, or cut short */
		do
			n = rnd(DTLS_CID_MAX_SIZE + 1);
		while (n == cl);
		if (n > cl)
			rnd_bytes(cid + cl, n - cl);
		return seal_cid(z, 23, z->epoch, alloc_seq(z), cid, n, pt, ptlen, 0, out);
	case 3:
		n = ref_seal(&z->k, 23, DTLS_1_2_VERSION, z->epoch, alloc_seq(z), NULL, pt,
			     ptlen, out);
		if (!n)
			seal_failed();
		return n;
	case 4:		/* the header's connection ID is the socket's */
		cid[rnd(cl)] ^= 1 << rnd(8);
		n = seal_cid(z, 23, z->epoch, alloc_seq(z), cid, cl, pt, ptlen, 0, out);
		memcpy(out + 11, z->cid, cl);
		return n;
	case 5:
		s = bad_inner_seq(z);
		return seal_cid(z, 0, z->epoch, s, z->cid, cl, pt, 0, pad, out);
	default:	/* tls12_cid and ack more often */
		do
			t = chance(30) ? 24 + rnd(3) : rnd(256);
		while (!t || (t >= 20 && t <= 23));
		s = bad_inner_seq(z);
		return seal_cid(z, t, z->epoch, s, z->cid, cl, pt, ptlen, pad % 8, out);
	}
}

/* One bad record of a random kind; returns its length (<= room). */
static size_t gen_bad(struct fz *z, uint8_t *out, size_t room)
{
	static uint8_t pt[MAX_REAL_PT + 1024];
	/* room for any connection ID in a connection ID run */
	size_t over = overhead12(z) + (z->cid_run ? DTLS_CID_MAX_SIZE + 1 : 0);
	size_t maxpt = room > over + 16 ? room - over : 0;
	size_t ptlen;

	if (z->s13)
		return gen13_bad(z, out, room);

	if (maxpt > 1400)
		maxpt = 1400;
	if (maxpt < PAYLOAD_HDR) {
		/* only room for a short one: a bare header with length 0 */
		if (room < DTLS_HDR_LEN)
			return 0;
		put_hdr(out, 23, DTLS_1_2_VERSION, z->epoch, alloc_seq(z), 0);
		return DTLS_HDR_LEN;
	}
	ptlen = forged_pt(pt, maxpt);
	if (z->cid_run && chance(35))
		return gen_cid12_bad(z, pt, ptlen, out);
	switch (rnd(9)) {
	case 0:
		return seal_wrong_epoch(z, pt, ptlen, out);
	case 1:
		return seal_wrong_version(z, pt, ptlen, out);
	case 2:
		return seal_unknown_type(z, pt, ptlen, out);
	case 3:
		return seal_flipped(z, FLIP_TAG, pt, ptlen, out);
	case 4:
		return seal_flipped(z, FLIP_CIPHERTEXT, pt, ptlen, out);
	case 5:
		return seal_flipped(z, FLIP_NONCE, pt, ptlen, out);
	case 6:
		return seal_flipped(z, FLIP_HEADER, pt, ptlen, out);
	case 7:
		return short_record(z, out);
	default:
		return noise_record(z, out, maxpt);
	}
}

/* An epoch-0 plaintext record, good or bad. */
static size_t gen_plain(struct fz *z, uint8_t *out, size_t room)
{
	static uint8_t pt[1400];
	size_t len = rnd(room - DTLS_HDR_LEN < 1400 ? room - DTLS_HDR_LEN + 1 : 1400);
	uint16_t v = chance(60) ? DTLS_1_2_VERSION : chance(70) ? 0xfeff : rnd64();
	uint8_t t = chance(85) ? 20 + rnd(4) : rnd(256);
	size_t hl;

	if (z->s13)
		return gen13_plain(z, out, room);
	if (z->cid_len && chance(15) && room >= overhead12(z) + len) {
		/* a connection ID in the clear */
		hl = put_cid_hdr(out, 0, rnd64() & SEQ_MASK, z->cid, z->cid_len, len);
		rnd_bytes(out + hl, len);
		return hl + len;
	}
	rnd_bytes(pt, len);
	return plain_record(out, t, v, 0, rnd64() & SEQ_MASK, pt, len);
}

/* A previously delivered record, verbatim. */
static size_t gen_replay(struct fz *z, uint8_t *out, size_t room)
{
	size_t i;

	if (!z->ncap)
		return 0;
	i = rnd(z->ncap < N_CAPTURE ? z->ncap : N_CAPTURE);
	if (z->caplen[i] > room)
		return 0;
	memcpy(out, z->cap[i], z->caplen[i]);
	return z->caplen[i];
}

/* A valid record older than the window (or below the installed start). */
static size_t gen_old(struct fz *z, uint8_t *out, size_t room)
{
	static uint8_t pt[1400];
	size_t ptlen = forged_pt(pt, 200);
	uint64_t s;

	if (z->s13)
		return gen13_old(z, out, room);
	if (room < overhead12(z) + ptlen)
		return 0;
	if (chance(50) && z->next_start > (uint64_t)z->win + 1) {
		uint64_t top = z->next_start - z->win - 1;

		s = top - rnd(top < z->win ? top + 1 : z->win);
	} else {
		s = z->s0 - 1 - rnd(z->s0 < 1000 ? z->s0 : 1000);
	}
	return seal(z, 23, DTLS_1_2_VERSION, z->epoch, s, pt, ptlen, out);
}

static size_t gen_record(struct fz *z, uint8_t *out, size_t room)
{
	switch (rnd(10)) {
	case 0: case 1: case 2: case 3:
		return gen_real(z, out, room, 1400);
	case 4:
		return gen_replay(z, out, room);
	case 5:
		return gen_old(z, out, room);
	case 6:
		return room > DTLS_HDR_LEN ? gen_plain(z, out, room) : 0;
	default:
		return gen_bad(z, out, room);
	}
}

/* Several records, real and bad mixed, in one datagram. */
static size_t gen_mixed(struct fz *z, uint8_t *b)
{
	size_t room = chance(90) ? 1500 : MAX_DGRAM, n = 0;

	for (int k = 2 + rnd(5); k > 0; k--)
		n += gen_record(z, b + n, room - n);
	return n;
}

/*
 * Random bytes, half of the time with a content type to get past its check
 * (in a connection ID run, tls12_cid too).
 */
static size_t gen_noise(const struct fz *z, uint8_t *b)
{
	size_t n = chance(95) ? rnd(1501) : rnd(MAX_DGRAM + 1);

	rnd_bytes(b, n);
	if (n && chance(50))
		b[0] = z->cid_run && chance(30) ? TLS12_CID_TYPE : 20 + rnd(4);
	return n;
}

/* Half of the time, a real record to start a datagram with: its length, or 0. */
static size_t maybe_real(struct fz *z, uint8_t *b)
{
	return chance(50) ? gen_real(z, b, 1500, 1000) : 0;
}

/* A truncated header, alone or after a real record. */
static size_t gen_truncated_hdr(struct fz *z, uint8_t *b)
{
	size_t n, r;

	if (z->s13)
		return gen13_truncated_hdr(z, b);
	n = maybe_real(z, b);
	/* on a socket with a connection ID, maybe cut inside it */
	r = rnd_record12(z, 23, alloc_seq(z), 0, b + n);
	return n + 1 + rnd(r - 1);
}

/* A record whose length runs past the end of the datagram. */
static size_t gen_overlong(struct fz *z, uint8_t *b)
{
	size_t n, r, hl;

	if (z->s13)
		return gen13_overlong(z, b);
	n = maybe_real(z, b);
	r = gen_bad(z, b + n, 1500 - n);
	hl = r ? hdr12_len(z, b[n]) : DTLS_HDR_LEN;
	if (r >= hl) {
		size_t have = r - hl;

		put_be(b + n + hl - 2, have + 1 + rnd(65535 - have), 2);
		if (have && chance(50))
			r -= 1 + rnd(have);	/* and cut the body */
	}
	return n + r;
}

/* One to three replays of delivered records. */
static size_t gen_replays(struct fz *z, uint8_t *b)
{
	size_t n = 0;

	for (int k = 1 + (chance(20) ? rnd(3) : 0); k > 0; k--)
		n += gen_replay(z, b + n, 1500 - n);
	return n;
}

/*
 * DTLS 1.2 with a connection ID: content and padding over 2^14 + 256 bytes
 * (padding alone may take them there), or up to that with more than 2^14
 * bytes of content, authentic: the window takes its number, then the
 * kernel drops it.
 */
static size_t oversized_cid12(struct fz *z, const uint8_t *pt, uint8_t *out)
{
	size_t l, pad, max = DTLS_MAX_PLAINTEXT + 256;
	uint64_t s;

	switch (rnd(3)) {
	case 0:
		l = DTLS_MAX_PLAINTEXT + 1 + rnd(255);
		pad = rnd(max - l + 1);
		s = bad_inner_seq(z);
		return seal_cid(z, 23, z->epoch, s, z->cid, z->cid_len, pt, l, pad, out);
	case 1:
		l = DTLS_MAX_PLAINTEXT - rnd(200);
		pad = max - l + 1 + rnd(300);
		break;
	default:
		l = max + 1 + rnd(300);
		pad = 0;
	}
	return seal_cid(z, 23, z->epoch, alloc_seq(z), z->cid, z->cid_len, pt, l, pad, out);
}

/*
 * A record with more than 2^14 bytes of plaintext, protected or epoch 0, at
 * @out; 0 if it does not fit in @room.
 */
static size_t gen_oversized(struct fz *z, uint8_t *out, size_t room)
{
	static uint8_t pt[DTLS_MAX_PLAINTEXT + 2000];
	size_t l = DTLS_MAX_PLAINTEXT + 1 + rnd(1000);

	if (z->s13)
		return gen13_oversized(z, out, room);
	if (room < DTLS_MAX_PLAINTEXT + 1600)
		return 0;
	forged_pt(pt, 0);
	if (chance(50))
		return plain_record(out, 22, DTLS_1_2_VERSION, 0, rnd64() & SEQ_MASK, pt, l);
	if (z->cid_len)
		return oversized_cid12(z, pt, out);
	return seal(z, 23, DTLS_1_2_VERSION, z->epoch, alloc_seq(z), pt, l, out);
}

/* A big datagram: up to 64 KB of records, maybe one over 2^14. */
static size_t gen_big(struct fz *z, uint8_t *b)
{
	size_t room = MAX_DGRAM, n = 0, r;

	while (room - n > 2000 && chance(80)) {
		if (chance(15)) {
			r = gen_oversized(z, b + n, room - n);
			if (!r)
				break;
			n += r;
		} else if (chance(40)) {
			n += gen_real(z, b + n, room - n, MAX_REAL_PT);
		} else {
			n += gen_record(z, b + n, room - n);
		}
	}
	return n;
}

/* One datagram of a random kind into @b; returns its length. */
static size_t gen_dgram(struct fz *z, uint8_t *b)
{
	size_t n;

	switch (rnd(100)) {
	case 0 ... 29:	/* one real record */
		z->lone = 1;
		n = gen_real(z, b, MAX_DGRAM, chance(2) ? MAX_REAL_PT : 1400);
		z->lone = 0;
		return n;
	case 30 ... 41:
		return gen_mixed(z, b);
	case 42 ... 56:	/* one bad record */
		return gen_bad(z, b, 1500);
	case 57 ... 66:
		return gen_noise(z, b);
	case 67 ... 71:
		return gen_truncated_hdr(z, b);
	case 72 ... 76:
		return gen_overlong(z, b);
	case 77 ... 84:
		return gen_replays(z, b);
	case 85 ... 89:	/* valid records older than the window */
		return gen_old(z, b, 1500);
	case 90 ... 94:	/* epoch 0 */
		return gen_plain(z, b, 1500);
	default:
		return gen_big(z, b);
	}
}

/* ---------------------------------------------------------------------- */
/* Receive side                                                            */

/* One read from the offloaded socket: its length, flags and record info. */
struct delivery {
	ssize_t n;
	int msg_flags;
	int have_info;
	struct dtls_record_info info;
};

/*
 * Read one record, waiting up to @timeout_ms for it, with its
 * DTLS_GET_RECORD_TYPE control message.  0 if nothing came (or on an
 * error, which is reported).
 */
static int read_record(struct fz *z, uint8_t *buf, size_t size, int timeout_ms,
		       struct delivery *dv)
{
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(struct dtls_record_info)) + 256];
	} cbuf;
	struct iovec iov = { buf, size };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.b, .msg_controllen = sizeof(cbuf.b),
	};
	struct cmsghdr *cm;

	if (wait_readable(z->fd, timeout_ms) <= 0)
		return 0;
	dv->n = recvmsg(z->fd, &msg, MSG_DONTWAIT);
	if (dv->n < 0) {
		if (errno != EAGAIN)
			fz_err(z, "recvmsg: %s", strerror(errno));
		return 0;
	}
	dv->msg_flags = msg.msg_flags;
	dv->have_info = 0;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_DTLS &&
		    cm->cmsg_type == DTLS_GET_RECORD_TYPE &&
		    cm->cmsg_len == CMSG_LEN(sizeof(dv->info))) {
			memcpy(&dv->info, CMSG_DATA(cm), sizeof(dv->info));
			dv->have_info = 1;
		}
	return 1;
}

/* An unprotected (epoch-0) record: a handshake, alert or CCS one. */
static void check_plain(struct fz *z, const struct dtls_record_info *info)
{
	uint8_t t = info->content_type;
	int type_ok = z->s13 ? t == 21 || t == 22 || t == DTLS_RECORD_TYPE_ACK :
			       t >= 20 && t <= 22;

	if (info->rec_num >> 48 || !type_ok || info->flags) {
		fz_err(z, "bad unprotected record: rec_num %#llx type %u flags %#x",
		       (unsigned long long)info->rec_num,
		       info->content_type, info->flags);
		return;
	}
	z->got_plain++;
}

/*
 * A protected record: one of this run's real records, intact, with its own
 * record number and type, delivered once, and one the model let through.
 */
static void check_protected(struct fz *z, const uint8_t *buf, ssize_t n,
			    const struct dtls_record_info *info)
{
	long id = payload_check(buf, n);
	struct real *r;
	uint8_t want;

	if (id < 0 || (uint64_t)id >= z->nreal) {
		fz_err(z, "FORGED or corrupt protected record delivered: %zd bytes, id %ld, rec_num %#llx type %u",
		       n, id, (unsigned long long)info->rec_num, info->content_type);
		return;
	}
	r = &z->reals[id];
	want = DTLS_RECORD_F_PROTECTED | (r->moved ? DTLS_RECORD_F_MOVED : 0);
	if (info->rec_num != REC_NUM(z->epoch, r->seq) ||
	    info->content_type != r->type || info->flags != want) {
		fz_err(z, "record id %ld: rec_num %#llx type %u flags %#x, want %#llx %u %#x",
		       id, (unsigned long long)info->rec_num, info->content_type,
		       info->flags, (unsigned long long)REC_NUM(z->epoch, r->seq),
		       r->type, want);
		return;
	}
	if (r->delivered++) {
		fz_err(z, "record id %ld (seq %llu) delivered twice", id,
		       (unsigned long long)r->seq);
		return;
	}
	if (!r->expected)
		fz_err(z, "record id %ld delivered although the model dropped it", id);
	z->got_real++;
}

static void check_delivery(struct fz *z, const uint8_t *buf, const struct delivery *dv)
{
	if (!dv->have_info) {
		fz_err(z, "record of %zd bytes without DTLS_GET_RECORD_TYPE", dv->n);
		return;
	}
	if (dv->msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		fz_err(z, "msg_flags 0x%x", dv->msg_flags);
		return;
	}
	if (!(dv->info.flags & DTLS_RECORD_F_PROTECTED))
		check_plain(z, &dv->info);
	else
		check_protected(z, buf, dv->n, &dv->info);
}

/* Drain what is queued; returns the number of records read. */
static int drain(struct fz *z, int timeout_ms)
{
	static uint8_t buf[70000];
	struct delivery dv;
	int got = 0;

	while (read_record(z, buf, sizeof(buf), got ? 0 : timeout_ms, &dv)) {
		got++;
		check_delivery(z, buf, &dv);
	}
	return got;
}

/* ---------------------------------------------------------------------- */
/* One (cipher, family) run                                                */

static uint8_t *dgbuf;	/* the batch's datagrams */

#define BATCH_MAX	64

static const char *family_name(int kind)
{
	return kind == SK_IPV4 ? "ipv4" : "ipv6";
}

static struct fz *fz_new(const struct cdesc *c, const struct cdesc13 *s13)
{
	struct fz *z = calloc(1, sizeof(*z));

	if (!z) {
		perror("calloc");
		exit(2);
	}
	z->t0 = now_ms();
	z->c = c;
	z->s13 = s13;
	z->fd = -1;
	z->peer = -1;
	dkey_derive(&z->k, c, "fuzz-peer-to-kernel");
	return z;
}

static void fz_free(struct fz *z)
{
	if (z->fd >= 0)
		close(z->fd);
	if (z->peer >= 0)
		close(z->peer);
	free(z->reals);
	free(z);
}

/* A random epoch, first sequence number and replay window for the run. */
static void pick_params(struct fz *z)
{
	static const uint32_t wins[] = { 64, 128, 1024, 4096, 65536 };

	/* DTLS 1.3: application data starts at epoch 3 */
	z->epoch = z->s13 ? 3 + rnd(0xfffc) : 1 + rnd(0xfffe);
	z->win = wins[rnd(sizeof(wins) / sizeof(wins[0]))];
	z->s0 = chance(20) ? 1 + rnd(100) : 1 + (rnd64() & 0xffffffffffULL);
	z->seqctr = z->s0;
	z->next_start = z->s0;
	z->m_next = z->s0;
	z->max_real = z->s0 - 1;
}

/*
 * DTLS 1.3: the keys for the run's epoch, and CCM_8's integrity limit
 * raised from 2^7 forgeries to the most dtls.rst allows (2^23.5), which a
 * fuzzer's forgeries would otherwise reach and end the epoch with.
 */
static int fz_install13(struct fz *z)
{
	struct dtls_key_usage lim = { .rx_forged = 11863283 };

	if (dkey13_derive(&z->k13, z->s13, "fuzz-peer-to-kernel", z->epoch) ||
	    dtls13_install(z->fd, DTLS_RX, &z->k13, z->epoch, z->s0))
		return -1;
	if (z->c->type == DTLS_CIPHER_AES_CCM_8_128)
		return setsockopt(z->fd, SOL_DTLS, DTLS_KEY_LIMITS, &lim, sizeof(lim));
	return 0;
}

/*
 * A connection ID run: the socket's DTLS_RX_CID, 1 to 255 bytes (1 and
 * 255 more often than the others); a quarter of the runs none, set as
 * length 0 or not at all, and then the peer sends records with connection
 * IDs among its others.
 */
static int fz_set_cid(struct fz *z)
{
	struct dtls_cid cid = { 0 };

	if (chance(25))
		z->cid_len = 0;
	else if (chance(25))
		z->cid_len = chance(50) ? 1 : DTLS_CID_MAX_SIZE;
	else
		z->cid_len = 1 + rnd(DTLS_CID_MAX_SIZE);
	rnd_bytes(z->cid, z->cid_len);
	if (!z->cid_len && chance(50))
		return 0;
	cid.len = z->cid_len;
	memcpy(cid.cid, z->cid, z->cid_len);
	return setsockopt(z->fd, SOL_DTLS, DTLS_RX_CID, &cid, 1 + cid.len);
}

/* After DTLS_RX: getsockopt(DTLS_RX_CID) gives the one in force. */
static int fz_check_cid(struct fz *z)
{
	struct dtls_cid cid;
	socklen_t len = sizeof(cid);

	if (getsockopt(z->fd, SOL_DTLS, DTLS_RX_CID, &cid, &len))
		return -1;
	if (len != 1 + z->cid_len || cid.len != z->cid_len ||
	    memcmp(cid.cid, z->cid, z->cid_len)) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

/*
 * The offloaded socket and its peer, with 8 MB buffers, the replay window
 * (the default, 1024, set explicitly half of the time), any connection ID
 * and DTLS_RX; the counters' values before.  -1 with the reason in
 * @summary.
 */
static int fz_setup(struct fz *z, int kind, char *summary, size_t slen)
{
	struct cinfo ci;

	if (udp_pair(kind, kind, &z->fd, &z->peer)) {
		snprintf(summary, slen, "udp_pair: %s", strerror(errno));
		return -1;
	}
	set_rcvbuf(z->fd, 8 << 20);
	set_sndbuf(z->peer, 8 << 20);
	pick_params(z);
	if (z->win != 1024 || chance(50)) {
		if (setsockopt(z->fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &z->win,
			       sizeof(z->win))) {
			snprintf(summary, slen, "DTLS_RX_REPLAY_WINDOW: %s", strerror(errno));
			return -1;
		}
	}
	if (z->cid_run && fz_set_cid(z)) {
		snprintf(summary, slen, "DTLS_RX_CID: %s", strerror(errno));
		return -1;
	}
	snap(z->before);
	cinfo_build(&ci, &z->k, REC_NUM(z->epoch, z->s0));
	if (z->s13 ? fz_install13(z) : setsockopt(z->fd, SOL_DTLS, DTLS_RX, ci.b, ci.len)) {
		snprintf(summary, slen, "DTLS_RX: %s", strerror(errno));
		return -1;
	}
	if (fz_check_cid(z)) {
		snprintf(summary, slen, "getsockopt DTLS_RX_CID: %s", strerror(errno));
		return -1;
	}
	if (verbose)
		printf("# %s/%s epoch %u s0 %llu window %u cid %zu\n", z->c->name,
		       family_name(kind), z->epoch, (unsigned long long)z->s0, z->win,
		       z->cid_len);
	return 0;
}

static void gen_batch(struct fz *z, struct dgram *batch, int nb)
{
	z->batch_first = z->nreal;
	z->batch_plain = 0;
	for (int i = 0; i < nb; i++) {
		batch[i].b = dgbuf + (size_t)i * (MAX_DGRAM + 64);
		batch[i].len = gen_dgram(z, batch[i].b);
		if (z->s13)
			classify13_dgram(z, batch[i].b, batch[i].len);
	}
}

/*
 * The model's verdicts: pass 1, which real records will arrive; pass 2,
 * the rest (DTLS 1.3's model ran as the batch was generated).
 */
static void model_batch(struct fz *z, const struct dgram *batch, int nb)
{
	long long want_real = 0;

	for (int i = 0; i < nb && !z->s13; i++)
		classify_dgram(z, batch[i].b, batch[i].len, 1);
	for (int i = 0; i < nb && !z->s13; i++)
		classify_dgram(z, batch[i].b, batch[i].len, 2);
	for (size_t id = z->batch_first; id < z->nreal; id++)
		want_real += z->reals[id].expected && !z->reals[id].bad_inner;
	z->exp_real += want_real;
}

static void send_batch(struct fz *z, const struct dgram *batch, int nb)
{
	for (int i = 0; i < nb; i++) {
		if (send(z->peer, batch[i].b, batch[i].len, 0) != (ssize_t)batch[i].len) {
			fz_err(z, "send %zu bytes: %s", batch[i].len, strerror(errno));
			break;
		}
		z->datagrams++;
	}
}

/*
 * Read the batch's records until all the model expects have come (5 s
 * without one ends the wait).  0 if exactly those came.
 */
static int await_batch(struct fz *z)
{
	uint64_t last = now_ms();
	long long now[S_N];

	while (z->got_real < z->exp_real || z->got_plain < z->exp_plain) {
		if (drain(z, 50))
			last = now_ms();
		else if (now_ms() - last > 5000)
			break;
	}
	drain(z, 0);
	if (z->got_real == z->exp_real && z->got_plain == z->exp_plain)
		return 0;
	snap(now);
	fz_err(z, "batch %d: delivered %lld/%lld real, %lld/%lld plaintext (DtlsRxDropped +%lld)",
	       z->batches, z->got_real, z->exp_real, z->got_plain, z->exp_plain,
	       now[S_DROPPED] - z->before[S_DROPPED]);
	return -1;
}

/* Everything up to here was accepted: the window's "next" moves past it. */
static void advance_window(struct fz *z)
{
	if (z->s13)
		z->next_start = z->m_next;
	for (size_t id = z->batch_first; id < z->nreal; id++) {
		if (!z->reals[id].expected)
			continue;
		if (z->reals[id].seq + 1 > z->next_start)
			z->next_start = z->reals[id].seq + 1;
	}
}

/* Keep an intact copy of the record @rec the window took, real record @id. */
static void capture_record(struct fz *z, const uint8_t *rec, size_t rl, long id)
{
	size_t slot = z->ncap++ % N_CAPTURE;

	if (open12(z, rec, rl) < 0) {
		z->ncap--;
		return;
	}
	memcpy(z->cap[slot], rec, rl);
	z->caplen[slot] = rl;
	z->capid[slot] = id;
}

/* Capture some of the batch's records the window took, for later replays. */
static void capture_batch(struct fz *z, const struct dgram *batch, int nb)
{
	for (int i = 0; i < nb && !z->s13; i++) {
		const uint8_t *b = batch[i].b;
		size_t off = 0, n = batch[i].len, hl, rl;

		while (n - off >= DTLS_HDR_LEN && n - off >= (hl = hdr12_len(z, b[off]))) {
			long id = -1;

			rl = hl + get_be(b + off + hl - 2, 2);
			if (rl > n - off)
				break;
			if (get_be(b + off + 3, 2) == z->epoch)
				id = real_by_seq(z, get_be(b + off + 5, 6));
			if (id >= 0 && (size_t)id >= z->batch_first &&
			    z->reals[id].expected && rl <= CAPTURE_MAX && chance(30))
				capture_record(z, b + off, rl, id);
			off += rl;
		}
	}
}

/* One batch of datagrams: generated, predicted, sent and read back.  -1: stop. */
static int fuzz_batch(struct fz *z, struct dgram *batch, int nb)
{
	gen_batch(z, batch, nb);
	model_batch(z, batch, nb);
	send_batch(z, batch, nb);
	if (await_batch(z))
		return -1;
	advance_window(z);
	capture_batch(z, batch, nb);
	z->batches++;
	return 0;
}

/* What the rejection counters (all but DtlsRxDropped) grew by. */
static long long bad_counted(const struct fz *z)
{
	long long bad = 0;

	for (int i = 0; i < N_BAD; i++)
		bad += z->grew[S_DECRYPT + i];
	return bad;
}

/* The counters' growth, once they stop moving (softirq may still count), 3 s at most. */
static void settle_counters(struct fz *z)
{
	uint64_t end = now_ms() + 3000;
	long long now[S_N];

	for (;;) {
		snap(now);
		for (int i = 0; i < S_N; i++)
			z->grew[i] = now[i] - z->before[i];
		if ((bad_counted(z) + z->grew[S_DROPPED] >= z->bad_total &&
		     z->grew[S_RECORDS] >= z->exp_real &&
		     z->grew[S_PLAIN] >= z->exp_plain) || now_ms() > end)
			break;
		usleep(10000);
	}
}

/*
 * DTLS 1.3: the epoch's count against the integrity limit (DTLS_KEY_USAGE)
 * is the number of records that failed the tag, no more, no fewer.
 */
static int check_forged13(struct fz *z)
{
	struct dtls_key_usage u;
	socklen_t len = sizeof(u);

	if (getsockopt(z->fd, SOL_DTLS, DTLS_KEY_USAGE, &u, &len) || len != sizeof(u)) {
		fz_err(z, "DTLS_KEY_USAGE: %s", strerror(errno));
		return 0;
	}
	if ((long long)u.rx_forged != z->def[0] || z->grew[S_DECRYPT] != z->def[0]) {
		fz_err(z, "DTLS_KEY_USAGE rx_forged %llu, DtlsRxDecryptError +%lld, forged records %lld",
		       (unsigned long long)u.rx_forged, z->grew[S_DECRYPT], z->def[0]);
		return 0;
	}
	return 1;
}

/* The counters against what was read and what the model predicts; 1 if they agree. */
static int check_counters(struct fz *z)
{
	const long long *d = z->grew;
	long long bad = bad_counted(z);
	int ok = !z->errors;

	if (d[S_DROPPED]) {
		fz_err(z, "DtlsRxDropped +%lld (receive buffer 8 MB, paced)", d[S_DROPPED]);
		ok = 0;
	}
	if (d[S_RECORDS] != z->got_real || z->got_real != z->exp_real) {
		fz_err(z, "DtlsRxRecords +%lld, delivered %lld, expected %lld",
		       d[S_RECORDS], z->got_real, z->exp_real);
		ok = 0;
	}
	if (d[S_PLAIN] != z->got_plain || z->got_plain != z->exp_plain) {
		fz_err(z, "DtlsRxPlaintext +%lld, delivered %lld, expected %lld",
		       d[S_PLAIN], z->got_plain, z->exp_plain);
		ok = 0;
	}
	if (bad + d[S_DROPPED] != z->bad_total) {
		fz_err(z, "drop counters +%lld (+%lld dropped), injected bad records %lld",
		       bad, d[S_DROPPED], z->bad_total);
		ok = 0;
	}
	if (z->s13 && !check_forged13(z))
		ok = 0;
	for (int i = 0; i < N_BAD; i++) {
		long long a = d[S_DECRYPT + i];

		if (a < z->def[i] - d[S_DROPPED] || a > z->def[i] + z->may[i]) {
			fz_err(z, "%s: counter +%lld, model %lld..%lld",
			       badname[i], a, z->def[i], z->def[i] + z->may[i]);
			ok = 0;
		}
	}
	return ok;
}

static void summarize(const struct fz *z, char *summary, size_t slen)
{
	const long long *d = z->grew;
	long long def = 0, may = 0;

	for (int i = 0; i < N_BAD; i++) {
		def += z->def[i];
		may += z->may[i];
	}
	char cid[48] = "";

	if (z->cid_run && z->cid_len)
		snprintf(cid, sizeof(cid), ", connection ID of %zu", z->cid_len);
	else if (z->cid_run)
		snprintf(cid, sizeof(cid), ", no connection ID (peer sends some)");
	snprintf(summary, slen,
		 "%ld datagrams, %lld records in %d batches, %.1fs: real %lld/%lld, plaintext %lld, "
		 "bad %lld (decrypt %lld replay %lld malformed %lld badversion %lld unknownepoch %lld "
		 "unknowncid %lld; ambiguous %lld), window %u%s",
		 (long)z->datagrams, z->records, z->batches,
		 (now_ms() - z->t0) / 1000.0, z->got_real, z->exp_real, z->got_plain,
		 bad_counted(z), d[S_DECRYPT], d[S_REPLAY], d[S_MALF], d[S_BADVER], d[S_EPOCH],
		 d[S_UCID], may ? z->bad_total - def : 0, z->win, cid);
}

/*
 * One (cipher, family, with or without connection IDs) run.  Returns 0 on pass.  @budget datagrams, until
 * @deadline_ms.
 */
static int fuzz_one(const struct cdesc *c, const struct cdesc13 *s13, int kind, int cid_run,
		    long budget, uint64_t deadline_ms, char *summary, size_t slen)
{
	struct fz *z = fz_new(c, s13);
	struct dgram batch[BATCH_MAX];
	int ok;

	z->cid_run = cid_run;
	if (fz_setup(z, kind, summary, slen)) {
		fz_free(z);
		return -1;
	}
	while (z->datagrams < budget && now_ms() < deadline_ms && !z->errors) {
		int nb = 1 + rnd(BATCH_MAX);

		if (nb > budget - z->datagrams)
			nb = budget - z->datagrams;
		if (fuzz_batch(z, batch, nb))
			break;
	}
	settle_counters(z);
	drain(z, 100);
	ok = check_counters(z);
	summarize(z, summary, slen);
	fz_free(z);
	return ok ? 0 : 1;
}

/* ---------------------------------------------------------------------- */

struct opts {
	long total;		/* datagrams, all runs together */
	double seconds;		/* all runs together */
	uint64_t seed;
	const char *only_c;	/* one cipher, or NULL */
	int only_f;		/* 4 or 6, or 0 for both */
	int only_v;		/* 12 or 13, or 0 for both */
	int only_cid;		/* 0: runs without connection IDs, 1: with, -1: both */
	int peers;		/* many-peer runs: 0 none, 1 only those, -1 both */
};

static void usage(void)
{
	fprintf(stderr,
		"usage: dtls_fuzz [-n DATAGRAMS] [-t SECONDS] [-s SEED] [-c CIPHER] [-f 4|6] [-V 12|13]\n"
		"                 [-C 0|1] [-P 0|1] [-v]\n"
		"  DATAGRAMS and SECONDS bound the whole run (all versions, ciphers, families,\n"
		"  with and without connection IDs; -C 0 or 1: only without, only with;\n"
		"  -P 0: no many-peer runs, -P 1: only those)\n");
	exit(2);
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	int opt, have_seed = 0;

	*o = (struct opts){ .total = 1000000, .seconds = 120, .only_cid = -1, .peers = -1 };
	while ((opt = getopt(argc, argv, "n:t:s:c:f:V:C:P:vh")) != -1) {
		switch (opt) {
		case 'n':
			o->total = atol(optarg);
			break;
		case 't':
			o->seconds = atof(optarg);
			break;
		case 's':
			o->seed = strtoull(optarg, NULL, 0);
			have_seed = 1;
			break;
		case 'c':
			o->only_c = optarg;
			if (!cdesc_by_name(o->only_c))
				usage();
			break;
		case 'f':
			o->only_f = atoi(optarg);
			if (o->only_f != 4 && o->only_f != 6)
				usage();
			break;
		case 'V':
			o->only_v = atoi(optarg);
			if (o->only_v != 12 && o->only_v != 13)
				usage();
			break;
		case 'C':
			o->only_cid = atoi(optarg);
			if (o->only_cid != 0 && o->only_cid != 1)
				usage();
			break;
		case 'P':
			o->peers = atoi(optarg);
			if (o->peers != 0 && o->peers != 1)
				usage();
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (!have_seed)
		o->seed = seed_from_clock();
}

/* The (version, cipher) pairs: DTLS 1.2's ciphers, then 1.3's suites. */
#define N_SUITES	(N_CDESCS + N_CDESCS13)

static int suite_selected(const struct opts *o, size_t i, const struct cdesc **c,
			  const struct cdesc13 **s13)
{
	int v13 = i >= N_CDESCS;

	*s13 = v13 ? &cdescs13[i - N_CDESCS] : NULL;
	*c = v13 ? cdesc_by_name((*s13)->name) : &cdescs[i];
	return (!o->only_c || !strcmp(o->only_c, (*c)->name)) &&
	       (!o->only_v || o->only_v == (v13 ? 13 : 12));
}

/* The runs of one suite the options select: 0 to 4 */
static int suite_runs(const struct opts *o)
{
	return (o->only_f ? 1 : 2) * (o->only_cid < 0 ? 2 : 1);
}

/* ---------------------------------------------------------------------- */
/* Many peers on one socket (-P)                                           */

/*
 * One unconnected server socket with peers (DTLS_PEER_*), each of its own
 * version and suite, with or without a receive connection ID, and plain
 * UDP clients, one per peer and a few spare ones whose addresses no peer
 * starts at.  Each peer has a struct fz of its own: keys, window, records
 * and the model above, which classifies the records of every datagram
 * routed to that peer.  The routing follows dtls.rst "Many peers on one
 * socket": the connection ID of the first record, else the source
 * address; whole datagrams for no peer, a peer without RX keys, or an
 * epoch-0 first record; a peer found by connection ID moves to the source
 * of its newest authentic record.  A thread adds and deletes other peers
 * (at addresses no client has, without connection IDs) while the
 * datagrams are sent.
 */
#define MP_PEERS	40	/* slots: the first peers and those added later */
#define MP_SPARE	4	/* clients no peer starts at */
#define MP_CLIENTS	(MP_PEERS + MP_SPARE)
#define MP_CHURN_ID	0x40000000u	/* the churn thread's peer ids */

struct mp_client {
	int fd;
	int family;
	struct sockaddr_storage ss;	/* as the server sees it */
};

struct mp_peer {
	struct fz *z;		/* NULL: free slot */
	uint32_t id;
	int home;		/* the client it started at */
	int addr;		/* the client the kernel finds it at, -1: none */
	int last;		/* the address DTLS_PEER_INFO reports */
	int rx, tx;		/* keys installed */
	int dead;
	struct dtls_cid tx_cid;
};

struct mp_whole {
	const uint8_t *b;
	size_t len;
	uint32_t peer_id;
	int from;
};

struct mp_dg {
	uint8_t *b;
	size_t len;
	int from;		/* client index */
	int to;			/* peer slot whose keys open it, -1: whole */
};

struct mp {
	int kind, fd, cid_run;
	size_t cid_len;		/* every peer's receive CID, or none */
	uint32_t win;
	unsigned long ino;
	struct sockaddr_storage dst4, dst6;	/* the server, for each client family */
	struct mp_client cl[MP_CLIENTS];
	struct mp_peer p[MP_PEERS];
	int np;
	uint32_t next_id;
	const struct opts *o;
	struct mp_dg dg[BATCH_MAX];
	struct mp_whole w[BATCH_MAX];
	int nw, wgot;
	long long whole_total, moves, moves_seen, deletes, adds, keyed_late;
	long long datagrams, errors;
	int batches;
	uint64_t t0;
	long long before[S_N], grew[S_N];
	/* the churn thread */
	pthread_t churn;
	/*
	 * Held by the churn thread for each peer it adds and deletes, and
	 * while /proc/net/dtls is read: a read() that ends inside the file
	 * starts the next one at its line number, and a peer deleted before
	 * that line in between would shift a peer of the model out of sight.
	 */
	pthread_mutex_t churn_lock;
	volatile int churn_stop;
	long long churn_ops;
	char churn_err[160];
	char errmsg[256];
};

static void mp_err(struct mp *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void mp_err(struct mp *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_report(&m->errors, m->errmsg, sizeof(m->errmsg), fmt, ap);
	va_end(ap);
}

static int ss_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

	return x->sin6_port == y->sin6_port &&
	       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
}

static const char *ss_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	int port;

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof(a));
		port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	} else {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof(a));
		port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	}
	snprintf(buf, len, "%s:%d", a, port);
	return buf;
}

/* Client @i: IPv4 on 127.0.0.x, or (IPv6 server) every other one on ::1. */
static int mp_client_open(struct mp *m, int i)
{
	struct mp_client *c = &m->cl[i];
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof(ss);
	int v6 = m->kind == SK_IPV6 && i % 2 == 0;

	c->family = v6 ? AF_INET6 : AF_INET;
	c->fd = socket(c->family, SOCK_DGRAM, IPPROTO_UDP);
	if (c->fd < 0)
		return -1;
	if (v6) {
		struct sockaddr_in6 *s6 = (void *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (void *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(0x7f000001 + i % 7);
		len = sizeof(*s4);
	}
	if (bind(c->fd, (void *)&ss, len))
		return -1;
	len = sizeof(ss);
	if (getsockname(c->fd, (void *)&ss, &len))
		return -1;
	set_sndbuf(c->fd, 4 << 20);
	memset(&c->ss, 0, sizeof(c->ss));
	if (m->kind == SK_IPV6 && !v6) {	/* v4-mapped, as the server sees it */
		struct sockaddr_in6 *s6 = (void *)&c->ss;
		struct sockaddr_in *s4 = (void *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = s4->sin_port;
		s6->sin6_addr.s6_addr[10] = 0xff;
		s6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&s6->sin6_addr.s6_addr[12], &s4->sin_addr, 4);
	} else {
		memcpy(&c->ss, &ss, len);
	}
	return 0;
}

/* The server: unconnected, bound to the wildcard address (v4-mapped too). */
static int mp_server_open(struct mp *m)
{
	struct sockaddr_storage ss = { 0 };
	struct stat st;
	int off = 0, port;

	m->fd = socket(sk_family(m->kind), SOCK_DGRAM, IPPROTO_UDP);
	if (m->fd < 0)
		return -1;
	ss.ss_family = sk_family(m->kind);
	if (m->kind == SK_IPV6 &&
	    setsockopt(m->fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)))
		return -1;
	if (bind(m->fd, (void *)&ss, m->kind == SK_IPV6 ? sizeof(struct sockaddr_in6) :
						       sizeof(struct sockaddr_in)))
		return -1;
	port = sk_port(m->fd);
	sk_addr(SK_IPV4, SK_IPV4, port, &m->dst4);
	sk_addr(SK_IPV6, SK_IPV6, port, &m->dst6);
	set_rcvbuf(m->fd, 8 << 20);
	if (fstat(m->fd, &st))
		return -1;
	m->ino = st.st_ino;
	return 0;
}

/*
 * DTLS_PEER_TX or DTLS_PEER_RX: struct dtls_peer_key, then the
 * crypto_info.  TX from sequence number 1: DTLS 1.3's confidentiality
 * limit (2^23 records for CCM) lies below the window's random start.
 */
static int mp_peer_keys(struct mp *m, const struct mp_peer *p, int opt)
{
	struct {
		struct dtls_peer_key pk;
		uint8_t ci[128];
	} k = { .pk = { .id = p->id } };
	const struct fz *z = p->z;
	struct cinfo ci;

	uint64_t seq = opt == DTLS_PEER_TX ? 1 : z->s0;

	if (z->s13)
		cinfo13_build(&ci, &z->k13, z->epoch, seq);
	else
		cinfo_build(&ci, &z->k, REC_NUM(z->epoch, seq));
	memcpy(k.ci, ci.b, ci.len);
	return setsockopt(m->fd, SOL_DTLS, opt, &k, sizeof(k.pk) + ci.len);
}

static int mp_peer_rx(struct mp *m, struct mp_peer *p)
{
	if (mp_peer_keys(m, p, DTLS_PEER_RX)) {
		mp_err(m, "DTLS_PEER_RX id %u: %s", p->id, strerror(errno));
		return -1;
	}
	p->rx = 1;
	return 0;
}

/* The suites a peer may have: those -c and -V select, DTLS 1.3 but CCM_8 */
static int mp_suite(const struct opts *o, int want13, const struct cdesc **c,
		    const struct cdesc13 **s13);

/* A receive CID of the socket's length that no live peer has */
static void mp_new_cid(struct mp *m, struct fz *z)
{
	int dup;

	z->cid_len = m->cid_len;
	do {
		rnd_bytes(z->cid, z->cid_len);
		dup = 0;
		for (int i = 0; i < m->np; i++) {
			const struct fz *y = m->p[i].z;

			if (!m->p[i].dead && y->cid_len &&
			    !memcmp(y->cid, z->cid, z->cid_len))
				dup = 1;
		}
	} while (dup);
}

/*
 * A new peer in the next slot at client @home's address: DTLS_PEER_NEW,
 * DTLS_PEER_TX, and DTLS_PEER_RX unless @late.  @want13: 1, 0, or -1 for
 * either version.
 */
static int mp_peer_add(struct mp *m, int home, int want13, int late)
{
	struct mp_peer *p = &m->p[m->np];
	struct dtls_peer dp = { 0 };
	const struct cdesc13 *s13;
	const struct cdesc *c;
	char label[64];
	struct fz *z;

	if (m->np >= MP_PEERS ||
	    (mp_suite(m->o, want13, &c, &s13) && mp_suite(m->o, -1, &c, &s13)))
		return -1;
	z = fz_new(c, s13);
	z->cid_run = m->cid_run;
	pick_params(z);
	z->win = m->win;
	if (m->cid_len && chance(75))
		mp_new_cid(m, z);
	memset(p, 0, sizeof(*p));
	p->z = z;
	p->id = m->next_id;
	m->next_id += 1 + rnd(1000);
	snprintf(label, sizeof(label), "fuzz-peer-%u", p->id);
	dkey_derive(&z->k, c, label);
	if (s13 && dkey13_derive(&z->k13, s13, label, z->epoch)) {
		mp_err(m, "dkey13_derive failed");
		return -1;
	}
	p->home = home;
	p->addr = home;
	p->last = home;
	p->tx_cid.len = chance(50) ? rnd(DTLS_CID_MAX_SIZE + 1) : 0;
	rnd_bytes(p->tx_cid.cid, p->tx_cid.len);
	dp.id = p->id;
	memcpy(&dp.addr, &m->cl[home].ss, sizeof(m->cl[home].ss));
	dp.tx_cid = p->tx_cid;
	dp.rx_cid.len = z->cid_len;
	memcpy(dp.rx_cid.cid, z->cid, z->cid_len);
	m->np++;
	if (setsockopt(m->fd, SOL_DTLS, DTLS_PEER_NEW, &dp, sizeof(dp))) {
		mp_err(m, "DTLS_PEER_NEW id %u: %s", p->id, strerror(errno));
		p->dead = 1;
		return -1;
	}
	if (mp_peer_keys(m, p, DTLS_PEER_TX)) {
		mp_err(m, "DTLS_PEER_TX id %u: %s", p->id, strerror(errno));
		return -1;
	}
	p->tx = 1;
	return late ? 0 : mp_peer_rx(m, p);
}

/* The live peer the kernel finds at client @c's address, or -1 */
static int mp_by_addr(const struct mp *m, int c)
{
	for (int i = 0; i < m->np; i++)
		if (!m->p[i].dead && m->p[i].addr == c)
			return i;
	return -1;
}

static int mp_by_cid(const struct mp *m, const uint8_t *cid)
{
	for (int i = 0; i < m->np; i++) {
		const struct fz *z = m->p[i].z;

		if (!m->p[i].dead && z->cid_len && !memcmp(z->cid, cid, z->cid_len))
			return i;
	}
	return -1;
}

/*
 * Which peer's keys open a datagram from client @from (-1: it comes up
 * whole, *@wid the peer_id it carries then), and whether it was found by
 * connection ID.
 *
 * A whole datagram found by connection ID carries that peer's id; one
 * whose connection ID is no peer's, an empty one and any other carry the
 * id of the peer at its source address, or 0 (dtls.rst).
 */
static int mp_route(const struct mp *m, const uint8_t *b, size_t n, int from,
		    uint32_t *wid, int *by_cid)
{
	int at = mp_by_addr(m, from), pi, clear;
	size_t off = 0;

	/* a datagram that comes up whole names the peer at its address */
	*wid = at >= 0 ? m->p[at].id : 0;
	*by_cid = 0;
	if (n && m->cid_len) {
		if (b[0] == TLS12_CID_TYPE)
			off = 11;
		else if ((b[0] & DTLS13_HDR_FIXED_MASK) == DTLS13_HDR_FIXED &&
			 (b[0] & DTLS13_HDR_C))
			off = 1;
	}
	if (off) {
		/* a CID that is no peer's: whole, as from its address */
		pi = n >= off + m->cid_len ? mp_by_cid(m, b + off) : -1;
		if (pi < 0)
			return -1;
		*by_cid = 1;
		*wid = m->p[pi].id;
		return m->p[pi].rx ? pi : -1;
	}
	clear = !n || ((b[0] & DTLS13_HDR_FIXED_MASK) != DTLS13_HDR_FIXED &&
		       (n < 5 || !get_be(b + 3, 2)));
	return at >= 0 && m->p[at].rx && !clear ? at : -1;
}

/* Peer @pi moves to client @c's address; a peer there loses it. */
static void mp_move(struct mp *m, int pi, int c)
{
	int old = mp_by_addr(m, c);

	if (old >= 0)
		m->p[old].addr = -1;
	m->p[pi].addr = c;
	m->p[pi].last = c;
	m->moves++;
}

/*
 * A record of peer @pi that the window took (z->last_id): it moves the
 * peer if it passed, is the newest and came by connection ID from
 * another address than the peer's.
 */
static void mp_took(struct mp *m, int pi, int passed, int newest, int by_cid, int from)
{
	struct fz *z = m->p[pi].z;

	if (passed && newest && by_cid && m->p[pi].addr != from) {
		if (verbose)
			printf("# batch %d: peer %u moves from client %d (last %d) to %d, real id %ld\n",
			       m->batches, m->p[pi].id, m->p[pi].addr, m->p[pi].last, from,
			       z->last_id);
		mp_move(m, pi, from);
		z->reals[z->last_id].moved = 1;
	}
}

/* DTLS 1.3: the model runs record by record, in the order they arrive. */
static void mp_classify13(struct mp *m, int pi, const uint8_t *b, size_t n, int by_cid,
			  int from)
{
	struct fz *z = m->p[pi].z;
	size_t off = 0, used;

	while (off < n) {
		uint64_t next = z->m_next;
		int v;

		z->last_id = -1;
		v = classify13_record(z, b + off, n - off, &used);
		count_verdict(z, v);
		if (z->last_id >= 0)
			mp_took(m, pi, v == V_DELIVER, z->m_next > next, by_cid, from);
		off += used;
	}
}

/*
 * DTLS 1.2: pass 1 as the records arrive, the window's top in z->m_next
 * (records are newest above it); pass 2 counts after the batch.
 */
static void mp_classify12(struct mp *m, int pi, const uint8_t *b, size_t n, int by_cid,
			  int from)
{
	struct fz *z = m->p[pi].z;
	size_t off = 0;

	while (off < n) {
		size_t avail = n - off, hlen;
		unsigned int len;
		int v;

		hlen = avail < DTLS_HDR_LEN ? DTLS_HDR_LEN : hdr12_len(z, b[off]);
		if (avail < hlen || get_be(b + off + hlen - 2, 2) > avail - hlen)
			break;
		len = get_be(b + off + hlen - 2, 2);
		z->last_id = -1;
		v = classify_record(z, b + off, hlen, len, 1);
		if (z->last_id >= 0) {
			uint64_t seq = z->reals[z->last_id].seq;
			int newest = seq >= z->m_next;

			if (newest)
				z->m_next = seq + 1;
			mp_took(m, pi, v == V_DELIVER, newest, by_cid, from);
		}
		off += hlen + len;
	}
}

/* The real records @r0..@r1 of peer @pi were sent from client @from. */
static void mp_src(struct mp *m, int pi, size_t r0, size_t r1, int from)
{
	for (size_t id = r0; id < r1; id++)
		m->p[pi].z->reals[id].src = from;
}

/* Route and model datagram @d, in the order it is sent. */
static void mp_model(struct mp *m, struct mp_dg *d)
{
	uint32_t wid;
	int by_cid;

	d->to = mp_route(m, d->b, d->len, d->from, &wid, &by_cid);
	if (d->to < 0) {
		struct mp_whole *w = &m->w[m->nw++];

		w->b = d->b;
		w->len = d->len;
		w->peer_id = wid;
		w->from = d->from;
		return;
	}
	if (m->p[d->to].z->s13)
		mp_classify13(m, d->to, d->b, d->len, by_cid, d->from);
	else
		mp_classify12(m, d->to, d->b, d->len, by_cid, d->from);
}

static int mp_pick(const struct mp *m, int need_cid)
{
	int tries = 0, i;

	do {
		i = rnd(m->np);
		if (!m->p[i].dead && (!need_cid || (m->p[i].z->cid_len && m->p[i].rx)))
			return i;
	} while (++tries < 200);
	return -1;
}

/* Another client than the peer's own address: a spare one mostly */
static int mp_other(const struct mp *m, int pi)
{
	int c;

	do
		c = chance(70) ? MP_PEERS + rnd(MP_SPARE) : rnd(MP_CLIENTS);
	while (c == m->p[pi].addr);
	return c;
}

/* Where peer @pi sends from: its address, else its home or anywhere */
static int mp_from(const struct mp *m, int pi)
{
	const struct mp_peer *p = &m->p[pi];

	if (p->addr >= 0 && chance(92))
		return p->addr;
	return chance(50) ? p->home : mp_other(m, pi);
}

/* A real record of peer @pi alone: 16-bit number and length in DTLS 1.3 */
static size_t mp_real(struct fz *z, uint8_t *b)
{
	static uint8_t pt[1400];
	size_t ptlen = PAYLOAD_HDR + rnd(600);
	uint64_t seq;

	seq = real_new(z, 23, pt, ptlen);
	if (z->s13)
		return seal13(z, DTLS13_HDR_S | DTLS13_HDR_L, seq, 23, pt, ptlen, 0, b);
	return seal(z, 23, DTLS_1_2_VERSION, z->epoch, seq, pt, ptlen, b);
}

/* A record of peer @pi's keys with peer @qi's connection ID */
static size_t mp_cid_of(struct mp *m, int pi, int qi, uint8_t *b)
{
	struct fz *z = m->p[pi].z, *q = m->p[qi].z;
	uint8_t pt[600];
	size_t ptlen = forged_pt(pt, sizeof(pt));

	if (z->s13)
		return seal13_cid(z, DTLS13_HDR_S | DTLS13_HDR_L, q->cid, q->cid_len,
				  alloc_seq(z), 23, pt, ptlen, 0, b);
	return seal_cid(z, 23, z->epoch, alloc_seq(z), q->cid, q->cid_len, pt, ptlen, 0, b);
}

/* Older after newer: two real records, the newer sent first. */
static int mp_gen_reorder(struct mp *m, int i, int pi)
{
	struct mp_dg *d = &m->dg[i], *e = &m->dg[i + 1];
	struct fz *z = m->p[pi].z;
	size_t r0 = z->nreal;

	e->b = dgbuf + (size_t)(i + 1) * (MAX_DGRAM + 64);
	e->len = mp_real(z, e->b);	/* the older */
	d->len = mp_real(z, d->b);	/* the newer, sent first */
	d->from = m->p[pi].addr >= 0 ? m->p[pi].addr : m->p[pi].home;
	e->from = mp_other(m, pi);
	mp_src(m, pi, r0, r0 + 1, e->from);
	mp_src(m, pi, r0 + 1, r0 + 2, d->from);
	mp_model(m, d);
	mp_model(m, e);
	return 2;
}

/*
 * The next one or two datagrams of the batch, generated and modelled: a
 * peer's hostile mix from its address or another, a float (authentic,
 * forged, replayed, or an older record after a newer one), a record with
 * another peer's connection ID.  Returns how many.
 */
static int mp_gen(struct mp *m, int i, int room)
{
	struct mp_dg *d = &m->dg[i];
	int pi = mp_pick(m, 0), ci = mp_pick(m, 1), k = rnd(100);
	struct fz *z;
	size_t r0;

	d->b = dgbuf + (size_t)i * (MAX_DGRAM + 64);
	if (ci < 0 || k < 78) {			/* the hostile mix */
		k = 0;
	} else if (k < 96) {			/* a float of a peer with a CID */
		pi = ci;
	}
	z = m->p[pi].z;
	r0 = z->nreal;
	if (k == 0) {
		d->from = mp_from(m, pi);
		d->len = gen_dgram(z, d->b);
	} else if (k < 84) {			/* authentic, newest */
		d->from = mp_other(m, pi);
		d->len = mp_real(z, d->b);
	} else if (k < 87) {			/* forged: the tag */
		d->from = mp_other(m, pi);
		d->len = mp_real(z, d->b);
		d->b[d->len - 1] ^= 1 << rnd(8);
	} else if (k < 90) {			/* replayed */
		d->from = mp_other(m, pi);
		d->len = gen_replays(z, d->b);
	} else if (k < 96 && room >= 2) {
		return mp_gen_reorder(m, i, pi);
	} else if (ci == pi) {			/* its own: the hostile mix */
		d->from = mp_from(m, pi);
		d->len = gen_dgram(z, d->b);
	} else {				/* another peer's connection ID */
		d->from = mp_from(m, pi);
		d->len = mp_cid_of(m, pi, ci, d->b);
	}
	mp_src(m, pi, r0, z->nreal, d->from);
	mp_model(m, d);
	return 1;
}

/* ---- the churn thread: other peers added and deleted under traffic ---- */

static void *mp_churn(void *arg)
{
	struct mp *m = arg;
	struct dkey k;
	struct cinfo ci;
	uint32_t n = 0;

	dkey_derive(&k, &cdescs[0], "fuzz-churn");
	cinfo_build(&ci, &k, REC_NUM(1, 1));
	while (!m->churn_stop) {
		struct dtls_peer dp = { .id = MP_CHURN_ID + n };
		struct {
			struct dtls_peer_key pk;
			uint8_t ci[128];
		} key = { .pk = { .id = dp.id } };
		socklen_t len = sizeof(dp);
		uint32_t id = dp.id;
		const char *what;

		/* ports no client has: below 1024 */
		sk_addr(m->kind, m->kind, 100 + n % 800, (void *)&dp.addr);
		memcpy(key.ci, ci.b, ci.len);
		pthread_mutex_lock(&m->churn_lock);
		what = "DTLS_PEER_NEW";
		if (setsockopt(m->fd, SOL_DTLS, DTLS_PEER_NEW, &dp, sizeof(dp)))
			goto err;
		what = "DTLS_PEER_RX";
		if (n % 2 && setsockopt(m->fd, SOL_DTLS, DTLS_PEER_RX, &key,
					sizeof(key.pk) + ci.len))
			goto err;
		what = "DTLS_PEER_INFO";
		if (getsockopt(m->fd, SOL_DTLS, DTLS_PEER_INFO, &dp, &len) ||
		    dp.id != id || dp.flags != (n % 2 ? DTLS_PEER_F_RX : 0))
			goto err;
		what = "DTLS_PEER_DEL";
		if (setsockopt(m->fd, SOL_DTLS, DTLS_PEER_DEL, &id, sizeof(id)))
			goto err;
		pthread_mutex_unlock(&m->churn_lock);
		n++;
		m->churn_ops += 3 + n % 2;
		continue;
err:
		snprintf(m->churn_err, sizeof(m->churn_err), "churn %s id %#x: %s", what, id,
			 strerror(errno));
		pthread_mutex_unlock(&m->churn_lock);
		break;
	}
	return NULL;
}

/* ---- receive ---- */

static struct mp_peer *mp_by_id(struct mp *m, uint32_t id)
{
	for (int i = 0; i < m->np; i++)
		if (m->p[i].id == id)
			return &m->p[i];
	return NULL;
}

static void mp_check_whole(struct mp *m, const uint8_t *buf, const struct delivery *dv,
			   const struct sockaddr_storage *from)
{
	const struct mp_whole *w = &m->w[m->wgot];
	char a[80], b[80];

	if (m->wgot >= m->nw) {
		mp_err(m, "unexpected whole datagram of %zd bytes, peer_id %u from %s",
		       dv->n, dv->info.peer_id, ss_str(from, a, sizeof(a)));
		return;
	}
	m->wgot++;
	m->whole_total++;
	if ((size_t)dv->n != w->len || memcmp(buf, w->b, w->len) ||
	    dv->info.peer_id != w->peer_id || dv->info.rec_num || dv->info.content_type ||
	    dv->info.flags != DTLS_RECORD_F_DATAGRAM || !ss_equal(from, &m->cl[w->from].ss)) {
		mp_err(m, "whole datagram %d of batch %d: %zd bytes (%s) peer_id %u flags %#x type %u from %s; want %zu bytes peer_id %u from %s (first byte %#x)",
		       m->wgot - 1, m->batches, dv->n,
		       (size_t)dv->n == w->len && !memcmp(buf, w->b, w->len) ? "same" : "differ",
		       dv->info.peer_id, dv->info.flags, dv->info.content_type,
		       ss_str(from, a, sizeof(a)), w->len, w->peer_id,
		       ss_str(&m->cl[w->from].ss, b, sizeof(b)), w->len ? w->b[0] : 0);
	}
}

/* A record for a peer: its model checks it; a real one came from its sender. */
static void mp_check_record(struct mp *m, const uint8_t *buf, const struct delivery *dv,
			    const struct sockaddr_storage *from)
{
	struct mp_peer *p = mp_by_id(m, dv->info.peer_id);
	long long e;
	long id;
	char a[80];

	if (!p) {
		mp_err(m, "record for unknown peer_id %u (flags %#x)", dv->info.peer_id,
		       dv->info.flags);
		return;
	}
	e = p->z->errors;
	check_delivery(p->z, buf, dv);
	if (p->z->errors != e) {
		mp_err(m, "peer %u: %s", p->id, p->z->errmsg);
		return;
	}
	id = payload_check(buf, dv->n);
	if ((dv->info.flags & DTLS_RECORD_F_PROTECTED) && id >= 0 &&
	    !ss_equal(from, &m->cl[p->z->reals[id].src].ss))
		mp_err(m, "peer %u record id %ld from %s, sent from client %d", p->id, id,
		       ss_str(from, a, sizeof(a)), p->z->reals[id].src);
	if (dv->info.flags & DTLS_RECORD_F_MOVED)
		m->moves_seen++;
}

static int mp_read(struct mp *m, int timeout_ms)
{
	static uint8_t buf[70000];
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(struct dtls_record_info)) + 256];
	} cbuf;
	struct sockaddr_storage from;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = {
		.msg_name = &from, .msg_namelen = sizeof(from),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.b, .msg_controllen = sizeof(cbuf.b),
	};
	struct delivery dv = { 0 };
	struct cmsghdr *cm;

	if (wait_readable(m->fd, timeout_ms) <= 0)
		return 0;
	dv.n = recvmsg(m->fd, &msg, MSG_DONTWAIT);
	if (dv.n < 0) {
		if (errno != EAGAIN)
			mp_err(m, "recvmsg: %s", strerror(errno));
		return 0;
	}
	dv.msg_flags = msg.msg_flags;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_DTLS && cm->cmsg_type == DTLS_GET_RECORD_TYPE &&
		    cm->cmsg_len == CMSG_LEN(sizeof(dv.info))) {
			memcpy(&dv.info, CMSG_DATA(cm), sizeof(dv.info));
			dv.have_info = 1;
		}
	if (!dv.have_info)
		mp_err(m, "%zd bytes without DTLS_GET_RECORD_TYPE", dv.n);
	else if (dv.info.flags & DTLS_RECORD_F_DATAGRAM)
		mp_check_whole(m, buf, &dv, &from);
	else
		mp_check_record(m, buf, &dv, &from);
	return 1;
}

/* The model's totals over every peer, deleted ones too */
struct mp_sum {
	long long exp_real, got_real, exp_plain, got_plain, bad, def[N_BAD], may[N_BAD];
};

static void mp_sum(const struct mp *m, struct mp_sum *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < m->np; i++) {
		const struct fz *z = m->p[i].z;

		s->exp_real += z->exp_real;
		s->got_real += z->got_real;
		s->exp_plain += z->exp_plain;
		s->got_plain += z->got_plain;
		s->bad += z->bad_total;
		for (int j = 0; j < N_BAD; j++) {
			s->def[j] += z->def[j];
			s->may[j] += z->may[j];
		}
	}
}

static int mp_all_in(const struct mp *m)
{
	struct mp_sum s;

	mp_sum(m, &s);
	return m->wgot >= m->nw && s.got_real >= s.exp_real && s.got_plain >= s.exp_plain;
}

/* Read until all the model expects came (5 s without anything ends it). */
static void mp_await(struct mp *m)
{
	uint64_t last = now_ms();
	struct mp_sum s;

	while (!mp_all_in(m)) {
		if (mp_read(m, 50))
			last = now_ms();
		else if (now_ms() - last > 5000)
			break;
	}
	while (mp_read(m, 0))
		;
	mp_sum(m, &s);
	if (m->wgot != m->nw || s.got_real != s.exp_real || s.got_plain != s.exp_plain)
		mp_err(m, "batch %d: whole datagrams %d/%d, real %lld/%lld, plaintext %lld/%lld",
		       m->batches, m->wgot, m->nw, s.got_real, s.exp_real, s.got_plain,
		       s.exp_plain);
}

/* ---- the batch ---- */

static void mp_send(struct mp *m, int nb)
{
	for (int i = 0; i < nb; i++) {
		const struct mp_client *c = &m->cl[m->dg[i].from];
		const struct sockaddr_storage *dst = c->family == AF_INET ? &m->dst4 : &m->dst6;
		socklen_t len = c->family == AF_INET ? sizeof(struct sockaddr_in) :
						       sizeof(struct sockaddr_in6);

		if (sendto(c->fd, m->dg[i].b, m->dg[i].len, 0, (const void *)dst, len) !=
		    (ssize_t)m->dg[i].len) {
			mp_err(m, "sendto %zu bytes: %s", m->dg[i].len, strerror(errno));
			break;
		}
		m->datagrams++;
	}
}

static void mp_batch(struct mp *m, int nb)
{
	struct dgram one;

	for (int i = 0; i < m->np; i++) {
		m->p[i].z->batch_first = m->p[i].z->nreal;
		m->p[i].z->batch_plain = 0;
	}
	m->nw = 0;
	m->wgot = 0;
	for (int i = 0; i < nb; )
		i += mp_gen(m, i, nb - i);
	/* DTLS 1.2's second pass, and the real records each peer expects */
	for (int i = 0; i < nb; i++)
		if (m->dg[i].to >= 0 && !m->p[m->dg[i].to].z->s13)
			classify_dgram(m->p[m->dg[i].to].z, m->dg[i].b, m->dg[i].len, 2);
	for (int i = 0; i < m->np; i++) {
		struct fz *z = m->p[i].z;

		for (size_t id = z->batch_first; id < z->nreal; id++)
			z->exp_real += z->reals[id].expected && !z->reals[id].bad_inner;
	}
	mp_send(m, nb);
	mp_await(m);
	for (int i = 0; i < m->np; i++) {
		struct fz *z = m->p[i].z;

		advance_window(z);
		for (int j = 0; j < nb && !z->s13; j++) {
			if (m->dg[j].to != i)
				continue;
			one.b = m->dg[j].b;
			one.len = m->dg[j].len;
			capture_batch(z, &one, 1);
		}
	}
	m->batches++;
}

/* ---- the peers as the kernel reports them ---- */

/* DTLS_PEER_INFO of every peer: its address, keys, connection IDs; gone if deleted. */
static void mp_check_info(struct mp *m)
{
	for (int i = 0; i < m->np; i++) {
		const struct mp_peer *p = &m->p[i];
		struct dtls_peer dp = { .id = p->id };
		socklen_t len = sizeof(dp);
		uint32_t flags = (p->tx ? DTLS_PEER_F_TX : 0) | (p->rx ? DTLS_PEER_F_RX : 0);
		char a[80], b[80];
		int r;

		r = getsockopt(m->fd, SOL_DTLS, DTLS_PEER_INFO, &dp, &len);
		if (p->dead) {
			if (r != -1 || errno != ENOENT)
				mp_err(m, "DTLS_PEER_INFO of deleted peer %u: %d (%s)", p->id, r,
				       strerror(errno));
			continue;
		}
		if (r || len != sizeof(dp)) {
			mp_err(m, "DTLS_PEER_INFO %u: %s", p->id, strerror(errno));
			continue;
		}
		if (!ss_equal((void *)&dp.addr, &m->cl[p->last].ss) || dp.flags != flags ||
		    dp.rx_cid.len != p->z->cid_len ||
		    memcmp(dp.rx_cid.cid, p->z->cid, p->z->cid_len) ||
		    dp.tx_cid.len != p->tx_cid.len ||
		    memcmp(dp.tx_cid.cid, p->tx_cid.cid, p->tx_cid.len))
			mp_err(m, "DTLS_PEER_INFO %u: address %s flags %#x rx_cid %u; want %s (%s) flags %#x rx_cid %zu",
			       p->id, ss_str((void *)&dp.addr, a, sizeof(a)), dp.flags,
			       dp.rx_cid.len, ss_str(&m->cl[p->last].ss, b, sizeof(b)),
			       p->addr >= 0 ? "its own" : "lost to another", flags,
			       p->z->cid_len);
	}
}

/*
 * /proc/net/dtls: the line "peer:ID ..." of each live peer of this socket
 * ends "tx_records rx_records - rx_dropped inode".
 */
static void mp_check_proc(struct mp *m)
{
	char line[4096];	/* two 255-byte connection IDs in hex, and the rest */
	FILE *f;
	int seen[MP_PEERS] = { 0 };

	pthread_mutex_lock(&m->churn_lock);
	f = fopen("/proc/net/dtls", "r");
	if (!f) {
		pthread_mutex_unlock(&m->churn_lock);
		mp_err(m, "/proc/net/dtls: %s", strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char *tok[40], *save, *t;
		int n = 0;
		struct mp_peer *p;

		if (strncmp(line, "peer:", 5))
			continue;
		for (t = strtok_r(line, " \n", &save); t && n < 40; t = strtok_r(NULL, " \n", &save))
			tok[n++] = t;
		if (n < 6 || strtoul(tok[n - 1], NULL, 10) != m->ino)
			continue;
		p = mp_by_id(m, strtoul(tok[0] + 5, NULL, 10));
		if (!p) {
			if (strtoul(tok[0] + 5, NULL, 10) < MP_CHURN_ID)
				mp_err(m, "/proc/net/dtls: unknown %s", tok[0]);
			continue;
		}
		seen[p - m->p] = 1;
		if (p->dead) {
			mp_err(m, "/proc/net/dtls: deleted %s", tok[0]);
			continue;
		}
		/* protected records only, as the socket's own rx_records */
		if (atoll(tok[n - 4]) != p->z->exp_real ||
		    atoll(tok[n - 2]) != p->z->bad_total)
			mp_err(m, "/proc/net/dtls %s: rx_records %s rx_dropped %s, want %lld %lld",
			       tok[0], tok[n - 4], tok[n - 2], p->z->exp_real,
			       p->z->bad_total);
	}
	fclose(f);
	pthread_mutex_unlock(&m->churn_lock);
	for (int i = 0; i < m->np; i++)
		if (!m->p[i].dead && !seen[i])
			mp_err(m, "/proc/net/dtls: no line for peer %u", m->p[i].id);
}

/*
 * A send with DTLS_SET_PEER to a random peer with TX keys reaches the
 * client at its address, the one it moved to if it moved: one record,
 * longer than the payload.
 */
static void mp_check_send(struct mp *m)
{
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(uint32_t))];
	} cbuf;
	uint8_t pt[100] = { 0 }, buf[1024];
	struct iovec iov = { pt, sizeof(pt) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.b, .msg_controllen = sizeof(cbuf.b),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	int pi = mp_pick(m, 0), fd;
	ssize_t n;

	if (pi < 0 || !m->p[pi].tx)
		return;
	cm->cmsg_level = SOL_DTLS;
	cm->cmsg_type = DTLS_SET_PEER;
	cm->cmsg_len = CMSG_LEN(sizeof(uint32_t));
	memcpy(CMSG_DATA(cm), &m->p[pi].id, sizeof(uint32_t));
	if (sendmsg(m->fd, &msg, 0) != sizeof(pt)) {
		mp_err(m, "send with DTLS_SET_PEER %u: %s", m->p[pi].id, strerror(errno));
		return;
	}
	fd = m->cl[m->p[pi].last].fd;
	n = wait_readable(fd, 2000) > 0 ? recv(fd, buf, sizeof(buf), MSG_DONTWAIT) : -1;
	if (n <= (ssize_t)sizeof(pt))
		mp_err(m, "send with DTLS_SET_PEER %u: client %d got %zd bytes", m->p[pi].id,
		       m->p[pi].last, n);
}

/* ---- between batches: peers deleted, added, keyed ---- */

static int mp_free_client(const struct mp *m)
{
	for (int tries = 0; tries < 100; tries++) {
		int c = rnd(MP_CLIENTS);

		if (mp_by_addr(m, c) < 0)
			return c;
	}
	return -1;
}

static void mp_peer_ops(struct mp *m)
{
	int alive = 0, i, c;

	for (i = 0; i < m->np; i++)
		alive += !m->p[i].dead;
	if (chance(12) && alive > 4 && (i = mp_pick(m, 0)) >= 0) {
		uint32_t id = m->p[i].id;

		mp_check_proc(m);	/* its counts, before they go */
		if (setsockopt(m->fd, SOL_DTLS, DTLS_PEER_DEL, &id, sizeof(id)))
			mp_err(m, "DTLS_PEER_DEL %u: %s", id, strerror(errno));
		else if (setsockopt(m->fd, SOL_DTLS, DTLS_PEER_DEL, &id, sizeof(id)) != -1 ||
			 errno != ENOENT)
			mp_err(m, "DTLS_PEER_DEL %u twice: not ENOENT", id);
		m->p[i].dead = 1;
		m->p[i].addr = -1;
		m->deletes++;
	}
	if (chance(12) && m->np < MP_PEERS && (c = mp_free_client(m)) >= 0) {
		if (!mp_peer_add(m, c, -1, chance(40)))
			m->adds++;
	}
	for (i = 0; i < m->np; i++)
		if (!m->p[i].dead && !m->p[i].rx && chance(25) && !mp_peer_rx(m, &m->p[i]))
			m->keyed_late++;
	mp_check_info(m);
	mp_check_send(m);
}

/* ---- one run ---- */

static int mp_suite(const struct opts *o, int want13, const struct cdesc **c,
		    const struct cdesc13 **s13)
{
	size_t pick[N_CDESCS + N_CDESCS13], n = 0;

	for (size_t i = 0; i < N_CDESCS + N_CDESCS13; i++) {
		int v13 = i >= N_CDESCS;

		if (!suite_selected(o, i, c, s13) || (want13 >= 0 && v13 != want13) ||
		    (v13 && (*c)->type == DTLS_CIPHER_AES_CCM_8_128))
			continue;	/* 1.3 CCM_8: 2^7 forgeries end its epoch */
		pick[n++] = i;
	}
	if (!n)
		return -1;
	suite_selected(o, pick[rnd(n)], c, s13);
	return 0;
}

/* The counters against the model's totals; 1 if they agree. */
static int mp_check_counters(struct mp *m, const struct mp_sum *s)
{
	const long long *d = m->grew;
	long long bad = 0;
	int ok = 1;

	for (int i = 0; i < N_BAD; i++)
		bad += d[S_DECRYPT + i];
	if (d[S_DROPPED] || d[S_RECORDS] != s->got_real || s->got_real != s->exp_real ||
	    d[S_PLAIN] != s->got_plain || s->got_plain != s->exp_plain ||
	    bad != s->bad) {
		mp_err(m, "DtlsRxRecords +%lld (delivered %lld, model %lld), DtlsRxPlaintext +%lld (%lld, %lld), drops +%lld (model %lld), DtlsRxDropped +%lld",
		       d[S_RECORDS], s->got_real, s->exp_real, d[S_PLAIN], s->got_plain,
		       s->exp_plain, bad, s->bad, d[S_DROPPED]);
		ok = 0;
	}
	for (int i = 0; i < N_BAD; i++) {
		long long a = d[S_DECRYPT + i];

		if (a < s->def[i] || a > s->def[i] + s->may[i]) {
			mp_err(m, "%s: counter +%lld, model %lld..%lld", badname[i], a, s->def[i],
			       s->def[i] + s->may[i]);
			ok = 0;
		}
	}
	return ok;
}

static int mp_setup(struct mp *m, int kind, int cid_run)
{
	static const uint32_t wins[] = { 64, 128, 1024, 4096 };
	int n = 8 + rnd(17);

	m->kind = kind;
	m->cid_run = cid_run;
	m->t0 = now_ms();
	m->next_id = 1 + rnd(100);
	m->win = wins[rnd(4)];
	if (cid_run)
		m->cid_len = chance(25) ? (chance(50) ? 1 : DTLS_CID_MAX_SIZE) :
					  1 + rnd(DTLS_CID_MAX_SIZE);
	for (int i = 0; i < MP_CLIENTS; i++)
		m->cl[i].fd = -1;
	if (mp_server_open(m))
		return -1;
	for (int i = 0; i < MP_CLIENTS; i++)
		if (mp_client_open(m, i))
			return -1;
	if (setsockopt(m->fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &m->win, sizeof(m->win)))
		return -1;
	snap(m->before);
	/* one of each version when both are selected; some without RX keys yet */
	for (int i = 0; i < n; i++)
		if (mp_peer_add(m, i, i < 2 ? i : -1, i >= 2 && chance(15)))
			return -1;
	if (verbose)
		printf("# many peers: %d peers, window %u, cid %zu\n", n, m->win, m->cid_len);
	return 0;
}

static void mp_free(struct mp *m)
{
	for (int i = 0; i < m->np; i++) {
		m->p[i].z->fd = -1;
		fz_free(m->p[i].z);
	}
	for (int i = 0; i < MP_CLIENTS; i++)
		if (m->cl[i].fd >= 0)
			close(m->cl[i].fd);
	if (m->fd >= 0)
		close(m->fd);
	free(m);
}

/*
 * After close(): DtlsCurrRxSw and DtlsCurrTxSw where they were (the
 * socket never had DTLS_RX or DTLS_TX); 1 if so, within a second.
 */
static int mp_gauges_back(const long long *before, char *why, size_t wlen)
{
	long long now[S_N];
	uint64_t end = now_ms() + 1000;

	do {
		snap(now);
		if (now[S_CURR_RX] == before[S_CURR_RX])
			return 1;
		usleep(10000);
	} while (now_ms() < end);
	snprintf(why, wlen, "; DtlsCurrRxSw %lld after close, %lld before", now[S_CURR_RX],
		 before[S_CURR_RX]);
	return 0;
}

static int mp_run(const struct opts *o, int kind, int cid_run, long budget,
		  uint64_t deadline_ms, char *summary, size_t slen)
{
	struct mp *m = calloc(1, sizeof(*m));
	struct mp_sum s;
	long long now[S_N], zerr = 0;
	uint64_t end;
	int ok, churn;

	if (!m)
		exit(2);
	m->o = o;
	m->fd = -1;
	pthread_mutex_init(&m->churn_lock, NULL);
	if (mp_setup(m, kind, cid_run)) {
		snprintf(summary, slen, "setup: %s (%s)", strerror(errno), m->errmsg);
		mp_free(m);
		return 1;
	}
	churn = !pthread_create(&m->churn, NULL, mp_churn, m);
	while (m->datagrams < budget && now_ms() < deadline_ms && !m->errors) {
		int nb = 1 + rnd(BATCH_MAX);

		if (nb > budget - m->datagrams)
			nb = budget - m->datagrams;
		mp_batch(m, nb);
		mp_peer_ops(m);
	}
	m->churn_stop = 1;
	if (churn)
		pthread_join(m->churn, NULL);
	if (m->churn_err[0])
		mp_err(m, "%s", m->churn_err);
	mp_sum(m, &s);
	for (end = now_ms() + 3000;; usleep(10000)) {
		long long bad = 0;

		snap(now);
		for (int i = 0; i < S_N; i++)
			m->grew[i] = now[i] - m->before[i];
		for (int i = 0; i < N_BAD; i++)
			bad += m->grew[S_DECRYPT + i];
		if ((bad >= s.bad && m->grew[S_RECORDS] >= s.exp_real &&
		     m->grew[S_PLAIN] >= s.exp_plain) || now_ms() > end)
			break;
	}
	while (mp_read(m, 100))
		;
	mp_sum(m, &s);
	mp_check_proc(m);
	mp_check_info(m);
	for (int i = 0; i < m->np; i++)
		zerr += m->p[i].z->errors;
	if (zerr)
		mp_err(m, "%lld model errors", zerr);
	ok = mp_check_counters(m, &s) && !m->errors;
	snprintf(summary, slen,
		 "%lld datagrams in %d batches, %.1fs, %d peers (%lld added, %lld deleted, %lld keyed late), cid %zu, window %u: real %lld/%lld, plaintext %lld, whole %lld, bad %lld, moves %lld (seen %lld), churn %lld ops",
		 m->datagrams, m->batches, (now_ms() - m->t0) / 1000.0, m->np, m->adds,
		 m->deletes, m->keyed_late, m->cid_len, m->win, s.got_real, s.exp_real,
		 s.got_plain, m->whole_total, s.bad, m->moves, m->moves_seen, m->churn_ops);
	if (m->moves != m->moves_seen)
		ok = 0;
	memcpy(now, m->before, sizeof(now));
	mp_free(m);
	if (!mp_gauges_back(now, summary + strlen(summary), slen - strlen(summary)))
		ok = 0;
	return ok ? 0 : 1;
}

/* Every (version, cipher, family, connection IDs) the options select, in TAP; returns the failures. */
static int run_all(const struct opts *o, int runs)
{
	static const int kinds[2] = { SK_IPV4, SK_IPV6 };
	uint64_t start = now_ms(), end = start + (uint64_t)(o->seconds * 1000);
	int n = 0, nfail = 0;

	for (size_t si = 0; si < N_SUITES && o->peers != 1; si++) {
		const struct cdesc13 *s13;
		const struct cdesc *c;
		const char *ver;

		if (!suite_selected(o, si, &c, &s13))
			continue;
		ver = s13 ? "dtls13 " : "";
		for (int ri = 0; ri < 4; ri++) {
			int kind = kinds[ri / 2], cid = ri % 2, r;
			const char *cn = cid ? " cid" : "";
			char summary[640];
			uint64_t now = now_ms(), deadline;

			if ((o->only_f == 4 && kind != SK_IPV4) ||
			    (o->only_f == 6 && kind != SK_IPV6) ||
			    (o->only_cid >= 0 && cid != o->only_cid))
				continue;
			/* the time left, shared by the runs left */
			deadline = now + (end > now ? (end - now) / (runs - n) : 0);
			n++;
			r = fuzz_one(c, s13, kind, cid, o->total / runs, deadline, summary,
				     sizeof(summary));
			printf("# %s%s %s%s: %s\n", ver, c->name, family_name(kind), cn, summary);
			if (r)
				nfail++;
			printf("%sok %d fuzz %s%s %s%s\n", r ? "not " : "", n, ver, c->name,
			       family_name(kind), cn);
		}
	}
	for (int ri = 0; ri < 4 && o->peers != 0; ri++) {
		int kind = kinds[ri / 2], cid = ri % 2, r;
		uint64_t now = now_ms(), deadline;
		char summary[640];

		if ((o->only_f == 4 && kind != SK_IPV4) || (o->only_f == 6 && kind != SK_IPV6) ||
		    (o->only_cid >= 0 && cid != o->only_cid))
			continue;
		deadline = now + (end > now ? (end - now) / (runs - n) : 0);
		n++;
		r = mp_run(o, kind, cid, o->total / runs, deadline, summary, sizeof(summary));
		printf("# many peers %s%s: %s\n", family_name(kind), cid ? " cid" : "", summary);
		nfail += !!r;
		printf("%sok %d fuzz many peers %s%s\n", r ? "not " : "", n, family_name(kind),
		       cid ? " cid" : "");
	}
	printf("# total %.1fs, seed %llu\n", (now_ms() - start) / 1000.0,
	       (unsigned long long)o->seed);
	printf("%d passed, %d failed\n", n - nfail, nfail);
	return nfail;
}

int main(int argc, char **argv)
{
	struct opts o;
	int runs;

	parse_opts(argc, argv, &o);
	rng.s = o.seed ? o.seed : 1;
	setvbuf(stdout, NULL, _IOLBF, 0);

	dgbuf = malloc((size_t)BATCH_MAX * (MAX_DGRAM + 64));
	if (!dgbuf)
		return 2;
	runs = 0;
	for (size_t si = 0; si < N_SUITES && o.peers != 1; si++) {
		const struct cdesc13 *s13;
		const struct cdesc *c;

		runs += suite_selected(&o, si, &c, &s13) ? suite_runs(&o) : 0;
	}
	if (o.peers != 0)
		runs += suite_runs(&o);	/* many peers: families x with/without CIDs */
	printf("TAP version 13\n1..%d\n", runs);
	printf("# seed %llu (rerun: dtls_fuzz -s %llu -n %ld -t %g)\n",
	       (unsigned long long)o.seed, (unsigned long long)o.seed, o.total, o.seconds);
	if (unshare(CLONE_NEWNET) == 0 && lo_up() == 0)
		printf("# running in a private network namespace\n");
	else
		printf("# no private network namespace (%s): counters are shared\n",
		       strerror(errno));
	if (dstat("DtlsRxRecords") < 0) {
		printf("# %s not readable: is dtls.ko loaded?\n", DSTAT_FILE);
		for (int i = 1; i <= runs; i++)
			printf("not ok %d setup\n", i);
		printf("0 passed, %d failed\n", runs);
		return 1;
	}
	return run_all(&o, runs) ? 1 : 0;
}
