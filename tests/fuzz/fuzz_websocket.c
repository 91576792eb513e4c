/*
 * fuzz_websocket.c - libFuzzer target for the websocket frame decoder
 * (src/websocket.c), and for the end-command check of Pebble's exec
 * (src/pebble_exec.c) on every text message.
 *
 * The first byte picks the side (bit 0: a server's decoder, expecting
 * masked frames) and a piece size (the rest of it); the stream is decoded
 * whole and in pieces of that size, and both must give the same events and
 * the same verdict. Each message decoded is written again as frames and
 * must decode to itself.
 *
 *   make fuzz FUZZ_SECONDS=300
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pebble_exec.h"
#include "sha1.h"
#include "websocket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MESSAGE 4096

/* A digest of every event and the verdict: -1 refused, 0 fine. */
static int decode(const uint8_t *p, size_t n, size_t piece, int server, unsigned char digest[20])
{
    ws_decoder d;
    ws_decoder_init(&d, MAX_MESSAGE, server);
    sha1_ctx h;
    sha1_init(&h);
    int verdict = 0;
    for (size_t start = 0; start < n && verdict == 0; start += piece) {
        size_t end = n - start < piece ? n : start + piece;
        size_t off = start;
        while (off < end) {
            size_t used;
            struct ws_event ev;
            char err[200];
            int rc = ws_decode(&d, p + off, end - off, &used, &ev, err, sizeof err);
            if (used > end - off)
                abort();
            off += used;
            if (rc < 0) {
                verdict = -1;
                break;
            }
            if (rc == 0) {
                if (off != end)
                    abort();
                break;
            }
            if (ev.opcode >= 8 && ev.len > 125)
                abort();
            if (ev.len > MAX_MESSAGE)
                abort();
            unsigned char kind[2] = {(unsigned char)ev.opcode, (unsigned char)(ev.close_code & 0xff)};
            sha1_update(&h, kind, 2);
            sha1_update(&h, &ev.len, sizeof ev.len);
            sha1_update(&h, ev.data, ev.len);
            if (ev.opcode == WS_TEXT)
                (void)pebble_is_end_command(ev.data, ev.len);
            if (ev.opcode == WS_TEXT || ev.opcode == WS_BINARY) {
                /* written again, it reads back the same */
                bytebuf b = {0};
                static const unsigned char mask[4] = {0xde, 0xad, 0xbe, 0xef};
                if (ws_frame_put(&b, ev.opcode, 1, ev.data, ev.len, server ? mask : NULL) != 0)
                    abort();
                ws_decoder e;
                ws_decoder_init(&e, MAX_MESSAGE, server);
                size_t u;
                struct ws_event back;
                if (ws_decode(&e, (unsigned char *)b.data, b.len, &u, &back, err, sizeof err) != 1 ||
                    u != b.len || back.opcode != ev.opcode || back.len != ev.len ||
                    memcmp(back.data, ev.data, ev.len) != 0)
                    abort();
                ws_decoder_free(&e);
                bytebuf_free(&b);
            }
        }
    }
    sha1_final(&h, digest);
    ws_decoder_free(&d);
    return verdict;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int server = data[0] & 1;
    size_t piece = (size_t)(data[0] >> 1) + 1;
    unsigned char whole[20], split[20];
    int a = decode(data + 1, size - 1, size, server, whole);
    int b = decode(data + 1, size - 1, piece, server, split);
    if (a != b || (a == 0 && memcmp(whole, split, 20) != 0))
        abort();
    return 0;
}
