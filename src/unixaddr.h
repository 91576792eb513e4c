/*
 * unixaddr.h - the sockaddr_un of a unix socket address, as Juju's agent
 * and Pebble name them: a path, or "@name" for Linux's abstract namespace.
 * Pure C: no lua.h. Shared by agent.c and http.c.
 */
#ifndef DISPATCH_UNIXADDR_H
#define DISPATCH_UNIXADDR_H

#include <sys/socket.h>
#include <sys/un.h>

enum unixaddr_status {
    UNIXADDR_OK = 0,
    UNIXADDR_EMPTY,      /* NULL or "" */
    UNIXADDR_TOO_LONG    /* more than sun_path holds */
};

/* Fill sa and len for address. A path keeps its NUL (len counts it); an
 * abstract name is a leading NUL and exactly the name's bytes. */
enum unixaddr_status unixaddr_make(const char *address, struct sockaddr_un *sa, socklen_t *len);

#endif
