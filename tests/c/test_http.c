/*
 * test_http.c - the HTTP client (src/http.c) against forked servers on
 * real unix sockets (tests/c/httpserver.h): what the request carries, and
 * responses by Content-Length, chunked (extensions, trailers), until the
 * close, none (204, 304, HEAD), large, slow, interim 1xx; and the failures,
 * each with its kind and message: the deadline (a server that never
 * answers, one that never accepts), refused and missing sockets, malformed
 * status lines, headers and chunks, truncated chunks, huge length claims,
 * endless chunks, oversized headers, a server that closes mid-body. The
 * incremental reader is also fed every response split at every byte.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctest.h"
#include "http.h"
#include "httpserver.h"
#include "testutil.h"

#define MIB (1024u * 1024)

static const char *canned;     /* what the canned server answers */
static size_t canned_len;
static int canned_slow;        /* bytes at a time, 1 ms apart; 0: at once */
static int canned_then_wait;   /* keep the connection open after answering */

static void sc_canned(int lfd)
{
    int fd = hs_accept(lfd);
    struct hs_req r;
    EXPECT(hs_read_request(fd, &r) == 0);
    if (canned_slow)
        hs_write_slowly(fd, canned, (size_t)canned_slow, 1);
    else
        hs_write_n(fd, canned, canned_len ? canned_len : strlen(canned));
    if (canned_then_wait)
        hs_drain_until_eof(fd);
    close(fd);
    hs_req_free(&r);
}

/* One GET against a server that answers text; the client's result. */
static int get_canned(const char *text, struct http_response *resp, net_error *e,
                      const struct http_limits *lim)
{
    canned = text;
    struct hs_server s;
    hs_start(&s, sc_canned);
    struct http_request req = {.method = "GET", .target = "/v1/system-info"};
    int rc = http_do(s.path, &req, lim, net_deadline_after(5), resp, e);
    CHECK_EQ_INT(hs_finish(&s), 0);
    canned_len = 0;
    return rc;
}

/* ---------------------------------------------------------------- good responses */

static void sc_check_request(int lfd)
{
    int fd = hs_accept(lfd);
    struct hs_req r;
    EXPECT(hs_read_request(fd, &r) == 0);
    EXPECT(strncmp(r.head.data, "POST /v1/services?x=1 HTTP/1.1\r\n", 32) == 0);
    char v[128];
    EXPECT(hs_header(&r, "Host", v, sizeof v) && strcmp(v, "localhost") == 0);
    EXPECT(hs_header(&r, "Connection", v, sizeof v) && strcmp(v, "close") == 0);
    EXPECT(hs_header(&r, "Content-Type", v, sizeof v) && strcmp(v, "application/json") == 0);
    EXPECT(hs_header(&r, "Content-Length", v, sizeof v) && strcmp(v, "18") == 0);
    EXPECT(r.body.len == 18 && memcmp(r.body.data, "{\"action\":\"start\"}", 18) == 0);
    hs_write(fd, "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nX-Multi: a\r\n"
                 "x-multi: b\r\nX-MULTI:  c  \r\nContent-Length: 14\r\n\r\n{\"change\":\"4\"}");
    close(fd);
    hs_req_free(&r);
}

TEST(request_and_content_length)
{
    struct hs_server s;
    hs_start(&s, sc_check_request);
    const char *headers[] = {"Content-Type", "application/json"};
    struct http_request req = {.method = "POST", .target = "/v1/services?x=1", .headers = headers,
                               .nheaders = 1, .body = "{\"action\":\"start\"}", .body_len = 18};
    struct http_response resp = {0};
    net_error e;
    CHECK_EQ_INT(http_do(s.path, &req, NULL, net_deadline_after(5), &resp, &e), 0);
    CHECK_EQ_INT(hs_finish(&s), 0);
    CHECK_EQ_INT(resp.status, 202);
    CHECK_EQ_STR(http_response_header(&resp, "content-type"), "application/json");
    CHECK_EQ_STR(http_response_header(&resp, "Content-Type"), "application/json");
    CHECK_EQ_STR(http_response_header(&resp, "x-multi"), "a, b, c");
    CHECK_EQ_INT(resp.nheaders, 3);
    CHECK_EQ_STR(resp.headers[0].name, "content-type");
    CHECK_EQ_MEM(resp.body.data, resp.body.len, "{\"change\":\"4\"}", 14);
    http_response_free(&resp);
}

static const char CHUNKED[] =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
    "5;name=value;other=\"quoted\"\r\nhello\r\n"
    "1\r\n \r\n"
    "A\r\n0123456789\r\n"
    "0\r\nX-Trailer: after\r\nX-Another: one\r\n\r\n";

TEST(chunked_with_extensions_and_trailers)
{
    struct http_response resp = {0};
    net_error e;
    CHECK_EQ_INT(get_canned(CHUNKED, &resp, &e, NULL), 0);
    CHECK_EQ_INT(resp.status, 200);
    CHECK_EQ_MEM(resp.body.data, resp.body.len, "hello 0123456789", 16);
    CHECK_EQ_STR(http_response_header(&resp, "content-type"), "text/plain");
    CHECK(http_response_header(&resp, "x-trailer") == NULL);  /* trailers are read past */
    http_response_free(&resp);
    /* the connection stays open after the last chunk: the client does not wait for the close */
    canned_then_wait = 1;
    CHECK_EQ_INT(get_canned(CHUNKED, &resp, &e, NULL), 0);
    CHECK_EQ_INT(resp.body.len, 16);
    canned_then_wait = 0;
    http_response_free(&resp);
}

TEST(body_until_close)
{
    struct http_response resp = {0};
    net_error e;
    CHECK_EQ_INT(get_canned("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it, until the end",
                            &resp, &e, NULL), 0);
    CHECK_EQ_STR(resp.body.data, "all of it, until the end");
    http_response_free(&resp);
    CHECK_EQ_INT(get_canned("HTTP/1.0 200 OK\r\n\r\n", &resp, &e, NULL), 0);
    CHECK_EQ_INT(resp.body.len, 0);
    http_response_free(&resp);
}

TEST(no_body_for_204_304_and_1xx)
{
    struct http_response resp = {0};
    net_error e;
    canned_then_wait = 1; /* nothing but the status says the response is over */
    CHECK_EQ_INT(get_canned("HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n", &resp, &e, NULL), 0);
    CHECK_EQ_INT(resp.status, 204);
    CHECK_EQ_INT(resp.body.len, 0);
    http_response_free(&resp);
    CHECK_EQ_INT(get_canned("HTTP/1.1 304 Not Modified\r\nContent-Length: 1000\r\n\r\n", &resp, &e,
                            NULL), 0);
    CHECK_EQ_INT(resp.status, 304);
    CHECK_EQ_INT(resp.body.len, 0);
    http_response_free(&resp);
    CHECK_EQ_INT(get_canned("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n"
                            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", &resp, &e, NULL), 0);
    CHECK_EQ_INT(resp.status, 200);
    CHECK(http_response_header(&resp, "link") == NULL);
    CHECK_EQ_STR(resp.body.data, "ok");
    http_response_free(&resp);
    canned_then_wait = 0;
}

static void sc_head(int lfd)
{
    int fd = hs_accept(lfd);
    struct hs_req r;
    EXPECT(hs_read_request(fd, &r) == 0);
    EXPECT(strncmp(r.head.data, "HEAD / HTTP/1.1", 15) == 0);
    hs_write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n");
    hs_drain_until_eof(fd);
    close(fd);
    hs_req_free(&r);
}

TEST(head_has_no_body)
{
    struct hs_server s;
    hs_start(&s, sc_head);
    struct http_request req = {.method = "HEAD", .target = "/"};
    struct http_response resp = {0};
    net_error e;
    CHECK_EQ_INT(http_do(s.path, &req, NULL, net_deadline_after(5), &resp, &e), 0);
    CHECK_EQ_INT(hs_finish(&s), 0);
    CHECK_EQ_INT(resp.status, 200);
    CHECK_EQ_INT(resp.body.len, 0);
    http_response_free(&resp);
}

static void sc_large(int lfd)
{
    for (int round = 0; round < 2; round++) {
        int fd = hs_accept(lfd);
        struct hs_req r;
        EXPECT(hs_read_request(fd, &r) == 0);
        EXPECT(r.body.len == 3 * MIB);
        for (size_t i = 0; i < r.body.len; i++)
            EXPECT((unsigned char)r.body.data[i] == (unsigned char)(i * 31));
        char *body = malloc(8 * MIB);
        for (size_t i = 0; i < 8 * MIB; i++)
            body[i] = (char)(i % 251);
        if (round == 0) {
            char head[128];
            snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n", 8 * MIB);
            hs_write(fd, head);
            hs_write_n(fd, body, 8 * MIB);
        } else {
            hs_write(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            for (size_t off = 0; off < 8 * MIB; off += 100000) {
                size_t n = 8 * MIB - off < 100000 ? 8 * MIB - off : 100000;
                char size[32];
                snprintf(size, sizeof size, "%zx\r\n", n);
                hs_write(fd, size);
                hs_write_n(fd, body + off, n);
                hs_write(fd, "\r\n");
            }
            hs_write(fd, "0\r\n\r\n");
        }
        free(body);
        close(fd);
        hs_req_free(&r);
    }
}

TEST(large_bodies_both_ways)
{
    struct hs_server s;
    hs_start(&s, sc_large);
    char *up = malloc(3 * MIB);
    for (size_t i = 0; i < 3 * MIB; i++)
        up[i] = (char)(i * 31);
    for (int round = 0; round < 2; round++) {
        struct http_request req = {.method = "PUT", .target = "/big", .body = up, .body_len = 3 * MIB};
        struct http_response resp = {0};
        net_error e;
        CHECK_EQ_INT(http_do(s.path, &req, NULL, net_deadline_after(20), &resp, &e), 0);
        CHECK_EQ_INT(resp.body.len, 8 * MIB);
        int same = resp.body.len == 8 * MIB;
        for (size_t i = 0; same && i < resp.body.len; i++)
            same = resp.body.data[i] == (char)(i % 251);
        CHECK(same);
        http_response_free(&resp);
    }
    free(up);
    CHECK_EQ_INT(hs_finish(&s), 0);
}

TEST(slow_server)
{
    struct http_response resp = {0};
    net_error e;
    canned_slow = 3;
    CHECK_EQ_INT(get_canned(CHUNKED, &resp, &e, NULL), 0);
    CHECK_EQ_MEM(resp.body.data, resp.body.len, "hello 0123456789", 16);
    http_response_free(&resp);
    canned_slow = 1;
    CHECK_EQ_INT(get_canned("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Long-Header: "
                            "abcdefghijklmnopqrstuvwxyz\r\n\r\nfive!", &resp, &e, NULL), 0);
    CHECK_EQ_STR(http_response_header(&resp, "x-long-header"), "abcdefghijklmnopqrstuvwxyz");
    CHECK_EQ_STR(resp.body.data, "five!");
    http_response_free(&resp);
    canned_slow = 0;
}

/* ---------------------------------------------------------------- failures */

static void sc_never_answers(int lfd)
{
    int fd = hs_accept(lfd);
    hs_drain_until_eof(fd);
    close(fd);
}

static void sc_never_accepts(int lfd)
{
    (void)lfd;
    pause();
}

TEST(deadline)
{
    struct hs_server s;
    struct http_request req = {.method = "GET", .target = "/v1/changes/1/wait"};
    struct http_response resp = {0};
    net_error e;
    hs_start(&s, sc_never_answers);
    int64_t t0 = net_now_ms();
    CHECK_EQ_INT(http_do(s.path, &req, NULL, net_deadline_after(0.3), &resp, &e), -1);
    int64_t took = net_now_ms() - t0;
    CHECK(took >= 290 && took < 2000);
    CHECK_EQ_INT(e.kind, NET_TIMEOUT);
    char want[256];
    snprintf(want, sizeof want, "timed out waiting for the response from %s", s.path);
    CHECK_EQ_STR(e.message, want);
    CHECK_EQ_INT(hs_finish(&s), 0); /* it saw us close */
    http_response_free(&resp);

    /* never accepted: the request sits in the socket; the wait for the answer times out */
    hs_start(&s, sc_never_accepts);
    t0 = net_now_ms();
    CHECK_EQ_INT(http_do(s.path, &req, NULL, net_deadline_after(0.2), &resp, &e), -1);
    CHECK_EQ_INT(e.kind, NET_TIMEOUT);
    CHECK(net_now_ms() - t0 < 2000);
    hs_kill(&s);
    http_response_free(&resp);
}

TEST(refused_and_missing_sockets)
{
    struct http_request req = {.method = "GET", .target = "/v1/system-info"};
    struct http_response resp = {0};
    net_error e;
    CHECK_EQ_INT(http_do("/nonexistent/dispatch/pebble.socket", &req, NULL, net_deadline_after(1),
                         &resp, &e), -1);
    CHECK_EQ_INT(e.kind, NET_CONNECT);
    CHECK_EQ_STR(e.message, "cannot connect to /nonexistent/dispatch/pebble.socket: No such file "
                            "or directory");
    /* a socket file nobody listens on */
    char dir[PATH_MAX], path[PATH_MAX + 32];
    CHECK_EQ_INT(make_tmpdir(dir, sizeof dir, "dispatch-http"), 0);
    snprintf(path, sizeof path, "%s/dead.socket", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    CHECK(strlen(path) < sizeof sa.sun_path);
    memcpy(sa.sun_path, path, strlen(path) + 1 < sizeof sa.sun_path ? strlen(path) + 1 : 0);
    CHECK_EQ_INT(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd);
    CHECK_EQ_INT(http_do(path, &req, NULL, net_deadline_after(1), &resp, &e), -1);
    CHECK_EQ_INT(e.kind, NET_CONNECT);
    CHECK(strstr(e.message, "Connection refused") != NULL);
    /* not a socket */
    snprintf(path, sizeof path, "%s/file", dir);
    write_file(path, "x", 1, 0644);
    CHECK_EQ_INT(http_do(path, &req, NULL, net_deadline_after(1), &resp, &e), -1);
    CHECK_EQ_INT(e.kind, NET_CONNECT);
    CHECK(strstr(e.message, "Connection refused") != NULL);
    remove_tree(dir);
    /* too long for a sockaddr_un */
    char longp[200];
    memset(longp, 'a', sizeof longp - 1);
    longp[0] = '/';
    longp[sizeof longp - 1] = '\0';
    CHECK_EQ_INT(http_do(longp, &req, NULL, net_deadline_after(1), &resp, &e), -1);
    CHECK_EQ_INT(e.kind, NET_CONNECT);
    CHECK(strstr(e.message, "the path is too long") != NULL);
    http_response_free(&resp);
}

/* A canned answer that must fail with kind and a message holding what. */
static void fails(const char *text, enum net_kind kind, const char *what, const struct http_limits *lim)
{
    struct http_response resp = {0};
    net_error e;
    CHECK_EQ_INT(get_canned(text, &resp, &e, lim), -1);
    CHECK_EQ_INT(e.kind, kind);
    if (strstr(e.message, what) == NULL)
        fprintf(stderr, "  expected \"%s\" in \"%s\"\n", what, e.message);
    CHECK(strstr(e.message, what) != NULL);
    CHECK(strstr(e.message, "/tmp/dispatch-http-") != NULL); /* names the socket */
    http_response_free(&resp);
}

TEST(malformed_responses)
{
    fails("HTTP/1.1 abc OK\r\n\r\n", NET_PROTOCOL, "malformed HTTP response from", NULL);
    fails("HTTP/1.1 abc OK\r\n\r\n", NET_PROTOCOL, "HPE_INVALID_STATUS", NULL);
    fails("FOO 200 OK\r\n\r\n", NET_PROTOCOL, "HPE_INVALID_CONSTANT", NULL);
    fails("HTTP/1.1 2 OK\r\nContent-Length: 0\r\n\r\n", NET_PROTOCOL,
          "the status code 2 is not three digits", NULL); /* found by fuzz_http */
    fails("HTTP/1.1 200 OK\r\nBad Header\r\n\r\n", NET_PROTOCOL, "HPE_INVALID_HEADER_TOKEN", NULL);
    fails("HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n", NET_PROTOCOL, "HPE_INVALID_CONTENT_LENGTH", NULL);
    fails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", NET_PROTOCOL,
          "HPE_INVALID_CHUNK_SIZE", NULL);
    fails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n", NET_PROTOCOL,
          "malformed HTTP response", NULL); /* no CRLF after the data */
    fails("", NET_IO, "the server closed the connection before a whole response (0 bytes of headers)", NULL);
    fails("HTTP/1.1 200 OK\r\nContent-Le", NET_IO, "before a whole response", NULL);
}

TEST(truncated_and_cut_short)
{
    fails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", NET_IO,
          "the server closed the connection in the middle of the body (3 bytes in)", NULL);
    fails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", NET_IO,
          "in the middle of the body (5 bytes in)", NULL);
    fails("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..", NET_IO,
          "in the middle of the body (10 bytes in)", NULL);
}

TEST(limits)
{
    struct http_limits lim = {.max_header = 1024, .max_body = MIB};
    fails("HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", NET_PROTOCOL,
          "claims a body of 99999999999 bytes, more than the limit of 1048576", &lim);
    fails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffff\r\n", NET_PROTOCOL,
          "chunks add up to more than the limit of 1048576 bytes", &lim);
    /* endless chunks, each small: refused at the limit, not at the end */
    size_t n = 2 * MIB;
    char *endless = malloc(n + 1);
    size_t off = (size_t)sprintf(endless, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    while (off + 1010 < n)
        off += (size_t)sprintf(endless + off, "3e8\r\n%01000d\r\n", 0);
    endless[off] = '\0';
    fails(endless, NET_PROTOCOL, "chunks add up to more than the limit", &lim);
    free(endless);
    /* close-delimited, past the limit */
    char *big = malloc(MIB + 200);
    off = (size_t)sprintf(big, "HTTP/1.1 200 OK\r\n\r\n");
    memset(big + off, 'x', MIB + 10);
    big[off + MIB + 10] = '\0';
    fails(big, NET_PROTOCOL, "the response body is longer than the limit of 1048576 bytes", &lim);
    /* headers past the limit */
    off = (size_t)sprintf(big, "HTTP/1.1 200 OK\r\nX-Big: ");
    memset(big + off, 'h', 2000);
    strcpy(big + off + 2000, "\r\n\r\n");
    fails(big, NET_PROTOCOL, "the status line and headers are longer than 1024 bytes", &lim);
    /* and the defaults: 64 KiB of headers */
    off = (size_t)sprintf(big, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < 2000; i++)
        off += (size_t)sprintf(big + off, "X-H%d: %040d\r\n", i, i);
    strcpy(big + off, "\r\n");
    fails(big, NET_PROTOCOL, "longer than 65536 bytes", NULL);
    free(big);
}

TEST(invalid_requests_are_not_sent)
{
    struct http_response resp = {0};
    net_error e;
    const char *bad_headers[][2] = {
        {"Host", "x"}, {"content-length", "1"}, {"Connection", "keep-alive"},
        {"Transfer-Encoding", "chunked"}, {"Bad Name", "x"}, {"X", "a\r\nInjected: 1"}, {"", "x"},
    };
    for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
        struct http_request req = {.method = "GET", .target = "/", .headers = bad_headers[i],
                                   .nheaders = 1};
        CHECK(http_request_invalid(&req, 0) != NULL);
        CHECK_EQ_INT(http_do("/nonexistent/x", &req, NULL, NET_NO_DEADLINE, &resp, &e), -1);
        CHECK_EQ_INT(e.kind, NET_PROTOCOL);
    }
    struct http_request req = {.method = "GET", .target = "/a b"};
    CHECK_EQ_STR(http_request_invalid(&req, 0), "the target holds a space or a control character");
    req.target = "v1/x";
    CHECK_EQ_STR(http_request_invalid(&req, 0), "the target does not start with '/'");
    req.target = "/";
    req.method = "GE(T";
    CHECK_EQ_STR(http_request_invalid(&req, 0), "the method is not an HTTP token");
    /* what a good request looks like on the wire */
    const char *h[] = {"Accept", "application/json"};
    struct http_request ok = {.method = "POST", .target = "/v1/x", .headers = h, .nheaders = 1,
                              .body = "", .body_len = 0};
    bytebuf b = {0};
    CHECK_EQ_INT(http_format_request(&b, &ok, 0), 0);
    CHECK_EQ_STR(b.data, "POST /v1/x HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
                         "Content-Length: 0\r\nConnection: close\r\n\r\n");
    bytebuf_free(&b);
    http_response_free(&resp);
}

/* ---------------------------------------------------------------- the reader alone */

/* The reader fed text cut at one place: 1, 0 or -1, body in resp. */
static int read_cut(const char *text, size_t n, size_t cut, struct http_response *resp)
{
    http_reader *r = http_reader_new(resp, NULL);
    size_t used;
    int v = http_reader_feed(r, text, cut, &used);
    if (v == 0)
        v = http_reader_feed(r, text + cut, n - cut, &used);
    if (v == 0)
        v = http_reader_eof(r);
    http_reader_free(r);
    return v;
}

TEST(reader_split_at_every_byte)
{
    const char *texts[] = {
        CHUNKED,
        "HTTP/1.1 200 OK\r\nContent-Length: 16\r\nX-A: b\r\n\r\nhello 0123456789",
        "HTTP/1.1 200 OK\r\n\r\nhello 0123456789",
    };
    for (size_t t = 0; t < 3; t++) {
        size_t n = strlen(texts[t]);
        int bad = 0;
        for (size_t cut = 0; cut <= n; cut++) {
            struct http_response resp = {0};
            int v = read_cut(texts[t], n, cut, &resp);
            if (v != 1 || resp.status != 200 || resp.body.len != 16 ||
                memcmp(resp.body.data, "hello 0123456789", 16) != 0)
                bad++;
            http_response_free(&resp);
        }
        CHECK_EQ_INT(bad, 0);
    }
}

TEST(reader_leaves_what_follows_a_101)
{
    const char text[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\n\r\n\x81\x02hi";
    struct http_response resp = {0};
    http_reader *r = http_reader_new(&resp, NULL);
    size_t used;
    CHECK_EQ_INT(http_reader_feed(r, text, sizeof text - 1, &used), 1);
    CHECK_EQ_INT(resp.status, 101);
    CHECK_EQ_INT(sizeof text - 1 - used, 4);
    http_reader_free(r);
    http_response_free(&resp);
}

/* A deadline is never reached early: net_now_ms truncates to the
 * millisecond, so a deadline made from it could fire up to 1 ms before
 * the time asked for (a 300 ms connect timeout gave up at 299.7 ms; the
 * websockets' 300 ms open bound at 299.8 ms). Both ways of making one. */
TEST(a_deadline_waits_at_least_the_time_asked)
{
    int p[2];
    CHECK(pipe(p) == 0);
    int early = 0;
    for (int i = 0; i < 60; i++) {
        double seconds = 0.002;
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        int64_t deadline = i % 2 ? net_deadline_after(seconds) : net_deadline_after_ms(2);
        /* most of the time goes on other work first, as a request's
         * connect and handshake do, then the last wait */
        struct timespec busy = {0, 1200000};
        nanosleep(&busy, NULL);
        int r = net_wait(p[0], POLLIN, deadline);
        clock_gettime(CLOCK_MONOTONIC, &b);
        double took = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
        CHECK_EQ_INT(r, 0);   /* nothing to read: it timed out */
        if (took < seconds)
            early++;
    }
    CHECK_EQ_INT(early, 0);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    int fds = count_fds();
    RUN(a_deadline_waits_at_least_the_time_asked);
    RUN(request_and_content_length);
    RUN(chunked_with_extensions_and_trailers);
    RUN(body_until_close);
    RUN(no_body_for_204_304_and_1xx);
    RUN(head_has_no_body);
    RUN(large_bodies_both_ways);
    RUN(slow_server);
    RUN(deadline);
    RUN(refused_and_missing_sockets);
    RUN(malformed_responses);
    RUN(truncated_and_cut_short);
    RUN(limits);
    RUN(invalid_requests_are_not_sent);
    RUN(reader_split_at_every_byte);
    RUN(reader_leaves_what_follows_a_101);
    int after = count_fds();
    CHECK_EQ_INT(after, fds);
    if (after != fds)
        fprintf(stderr, "FAIL: %d fds open before, %d after\n", fds, after);
    return ctest_summary();
}
