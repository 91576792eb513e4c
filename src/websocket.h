/*
 * websocket.h - an RFC 6455 websocket client over a unix socket, as much
 * as Pebble's exec needs: the opening handshake (checked: 101, Upgrade,
 * Sec-WebSocket-Accept), masked client frames, and an incremental frame
 * decoder for a poll loop. The decoder also serves the server side of the
 * tests (masked frames expected). Pure C: no lua.h.
 */
#ifndef DISPATCH_WEBSOCKET_H
#define DISPATCH_WEBSOCKET_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "outcome.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_LEN 24     /* base64 of 16 bytes */
#define WS_ACCEPT_LEN 28  /* base64 of a SHA-1 digest */

enum ws_opcode {
    WS_CONTINUATION = 0x0,
    WS_TEXT = 0x1,
    WS_BINARY = 0x2,
    WS_CLOSE = 0x8,
    WS_PING = 0x9,
    WS_PONG = 0xA,
};

/* A new Sec-WebSocket-Key: 16 bytes from getrandom(2), base64. 0, or -1
 * with errno. */
int ws_make_key(char key[WS_KEY_LEN + 1]);

/* The Sec-WebSocket-Accept a server answers key with:
 * base64(SHA-1(key + WS_GUID)). */
void ws_accept_for(const char *key, char accept[WS_ACCEPT_LEN + 1]);

/*
 * Append one frame to out: FIN when fin, the opcode, the length in its
 * shortest form, and the payload masked with mask (4 bytes) or, when mask
 * is NULL, unmasked (a server's frame). 0, or -1 when memory ran out.
 */
int ws_frame_put(bytebuf *out, int opcode, int fin, const void *payload, size_t len,
                 const unsigned char *mask);

/* A client's frame (FIN, a fresh random mask from getrandom(2)). 0, or -1
 * with errno. */
int ws_frame_put_client(bytebuf *out, int opcode, const void *payload, size_t len);

/* What the decoder found. */
struct ws_event {
    int opcode;                /* WS_TEXT or WS_BINARY (a whole message, its
                                  fragments joined), WS_PING, WS_PONG, WS_CLOSE */
    const unsigned char *data; /* valid until the next ws_decode call */
    size_t len;
    int close_code;            /* WS_CLOSE: the status code, or 1005 for none */
};

typedef struct ws_decoder {
    /* settings */
    size_t max_message; /* longest message (all its fragments), bytes */
    int server;         /* 1: frames must be masked (we are the server) */
    /* state */
    unsigned char head[14];
    size_t head_len;
    int fin, opcode, masked;
    unsigned char mask[4];
    uint64_t len, got;           /* the current frame's payload length, and read */
    int in_message, message_opcode;
    bytebuf message;             /* the data message being assembled */
    unsigned char control[125];
    int failed;
} ws_decoder;

void ws_decoder_init(ws_decoder *d, size_t max_message, int server);
void ws_decoder_free(ws_decoder *d);

/*
 * Decode from data[0..len). Returns 1 with ev filled when a message or a
 * control frame is complete, 0 when every byte was used and more is needed,
 * -1 with err on a frame this decoder refuses (and on every call after):
 * reserved bits, an unknown opcode, a masked frame from a server (or an
 * unmasked one to a server), a control frame over 125 bytes or fragmented,
 * a length not in its shortest form or with the top bit set, a message
 * over max_message, a continuation with no message begun, a new message
 * inside one, a close frame with a 1-byte payload. *used says how many
 * bytes it took; call again with the rest.
 */
int ws_decode(ws_decoder *d, const unsigned char *data, size_t len, size_t *used,
              struct ws_event *ev, char *err, size_t errlen);

/* ------------------------------------------------------------ connections */

typedef struct ws_conn {
    int fd;         /* non-blocking; -1 when closed */
    ws_decoder dec;
    bytebuf rest;   /* bytes that came with the handshake's response: frames */
} ws_conn;

/*
 * Open a websocket on a new connection to the unix socket at path:
 * GET target with the upgrade headers, before the deadline. 0 with c
 * ready (the caller ws_close's it), or -1 with e (nothing to close): kinds
 * connect, timeout, io, protocol (not HTTP), handshake (not a 101, no
 * `Upgrade: websocket`, a wrong Sec-WebSocket-Accept).
 */
int ws_connect(ws_conn *c, const char *path, const char *target, size_t max_message,
               int64_t deadline, net_error *e);

/* Close the fd (no close handshake) and free the buffers. Safe twice. */
void ws_close(ws_conn *c);

#endif
