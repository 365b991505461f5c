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

/* Folds n bytes into h, eight at a time. Chain calls to hash several fields, then
 * hash_finish() the result. */
static inline uint64_t hash_bytes(uint64_t h, const void *data, size_t n)
{
	const uint8_t *p = data;
	uint64_t word;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&word, p, 8);
		h = (h ^ word) * HASH_MULTIPLIER;
		h ^= h >> 29;
	}
	word = 0;
	memcpy(&word, p, n);
	h = (h ^ word ^ ((uint64_t)n << 56)) * HASH_MULTIPLIER;
	return h ^ (h >> 29);
}

#endif
