/* Small I/O helpers every output shares. */
#ifndef DNSVIGIL_IO_H
#define DNSVIGIL_IO_H

#include <stddef.h>

/* Writes all n bytes to fd, through short writes and EINTR. 0, or a negative errno (-EIO when
 * the file takes nothing). */
int io_write_all(int fd, const void *buf, size_t n);

#endif
