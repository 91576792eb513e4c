/*
 * gob.h - the small part of Go's encoding/gob that the jujuc RPC needs, and
 * the net/rpc messages built from it. Pure C: no lua.h, no sockets.
 *
 * Encoding: primitives onto a bytebuf, wireType definitions built from code,
 * and the client's side of one Jujuc.Main call (net/rpc header + Request).
 * Decoding: a per-stream registry of the peer's type definitions and a
 * reply reader that finds the net/rpc Response header and the ExecResponse
 * body fields by name. Every length from the wire is checked before it is
 * trusted; hostile input is an error, never a crash or a huge allocation.
 * The wire format is Go's encoding/gob as its package documentation
 * describes it; the messages are net/rpc's Request/Response headers and
 * Juju's jujuc Request/ExecResponse (juju/worker/uniter/runner/jujuc).
 */
#ifndef DISPATCH_GOB_H
#define DISPATCH_GOB_H

#include <stddef.h>
#include <stdint.h>

#include "outcome.h"

/* Largest message (type id + payload) we accept from a peer. */
#define GOB_MAX_MESSAGE ((uint64_t)64 << 20)
/* Most bytes a message length prefix can take (1 + 8). */
#define GOB_MAX_UINT_LEN 9

/* Built-in type ids (Go's encoding/gob). */
enum {
    GOB_BOOL = 1, GOB_INT = 2, GOB_UINT = 3, GOB_FLOAT = 4,
    GOB_BYTES = 5, GOB_STRING = 6, GOB_COMPLEX = 7, GOB_INTERFACE = 8,
    GOB_FIRST_USER_ID = 65
};

/* ---------------------------------------------------------------- encoding */

/* Each returns 0, or -1 when memory ran out. */
int gob_put_uint(bytebuf *b, uint64_t v);
int gob_put_int(bytebuf *b, int64_t v);
int gob_put_bytes(bytebuf *b, const void *p, size_t n);
int gob_put_string(bytebuf *b, const char *s);
int gob_put_bool(bytebuf *b, int v);

/* Append one framed message: uint length, int type id, payload. */
int gob_put_message(bytebuf *b, int64_t type_id, const void *payload, size_t n);

/* One field of a struct type definition. */
struct gob_field_def {
    const char *name;
    int64_t type_id;
};

/* Append a message defining type id as struct name{fields...}. */
int gob_put_struct_type(bytebuf *b, int64_t id, const char *name,
                        const struct gob_field_def *fields, size_t nfields);
/* Append a message defining type id as a slice (name, element type). */
int gob_put_slice_type(bytebuf *b, int64_t id, const char *name, int64_t elem);

/* The jujuc Request as it goes on the wire. */
struct gob_jujuc_request {
    const char *context_id;
    const char *dir;
    const char *command;
    const char *const *args;
    size_t nargs;
    int stdin_set;
    const char *stdin_data;   /* may be NULL when stdin_len is 0 */
    size_t stdin_len;
    const char *token;        /* NULL or "" is omitted */
};

/*
 * Append one Jujuc.Main call: the header value {ServiceMethod, Seq} and the
 * body value; when with_types (the first call on a connection), with the
 * type definitions (net/rpc Request header, jujuc Request, []string) where
 * Go puts them, so the bytes are exactly what Go's jujuc writes.
 */
int gob_put_jujuc_call(bytebuf *b, int with_types, uint64_t seq,
                       const struct gob_jujuc_request *r);

/* ---------------------------------------------------------------- decoding */

/*
 * Read a uint at p[0..n). Returns the bytes used (1..9), 0 when more bytes
 * are needed to know, -1 when the encoding is invalid (longer than 8 bytes).
 */
int gob_get_uint(const unsigned char *p, size_t n, uint64_t *v);

/*
 * Frame the next message in p[0..n): returns the length prefix's size (>0)
 * with *len the message length, 0 when more bytes are needed to know, -1
 * with a sentence in err when the prefix is invalid or *len would exceed
 * GOB_MAX_MESSAGE (checked before anyone allocates for it).
 */
int gob_frame(const unsigned char *p, size_t n, size_t *len, char *err, size_t errlen);

/* The type definitions one peer has sent on one stream. */
typedef struct gob_types gob_types;

gob_types *gob_types_new(void);
void gob_types_free(gob_types *t);

/* One Jujuc.Main reply: the net/rpc Response header and the ExecResponse. */
struct gob_reply {
    int stage;            /* 0 waiting for the header, 1 for the body, 2 done */
    uint64_t seq;
    bytebuf error;        /* Response.Error; empty when the call succeeded */
    int64_t code;         /* ExecResponse.Code */
    bytebuf out;          /* ExecResponse.Stdout */
    bytebuf err;          /* ExecResponse.Stderr */
};

/* Release the buffers and reset to stage 0 (a zeroed struct is ready). */
void gob_reply_free(struct gob_reply *r);

/*
 * Feed one message (everything after its length prefix: type id and
 * payload). Type definitions go into t; the first value is the header, the
 * second the body. Returns 1 when the reply is complete, 0 when another
 * message is needed, -1 with a sentence in err when the input is malformed
 * (the stream cannot be trusted any further).
 */
int gob_reply_message(gob_types *t, struct gob_reply *r,
                      const unsigned char *msg, size_t len,
                      char *err, size_t errlen);

/*
 * Generic reading, for a peer's messages other than replies (the tests read
 * our requests with it). A definition is recorded in t (returns 0); a value
 * must be a struct, and fn is called for each field present with the raw
 * encoded bytes of its value (returns 1 when fn returned 0 for all fields);
 * -1 with a sentence in err on malformed input or when fn returned non-zero.
 */
typedef int (*gob_field_fn)(void *ud, const char *name, int64_t type_id,
                            const unsigned char *raw, size_t rawlen);
int gob_decode_message(gob_types *t, const unsigned char *msg, size_t len,
                       gob_field_fn fn, void *ud, char *err, size_t errlen);

/*
 * Server side, for tests and the fuzzer: one reply the way Go's net/rpc
 * server writes it. Type definitions are included when define_header /
 * define_body are set; the body is an ExecResponse, or for an error reply
 * (r->error non-empty) an anonymous empty struct, both with id body_id.
 */
int gob_put_jujuc_reply(bytebuf *b, int64_t header_id, int define_header,
                        int64_t body_id, int define_body, uint64_t seq,
                        const struct gob_reply *r);

#endif
