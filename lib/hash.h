/* Hashing for the agent's in-memory tables. Keys hold names, addresses and ids that come
 * from the network: every table hashes with a random seed of its own (hash_seed()), so a
 * sender cannot choose keys that all land in one chain. */
#ifndef DNSVIGIL_HASH_H
#define DNSVIGIL_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define HASH_MULTIPLIER 0x9e3779b97f4a7c15ull

/* A random 64-bit seed (getrandom; the clock and pid if that fails). */
uint64_t hash_seed(void);

/* Final avalanche (MurmurHash3's fmix64): every input bit reaches every output bit. */
static inline uint64_t hash_finish(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

static inline uint64_t hash__word(uint64_t h, uint64_t word)
{
	h = (h ^ word) * HASH_MULTIPLIER;
	return h ^ (h >> 29);
}

/* Folds n bytes into h, eight at a time. Chain calls to hash several fields, then
 * hash_finish() the result. */
static inline uint64_t hash_bytes(uint64_t h, const void *data, size_t n)
{
	const uint8_t *p = data;
	uint64_t word;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&word, p, 8);
		h = hash__word(h, word);
	}
	word = 0;
	memcpy(&word, p, n);
	return hash__word(h, word ^ ((uint64_t)n << 56));
}

/* hash_bytes(h, data, n) for data that may be read up to 7 bytes past n (a padded buffer):
 * the last word is loaded whole and masked rather than copied byte by byte, which would
 * make the load wait for the byte stores (no store forwarding) on every call. */
static inline uint64_t hash_bytes_padded(uint64_t h, const void *data, size_t n)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint8_t *p = data;
	uint64_t word;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&word, p, 8);
		h = hash__word(h, word);
	}
	memcpy(&word, p, 8);
	word &= n ? ~0ull >> (64 - 8 * n) : 0; /* the low n bytes */
	return hash__word(h, word ^ ((uint64_t)n << 56));
#else
	return hash_bytes(h, data, n);
#endif
}

#endif
