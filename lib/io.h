/* Small I/O helpers: whole writes, whole reads. */
#ifndef DNSVIGIL_IO_H
#define DNSVIGIL_IO_H

#include <stddef.h>

#include "json.h"

/* Writes all n bytes to fd, through short writes and EINTR. 0, or a negative errno (-EIO when
 * the file takes nothing). */
int io_write_all(int fd, const void *buf, size_t n);

/* Appends what fd holds, up to its end, to b, through EINTR; b grows only once full, so a
 * caller that reserved the file's size (and one byte for the end) reads it without a
 * copy. 0; -EFBIG when that is more than max bytes; -ENOMEM; or a negative errno. */
int io_read_all(int fd, struct jbuf *b, size_t max);

#endif
