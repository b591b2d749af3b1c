// SPDX-License-Identifier: GPL-2.0
/*
 * Anti-replay window (RFC 6347 4.1.2.6) kept as a ring of bitmap words
 * (RFC 6479): advancing the window clears whole words, never shifts.
 *
 * The window covers the @size sequence numbers below @next.  The ring has
 * at least size + BITS_PER_LONG bits so that the oldest word still holds
 * every number inside the window.  dtls_replay_check() is a lockless hint
 * used before decryption; dtls_replay_update() is the authoritative check,
 * made only after the record was authenticated.
 */

#include <linux/bitmap.h>
#include <linux/log2.h>
#include <linux/slab.h>

#include "dtls.h"

int dtls_replay_init(struct dtls_replay *r, u32 size, u64 next)
{
	unsigned int words = roundup_pow_of_two(size + BITS_PER_LONG) /
			     BITS_PER_LONG;
	u64 s;

	r->bitmap = kcalloc(words, sizeof(unsigned long), DTLS_GFP_SOCK);
	if (!r->bitmap)
		return -ENOMEM;

	spin_lock_init(&r->lock);
	r->size = size;
	r->mask = words - 1;
	r->next = next;

	/*
	 * Everything below @next counts as received: userspace accepted
	 * those records before handing the association over.  Mark the
	 * whole ring, then clear the rest of the word that holds next - 1.
	 */
	if (next) {
		bitmap_fill(r->bitmap, words * BITS_PER_LONG);
		for (s = next; s % BITS_PER_LONG; s++)
			__clear_bit(s & (words * BITS_PER_LONG - 1), r->bitmap);
	}
	return 0;
}

void dtls_replay_free(struct dtls_replay *r)
{
	kfree(r->bitmap);
	r->bitmap = NULL;
}

static unsigned int dtls_replay_bit(const struct dtls_replay *r, u64 seq)
{
	return seq & ((u64)(r->mask + 1) * BITS_PER_LONG - 1);
}

bool dtls_replay_check(const struct dtls_replay *r, u64 seq)
{
	u64 next = READ_ONCE(r->next);

	if (seq >= next)
		return true;
	if (next - seq > r->size)
		return false;
	return !test_bit(dtls_replay_bit(r, seq), r->bitmap);
}

bool dtls_replay_update(struct dtls_replay *r, u64 seq, bool *newest)
{
	bool fresh = true;

	*newest = false;
	spin_lock_bh(&r->lock);
	if (seq >= r->next) {
		u64 top = seq / BITS_PER_LONG;
		u64 word = r->next ? (r->next - 1) / BITS_PER_LONG + 1 : top;
		u64 clear = min_t(u64, top - word + 1, r->mask + 1);

		/* Words newly covered by the window start out empty. */
		if (word <= top)
			for (; clear; clear--, word++)
				r->bitmap[word & r->mask] = 0;
		WRITE_ONCE(r->next, seq + 1);
		*newest = true;
	} else if (r->next - seq > r->size) {
		fresh = false;
		goto out;
	}
	fresh = !__test_and_set_bit(dtls_replay_bit(r, seq), r->bitmap);
out:
	spin_unlock_bh(&r->lock);
	return fresh;
}

u64 dtls_replay_next(const struct dtls_replay *r)
{
	return READ_ONCE(r->next);
}
