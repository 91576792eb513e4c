/* unixaddr.c - the sockaddr_un of a unix socket address (see unixaddr.h). */
#include "unixaddr.h"

#include <stddef.h>
#include <string.h>

enum unixaddr_status unixaddr_make(const char *address, struct sockaddr_un *sa, socklen_t *len)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    size_t n = address != NULL ? strlen(address) : 0;
    if (n == 0)
        return UNIXADDR_EMPTY;
    if (address[0] == '@') {
        /* abstract: a leading NUL, then the name; the length is exact, no NUL */
        if (n > sizeof sa->sun_path)
            return UNIXADDR_TOO_LONG;
        memcpy(sa->sun_path + 1, address + 1, n - 1);
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        if (n >= sizeof sa->sun_path)
            return UNIXADDR_TOO_LONG;
        memcpy(sa->sun_path, address, n);
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    return UNIXADDR_OK;
}
