// SPDX-License-Identifier: GPL-2.0
/*
 * aead_bench: time one kernel AEAD on one CPU, the way the DTLS record
 * layer uses it: in-place encryption of one record with a 13-byte AAD and a
 * fresh nonce per record.  The work runs at load time, in the context of
 * the process that loads the module (pin it with taskset).
 *
 *   taskset -c 1 insmod aead_bench.ko alg='gcm(aes)' keylen=16 authsize=16 \
 *           size=1200 msecs=1000 sync=1
 *   cat /sys/module/aead_bench/parameters/result
 *   rmmod aead_bench
 *
 * sync=1 asks for a synchronous implementation
 * (crypto_alloc_aead(alg, 0, CRYPTO_ALG_ASYNC)), as kernel/cipher.c does;
 * sync=0 takes the best one (crypto_alloc_aead(alg, 0, 0)) and waits for
 * each request with crypto_wait_req().  The result names the driver chosen.
 * ccm(aes) gets the 16-byte CCM IV (iv[0] = 2, then the 12-byte nonce).
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/random.h>
#include <linux/scatterlist.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <crypto/aead.h>

#include "../bench_mark.h"

#define AB_AAD_LEN	13
#define AB_MAX_SIZE	16384
#define AB_BATCH	64

static char *alg = "gcm(aes)";
module_param(alg, charp, 0444);
MODULE_PARM_DESC(alg, "AEAD template, e.g. gcm(aes), rfc7539(chacha20,poly1305), ccm(aes)");

static uint keylen = 16;
module_param(keylen, uint, 0444);
MODULE_PARM_DESC(keylen, "key length in bytes");

static uint authsize = 16;
module_param(authsize, uint, 0444);
MODULE_PARM_DESC(authsize, "tag length in bytes");

static uint size = 1200;
module_param(size, uint, 0444);
MODULE_PARM_DESC(size, "plaintext bytes per record");

static uint msecs = 1000;
module_param(msecs, uint, 0444);
MODULE_PARM_DESC(msecs, "how long to encrypt records");

static bool sync = true;
module_param(sync, bool, 0444);
MODULE_PARM_DESC(sync, "synchronous implementations only (CRYPTO_ALG_ASYNC mask)");

static char result[256];
module_param_string(result, result, sizeof(result), 0444);
MODULE_PARM_DESC(result, "outcome of the run (read-only)");

/* nonce for record @seq: salt || seq (GCM), iv ^ seq (ChaCha), CCM IV */
static void ab_nonce(u8 *iv, unsigned int ivsize, const u8 *salt, u64 seq)
{
	__be64 be = cpu_to_be64(seq);
	unsigned int i;

	memset(iv, 0, ivsize);
	if (ivsize == 16) {		/* ccm: flags byte L' = 2, nonce */
		iv[0] = 2;
		memcpy(iv + 1, salt, 4);
		memcpy(iv + 5, &be, 8);
	} else if (!strncmp(alg, "rfc7539", 7)) {
		memcpy(iv, salt, ivsize);
		for (i = 0; i < 8; i++)
			iv[4 + i] ^= ((u8 *)&be)[i];
	} else {
		memcpy(iv, salt, 4);
		memcpy(iv + 4, &be, 8);
	}
}

static int ab_run(void)
{
	u8 key[32], salt[12], iv[16];
	struct aead_request *req;
	struct crypto_aead *tfm;
	struct scatterlist sg;
	unsigned int ivsize;
	u64 n = 0, t0, t1, deadline, ns;
	DECLARE_CRYPTO_WAIT(wait);
	u8 *buf;
	int err, i;

	if (keylen > sizeof(key) || !size || size > AB_MAX_SIZE)
		return -EINVAL;
	tfm = crypto_alloc_aead(alg, 0, sync ? CRYPTO_ALG_ASYNC : 0);
	if (IS_ERR(tfm)) {
		pr_err("aead_bench: %s: %ld\n", alg, PTR_ERR(tfm));
		return PTR_ERR(tfm);
	}
	ivsize = crypto_aead_ivsize(tfm);
	err = -EINVAL;
	if (ivsize != 12 && ivsize != 16)
		goto out_tfm;
	get_random_bytes(key, sizeof(key));
	get_random_bytes(salt, sizeof(salt));
	err = crypto_aead_setkey(tfm, key, keylen);
	if (!err)
		err = crypto_aead_setauthsize(tfm, authsize);
	if (err)
		goto out_tfm;
	err = -ENOMEM;
	buf = kzalloc(AB_AAD_LEN + size + authsize, GFP_KERNEL);
	if (!buf)
		goto out_tfm;
	req = aead_request_alloc(tfm, GFP_KERNEL);
	if (!req)
		goto out_buf;
	aead_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG |
				  CRYPTO_TFM_REQ_MAY_SLEEP, crypto_req_done,
				  &wait);
	sg_init_one(&sg, buf, AB_AAD_LEN + size + authsize);

	BENCH_MARK();	/* instruction counts, under tools/qemu-insns */
	t0 = ktime_get_ns();
	deadline = t0 + (u64)msecs * NSEC_PER_MSEC;
	err = 0;
	do {
		for (i = 0; i < AB_BATCH && !err; i++, n++) {
			__be64 be = cpu_to_be64(n);

			/* AAD: seq, type, version, length */
			memcpy(buf, &be, 8);
			buf[8] = 23;
			buf[9] = 0xfe;
			buf[10] = 0xfd;
			buf[11] = size >> 8;
			buf[12] = size & 0xff;
			ab_nonce(iv, ivsize, salt, n);
			aead_request_set_crypt(req, &sg, &sg, size, iv);
			aead_request_set_ad(req, AB_AAD_LEN);
			err = crypto_wait_req(crypto_aead_encrypt(req), &wait);
		}
		t1 = ktime_get_ns();
		cond_resched();
	} while (!err && t1 < deadline);
	BENCH_MARK();
	if (err) {
		pr_err("aead_bench: %s encrypt: %d\n", alg, err);
		goto out_req;
	}

	ns = t1 - t0;
	snprintf(result, sizeof(result),
		 "alg=%s driver=%s sync=%d size=%u records=%llu ns=%llu ns_per_record=%llu records_per_s=%llu MBps=%llu\n",
		 alg, crypto_tfm_alg_driver_name(crypto_aead_tfm(tfm)),
		 sync, size, n, ns, div64_u64(ns, n),
		 div64_u64(n * NSEC_PER_SEC, ns),
		 div64_u64(n * size * 1000, ns));
	pr_info("aead_bench: %s", result);
out_req:
	aead_request_free(req);
out_buf:
	kfree(buf);
out_tfm:
	crypto_free_aead(tfm);
	return err;
}

static int __init aead_bench_init(void)
{
	return ab_run();
}

static void __exit aead_bench_exit(void)
{
}

module_init(aead_bench_init);
module_exit(aead_bench_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Time one kernel AEAD the way kernel DTLS uses it");
