/*
 * fdio.h - whole writes to a file descriptor. Pure C: no lua.h.
 */
#ifndef DISPATCH_FDIO_H
#define DISPATCH_FDIO_H

#include <stddef.h>

/* Write all n bytes of p to fd, again after a short write or EINTR.
 * 0, or -1 with errno set by write(2). */
int fd_write_all(int fd, const void *p, size_t n);

#endif
