/*
 * test_websocket.c - SHA-1 and base64 against published vectors, and the
 * websocket client (src/websocket.c): the handshake values of RFC 6455,
 * frames as RFC 6455 §5.7 writes them, the decoder fed at every split,
 * pings inside fragmented messages, every refused frame, and the opening
 * handshake against forked servers on real unix sockets (good, a wrong
 * accept, no 101, no Upgrade, missing socket, a server that never answers).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "ctest.h"
#include "httpserver.h"
#include "sha1.h"
#include "testutil.h"
#include "websocket.h"

static void hex(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void sha1_hex(const void *p, size_t n, char out[41])
{
    unsigned char d[SHA1_DIGEST_LEN];
    sha1(p, n, d);
    hex(d, sizeof d, out);
}

/* ---------------------------------------------------------------- sha1, base64 */

TEST(sha1_vectors)
{
    char h[41];
    sha1_hex("", 0, h);
    CHECK_EQ_STR(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    sha1_hex("abc", 3, h);
    CHECK_EQ_STR(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha1_hex(two, strlen(two), h);
    CHECK_EQ_STR(h, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    const char *four = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                       "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    sha1_hex(four, strlen(four), h);
    CHECK_EQ_STR(h, "a49b2446a02c645bf419f995b67091253a04a259");
    char *million = malloc(1000000);
    memset(million, 'a', 1000000);
    sha1_hex(million, 1000000, h);
    CHECK_EQ_STR(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    free(million);
}

TEST(sha1_in_pieces_is_sha1_at_once)
{
    unsigned char data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7 + 3);
    for (size_t n = 0; n <= sizeof data; n += 13) {
        unsigned char whole[SHA1_DIGEST_LEN];
        sha1(data, n, whole);
        for (size_t cut = 0; cut <= n; cut++) {
            sha1_ctx c;
            unsigned char d[SHA1_DIGEST_LEN];
            sha1_init(&c);
            sha1_update(&c, data, cut);
            sha1_update(&c, data + cut, n - cut);
            sha1_final(&c, d);
            CHECK(memcmp(d, whole, sizeof d) == 0);
        }
    }
}

TEST(base64_vectors)
{
    static const char *const v[][2] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char out[16];
        size_t n = base64_encode(v[i][0], strlen(v[i][0]), out);
        CHECK_EQ_STR(out, v[i][1]);
        CHECK_EQ_INT(n, BASE64_LEN(strlen(v[i][0])));
        unsigned char back[16];
        long m = base64_decode(v[i][1], strlen(v[i][1]), back);
        CHECK_EQ_MEM(back, m, v[i][0], strlen(v[i][0]));
    }
    unsigned char all[256], back[256];
    char text[BASE64_LEN(256) + 1];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    base64_encode(all, 256, text);
    CHECK_EQ_INT(base64_decode(text, strlen(text), back), 256);
    CHECK(memcmp(all, back, 256) == 0);
    unsigned char junk[16];
    CHECK_EQ_INT(base64_decode("Zg=", 3, junk), -1);      /* bad length */
    CHECK_EQ_INT(base64_decode("Z!==", 4, junk), -1);     /* bad character */
    CHECK_EQ_INT(base64_decode("Zh==", 4, junk), -1);     /* bits in the padding */
    CHECK_EQ_INT(base64_decode("Zm9=Zm9v", 8, junk), -1); /* padding inside */
}

/* ---------------------------------------------------------------- handshake values */

TEST(accept_of_rfc6455_example)
{
    char accept[WS_ACCEPT_LEN + 1];
    ws_accept_for("dGhlIHNhbXBsZSBub25jZQ==", accept);
    CHECK_EQ_STR(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(keys_are_random_16_bytes)
{
    char a[WS_KEY_LEN + 1], b[WS_KEY_LEN + 1];
    unsigned char raw[24];
    CHECK_EQ_INT(ws_make_key(a), 0);
    CHECK_EQ_INT(ws_make_key(b), 0);
    CHECK_EQ_INT(strlen(a), WS_KEY_LEN);
    CHECK_EQ_INT(base64_decode(a, strlen(a), raw), 16);
    CHECK(strcmp(a, b) != 0);
}

/* ---------------------------------------------------------------- frames out */

TEST(frames_as_rfc6455_writes_them)
{
    bytebuf b = {0};
    CHECK_EQ_INT(ws_frame_put(&b, WS_TEXT, 1, "Hello", 5, NULL), 0);
    CHECK_EQ_MEM(b.data, b.len, "\x81\x05Hello", 7);
    b.len = 0;
    static const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    ws_frame_put(&b, WS_TEXT, 1, "Hello", 5, mask);
    CHECK_EQ_MEM(b.data, b.len, "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
    b.len = 0;
    ws_frame_put(&b, WS_TEXT, 0, "Hel", 3, NULL);
    ws_frame_put(&b, WS_CONTINUATION, 1, "lo", 2, NULL);
    CHECK_EQ_MEM(b.data, b.len, "\x01\x03Hel\x80\x02lo", 9);
    b.len = 0;
    unsigned char big[65536] = {0};
    ws_frame_put(&b, WS_BINARY, 1, big, 256, NULL);
    CHECK_EQ_MEM(b.data, 4, "\x82\x7e\x01\x00", 4);
    CHECK_EQ_INT(b.len, 4 + 256);
    b.len = 0;
    ws_frame_put(&b, WS_BINARY, 1, big, 65536, NULL);
    CHECK_EQ_MEM(b.data, 10, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    CHECK_EQ_INT(b.len, 10 + 65536);
    b.len = 0;
    ws_frame_put(&b, WS_BINARY, 1, big, 125, NULL);
    CHECK_EQ_MEM(b.data, 2, "\x82\x7d", 2);
    b.len = 0;
    ws_frame_put(&b, WS_BINARY, 1, big, 126, NULL);
    CHECK_EQ_MEM(b.data, 4, "\x82\x7e\x00\x7e", 4);
    /* a client frame: masked with a fresh mask, and the server side reads it back */
    b.len = 0;
    CHECK_EQ_INT(ws_frame_put_client(&b, WS_BINARY, "payload", 7), 0);
    CHECK_EQ_INT((unsigned char)b.data[1], 0x80 | 7);
    ws_decoder d;
    ws_decoder_init(&d, 1024, 1);
    size_t used;
    struct ws_event ev;
    char err[200];
    CHECK_EQ_INT(ws_decode(&d, (unsigned char *)b.data, b.len, &used, &ev, err, sizeof err), 1);
    CHECK_EQ_INT(ev.opcode, WS_BINARY);
    CHECK_EQ_MEM(ev.data, ev.len, "payload", 7);
    ws_decoder_free(&d);
    bytebuf_free(&b);
}

/* ---------------------------------------------------------------- the decoder */

/* Events of a stream, as "T:text B:len P:data p:data C:code:reason" joined
 * by spaces; the stream fed in pieces cut at the given offsets. */
static int decode_cut(const bytebuf *s, const size_t *cuts, size_t ncuts, char *out, size_t cap,
                      int server)
{
    ws_decoder d;
    ws_decoder_init(&d, 1 << 20, server);
    out[0] = '\0';
    size_t start = 0;
    int rc = 0;
    for (size_t k = 0; k <= ncuts && rc >= 0; k++) {
        size_t end = k < ncuts ? cuts[k] : s->len;
        size_t off = start;
        while (off < end) {
            size_t used;
            struct ws_event ev;
            char err[200];
            rc = ws_decode(&d, (unsigned char *)s->data + off, end - off, &used, &ev, err, sizeof err);
            off += used;
            if (rc < 0) {
                snprintf(out + strlen(out), cap - strlen(out), "E:%s", err);
                break;
            }
            if (rc == 0)
                break;
            size_t o = strlen(out);
            if (ev.opcode == WS_BINARY)
                snprintf(out + o, cap - o, "B:%zu ", ev.len);
            else if (ev.opcode == WS_CLOSE)
                snprintf(out + o, cap - o, "C:%d:%.*s ", ev.close_code, (int)ev.len, ev.data);
            else
                snprintf(out + o, cap - o, "%c:%.*s ", ev.opcode == WS_TEXT ? 'T' : ev.opcode == WS_PING ? 'P' : 'p',
                         (int)ev.len, ev.data);
        }
        start = end;
    }
    ws_decoder_free(&d);
    return rc < 0 ? -1 : 0;
}

static bytebuf server_stream(void)
{
    bytebuf s = {0};
    static unsigned char big[70000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (unsigned char)i;
    ws_frame_put(&s, WS_TEXT, 1, "{\"command\":\"end\"}", 17, NULL);
    ws_frame_put(&s, WS_BINARY, 1, big, 300, NULL);      /* 16-bit length */
    ws_frame_put(&s, WS_TEXT, 0, "Hel", 3, NULL);         /* fragmented ... */
    ws_frame_put(&s, WS_PING, 1, "ping!", 5, NULL);       /* ... a ping inside ... */
    ws_frame_put(&s, WS_CONTINUATION, 0, "", 0, NULL);    /* ... an empty fragment ... */
    ws_frame_put(&s, WS_CONTINUATION, 1, "lo", 2, NULL);  /* ... the end */
    ws_frame_put(&s, WS_BINARY, 1, big, sizeof big, NULL); /* 64-bit length */
    ws_frame_put(&s, WS_PONG, 1, "", 0, NULL);
    ws_frame_put(&s, WS_BINARY, 1, "", 0, NULL);
    ws_frame_put(&s, WS_CLOSE, 1, "\x03\xe8" "bye", 5, NULL);
    ws_frame_put(&s, WS_CLOSE, 1, "", 0, NULL);
    return s;
}

#define EXPECTED_EVENTS "T:{\"command\":\"end\"} B:300 P:ping! T:Hello B:70000 p: B:0 C:1000:bye C:1005: "

TEST(decoder_whole_and_byte_by_byte)
{
    bytebuf s = server_stream();
    char out[512];
    CHECK_EQ_INT(decode_cut(&s, NULL, 0, out, sizeof out, 0), 0);
    CHECK_EQ_STR(out, EXPECTED_EVENTS);
    size_t *cuts = malloc(s.len * sizeof *cuts);
    for (size_t i = 0; i < s.len; i++)
        cuts[i] = i + 1;
    CHECK_EQ_INT(decode_cut(&s, cuts, s.len - 1, out, sizeof out, 0), 0);
    CHECK_EQ_STR(out, EXPECTED_EVENTS);
    free(cuts);
    bytebuf_free(&s);
}

TEST(decoder_split_at_every_boundary)
{
    bytebuf s = server_stream();
    char out[512];
    int bad = 0;
    /* every byte, but only every 997th inside the 70000-byte payload (its
     * head and edges fully): quadratic otherwise */
    const char *big = memmem(s.data, s.len, "\x82\x7f", 2);
    size_t big_start = (size_t)(big - s.data) + 10 + 16, big_end = big_start + 70000 - 32;
    for (size_t i = 0; i <= s.len; i++) {
        if (i > big_start && i < big_end && i % 997 != 0)
            continue;
        decode_cut(&s, &i, 1, out, sizeof out, 0);
        if (strcmp(out, EXPECTED_EVENTS) != 0 && bad++ < 3)
            fprintf(stderr, "  cut at %zu: %s\n", i, out);
    }
    CHECK_EQ_INT(bad, 0);
    bytebuf_free(&s);
}

/* The decoder's verdict on raw bytes. */
static void refused(const char *bytes, size_t n, const char *why)
{
    bytebuf s = {0};
    bytebuf_append(&s, bytes, n);
    char out[512];
    CHECK_EQ_INT(decode_cut(&s, NULL, 0, out, sizeof out, 0), -1);
    if (strstr(out, why) == NULL)
        fprintf(stderr, "  expected \"%s\" in \"%s\"\n", why, out);
    CHECK(strstr(out, why) != NULL);
    bytebuf_free(&s);
}

TEST(decoder_refuses_bad_frames)
{
    refused("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11, "masked frame from the server");
    refused("\xc1\x00", 2, "reserved bits");
    refused("\x91\x00", 2, "reserved bits");
    refused("\x83\x00", 2, "unknown opcode 0x3");
    refused("\x8b\x00", 2, "unknown opcode 0xb");
    refused("\x89\x7e\x00\x7e", 4, "control frame (opcode 0x9) of 126 bytes");
    refused("\x09\x00", 2, "fragmented control frame");
    refused("\x80\x01x", 3, "continuation frame with no message begun");
    refused("\x01\x01x\x01\x01y", 6, "new message (opcode 0x1) inside an unfinished one");
    refused("\x82\x7e\x00\x05hello", 9, "not in its shortest form");
    refused("\x82\x7f\x00\x00\x00\x00\x00\x00\x01\x00", 10, "not in its shortest form");
    refused("\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00", 10, "top bit set");
    refused("\x82\x7f\x00\x00\x00\x01\x00\x00\x00\x00", 10, "longer than the limit");
    refused("\x88\x01x", 3, "close frame with a 1-byte payload");
    /* fragments adding up past the limit */
    bytebuf s = {0};
    static unsigned char chunk[600000];
    ws_frame_put(&s, WS_BINARY, 0, chunk, sizeof chunk, NULL);
    ws_frame_put(&s, WS_CONTINUATION, 1, chunk, sizeof chunk, NULL);
    char out[512];
    CHECK_EQ_INT(decode_cut(&s, NULL, 0, out, sizeof out, 0), -1);
    CHECK(strstr(out, "longer than the limit of 1048576") != NULL);
    bytebuf_free(&s);
    /* a server's decoder refuses unmasked frames */
    bytebuf_append(&s, "\x81\x05Hello", 7);
    CHECK_EQ_INT(decode_cut(&s, NULL, 0, out, sizeof out, 1), -1);
    CHECK(strstr(out, "unmasked frame from the client") != NULL);
    bytebuf_free(&s);
    /* once refused, always refused */
    ws_decoder d;
    ws_decoder_init(&d, 100, 0);
    size_t used;
    struct ws_event ev;
    char err[200];
    CHECK_EQ_INT(ws_decode(&d, (const unsigned char *)"\xc1\x00", 2, &used, &ev, err, sizeof err), -1);
    CHECK_EQ_INT(ws_decode(&d, (const unsigned char *)"\x81\x00", 2, &used, &ev, err, sizeof err), -1);
    ws_decoder_free(&d);
}

/* ---------------------------------------------------------------- the handshake */

static void sc_good(int lfd)
{
    struct hs_ws w;
    hs_ws_accept(lfd, &w);
    EXPECT(strcmp(w.target, "/v1/tasks/7/websocket/stdio") == 0);
    hs_ws_send(&w, WS_TEXT, "hi", 2);
    struct ws_event ev;
    EXPECT(hs_ws_next(&w, &ev) == 1);
    EXPECT(ev.opcode == WS_BINARY && ev.len == 3 && memcmp(ev.data, "abc", 3) == 0);
    hs_ws_close(&w);
}

/* The 101 and a frame in one write: the frame reaches the decoder through rest. */
static void sc_frame_with_101(int lfd)
{
    int fd = hs_accept(lfd);
    struct hs_req r;
    char key[64], accept[WS_ACCEPT_LEN + 1], resp[512];
    EXPECT(hs_read_request(fd, &r) == 0);
    EXPECT(hs_header(&r, "Sec-WebSocket-Key", key, sizeof key));
    ws_accept_for(key, accept);
    int n = snprintf(resp, sizeof resp, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\n"
                     "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n"
                     "\x81\x05hello", accept);
    hs_write_n(fd, resp, (size_t)n);
    hs_drain_until_eof(fd);
    close(fd);
    hs_req_free(&r);
}

static void sc_wrong_accept(int lfd)
{
    int fd = hs_accept(lfd);
    struct hs_req r;
    EXPECT(hs_read_request(fd, &r) == 0);
    hs_write(fd, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
    hs_drain_until_eof(fd);
    close(fd);
    hs_req_free(&r);
}

static void sc_no_101(int lfd)
{
    int fd = hs_accept(lfd);
    struct hs_req r;
    EXPECT(hs_read_request(fd, &r) == 0);
    hs_write(fd, "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 67\r\n\r\n"
                 "{\"type\":\"error\",\"status-code\":404,\"result\":{\"message\":\"no task 7\"}}");
    hs_drain_until_eof(fd);
    close(fd);
    hs_req_free(&r);
}

static void sc_no_upgrade(int lfd)
{
    int fd = hs_accept(lfd);
    struct hs_req r;
    EXPECT(hs_read_request(fd, &r) == 0);
    hs_write(fd, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n");
    hs_drain_until_eof(fd);
    close(fd);
    hs_req_free(&r);
}

static void sc_silent(int lfd)
{
    int fd = hs_accept(lfd);
    hs_drain_until_eof(fd);
    close(fd);
}

static int connect_to(void (*fn)(int), ws_conn *c, net_error *e, int timeout_ms)
{
    struct hs_server s;
    hs_start(&s, fn);
    int rc = ws_connect(c, s.path, "/v1/tasks/7/websocket/stdio", 1 << 20,
                        net_now_ms() + timeout_ms, e);
    if (rc == 0) {
        if (fn == sc_good) {
            /* read the server's text, send our binary */
            struct ws_event ev;
            unsigned char buf[64];
            size_t used;
            char err[200];
            int got = c->rest.len > 0 &&
                      ws_decode(&c->dec, (unsigned char *)c->rest.data, c->rest.len, &used, &ev, err,
                                sizeof err) == 1;
            while (!got && net_wait(c->fd, POLLIN, net_now_ms() + 2000) == 1) {
                ssize_t n = recv(c->fd, buf, sizeof buf, 0);
                if (n <= 0)
                    break;
                got = ws_decode(&c->dec, buf, (size_t)n, &used, &ev, err, sizeof err) == 1;
            }
            CHECK(got && ev.opcode == WS_TEXT && ev.len == 2 && memcmp(ev.data, "hi", 2) == 0);
            bytebuf f = {0};
            ws_frame_put_client(&f, WS_BINARY, "abc", 3);
            CHECK_EQ_INT(net_send_all(c->fd, f.data, f.len, NET_NO_DEADLINE, "x", e), 0);
            bytebuf_free(&f);
        } else if (fn == sc_frame_with_101) {
            struct ws_event ev;
            size_t used;
            char err[200];
            CHECK_EQ_INT(ws_decode(&c->dec, (unsigned char *)c->rest.data, c->rest.len, &used, &ev,
                                   err, sizeof err), 1);
            CHECK_EQ_MEM(ev.data, ev.len, "hello", 5);
        }
        ws_close(c);
    }
    if (fn == sc_silent)
        hs_kill(&s);
    else
        CHECK_EQ_INT(hs_finish(&s), 0);
    return rc;
}

TEST(handshake_good)
{
    ws_conn c;
    net_error e;
    CHECK_EQ_INT(connect_to(sc_good, &c, &e, 5000), 0);
    CHECK_EQ_INT(connect_to(sc_frame_with_101, &c, &e, 5000), 0);
}

TEST(handshake_failures)
{
    ws_conn c;
    net_error e;
    CHECK_EQ_INT(connect_to(sc_wrong_accept, &c, &e, 5000), -1);
    CHECK_EQ_INT(e.kind, NET_HANDSHAKE);
    CHECK(strstr(e.message, "Sec-WebSocket-Accept is \"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\", not") != NULL);
    CHECK_EQ_INT(connect_to(sc_no_101, &c, &e, 5000), -1);
    CHECK_EQ_INT(e.kind, NET_HANDSHAKE);
    CHECK(strstr(e.message, "the server answered 404, not 101: {\"type\":\"error\"") != NULL);
    CHECK(strstr(e.message, "/v1/tasks/7/websocket/stdio on /tmp/dispatch-http-") != NULL);
    CHECK_EQ_INT(connect_to(sc_no_upgrade, &c, &e, 5000), -1);
    CHECK_EQ_INT(e.kind, NET_HANDSHAKE);
    CHECK(strstr(e.message, "no Upgrade: websocket") != NULL);
    int64_t t0 = net_now_ms();
    CHECK_EQ_INT(connect_to(sc_silent, &c, &e, 200), -1);
    CHECK_EQ_INT(e.kind, NET_TIMEOUT);
    CHECK(net_now_ms() - t0 < 3000);
    CHECK_EQ_INT(ws_connect(&c, "/nonexistent/dispatch/pebble.socket", "/v1/x", 100,
                            NET_NO_DEADLINE, &e), -1);
    CHECK_EQ_INT(e.kind, NET_CONNECT);
    CHECK_EQ_STR(e.message, "cannot connect to /nonexistent/dispatch/pebble.socket: "
                            "No such file or directory");
}

int main(void)
{
    int fds = count_fds();
    RUN(sha1_vectors);
    RUN(sha1_in_pieces_is_sha1_at_once);
    RUN(base64_vectors);
    RUN(accept_of_rfc6455_example);
    RUN(keys_are_random_16_bytes);
    RUN(frames_as_rfc6455_writes_them);
    RUN(decoder_whole_and_byte_by_byte);
    RUN(decoder_split_at_every_boundary);
    RUN(decoder_refuses_bad_frames);
    RUN(handshake_good);
    RUN(handshake_failures);
    CHECK_EQ_INT(count_fds(), fds);
    if (count_fds() != fds)
        fprintf(stderr, "FAIL: %d fds open before, %d after\n", fds, count_fds());
    return ctest_summary();
}
