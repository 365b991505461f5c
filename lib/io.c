#include "io.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

int io_write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		p += k;
		n -= k;
	}
	return 0;
}

int io_read_all(int fd, struct jbuf *b, size_t max)
{
	size_t start = b->len;

	for (;;) {
		ssize_t n;

		if (b->len == b->cap && !jbuf_reserve(b, 1 << 16))
			return -ENOMEM;
		n = read(fd, b->p + b->len, b->cap - b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		b->len += (size_t)n;
		if (b->len - start > max)
			return -EFBIG;
	}
}
