/* gob.c - Go's encoding/gob, the parts the jujuc RPC needs (see gob.h). */
#include "gob.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Limits on what one peer may make us remember for a stream. */
#define MAX_TYPES 128          /* type definitions per stream */
#define MAX_FIELDS 256         /* fields per struct definition */
#define MAX_NAME 256           /* bytes in a type or field name */
#define MAX_DEPTH 32           /* nesting of values and definitions */
#define MAX_TYPE_ID INT32_MAX  /* Go's typeId is an int32 */

/* ================================================================ encoding */

/* Encode v into out (at least GOB_MAX_UINT_LEN bytes); returns the length. */
static size_t encode_uint(unsigned char *out, uint64_t v)
{
    if (v < 0x80) {
        out[0] = (unsigned char)v;
        return 1;
    }
    unsigned char be[8];
    size_t n = 0;
    for (uint64_t x = v; x != 0; x >>= 8)
        n++;
    for (size_t i = 0; i < n; i++)
        be[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
    out[0] = (unsigned char)(0x100 - n);  /* -(byte count) as one byte */
    memcpy(out + 1, be, n);
    return n + 1;
}

/* Zig-zag: the sign goes in the low bit. */
static uint64_t zigzag(int64_t v)
{
    return v < 0 ? ((~(uint64_t)v) << 1) | 1 : (uint64_t)v << 1;
}

int gob_put_uint(bytebuf *b, uint64_t v)
{
    unsigned char tmp[GOB_MAX_UINT_LEN];
    return bytebuf_append(b, tmp, encode_uint(tmp, v));
}

int gob_put_int(bytebuf *b, int64_t v)
{
    return gob_put_uint(b, zigzag(v));
}

int gob_put_bytes(bytebuf *b, const void *p, size_t n)
{
    if (gob_put_uint(b, n) != 0)
        return -1;
    return bytebuf_append(b, p, n);
}

int gob_put_string(bytebuf *b, const char *s)
{
    return gob_put_bytes(b, s, strlen(s));
}

int gob_put_bool(bytebuf *b, int v)
{
    return gob_put_uint(b, v ? 1 : 0);
}

int gob_put_message(bytebuf *b, int64_t type_id, const void *payload, size_t n)
{
    unsigned char id[GOB_MAX_UINT_LEN];
    size_t idlen = encode_uint(id, zigzag(type_id));
    if (n > SIZE_MAX - idlen)
        return -1;
    if (gob_put_uint(b, idlen + n) != 0 || bytebuf_append(b, id, idlen) != 0)
        return -1;
    return bytebuf_append(b, payload, n);
}

/*
 * Struct values are (field delta, value) pairs ending in 0, and zero values
 * are left out, so the writer remembers the last field it wrote.
 */
struct struct_writer {
    bytebuf *b;
    int last;
    int failed;
};

static void sw_field(struct struct_writer *w, int index)
{
    if (gob_put_uint(w->b, (uint64_t)(index - w->last)) != 0)
        w->failed = 1;
    w->last = index;
}

static void sw_string(struct struct_writer *w, int index, const char *s)
{
    if (s == NULL || s[0] == '\0')
        return;
    sw_field(w, index);
    if (gob_put_string(w->b, s) != 0)
        w->failed = 1;
}

static void sw_int(struct struct_writer *w, int index, int64_t v)
{
    if (v == 0)
        return;
    sw_field(w, index);
    if (gob_put_int(w->b, v) != 0)
        w->failed = 1;
}

static void sw_end(struct struct_writer *w)
{
    if (gob_put_uint(w->b, 0) != 0)
        w->failed = 1;
}

/* CommonType{Name string, Id int} as field `index` of the enclosing struct. */
static void sw_common_type(struct struct_writer *w, int index, const char *name, int64_t id)
{
    sw_field(w, index);  /* nested structs are always sent */
    struct struct_writer ct = { w->b, -1, 0 };
    sw_string(&ct, 0, name);
    sw_int(&ct, 1, id);
    sw_end(&ct);
    w->failed |= ct.failed;
}

/* wireType fields we produce. */
enum { WT_ARRAY = 0, WT_SLICE = 1, WT_STRUCT = 2, WT_MAP = 3,
       WT_GOB_ENCODER = 4, WT_BINARY_MARSHALER = 5, WT_TEXT_MARSHALER = 6,
       WT_NFIELDS = 7 };

int gob_put_struct_type(bytebuf *b, int64_t id, const char *name,
                        const struct gob_field_def *fields, size_t nfields)
{
    bytebuf p = { 0 };
    struct struct_writer wt = { &p, -1, 0 };
    sw_field(&wt, WT_STRUCT);
    struct struct_writer st = { &p, -1, 0 };
    sw_common_type(&st, 0, name, id);
    if (nfields > 0) {
        sw_field(&st, 1);
        if (gob_put_uint(&p, nfields) != 0)
            st.failed = 1;
        for (size_t i = 0; i < nfields; i++) {
            struct struct_writer ft = { &p, -1, 0 };
            sw_string(&ft, 0, fields[i].name);
            sw_int(&ft, 1, fields[i].type_id);
            sw_end(&ft);
            st.failed |= ft.failed;
        }
    }
    sw_end(&st);
    sw_end(&wt);
    int rc = (wt.failed || st.failed) ? -1 : gob_put_message(b, -id, p.data, p.len);
    bytebuf_free(&p);
    return rc;
}

int gob_put_slice_type(bytebuf *b, int64_t id, const char *name, int64_t elem)
{
    bytebuf p = { 0 };
    struct struct_writer wt = { &p, -1, 0 };
    sw_field(&wt, WT_SLICE);
    struct struct_writer st = { &p, -1, 0 };
    sw_common_type(&st, 0, name, id);
    sw_int(&st, 1, elem);
    sw_end(&st);
    sw_end(&wt);
    int rc = (wt.failed || st.failed) ? -1 : gob_put_message(b, -id, p.data, p.len);
    bytebuf_free(&p);
    return rc;
}

/*
 * Our type ids. The peer matches by field name and does not care which ids
 * we pick; these are the ones Go's own client happens to use.
 */
enum { ID_RPC_REQUEST = 65, ID_JUJUC_REQUEST = 66, ID_STRINGS = 67 };

static const struct gob_field_def rpc_request_fields[] = {
    { "ServiceMethod", GOB_STRING }, { "Seq", GOB_UINT },
};
static const struct gob_field_def jujuc_request_fields[] = {
    { "ContextId", GOB_STRING }, { "Dir", GOB_STRING },
    { "CommandName", GOB_STRING }, { "Args", ID_STRINGS },
    { "StdinSet", GOB_BOOL }, { "Stdin", GOB_BYTES }, { "Token", GOB_STRING },
};

/* A net/rpc header value ({ServiceMethod, Seq[, Error]}) into p; the same
 * shape goes both ways (Request has no Error, Response may). 0 or -1. */
static int put_rpc_header(bytebuf *p, uint64_t seq, const char *err, size_t errlen)
{
    struct struct_writer h = { p, -1, 0 };
    sw_string(&h, 0, "Jujuc.Main");
    if (seq != 0) {
        sw_field(&h, 1);
        h.failed |= gob_put_uint(p, seq) != 0;
    }
    if (errlen > 0) {
        sw_field(&h, 2);
        h.failed |= gob_put_bytes(p, err, errlen) != 0;
    }
    sw_end(&h);
    return h.failed ? -1 : 0;
}

int gob_put_jujuc_call(bytebuf *b, int with_types, uint64_t seq,
                       const struct gob_jujuc_request *r)
{
    bytebuf p = { 0 };
    int rc = -1;
    /* Go's order: each definition just before the first value that needs it */
    if (with_types && gob_put_struct_type(b, ID_RPC_REQUEST, "Request", rpc_request_fields, 2) != 0)
        goto out;

    /* net/rpc header {ServiceMethod, Seq} */
    if (put_rpc_header(&p, seq, NULL, 0) != 0 ||
        gob_put_message(b, ID_RPC_REQUEST, p.data, p.len) != 0)
        goto out;
    if (with_types &&
        (gob_put_struct_type(b, ID_JUJUC_REQUEST, "Request", jujuc_request_fields, 7) != 0 ||
         gob_put_slice_type(b, ID_STRINGS, "[]string", GOB_STRING) != 0))
        goto out;

    /* jujuc Request */
    p.len = 0;
    struct struct_writer w = { &p, -1, 0 };
    sw_string(&w, 0, r->context_id);
    sw_string(&w, 1, r->dir);
    sw_string(&w, 2, r->command);
    if (r->nargs > 0) {
        sw_field(&w, 3);
        w.failed |= gob_put_uint(&p, r->nargs) != 0;
        for (size_t i = 0; i < r->nargs; i++)
            w.failed |= gob_put_string(&p, r->args[i] ? r->args[i] : "") != 0;
    }
    if (r->stdin_set) {
        sw_field(&w, 4);
        w.failed |= gob_put_bool(&p, 1) != 0;
    }
    if (r->stdin_len > 0) {
        sw_field(&w, 5);
        w.failed |= gob_put_bytes(&p, r->stdin_data, r->stdin_len) != 0;
    }
    sw_string(&w, 6, r->token);
    sw_end(&w);
    if (w.failed || gob_put_message(b, ID_JUJUC_REQUEST, p.data, p.len) != 0)
        goto out;
    rc = 0;
out:
    bytebuf_free(&p);
    return rc;
}

int gob_put_jujuc_reply(bytebuf *b, int64_t header_id, int define_header,
                        int64_t body_id, int define_body, uint64_t seq,
                        const struct gob_reply *r)
{
    static const struct gob_field_def header[] = {
        { "ServiceMethod", GOB_STRING }, { "Seq", GOB_UINT }, { "Error", GOB_STRING },
    };
    static const struct gob_field_def body[] = {
        { "Code", GOB_INT }, { "Stdout", GOB_BYTES }, { "Stderr", GOB_BYTES },
    };
    int is_error = r->error.len > 0;
    bytebuf p = { 0 };
    int rc = -1;
    if (define_header && gob_put_struct_type(b, header_id, "Response", header, 3) != 0)
        goto out;
    if (put_rpc_header(&p, seq, r->error.data, r->error.len) != 0 ||
        gob_put_message(b, header_id, p.data, p.len) != 0)
        goto out;
    if (define_body &&
        gob_put_struct_type(b, body_id, is_error ? "" : "ExecResponse",
                            body, is_error ? 0 : 3) != 0)
        goto out;
    p.len = 0;
    struct struct_writer w = { &p, -1, 0 };
    if (!is_error) {
        sw_int(&w, 0, r->code);
        if (r->out.len > 0) {
            sw_field(&w, 1);
            w.failed |= gob_put_bytes(&p, r->out.data, r->out.len) != 0;
        }
        if (r->err.len > 0) {
            sw_field(&w, 2);
            w.failed |= gob_put_bytes(&p, r->err.data, r->err.len) != 0;
        }
    }
    sw_end(&w);
    if (w.failed || gob_put_message(b, body_id, p.data, p.len) != 0)
        goto out;
    rc = 0;
out:
    bytebuf_free(&p);
    return rc;
}

/* ================================================================ decoding */

int gob_frame(const unsigned char *p, size_t n, size_t *len, char *err, size_t errlen)
{
    uint64_t v;
    int used = gob_get_uint(p, n, &v);
    if (used <= 0) {
        if (used < 0 && err != NULL && errlen > 0)
            snprintf(err, errlen, "gob: message length longer than 8 bytes");
        return used;
    }
    if (v > GOB_MAX_MESSAGE) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "gob: message of %" PRIu64 " bytes is over the %" PRIu64
                     " byte limit", v, GOB_MAX_MESSAGE);
        return -1;
    }
    *len = (size_t)v;
    return used;
}

int gob_get_uint(const unsigned char *p, size_t n, uint64_t *v)
{
    if (n == 0)
        return 0;
    if (p[0] < 0x80) {
        *v = p[0];
        return 1;
    }
    size_t len = 0x100 - p[0];
    if (len > 8)
        return -1;
    if (n < len + 1)
        return 0;
    uint64_t x = 0;
    for (size_t i = 1; i <= len; i++)
        x = (x << 8) | p[i];
    *v = x;
    return (int)len + 1;
}

/* A read position inside one message, and where to say what went wrong. */
typedef struct cursor {
    const unsigned char *p;
    size_t n, off;
    char *err;
    size_t errlen;
} cursor;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int fail(cursor *c, const char *fmt, ...)
{
    if (c->err != NULL && c->errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int get_uint(cursor *c, uint64_t *v)
{
    int used = gob_get_uint(c->p + c->off, c->n - c->off, v);
    if (used < 0)
        return fail(c, "gob: unsigned integer longer than 8 bytes");
    if (used == 0)
        return fail(c, "gob: message truncated");
    c->off += (size_t)used;
    return 0;
}

static int get_int(cursor *c, int64_t *v)
{
    uint64_t u;
    if (get_uint(c, &u) != 0)
        return -1;
    *v = (u & 1) ? (int64_t)~(u >> 1) : (int64_t)(u >> 1);
    return 0;
}

static int get_bytes(cursor *c, const unsigned char **p, size_t *n)
{
    uint64_t len;
    if (get_uint(c, &len) != 0)
        return -1;
    if (len > c->n - c->off)
        return fail(c, "gob: length %" PRIu64 " runs past the end of the message", len);
    *p = c->p + c->off;
    *n = (size_t)len;
    c->off += (size_t)len;
    return 0;
}

/*
 * Step to the next field of a struct with nfields fields. *field starts at
 * -1. Returns 1 with *field set, 0 at the end marker, -1 on a delta that
 * would leave the struct.
 */
static int next_field(cursor *c, int *field, int nfields)
{
    uint64_t delta;
    if (get_uint(c, &delta) != 0)
        return -1;
    if (delta == 0)
        return 0;
    if (delta > (uint64_t)(nfields - 1 - *field))
        return fail(c, "gob: struct field delta %" PRIu64 " out of range", delta);
    *field += (int)delta;
    return 1;
}

/* ---------------------------------------------------------------- types */

struct field_info {
    char *name;
    int64_t id;
};

struct type_info {
    int64_t id;
    int kind;             /* WT_* */
    int64_t elem, key;    /* slice/array/map element, map key */
    struct field_info *fields;
    int nfields;
};

struct gob_types {
    struct type_info v[MAX_TYPES];
    int n;
};

gob_types *gob_types_new(void)
{
    return calloc(1, sizeof(gob_types));
}

static void type_info_free(struct type_info *ti)
{
    for (int i = 0; i < ti->nfields; i++)
        free(ti->fields[i].name);
    free(ti->fields);
    ti->fields = NULL;
    ti->nfields = 0;
}

void gob_types_free(gob_types *t)
{
    if (t == NULL)
        return;
    for (int i = 0; i < t->n; i++)
        type_info_free(&t->v[i]);
    free(t);
}

static const struct type_info *find_type(const gob_types *t, int64_t id)
{
    for (int i = 0; i < t->n; i++)
        if (t->v[i].id == id)
            return &t->v[i];
    return NULL;
}

static int builtin_id(int64_t id)
{
    return id >= GOB_BOOL && id <= GOB_INTERFACE;
}

/* A type id a definition may refer to: a builtin or a user id. */
static int check_ref(cursor *c, int64_t id)
{
    if (builtin_id(id) || (id >= GOB_FIRST_USER_ID && id <= MAX_TYPE_ID))
        return 0;
    return fail(c, "gob: type id %" PRId64 " out of range", id);
}

static int get_name(cursor *c, const unsigned char **p, size_t *n)
{
    if (get_bytes(c, p, n) != 0)
        return -1;
    if (*n > MAX_NAME)
        return fail(c, "gob: name longer than %d bytes", MAX_NAME);
    return 0;
}

/* CommonType{Name, Id}: we only need to get past it. */
static int skip_common_type(cursor *c)
{
    int f = -1, r;
    while ((r = next_field(c, &f, 2)) == 1) {
        if (f == 0) {
            const unsigned char *p;
            size_t n;
            if (get_name(c, &p, &n) != 0)
                return -1;
        } else {
            int64_t id;
            if (get_int(c, &id) != 0)
                return -1;
        }
    }
    return r;
}

/* fieldType{Name string, Id int} */
static int parse_field(cursor *c, struct field_info *fi)
{
    const unsigned char *name = NULL;
    size_t namelen = 0;
    int f = -1, r;
    fi->id = 0;
    while ((r = next_field(c, &f, 2)) == 1) {
        if (f == 0 ? get_name(c, &name, &namelen) : get_int(c, &fi->id))
            return -1;
    }
    if (r < 0 || check_ref(c, fi->id) != 0)
        return -1;
    fi->name = malloc(namelen + 1);
    if (fi->name == NULL)
        return fail(c, "gob: out of memory");
    if (namelen > 0)
        memcpy(fi->name, name, namelen);
    fi->name[namelen] = '\0';
    return 0;
}

/* structType{CommonType, Field []fieldType} */
static int parse_struct_type(cursor *c, struct type_info *ti)
{
    int f = -1, r;
    while ((r = next_field(c, &f, 2)) == 1) {
        if (f == 0) {
            if (skip_common_type(c) != 0)
                return -1;
            continue;
        }
        uint64_t count;
        if (get_uint(c, &count) != 0)
            return -1;
        if (count > MAX_FIELDS)
            return fail(c, "gob: struct with %" PRIu64 " fields", count);
        if (ti->fields != NULL)
            return fail(c, "gob: struct fields given twice");
        ti->fields = calloc(count ? (size_t)count : 1, sizeof(*ti->fields));
        if (ti->fields == NULL)
            return fail(c, "gob: out of memory");
        for (uint64_t i = 0; i < count; i++) {
            if (parse_field(c, &ti->fields[i]) != 0)
                return -1;
            ti->nfields++;
        }
    }
    return r;
}

/*
 * sliceType{CommonType, Elem}, arrayType{CommonType, Elem, Len},
 * mapType{CommonType, Key, Elem}, gobEncoderType{CommonType}.
 */
static int parse_other_type(cursor *c, struct type_info *ti)
{
    int nfields = ti->kind == WT_SLICE ? 2 : (ti->kind == WT_ARRAY || ti->kind == WT_MAP) ? 3 : 1;
    int f = -1, r;
    while ((r = next_field(c, &f, nfields)) == 1) {
        int64_t v;
        if (f == 0) {
            if (skip_common_type(c) != 0)
                return -1;
            continue;
        }
        if (get_int(c, &v) != 0)
            return -1;
        if (ti->kind == WT_ARRAY && f == 2)
            continue;   /* Len: the value carries its own count */
        if (check_ref(c, v) != 0)
            return -1;
        if (ti->kind == WT_MAP && f == 1)
            ti->key = v;
        else
            ti->elem = v;
    }
    if (r < 0)
        return -1;
    if ((ti->kind == WT_SLICE || ti->kind == WT_ARRAY) && ti->elem == 0)
        return fail(c, "gob: slice type without an element type");
    if (ti->kind == WT_MAP && (ti->key == 0 || ti->elem == 0))
        return fail(c, "gob: map type without key or element type");
    return 0;
}

/* A message with a negative id: wireType for type id. */
static int define_type(gob_types *t, cursor *c, int64_t id)
{
    if (id < GOB_FIRST_USER_ID || id > MAX_TYPE_ID)
        return fail(c, "gob: definition of type id %" PRId64 " out of range", id);
    if (find_type(t, id) != NULL)
        return fail(c, "gob: duplicate definition of type %" PRId64, id);
    if (t->n >= MAX_TYPES)
        return fail(c, "gob: more than %d type definitions", MAX_TYPES);

    struct type_info ti = { .id = id, .kind = -1 };
    int f = -1, r;
    while ((r = next_field(c, &f, WT_NFIELDS)) == 1) {
        if (ti.kind != -1) {
            r = fail(c, "gob: type definition with more than one kind");
            break;
        }
        ti.kind = f;
        r = f == WT_STRUCT ? parse_struct_type(c, &ti) : parse_other_type(c, &ti);
        if (r != 0)
            break;
    }
    if (r == 0 && ti.kind == -1)
        r = fail(c, "gob: empty type definition");
    if (r == 0 && c->off != c->n)
        r = fail(c, "gob: extra bytes after a type definition");
    if (r != 0) {
        type_info_free(&ti);
        return -1;
    }
    t->v[t->n++] = ti;
    return 0;
}

/* ---------------------------------------------------------------- values */

static int skip_value(const gob_types *t, cursor *c, int64_t id, int depth);

static int skip_struct(const gob_types *t, cursor *c, const struct type_info *ti, int depth)
{
    int f = -1, r;
    while ((r = next_field(c, &f, ti->nfields)) == 1)
        if (skip_value(t, c, ti->fields[f].id, depth + 1) != 0)
            return -1;
    return r;
}

/* Get past one value of type id. Every value takes at least one byte. */
static int skip_value(const gob_types *t, cursor *c, int64_t id, int depth)
{
    uint64_t u;
    const unsigned char *p;
    size_t n;
    if (depth > MAX_DEPTH)
        return fail(c, "gob: values nested too deeply");
    switch (id) {
    case GOB_BOOL: case GOB_INT: case GOB_UINT: case GOB_FLOAT:
        return get_uint(c, &u);
    case GOB_COMPLEX:
        return get_uint(c, &u) != 0 ? -1 : get_uint(c, &u);
    case GOB_BYTES: case GOB_STRING:
        return get_bytes(c, &p, &n);
    case GOB_INTERFACE:
        return fail(c, "gob: cannot skip an interface value");
    }
    const struct type_info *ti = find_type(t, id);
    if (ti == NULL)
        return fail(c, "gob: value of undefined type %" PRId64, id);
    switch (ti->kind) {
    case WT_STRUCT:
        return skip_struct(t, c, ti, depth);
    case WT_SLICE: case WT_ARRAY: case WT_MAP:
        if (get_uint(c, &u) != 0)
            return -1;
        if (u > c->n - c->off)
            return fail(c, "gob: %" PRIu64 " elements cannot fit in the message", u);
        for (uint64_t i = 0; i < u; i++) {
            if (ti->kind == WT_MAP && skip_value(t, c, ti->key, depth + 1) != 0)
                return -1;
            if (skip_value(t, c, ti->elem, depth + 1) != 0)
                return -1;
        }
        return 0;
    default:  /* GobEncoder, BinaryMarshaler, TextMarshaler: bytes */
        return get_bytes(c, &p, &n);
    }
}

/* ---------------------------------------------------------------- generic */

int gob_decode_message(gob_types *t, const unsigned char *msg, size_t len,
                       gob_field_fn fn, void *ud, char *err, size_t errlen)
{
    cursor c = { msg, len, 0, err, errlen };
    int64_t id;
    if (get_int(&c, &id) != 0)
        return -1;
    if (id < 0)
        return id == INT64_MIN || define_type(t, &c, -id) != 0 ? -1 : 0;
    const struct type_info *ti = builtin_id(id) ? NULL : find_type(t, id);
    if (ti == NULL || ti->kind != WT_STRUCT)
        return fail(&c, "gob: value of type %" PRId64 " is not a known struct", id);
    int f = -1, r;
    while ((r = next_field(&c, &f, ti->nfields)) == 1) {
        size_t start = c.off;
        if (skip_value(t, &c, ti->fields[f].id, 1) != 0)
            return -1;
        if (fn(ud, ti->fields[f].name, ti->fields[f].id, msg + start, c.off - start) != 0)
            return fail(&c, "gob: field %s rejected", ti->fields[f].name);
    }
    if (r < 0)
        return -1;
    if (c.off != c.n)
        return fail(&c, "gob: extra bytes after a value");
    return 1;
}

/* ---------------------------------------------------------------- replies */

/* A field of the reply we want, by name and by the wire types we accept. */
struct want {
    const char *name;
    int64_t type1, type2;
};

static const struct want header_fields[] = {
    { "Seq", GOB_UINT, GOB_UINT },
    { "Error", GOB_STRING, GOB_BYTES },
};
static const struct want body_fields[] = {
    { "Code", GOB_INT, GOB_INT },
    { "Stdout", GOB_BYTES, GOB_STRING },
    { "Stderr", GOB_BYTES, GOB_STRING },
};

static int set_bytes(cursor *c, bytebuf *b)
{
    const unsigned char *p;
    size_t n;
    if (get_bytes(c, &p, &n) != 0)
        return -1;
    b->len = 0;
    if (bytebuf_append(b, p, n) != 0)
        return fail(c, "gob: out of memory");
    return 0;
}

/* Read the value of wanted field w (index into the stage's table). */
static int read_wanted(cursor *c, struct gob_reply *r, int stage, int w)
{
    uint64_t u;
    int64_t i;
    if (stage == 0 && w == 0) {
        if (get_uint(c, &u) != 0)
            return -1;
        r->seq = u;
        return 0;
    }
    if (stage == 0)
        return set_bytes(c, &r->error);
    if (w == 0) {
        if (get_int(c, &i) != 0)
            return -1;
        r->code = i;
        return 0;
    }
    return set_bytes(c, w == 1 ? &r->out : &r->err);
}

/* One top-level value: the header (stage 0) or the body (stage 1). */
static int read_value(const gob_types *t, struct gob_reply *r, cursor *c, int64_t id)
{
    const struct type_info *ti = builtin_id(id) ? NULL : find_type(t, id);
    if (ti == NULL && !builtin_id(id))
        return fail(c, "gob: value of undefined type %" PRId64, id);

    /* Only an error reply's body may be something we ignore (Go sends struct{}). */
    int ignore = r->stage == 1 && r->error.len > 0;
    if (ti == NULL || ti->kind != WT_STRUCT) {
        if (!ignore)
            return fail(c, "gob: reply %s is not a struct", r->stage ? "body" : "header");
        uint64_t delta;   /* a non-struct top-level value is 0, then the value */
        if (get_uint(c, &delta) != 0)
            return -1;
        if (delta != 0)
            return fail(c, "gob: bad singleton value");
        return skip_value(t, c, id, 0);
    }

    const struct want *wants = r->stage == 0 ? header_fields : body_fields;
    int nwants = ignore ? 0 : r->stage == 0 ? 2 : 3;
    int f = -1, rc;
    while ((rc = next_field(c, &f, ti->nfields)) == 1) {
        const struct field_info *fi = &ti->fields[f];
        int w = -1;
        for (int k = 0; k < nwants; k++)
            if (strcmp(fi->name, wants[k].name) == 0)
                w = k;
        if (w < 0) {
            if (skip_value(t, c, fi->id, 1) != 0)
                return -1;
            continue;
        }
        if (fi->id != wants[w].type1 && fi->id != wants[w].type2)
            return fail(c, "gob: reply field %s has type %" PRId64, fi->name, fi->id);
        if (read_wanted(c, r, r->stage, w) != 0)
            return -1;
    }
    return rc;
}

void gob_reply_free(struct gob_reply *r)
{
    bytebuf_free(&r->error);
    bytebuf_free(&r->out);
    bytebuf_free(&r->err);
    r->stage = 0;
    r->seq = 0;
    r->code = 0;
}

int gob_reply_message(gob_types *t, struct gob_reply *r,
                      const unsigned char *msg, size_t len,
                      char *err, size_t errlen)
{
    cursor c = { msg, len, 0, err, errlen };
    int64_t id;
    if (r->stage >= 2)
        return fail(&c, "gob: reply already complete");
    if (get_int(&c, &id) != 0)
        return -1;
    if (id < 0) {
        if (id == INT64_MIN)
            return fail(&c, "gob: type id out of range");
        return define_type(t, &c, -id) != 0 ? -1 : 0;
    }
    if (id == 0)
        return fail(&c, "gob: type id 0");
    if (read_value(t, r, &c, id) != 0)
        return -1;
    if (c.off != c.n)
        return fail(&c, "gob: extra bytes after a value");
    r->stage++;
    return r->stage == 2 ? 1 : 0;
}
