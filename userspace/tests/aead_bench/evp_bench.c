// SPDX-License-Identifier: GPL-2.0
/*
 * evp_bench: OpenSSL EVP seal of one DTLS record, timed on one CPU.
 *
 *   evp_bench aes128gcm|chacha20|aes128ccm8 SIZE MSECS
 *
 * Per record, as OpenSSL's DTLS record layer does: a fresh nonce (salt ||
 * 8-byte explicit nonce for GCM and CCM_8, iv ^ seq for ChaCha20-Poly1305),
 * a 13-byte AAD, the plaintext, the tag; output is explicit nonce ||
 * ciphertext || tag.  Prints one "EVP ..." line with ns per record.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "../bench_mark.h"

#define AAD_LEN 13
#define MAX_SIZE 16384

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void fail(const char *what)
{
	fprintf(stderr, "evp_bench: %s failed\n", what);
	exit(1);
}

int main(int argc, char **argv)
{
	const EVP_CIPHER *cipher;
	unsigned char key[32], salt[12], iv[12], aad[AAD_LEN], tag[16];
	unsigned char *in, *out;
	unsigned int size, msecs, taglen = 16, i;
	int ccm = 0, chacha = 0, l;
	uint64_t n = 0, t0, t1, deadline;
	EVP_CIPHER_CTX *ctx;

	if (argc != 4) {
		fprintf(stderr, "usage: evp_bench aes128gcm|chacha20|aes128ccm8 SIZE MSECS\n");
		return 2;
	}
	size = strtoul(argv[2], NULL, 0);
	msecs = strtoul(argv[3], NULL, 0);
	if (!size || size > MAX_SIZE)
		fail("size check");
	if (!strcmp(argv[1], "aes128gcm")) {
		cipher = EVP_aes_128_gcm();
	} else if (!strcmp(argv[1], "chacha20")) {
		cipher = EVP_chacha20_poly1305();
		chacha = 1;
	} else if (!strcmp(argv[1], "aes128ccm8")) {
		cipher = EVP_aes_128_ccm();
		ccm = 1;
		taglen = 8;
	} else {
		fprintf(stderr, "evp_bench: unknown cipher %s\n", argv[1]);
		return 2;
	}
	in = calloc(1, size);
	out = malloc(8 + size + 16);
	ctx = EVP_CIPHER_CTX_new();
	if (!in || !out || !ctx)
		fail("allocation");
	if (RAND_bytes(key, sizeof(key)) != 1 || RAND_bytes(salt, sizeof(salt)) != 1)
		fail("RAND_bytes");
	if (EVP_EncryptInit_ex(ctx, cipher, NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1)
		fail("cipher setup");
	if (ccm && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, taglen, NULL) != 1)
		fail("CCM tag length");
	if (EVP_EncryptInit_ex(ctx, NULL, NULL, key, NULL) != 1)
		fail("key setup");

	BENCH_MARK();	/* instruction counts, under tools/qemu-insns */
	t0 = now_ns();
	deadline = t0 + (uint64_t)msecs * 1000000ULL;
	do {
		for (i = 0; i < 64; i++, n++) {
			unsigned char seq[8];
			int k;

			for (k = 0; k < 8; k++)
				seq[k] = (unsigned char)(n >> (56 - 8 * k));
			if (chacha) {
				memcpy(iv, salt, 12);
				for (k = 0; k < 8; k++)
					iv[4 + k] ^= seq[k];
			} else {
				memcpy(iv, salt, 4);
				memcpy(iv + 4, seq, 8);
				memcpy(out, seq, 8);	/* explicit nonce */
			}
			memcpy(aad, seq, 8);
			aad[8] = 23;
			aad[9] = 0xfe;
			aad[10] = 0xfd;
			aad[11] = size >> 8;
			aad[12] = size & 0xff;
			if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, iv) != 1)
				fail("EVP_EncryptInit_ex");
			if (ccm && EVP_EncryptUpdate(ctx, NULL, &l, NULL, size) != 1)
				fail("CCM length");
			if (EVP_EncryptUpdate(ctx, NULL, &l, aad, AAD_LEN) != 1 ||
			    EVP_EncryptUpdate(ctx, out + (chacha ? 0 : 8), &l, in, size) != 1 ||
			    EVP_EncryptFinal_ex(ctx, out + size, &l) != 1 ||
			    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, taglen, tag) != 1)
				fail("seal");
		}
		t1 = now_ns();
	} while (t1 < deadline);
	BENCH_MARK();
	printf("EVP alg=%s size=%u records=%llu ns=%llu ns_per_record=%llu records_per_s=%llu MBps=%llu\n",
	       argv[1], size, (unsigned long long)n,
	       (unsigned long long)(t1 - t0),
	       (unsigned long long)((t1 - t0) / n),
	       (unsigned long long)(n * 1000000000ULL / (t1 - t0)),
	       (unsigned long long)(n * size * 1000ULL / (t1 - t0)));
	EVP_CIPHER_CTX_free(ctx);
	free(in);
	free(out);
	return 0;
}
