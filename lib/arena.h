/* Laying out a tree of objects in one allocation, in two passes over the same code: the
 * first (base NULL) only adds up the size, the second fills a block of that size. */
#ifndef DNSVIGIL_ARENA_H
#define DNSVIGIL_ARENA_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct arena {
	uint8_t *base; /* NULL: measuring */
	size_t used;
};

/* n bytes of the block, a copy of src unless src is NULL; NULL while measuring. */
static inline void *arena_take(struct arena *a, const void *src, size_t n)
{
	void *dst = a->base ? a->base + a->used : NULL;

	if (dst && src && n)
		memcpy(dst, src, n);
	a->used += (n + 7) & ~(size_t)7; /* every piece 8-byte aligned */
	return dst;
}

static inline const char *arena_str(struct arena *a, const char *s)
{
	return s ? arena_take(a, s, strlen(s) + 1) : NULL;
}

/* n strings and the array of them; NULL while measuring. */
static inline const char **arena_strs(struct arena *a, const char *const *src, size_t n)
{
	const char **dst = arena_take(a, NULL, n * sizeof(*dst));

	for (size_t i = 0; i < n; i++) {
		const char *s = arena_str(a, src[i]);

		if (dst)
			dst[i] = s;
	}
	return dst;
}

#endif
