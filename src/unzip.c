/*
 * unzip.c - extract a zip archive safely (see unzip.h).
 *
 * Three passes: the central directory is read and every entry checked on
 * its own (name, flags, method, sizes, type); then every local header is
 * read and compared with it, and the entries' byte ranges are checked for
 * overlaps; then the paths are sorted (with '/' below every other byte, so
 * "a/..." follows "a" at once) to find duplicates and entries under a file
 * or a symlink. Only then is anything written, entry by entry, each path
 * walked from the destination fd one O_NOFOLLOW component at a time.
 * Everything created is recorded (the record's room is reserved before the
 * first write), so a failure removes it all again.
 */
#include "unzip.h"
#include "fdio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Bytes read or inflated at a time; the input buffer also holds a local
 * header with the longest name. */
#define CHUNK 65536
#define IN_SIZE (CHUNK + 30 + 65535)

#define EOCD_SIZE 22
#define CDH_SIZE 46
#define LFH_SIZE 30
#define LOCATOR_SIZE 20
#define SIG_EOCD 0x06054b50u
#define SIG_CDH 0x02014b50u
#define SIG_LFH 0x04034b50u
#define SIG_DESCRIPTOR 0x08074b50u
#define SIG_ZIP64_LOCATOR 0x07064b50u

#define FLAG_ENCRYPTED 0x0001u
#define FLAG_DESCRIPTOR 0x0008u
#define FLAG_STRONG_ENCRYPTION 0x0040u
#define FLAG_MASKED_DIRECTORY 0x2000u

#define MADE_BY_UNIX 3
#define MADE_BY_MACOS 19
#define MSDOS_DIRECTORY 0x10u

/* Longest part of a name quoted in a message. */
#define QUOTE_MAX 200

enum kind { KIND_FILE, KIND_DIR, KIND_LINK };

struct entry {
    const unsigned char *raw; /* the name as stored (in the central directory) */
    size_t raw_len;
    char *path;               /* the name without a trailing '/', NUL-terminated */
    size_t path_len;
    size_t index;             /* position in the archive */
    enum kind kind;
    unsigned mode;            /* permission bits it gets */
    unsigned flags, method;
    uint32_t crc, csize, usize, header; /* header: offset of the local header */
    uint64_t data, end;       /* its data; end: past the data and any descriptor */
};

/* Something made in the destination: a path (a prefix of an entry's). */
struct made {
    const char *path;
    size_t len;
    int is_dir;
};

struct ctx {
    int zfd, dfd;
    uint64_t zsize, cd_off;
    const char *zip_name, *dest_name;
    char *msg;
    size_t msg_size;
    int failed, err;
    uint64_t max_entry, max_total;

    unsigned char *cd;         /* the central directory */
    size_t count;
    struct entry *entries;
    struct entry **sorted;     /* by path, '/' lowest */
    char *arena;               /* every entry's path */
    char *scratch;             /* symlink resolution */
    unsigned char *in, *out;   /* CHUNK buffers (in: IN_SIZE) */
    struct made *made;
    size_t nmade, made_cap;
};

/* ------------------------------------------------------------ messages */

static uint32_t u16(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* s (n bytes) in double quotes: '"', '\' and control bytes escaped, cut
 * after QUOTE_MAX bytes with "...". */
static void quote(char *out, size_t size, const unsigned char *s, size_t n)
{
    size_t o = 0;
#define PUT(c) do { if (o + 1 < size) out[o++] = (char)(c); } while (0)
    PUT('"');
    for (size_t i = 0; i < n && i < QUOTE_MAX; i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            PUT('\\');
            PUT(c);
        } else if (c < 0x20 || c == 0x7f) {
            static const char hex[] = "0123456789abcdef";
            PUT('\\');
            PUT('x');
            PUT(hex[c >> 4]);
            PUT(hex[c & 15]);
        } else {
            PUT(c);
        }
    }
    if (n > QUOTE_MAX) {
        PUT('.');
        PUT('.');
        PUT('.');
    }
    PUT('"');
#undef PUT
    out[o < size ? o : size - 1] = '\0';
}

/* Record the first failure: "cannot extract ZIP: ..." (e NULL), "cannot
 * extract NAME from ZIP: ..." or, with into set, "cannot extract ZIP into
 * DEST: ...". err is the errno to return. Always -1. */
__attribute__((format(printf, 5, 6)))
static int failv(struct ctx *c, const struct entry *e, int into, int err, const char *fmt, ...)
{
    if (c->failed)
        return -1;
    c->failed = 1;
    c->err = err;
    if (c->msg_size == 0)
        return -1;
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (e != NULL) {
        char name[QUOTE_MAX * 4 + 8];
        quote(name, sizeof name, e->raw, e->raw_len);
        snprintf(c->msg, c->msg_size, "cannot extract %s from %s: %s", name, c->zip_name, what);
    } else if (into) {
        snprintf(c->msg, c->msg_size, "cannot extract %s into %s: %s", c->zip_name,
                 c->dest_name, what);
    } else {
        snprintf(c->msg, c->msg_size, "cannot extract %s: %s", c->zip_name, what);
    }
    return -1;
}

#define fail(c, ...) failv((c), NULL, 0, EINVAL, __VA_ARGS__)
#define fail_entry(c, e, ...) failv((c), (e), 0, EINVAL, __VA_ARGS__)
#define fail_sys(c, e, err, ...) failv((c), (e), 0, (err), __VA_ARGS__)

/* ------------------------------------------------------------ reading */

/* Read exactly n bytes at off: 0; -1 (failure recorded) when the read fails
 * or the file ends first (it shrank under us). */
static int read_at(struct ctx *c, const struct entry *e, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(c->zfd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int err = errno;
            return fail_sys(c, e, err, "cannot read the archive (%s)", strerror(err));
        }
        if (r == 0)
            return fail_sys(c, e, EIO, "the archive ended early (did it change while read?)");
        got += (size_t)r;
    }
    return 0;
}

/* ------------------------------------------------------------ paths */

/* Order of paths: byte by byte, the end lowest, then '/', then the rest;
 * so every "p/..." comes right after "p". */
static int cmp_path(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x != y) {
            int kx = x == '/' ? 0 : x + 1, ky = y == '/' ? 0 : y + 1;
            return kx < ky ? -1 : 1;
        }
    }
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static int cmp_sorted(const void *pa, const void *pb)
{
    const struct entry *a = *(const struct entry *const *)pa;
    const struct entry *b = *(const struct entry *const *)pb;
    int r = cmp_path(a->path, a->path_len, b->path, b->path_len);
    if (r != 0)
        return r;
    return a->index < b->index ? -1 : a->index > b->index ? 1 : 0;
}

/* The entry whose path is p (n bytes), or NULL. */
static const struct entry *find_path(const struct ctx *c, const char *p, size_t n)
{
    size_t lo = 0, hi = c->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct entry *e = c->sorted[mid];
        int r = cmp_path(e->path, e->path_len, p, n);
        if (r == 0)
            return e;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Check a stored name; on success the path (without a trailing '/') is
 * written to out and its length returned through *len. */
static int check_name(struct ctx *c, const struct entry *e, char *out, size_t *len,
                      size_t *components)
{
    const unsigned char *s = e->raw;
    size_t n = e->raw_len;
    if (n == 0)
        return fail_entry(c, e, "its name is empty");
    if (memchr(s, '\0', n) != NULL)
        return fail_entry(c, e, "its name holds a NUL byte");
    if (memchr(s, '\\', n) != NULL)
        return fail_entry(c, e, "its name holds a backslash");
    if (s[0] == '/')
        return fail_entry(c, e, "its name is an absolute path");
    if (s[n - 1] == '/')
        n--;
    size_t parts = 0;
    for (size_t i = 0; i <= n;) {
        size_t j = i;
        while (j < n && s[j] != '/')
            j++;
        size_t k = j - i;
        if (k == 2 && s[i] == '.' && s[i + 1] == '.')
            return fail_entry(c, e, "its name has a \"..\" component");
        if (k == 0 || (k == 1 && s[i] == '.'))
            return fail_entry(c, e, "its name has an empty or \".\" component");
        if (k > NAME_MAX)
            return fail_entry(c, e, "its name has a component longer than %d bytes", NAME_MAX);
        if (++parts > UNZIP_MAX_DEPTH)
            return fail_entry(c, e, "its name has more than %d components", UNZIP_MAX_DEPTH);
        i = j + 1;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    *len = n;
    *components = parts;
    return 0;
}

/* ------------------------------------------------------------ pass 1: central directory */

static int find_end_record(struct ctx *c, uint64_t *at, unsigned char rec[EOCD_SIZE])
{
    if (c->zsize < EOCD_SIZE)
        return fail(c, "it is not a zip archive (%llu bytes, too short)",
                    (unsigned long long)c->zsize);
    size_t tail = c->zsize < EOCD_SIZE + 65535 ? (size_t)c->zsize : EOCD_SIZE + 65535;
    uint64_t base = c->zsize - tail;
    if (read_at(c, NULL, c->in, tail, base) != 0)
        return -1;
    int seen = 0;
    for (size_t i = tail - EOCD_SIZE + 1; i-- > 0;) {
        if (u32(c->in + i) != SIG_EOCD)
            continue;
        seen = 1;
        if (i + EOCD_SIZE + u16(c->in + i + 20) == tail) {
            memcpy(rec, c->in + i, EOCD_SIZE);
            *at = base + i;
            return 0;
        }
    }
    if (seen)
        return fail(c, "its end of central directory record does not end the file");
    return fail(c, "it is not a zip archive (no end of central directory record)");
}

/* Type and mode of e from its attributes (Go's FileHeader.Mode, then
 * Juju's choice among directory, symlink and file). */
static int entry_type(struct ctx *c, struct entry *e, unsigned made_by, uint32_t external)
{
    int slash = e->raw[e->raw_len - 1] == '/';
    unsigned unix_mode = external >> 16;
    if ((made_by == MADE_BY_UNIX || made_by == MADE_BY_MACOS) && unix_mode != 0) {
        unsigned type = unix_mode & 0170000;
        if (type == 0040000 || (slash && (type == 0100000 || type == 0))) {
            e->kind = KIND_DIR;
            e->mode = (unix_mode & 0777) | 0700;
        } else if (type == 0120000 && !slash) {
            e->kind = KIND_LINK;
            e->mode = 0777;
        } else if (type == 0100000 || type == 0) {
            e->kind = KIND_FILE;
            e->mode = unix_mode & 0777;
        } else if (type == 0120000) {
            return fail_entry(c, e, "its name ends in '/' but its mode says symlink");
        } else {
            return fail_entry(c, e, "it is not a file, directory or symlink (mode %06o)",
                              unix_mode);
        }
    } else if (slash || (external & MSDOS_DIRECTORY)) {
        e->kind = KIND_DIR;
        e->mode = 0755;
    } else {
        e->kind = KIND_FILE;
        e->mode = 0644;
    }
    return 0;
}

static int read_directory(struct ctx *c)
{
    unsigned char rec[EOCD_SIZE] = {0};
    uint64_t at = 0;
    if (find_end_record(c, &at, rec) != 0)
        return -1;
    uint32_t disk = u16(rec + 4), cd_disk = u16(rec + 6), on_disk = u16(rec + 8);
    uint32_t total = u16(rec + 10), cd_size = u32(rec + 12), cd_off = u32(rec + 16);
    if (at >= LOCATOR_SIZE) {
        unsigned char loc[4];
        if (read_at(c, NULL, loc, 4, at - LOCATOR_SIZE) != 0)
            return -1;
        if (u32(loc) == SIG_ZIP64_LOCATOR)
            return fail(c, "it is a zip64 archive, which is not supported");
    }
    if (total == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu)
        return fail(c, "it is a zip64 archive, which is not supported");
    if (disk != 0 || cd_disk != 0 || on_disk != total)
        return fail(c, "it spans several disks, which is not supported");
    if ((uint64_t)cd_off + cd_size != at)
        return fail(c, "its central directory (%u bytes at offset %u) does not end where "
                       "its end record starts (offset %llu)",
                    cd_size, cd_off, (unsigned long long)at);
    if (cd_size > UNZIP_MAX_DIRECTORY_SIZE)
        return fail(c, "its central directory is %u bytes, more than the limit of %u",
                    cd_size, UNZIP_MAX_DIRECTORY_SIZE);
    if ((uint64_t)total * CDH_SIZE > cd_size)
        return fail(c, "its end record counts %u entries, more than its central directory "
                       "of %u bytes can hold", total, cd_size);

    c->count = total;
    c->cd_off = cd_off;
    c->cd = malloc(cd_size + 1u);
    c->entries = calloc(total + 1u, sizeof *c->entries);
    c->sorted = calloc(total + 1u, sizeof *c->sorted);
    c->arena = malloc(cd_size + 1u);
    if (c->cd == NULL || c->entries == NULL || c->sorted == NULL || c->arena == NULL)
        return fail_sys(c, NULL, ENOMEM, "out of memory for its central directory");
    if (read_at(c, NULL, c->cd, cd_size, cd_off) != 0)
        return -1;

    size_t p = 0, arena = 0, components = 0, longest = 0;
    uint64_t declared = 0;
    for (size_t i = 0; i < total; i++) {
        struct entry *e = &c->entries[i];
        if (cd_size - p < CDH_SIZE || u32(c->cd + p) != SIG_CDH)
            return fail(c, "its central directory is damaged at entry %zu of %u", i + 1, total);
        const unsigned char *h = c->cd + p;
        size_t n = u16(h + 28), m = u16(h + 30), k = u16(h + 32);
        if (cd_size - p - CDH_SIZE < n + m + k)
            return fail(c, "its central directory is damaged at entry %zu of %u", i + 1, total);
        e->raw = h + CDH_SIZE;
        e->raw_len = n;
        e->index = i;
        e->flags = u16(h + 8);
        e->method = u16(h + 10);
        e->crc = u32(h + 16);
        e->csize = u32(h + 20);
        e->usize = u32(h + 24);
        e->header = u32(h + 42);
        p += CDH_SIZE + n + m + k;

        size_t parts = 0;
        e->path = c->arena + arena;
        if (check_name(c, e, e->path, &e->path_len, &parts) != 0)
            return -1;
        arena += e->path_len + 1;
        components += parts;
        if (e->path_len > longest)
            longest = e->path_len;
        if (e->flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION | FLAG_MASKED_DIRECTORY))
            return fail_entry(c, e, "it is encrypted, which is not supported");
        if (e->csize == 0xffffffffu || e->usize == 0xffffffffu || e->header == 0xffffffffu ||
            u16(h + 34) == 0xffff)
            return fail_entry(c, e, "it needs zip64, which is not supported");
        if (u16(h + 34) != 0)
            return fail_entry(c, e, "it starts on disk %u: multi-disk archives are not supported",
                              (unsigned)u16(h + 34));
        if (e->method != 0 && e->method != 8)
            return fail_entry(c, e, "its compression method is %u; only 0 (stored) and 8 "
                                    "(deflated) are supported", e->method);
        if (entry_type(c, e, u16(h + 4) >> 8, u32(h + 38)) != 0)
            return -1;
        if (e->method == 0 && e->csize != e->usize)
            return fail_entry(c, e, "it is stored, but its sizes differ (%u compressed, %u not)",
                              e->csize, e->usize);
        if (e->usize > c->max_entry)
            return fail_entry(c, e, "it declares %u bytes, more than the limit of %llu",
                              e->usize, (unsigned long long)c->max_entry);
        if (e->kind == KIND_DIR && (e->usize != 0 || e->crc != 0))
            return fail_entry(c, e, "it is a directory, but holds %u bytes", e->usize);
        if (e->kind == KIND_LINK && (e->usize == 0 || e->usize > UNZIP_MAX_LINK_TARGET))
            return fail_entry(c, e, "its symlink target is %u bytes (1 to %d are accepted)",
                              e->usize, UNZIP_MAX_LINK_TARGET);
        declared += e->usize;
        c->sorted[i] = e;
    }
    if (p != cd_size)
        return fail(c, "its central directory holds more entries than its end record counts "
                       "(%u)", total);
    if (declared > c->max_total)
        return fail(c, "its entries declare %llu bytes in all, more than the limit of %llu",
                    (unsigned long long)declared, (unsigned long long)c->max_total);

    /* Room for every record of something made (at most one per component
     * of every entry), and for resolving a symlink's target. */
    c->made_cap = components;
    c->made = calloc(components + 1, sizeof *c->made);
    c->scratch = malloc(longest + UNZIP_MAX_LINK_TARGET + 2);
    if (c->made == NULL || c->scratch == NULL)
        return fail_sys(c, NULL, ENOMEM, "out of memory");
    return 0;
}

/* ------------------------------------------------------------ pass 2: local headers */

static int check_descriptor(struct ctx *c, struct entry *e)
{
    unsigned char d[16];
    uint64_t room = c->zsize - e->end;
    size_t n = room < sizeof d ? (size_t)room : sizeof d;
    if (n < 12)
        return fail_entry(c, e, "its data descriptor runs past the end of the archive");
    if (read_at(c, e, d, n, e->end) != 0)
        return -1;
    if (n == 16 && u32(d) == SIG_DESCRIPTOR && u32(d + 4) == e->crc && u32(d + 8) == e->csize &&
        u32(d + 12) == e->usize) {
        e->end += 16;
        return 0;
    }
    if (u32(d) == e->crc && u32(d + 4) == e->csize && u32(d + 8) == e->usize) {
        e->end += 12;
        return 0;
    }
    return fail_entry(c, e, "its data descriptor does not match its central directory header");
}

static int check_local_header(struct ctx *c, struct entry *e, uint64_t cd_start)
{
    if ((uint64_t)e->header + LFH_SIZE > cd_start)
        return fail_entry(c, e, "its local header (offset %u) is not before the central "
                                "directory", e->header);
    unsigned char *h = c->in;
    size_t want = LFH_SIZE + e->raw_len;
    if ((uint64_t)e->header + want > cd_start)
        return fail_entry(c, e, "its local header runs into the central directory");
    if (read_at(c, e, h, want, e->header) != 0)
        return -1;
    if (u32(h) != SIG_LFH)
        return fail_entry(c, e, "there is no local header at offset %u", e->header);
    unsigned flags = u16(h + 6);
    if (u16(h + 26) != e->raw_len || memcmp(h + LFH_SIZE, e->raw, e->raw_len) != 0)
        return fail_entry(c, e, "its local header has another name");
    if (u16(h + 8) != e->method)
        return fail_entry(c, e, "its local header has another compression method");
    if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION))
        return fail_entry(c, e, "it is encrypted, which is not supported");
    if ((flags & FLAG_DESCRIPTOR) != (e->flags & FLAG_DESCRIPTOR))
        return fail_entry(c, e, "its local header and central directory header disagree on "
                                "a data descriptor");
    uint32_t crc = u32(h + 14), csize = u32(h + 18), usize = u32(h + 22);
    /* with a data descriptor each may be zero instead (Info-ZIP's zip,
     * streaming, fills in the size it already knows) */
    int zero_ok = (flags & FLAG_DESCRIPTOR) != 0;
    if (!((crc == e->crc || (zero_ok && crc == 0)) &&
          (csize == e->csize || (zero_ok && csize == 0)) &&
          (usize == e->usize || (zero_ok && usize == 0))))
        return fail_entry(c, e, "its local header has another CRC-32 or size");
    e->data = (uint64_t)e->header + LFH_SIZE + e->raw_len + u16(h + 28);
    e->end = e->data + e->csize;
    if (e->end > cd_start)
        return fail_entry(c, e, "its data runs past the start of the central directory");
    if (zero_ok && check_descriptor(c, e) != 0)
        return -1;
    if (e->end > cd_start)
        return fail_entry(c, e, "its data descriptor runs into the central directory");
    return 0;
}

static int cmp_offset(const void *pa, const void *pb)
{
    const struct entry *a = *(const struct entry *const *)pa;
    const struct entry *b = *(const struct entry *const *)pb;
    return a->header < b->header ? -1 : a->header > b->header ? 1
         : a->index < b->index ? -1 : a->index > b->index;
}

static int read_local_headers(struct ctx *c)
{
    struct entry **by_offset = malloc((c->count + 1) * sizeof *by_offset);
    if (by_offset == NULL)
        return fail_sys(c, NULL, ENOMEM, "out of memory");
    int r = 0;
    for (size_t i = 0; i < c->count && r == 0; i++) {
        by_offset[i] = &c->entries[i];
        r = check_local_header(c, &c->entries[i], c->cd_off);
    }
    if (r == 0) {
        qsort(by_offset, c->count, sizeof *by_offset, cmp_offset);
        for (size_t i = 0; i + 1 < c->count && r == 0; i++) {
            const struct entry *a = by_offset[i], *b = by_offset[i + 1];
            if (b->header < a->end) {
                char other[QUOTE_MAX * 4 + 8];
                quote(other, sizeof other, a->raw, a->raw_len);
                r = fail_entry(c, b, "it overlaps %s in the archive", other);
            }
        }
    }
    free(by_offset);
    return r;
}

/* ------------------------------------------------------------ pass 3: names */

static int check_paths(struct ctx *c)
{
    qsort(c->sorted, c->count, sizeof *c->sorted, cmp_sorted);
    for (size_t i = 0; i + 1 < c->count; i++) {
        const struct entry *a = c->sorted[i], *b = c->sorted[i + 1];
        if (a->path_len == b->path_len && memcmp(a->path, b->path, a->path_len) == 0) {
            char other[QUOTE_MAX * 4 + 8];
            quote(other, sizeof other, a->raw, a->raw_len);
            return fail_entry(c, b, "another entry has the same path (%s)", other);
        }
        if (a->kind != KIND_DIR && b->path_len > a->path_len && b->path[a->path_len] == '/' &&
            memcmp(a->path, b->path, a->path_len) == 0) {
            char other[QUOTE_MAX * 4 + 8];
            quote(other, sizeof other, (const unsigned char *)a->path, a->path_len);
            return fail_entry(c, b, "%s is a %s in the archive, not a directory", other,
                              a->kind == KIND_LINK ? "symlink" : "file");
        }
    }
    return 0;
}

/* ------------------------------------------------------------ writing */

/* Hand n inflated bytes to the file fd, or to mem at offset at. */
static int sink(struct ctx *c, const struct entry *e, int fd, char *mem, uint64_t at,
                const unsigned char *p, size_t n)
{
    if (fd < 0) {
        memcpy(mem + at, p, n); /* at + n <= usize, checked by the caller */
        return 0;
    }
    if (fd_write_all(fd, p, n) != 0) {
        int err = errno;
        return fail_sys(c, e, err, "cannot write it (%s)", strerror(err));
    }
    return 0;
}

/* Read e's data, inflating it when deflated, into fd (or mem, which has
 * room for usize bytes); check its size and CRC-32. */
static int copy_data(struct ctx *c, const struct entry *e, int fd, char *mem)
{
    uint64_t left = e->csize, off = e->data, produced = 0;
    uLong crc = crc32(0L, Z_NULL, 0);
    if (e->method == 0) {
        while (left > 0) {
            size_t n = left < CHUNK ? (size_t)left : CHUNK;
            if (read_at(c, e, c->in, n, off) != 0)
                return -1;
            crc = crc32(crc, c->in, (uInt)n);
            if (sink(c, e, fd, mem, produced, c->in, n) != 0)
                return -1;
            produced += n;
            left -= n;
            off += n;
        }
    } else {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (inflateInit2(&z, -MAX_WBITS) != Z_OK)
            return fail_sys(c, e, ENOMEM, "out of memory for inflate");
        int ret = Z_OK, r = 0;
        while (r == 0 && ret != Z_STREAM_END) {
            if (z.avail_in == 0) {
                if (left == 0) {
                    r = fail_entry(c, e, "its deflated data ends before its deflate stream does");
                    break;
                }
                size_t n = left < CHUNK ? (size_t)left : CHUNK;
                if (read_at(c, e, c->in, n, off) != 0) {
                    r = -1;
                    break;
                }
                z.next_in = c->in;
                z.avail_in = (uInt)n;
                left -= n;
                off += n;
            }
            z.next_out = c->out;
            z.avail_out = CHUNK;
            ret = inflate(&z, Z_NO_FLUSH);
            size_t got = CHUNK - z.avail_out;
            if (ret == Z_MEM_ERROR) {
                r = fail_sys(c, e, ENOMEM, "out of memory for inflate");
            } else if (ret != Z_OK && ret != Z_STREAM_END && !(ret == Z_BUF_ERROR && got == 0 &&
                                                               z.avail_in == 0)) {
                r = fail_entry(c, e, "its deflated data is damaged (%s)",
                               z.msg != NULL ? z.msg : "inflate failed");
            } else if (got > e->usize - produced) {
                r = fail_entry(c, e, "it inflates to more than the %u bytes it declares",
                               e->usize);
            } else if (got > 0) {
                crc = crc32(crc, c->out, (uInt)got);
                r = sink(c, e, fd, mem, produced, c->out, got);
                produced += got;
            }
        }
        if (r == 0 && (z.avail_in != 0 || left != 0))
            r = fail_entry(c, e, "its deflated data goes on after the end of its deflate stream");
        inflateEnd(&z);
        if (r != 0)
            return -1;
    }
    if (produced != e->usize)
        return fail_entry(c, e, "it holds %llu bytes, not the %u it declares",
                          (unsigned long long)produced, e->usize);
    if ((uint32_t)crc != e->crc)
        return fail_entry(c, e, "its data is damaged (CRC-32 %08x, not %08x)", (unsigned)crc,
                          (unsigned)e->crc);
    return 0;
}

static void record(struct ctx *c, const char *path, size_t len, int is_dir)
{
    c->made[c->nmade].path = path;
    c->made[c->nmade].len = len;
    c->made[c->nmade].is_dir = is_dir;
    c->nmade++;
}

/* The record of what is made has room for every component of every entry;
 * this only guards that reasoning. */
static int room(struct ctx *c, const struct entry *e)
{
    if (c->nmade < c->made_cap)
        return 0;
    return fail_sys(c, e, EOVERFLOW, "more to make than its names allow (a bug)");
}

/* Open every directory on the way to the last component of path (len
 * bytes), from the destination, each with O_NOFOLLOW; when make is set,
 * make the missing ones (mode 0755, recorded). Returns the fd of the last
 * one and puts the last component in name; -1 on failure (recorded against
 * e, which may be NULL). */
static int open_parent(struct ctx *c, const struct entry *e, const char *path, size_t len,
                       int make, char name[NAME_MAX + 1])
{
    int fd = openat(c->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        return fail_sys(c, e, err, "cannot open the destination (%s)", strerror(err));
    }
    size_t i = 0;
    for (;;) {
        size_t j = i;
        while (j < len && path[j] != '/')
            j++;
        if (j - i > NAME_MAX) {
            close(fd);
            return fail_sys(c, e, ENAMETOOLONG, "a component of its name is longer than %d bytes",
                            NAME_MAX);
        }
        memcpy(name, path + i, j - i);
        name[j - i] = '\0';
        if (j == len)
            return fd;
        int next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT && make) {
            if (room(c, e) != 0) {
                close(fd);
                return -1;
            }
            if (mkdirat(fd, name, 0700) == 0) {
                record(c, path, j, 1);
                next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next >= 0 && fchmod(next, 0755) != 0) {
                    int err = errno;
                    close(next);
                    next = -1;
                    errno = err;
                }
            }
        }
        if (next < 0) {
            int err = errno;
            char dir[QUOTE_MAX * 4 + 8];
            quote(dir, sizeof dir, (const unsigned char *)path, j);
            close(fd);
            return fail_sys(c, e, err, "cannot %s its directory %s (%s)",
                            make ? "make or open" : "open", dir, strerror(err));
        }
        close(fd);
        fd = next;
        i = j + 1;
    }
}

/* The directory entry e goes in, made as needed, with room in the record
 * for e itself; its last component in name. -1 on failure (recorded). */
static int open_entry_parent(struct ctx *c, const struct entry *e, char name[NAME_MAX + 1])
{
    int dir = open_parent(c, e, e->path, e->path_len, 1, name);
    if (dir >= 0 && room(c, e) != 0) {
        close(dir);
        return -1;
    }
    return dir;
}

static int extract_dir(struct ctx *c, const struct entry *e)
{
    char name[NAME_MAX + 1];
    int dir = open_entry_parent(c, e, name);
    if (dir < 0)
        return -1;
    if (mkdirat(dir, name, 0700) == 0)
        record(c, e->path, e->path_len, 1);
    else if (errno != EEXIST) /* EEXIST: made earlier as a parent */ {
        int err = errno;
        close(dir);
        return fail_sys(c, e, err, "cannot make it (%s)", strerror(err));
    }
    int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int err = errno;
    close(dir);
    if (fd < 0)
        return fail_sys(c, e, err, "cannot open it (%s)", strerror(err));
    int r = 0;
    if (fchmod(fd, e->mode) != 0) {
        err = errno;
        r = fail_sys(c, e, err, "cannot set its mode to %04o (%s)", e->mode, strerror(err));
    }
    close(fd);
    return r;
}

static int extract_file(struct ctx *c, const struct entry *e)
{
    char name[NAME_MAX + 1];
    int dir = open_entry_parent(c, e, name);
    if (dir < 0)
        return -1;
    int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int err = errno;
    close(dir);
    if (fd < 0)
        return fail_sys(c, e, err, "cannot create it (%s)", strerror(err));
    record(c, e->path, e->path_len, 0);
    int r = copy_data(c, e, fd, NULL);
    if (r == 0 && fchmod(fd, e->mode) != 0) {
        err = errno;
        r = fail_sys(c, e, err, "cannot set its mode to %04o (%s)", e->mode, strerror(err));
    }
    if (close(fd) != 0 && r == 0) {
        err = errno;
        r = fail_sys(c, e, err, "cannot close it (%s)", strerror(err));
    }
    return r;
}

/* Whether the symlink target t (n bytes, no NUL) of e, resolved from e's
 * directory, stays inside the destination without passing through another
 * symlink of the archive. */
static int check_target(struct ctx *c, const struct entry *e, const char *t, size_t n)
{
    char shown[QUOTE_MAX * 4 + 8];
    quote(shown, sizeof shown, (const unsigned char *)t, n);
    if (t[0] == '/')
        return fail_entry(c, e, "its symlink target %s is absolute", shown);
    char *at = c->scratch;
    size_t len = 0;
    const char *slash = memrchr(e->path, '/', e->path_len);
    if (slash != NULL) {
        len = (size_t)(slash - e->path);
        memcpy(at, e->path, len);
    }
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && t[j] != '/')
            j++;
        size_t k = j - i;
        if (k > 0 && !(k == 1 && t[i] == '.')) {
            const struct entry *link = len > 0 ? find_path(c, at, len) : NULL;
            if (link != NULL && link->kind == KIND_LINK) {
                char via[QUOTE_MAX * 4 + 8];
                quote(via, sizeof via, link->raw, link->raw_len);
                return fail_entry(c, e, "its symlink target %s passes through the symlink %s",
                                  shown, via);
            }
            if (k == 2 && t[i] == '.' && t[i + 1] == '.') {
                if (len == 0)
                    return fail_entry(c, e, "its symlink target %s leads outside the destination",
                                      shown);
                const char *up = memrchr(at, '/', len);
                len = up != NULL ? (size_t)(up - at) : 0;
            } else {
                if (len > 0)
                    at[len++] = '/';
                memcpy(at + len, t + i, k);
                len += k;
            }
        }
        i = j + 1;
    }
    return 0;
}

static int extract_link(struct ctx *c, const struct entry *e)
{
    char target[UNZIP_MAX_LINK_TARGET + 1];
    if (copy_data(c, e, -1, target) != 0)
        return -1;
    target[e->usize] = '\0';
    if (memchr(target, '\0', e->usize) != NULL)
        return fail_entry(c, e, "its symlink target holds a NUL byte");
    if (check_target(c, e, target, e->usize) != 0)
        return -1;
    char name[NAME_MAX + 1];
    int dir = open_entry_parent(c, e, name);
    if (dir < 0)
        return -1;
    int r = symlinkat(target, dir, name);
    int err = errno;
    close(dir);
    if (r != 0)
        return fail_sys(c, e, err, "cannot make the symlink (%s)", strerror(err));
    record(c, e->path, e->path_len, 0);
    return 0;
}

/* Remove everything made, newest first (children before their parents). */
static void undo(struct ctx *c)
{
    for (size_t i = c->nmade; i-- > 0;) {
        char name[NAME_MAX + 1];
        int dir = open_parent(c, NULL, c->made[i].path, c->made[i].len, 0, name);
        if (dir < 0)
            continue;
        unlinkat(dir, name, c->made[i].is_dir ? AT_REMOVEDIR : 0);
        close(dir);
    }
    c->nmade = 0;
}

/* ------------------------------------------------------------ the whole */

static int check_empty(struct ctx *c)
{
    int fd = openat(c->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        return failv(c, NULL, 1, err, "cannot open it (%s)", strerror(err));
    }
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        int err = errno;
        close(fd);
        return failv(c, NULL, 1, err, "cannot read it (%s)", strerror(err));
    }
    int empty = 1;
    struct dirent *ent;
    while (empty && (ent = readdir(d)) != NULL)
        empty = strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0;
    closedir(d);
    if (!empty)
        return failv(c, NULL, 1, ENOTEMPTY, "it is not empty");
    return 0;
}

static int run(struct ctx *c)
{
    struct stat st;
    if (fstat(c->zfd, &st) != 0) {
        int err = errno;
        return fail_sys(c, NULL, err, "cannot stat it (%s)", strerror(err));
    }
    if (!S_ISREG(st.st_mode))
        return fail(c, "it is not a regular file");
    c->zsize = (uint64_t)st.st_size;
    if (check_empty(c) != 0)
        return -1;
    c->in = malloc(IN_SIZE);
    c->out = malloc(CHUNK);
    if (c->in == NULL || c->out == NULL)
        return fail_sys(c, NULL, ENOMEM, "out of memory");
    if (read_directory(c) != 0 || read_local_headers(c) != 0 || check_paths(c) != 0)
        return -1;
    for (size_t i = 0; i < c->count; i++) {
        const struct entry *e = &c->entries[i];
        int r = e->kind == KIND_DIR ? extract_dir(c, e)
              : e->kind == KIND_LINK ? extract_link(c, e) : extract_file(c, e);
        if (r != 0)
            return -1;
    }
    return 0;
}

int unzip_extract_fd(int zip_fd, const char *zip_name, int dest_fd, const char *dest_name,
                     const struct unzip_limits *limits, char *msg, size_t msg_size)
{
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.zfd = zip_fd;
    c.dfd = dest_fd;
    c.zip_name = zip_name != NULL ? zip_name : "the archive";
    c.dest_name = dest_name != NULL ? dest_name : "the destination";
    c.msg = msg;
    c.msg_size = msg_size;
    c.max_entry = limits != NULL && limits->max_entry_size != 0 ? limits->max_entry_size
                                                                : UNZIP_MAX_ENTRY_SIZE;
    c.max_total = limits != NULL && limits->max_total_size != 0 ? limits->max_total_size
                                                                : UNZIP_MAX_TOTAL_SIZE;
    if (msg_size > 0)
        msg[0] = '\0';
    int r = run(&c);
    if (r != 0)
        undo(&c);
    free(c.made);
    free(c.scratch);
    free(c.in);
    free(c.out);
    free(c.arena);
    free(c.sorted);
    free(c.entries);
    free(c.cd);
    if (r != 0) {
        errno = c.err;
        return -1;
    }
    return 0;
}

int unzip_extract(const char *zip_path, const char *dest_dir,
                  const struct unzip_limits *limits, char *msg, size_t msg_size)
{
    if (zip_path == NULL || dest_dir == NULL || zip_path[0] == '\0' || dest_dir[0] == '\0') {
        if (msg_size > 0)
            snprintf(msg, msg_size, "cannot extract: no %s given",
                     zip_path == NULL || zip_path[0] == '\0' ? "archive" : "destination");
        errno = EINVAL;
        return -1;
    }
    /* O_NONBLOCK: a FIFO at the path must not hang the open (it is then
     * refused as not a regular file); pread on a file ignores it */
    int zfd = open(zip_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (zfd < 0) {
        int err = errno;
        if (msg_size > 0)
            snprintf(msg, msg_size, "cannot extract %s: cannot open it (%s)", zip_path,
                     strerror(err));
        errno = err;
        return -1;
    }
    int dfd = open(dest_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        int err = errno;
        close(zfd);
        if (msg_size > 0)
            snprintf(msg, msg_size, "cannot extract %s into %s: cannot open it (%s)", zip_path,
                     dest_dir, strerror(err));
        errno = err;
        return -1;
    }
    int r = unzip_extract_fd(zfd, zip_path, dfd, dest_dir, limits, msg, msg_size);
    int err = errno;
    close(dfd);
    close(zfd);
    errno = err;
    return r;
}
