/*
 * pebble-stub.c - a tiny stand-in for Pebble's socket, for the busted specs
 * of juju.pebble.io (tests/unit/pebble_io_spec.lua).
 *
 *   pebble-stub SOCKET_PATH
 *
 * Listens on SOCKET_PATH, prints "ready" on stdout, then serves one
 * connection at a time:
 *
 *   /v1/tasks/ID/websocket/control  accepted and kept open
 *   /v1/tasks/ID/websocket/stdio    accepted; stdin echoed back upper-cased,
 *                                   then {"command":"end"}; both sockets closed
 *   /v1/tasks/hang/websocket/stdio  accepted, never ends (the client's timeout)
 *   /slow                           never answered (the client's timeout)
 *   /v1/tasks/noanswer/...          never answered (a websocket that does not open)
 *   /chunked                        a chunked body "hello, world"
 *   /exit                           answered, then the stub exits
 *   anything else                   200, the request echoed: X-Method,
 *                                   X-Target, X-Multi twice, X-Seen-<header>
 *                                   for Content-Type and Accept, the body back
 *
 * It exits by itself after 60 s.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "outcome.h"
#include "websocket.h"

static void put(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        c += w;
        n -= (size_t)w;
    }
}

static void puts_fd(int fd, const char *s)
{
    put(fd, s, strlen(s));
}

/* Read a request head and its Content-Length body into b; the head's end
 * offset in *head. 0, or -1 at EOF. */
static int read_request(int fd, bytebuf *b, size_t *head, size_t *body_len)
{
    char tmp[65536];
    char *end = NULL;
    while (end == NULL) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        bytebuf_append(b, tmp, (size_t)n);
        end = strstr(b->data, "\r\n\r\n");
    }
    *head = (size_t)(end - b->data) + 4;
    const char *cl = strcasestr(b->data, "\r\nContent-Length:");
    *body_len = cl != NULL && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
    while (b->len < *head + *body_len) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        bytebuf_append(b, tmp, (size_t)n);
    }
    return 0;
}

/* The value of a request header, copied into out ("" when absent). */
static void header(const bytebuf *b, size_t head, const char *name, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\r\n%s:", name);
    const char *p = strcasestr(b->data, pat);
    out[0] = '\0';
    if (p == NULL || p >= b->data + head)
        return;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    const char *e = strstr(p, "\r\n");
    size_t n = (size_t)(e - p) < cap - 1 ? (size_t)(e - p) : cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

static void upgrade(int fd, const bytebuf *b, size_t head)
{
    char key[64], accept[WS_ACCEPT_LEN + 1], resp[256];
    header(b, head, "Sec-WebSocket-Key", key, sizeof key);
    ws_accept_for(key, accept);
    snprintf(resp, sizeof resp, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
    puts_fd(fd, resp);
}

static void send_frame(int fd, int opcode, const void *p, size_t n)
{
    bytebuf f = {0};
    ws_frame_put(&f, opcode, 1, p, n, NULL);
    put(fd, f.data, f.len);
    bytebuf_free(&f);
}

/* stdin back upper-cased, until the client's end; then ours. */
static void echo_exec(int fd, int hang)
{
    ws_decoder d;
    ws_decoder_init(&d, 1 << 24, 1);
    int done = 0;
    char tmp[65536];
    while (!done) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size_t off = 0;
        while (off < (size_t)n) {
            size_t used;
            struct ws_event ev;
            char err[200];
            int rc = ws_decode(&d, (unsigned char *)tmp + off, (size_t)n - off, &used, &ev, err,
                               sizeof err);
            off += used;
            if (rc <= 0) {
                if (rc < 0)
                    done = 1;
                break;
            }
            if (ev.opcode == WS_BINARY) {
                char *up = malloc(ev.len + 1);
                for (size_t i = 0; i < ev.len; i++)
                    up[i] = (ev.data[i] >= 'a' && ev.data[i] <= 'z') ? (char)(ev.data[i] - 32)
                                                                   : (char)ev.data[i];
                send_frame(fd, WS_BINARY, up, ev.len);
                free(up);
            } else if (ev.opcode == WS_TEXT) {
                done = 1;
                break;
            }
        }
    }
    if (hang) {
        /* wait for the client's SIGKILL on control, or its close */
        while (read(fd, tmp, sizeof tmp) > 0)
            ;
    } else {
        send_frame(fd, WS_TEXT, "{\"command\":\"end\"}", 17);
        while (read(fd, tmp, sizeof tmp) > 0)
            ;
    }
    ws_decoder_free(&d);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: pebble-stub SOCKET_PATH\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    alarm(60);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(argv[1]) >= sizeof sa.sun_path)
        return 2;
    strcpy(sa.sun_path, argv[1]);
    unlink(argv[1]);
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 8) != 0) {
        perror("pebble-stub");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    int control = -1;
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        bytebuf b = {0};
        size_t head, body_len;
        if (read_request(fd, &b, &head, &body_len) != 0) {
            close(fd);
            bytebuf_free(&b);
            continue;
        }
        char method[16] = "", target[256] = "";
        sscanf(b.data, "%15s %255s", method, target);
        int exit_after = strcmp(target, "/exit") == 0;
        if (strcmp(target, "/slow") == 0 || strncmp(target, "/v1/tasks/noanswer/", 19) == 0) {
            char tmp[4096];
            while (read(fd, tmp, sizeof tmp) > 0)
                ;
        } else if (strncmp(target, "/v1/tasks/", 10) == 0 && strstr(target, "/websocket/control")) {
            upgrade(fd, &b, head);
            if (control >= 0)
                close(control);
            control = fd;
            fd = -1;
        } else if (strncmp(target, "/v1/tasks/", 10) == 0 && strstr(target, "/websocket/stdio")) {
            upgrade(fd, &b, head);
            echo_exec(fd, strstr(target, "/hang/") != NULL);
            if (control >= 0)
                close(control);
            control = -1;
        } else if (strcmp(target, "/chunked") == 0) {
            puts_fd(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "5;x=y\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n");
        } else {
            char ct[128], accept[128], resp[1024];
            header(&b, head, "Content-Type", ct, sizeof ct);
            header(&b, head, "Accept", accept, sizeof accept);
            snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nX-Method: %s\r\nX-Target: %s\r\n"
                     "X-Multi: a\r\nx-multi: b\r\nX-Seen-Content-Type: %s\r\nX-Seen-Accept: %s\r\n"
                     "Content-Length: %zu\r\n\r\n", method, target, ct, accept, body_len);
            puts_fd(fd, resp);
            put(fd, b.data + head, body_len);
        }
        bytebuf_free(&b);
        if (fd >= 0)
            close(fd);
        if (exit_after)
            return 0;
    }
}
