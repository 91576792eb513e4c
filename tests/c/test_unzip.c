/*
 * test_unzip.c - unzip_extract against zips built here (stored entries by
 * hand, deflated ones with zlib's deflate, headers patched to break them),
 * a real .charm packed by tools/pack.lua from the template charm, and zips
 * made by the system `zip` program (when it is installed).
 *
 * Every extraction happens in root/dest, next to root/outside/sentinel:
 * after each one root must hold exactly those, the sentinel unchanged, and
 * after each refusal dest must be empty again. Each refusal's message is
 * compared whole.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "ctest.h"
#include "testutil.h"
#include "unzip.h"

/* ------------------------------------------------------------ building zips */

struct zent {
    const char *name;
    size_t name_len;    /* 0: strlen(name) */
    const void *data;
    size_t len;
    int deflate;        /* method 8, made with zlib's deflate */
    int dos;            /* made by MS-DOS (attributes in msdos), else by Unix */
    unsigned mode;      /* Unix st_mode, the external attributes' high half */
    unsigned msdos;     /* the external attributes' low byte */
    unsigned flags;
    int descriptor;     /* flag 3, zeros in the local header, then a data
                         * descriptor: 1 with its signature, 2 without */
};

#define MAX_ENTRIES 16

struct zip {
    unsigned char *p;
    size_t len, cap;
    size_t lfh[MAX_ENTRIES], cdh[MAX_ENTRIES], data[MAX_ENTRIES];
    size_t cd, eocd;
};

static void put(struct zip *z, const void *p, size_t n)
{
    if (z->len + n > z->cap) {
        size_t cap = z->cap ? z->cap : 4096;
        while (cap < z->len + n)
            cap *= 2;
        unsigned char *q = realloc(z->p, cap);
        if (q == NULL)
            abort();
        z->p = q;
        z->cap = cap;
    }
    if (n > 0)
        memcpy(z->p + z->len, p, n);
    z->len += n;
}

static void put16(struct zip *z, unsigned v)
{
    unsigned char b[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    put(z, b, 2);
}

static void put32(struct zip *z, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    put(z, b, 4);
}

/* Overwrite a little-endian field of the built zip. */
static void set16(struct zip *z, size_t at, unsigned v)
{
    z->p[at] = (unsigned char)v;
    z->p[at + 1] = (unsigned char)(v >> 8);
}

static void set32(struct zip *z, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        z->p[at + (size_t)i] = (unsigned char)(v >> (8 * i));
}

/* Raw deflate (no zlib header) of p, in a malloc'd buffer. */
static unsigned char *deflate_raw(const void *p, size_t n, size_t *out_len)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    uLong bound = deflateBound(&s, (uLong)n);
    unsigned char *out = malloc(bound + 1);
    if (out == NULL)
        abort();
    s.next_in = (Bytef *)(uintptr_t)p;
    s.avail_in = (uInt)n;
    s.next_out = out;
    s.avail_out = (uInt)bound;
    if (deflate(&s, Z_FINISH) != Z_STREAM_END)
        abort();
    *out_len = bound - s.avail_out;
    deflateEnd(&s);
    return out;
}

/* The zip of n entries (offsets of each header recorded in z). */
static void build(struct zip *z, const struct zent *es, size_t n)
{
    memset(z, 0, sizeof *z);
    unsigned char *packed[MAX_ENTRIES];
    size_t plen[MAX_ENTRIES];
    uint32_t crcs[MAX_ENTRIES];
    for (size_t i = 0; i < n; i++) {
        const struct zent *e = &es[i];
        size_t nl = e->name_len ? e->name_len : strlen(e->name);
        crcs[i] = (uint32_t)crc32(0L, e->data, (uInt)e->len);
        if (e->deflate) {
            packed[i] = deflate_raw(e->data, e->len, &plen[i]);
        } else {
            packed[i] = NULL;
            plen[i] = e->len;
        }
        unsigned flags = e->flags | (e->descriptor ? 8u : 0u);
        z->lfh[i] = z->len;
        put32(z, 0x04034b50);
        put16(z, 20);
        put16(z, flags);
        put16(z, e->deflate ? 8 : 0);
        put16(z, 0);
        put16(z, 0x21); /* 1980-01-01 */
        put32(z, e->descriptor ? 0 : crcs[i]);
        put32(z, e->descriptor ? 0 : (uint32_t)plen[i]);
        put32(z, e->descriptor ? 0 : (uint32_t)e->len);
        put16(z, (unsigned)nl);
        put16(z, 0);
        put(z, e->name, nl);
        z->data[i] = z->len;
        put(z, packed[i] ? packed[i] : e->data, plen[i]);
        if (e->descriptor) {
            if (e->descriptor == 1)
                put32(z, 0x08074b50);
            put32(z, crcs[i]);
            put32(z, (uint32_t)plen[i]);
            put32(z, (uint32_t)e->len);
        }
    }
    z->cd = z->len;
    for (size_t i = 0; i < n; i++) {
        const struct zent *e = &es[i];
        size_t nl = e->name_len ? e->name_len : strlen(e->name);
        z->cdh[i] = z->len;
        put32(z, 0x02014b50);
        put16(z, (e->dos ? 0u : 3u << 8) | 20);
        put16(z, 20);
        put16(z, e->flags | (e->descriptor ? 8u : 0u));
        put16(z, e->deflate ? 8 : 0);
        put16(z, 0);
        put16(z, 0x21);
        put32(z, crcs[i]);
        put32(z, (uint32_t)plen[i]);
        put32(z, (uint32_t)e->len);
        put16(z, (unsigned)nl);
        put16(z, 0);
        put16(z, 0);
        put16(z, 0);
        put16(z, 0);
        put32(z, (uint32_t)e->mode << 16 | e->msdos);
        put32(z, (uint32_t)z->lfh[i]);
        put(z, e->name, nl);
        free(packed[i]);
    }
    z->eocd = z->len;
    put32(z, 0x06054b50);
    put16(z, 0);
    put16(z, 0);
    put16(z, (unsigned)n);
    put16(z, (unsigned)n);
    put32(z, (uint32_t)(z->eocd - z->cd));
    put32(z, (uint32_t)z->cd);
    put16(z, 0);
}

/* Field offsets within the headers. */
#define LFH_FLAGS 6
#define LFH_METHOD 8
#define LFH_CRC 14
#define LFH_CSIZE 18
#define LFH_USIZE 22
#define CDH_MADE_BY 4
#define CDH_FLAGS 8
#define CDH_METHOD 10
#define CDH_CRC 16
#define CDH_CSIZE 20
#define CDH_USIZE 24
#define CDH_DISK 34
#define CDH_EXTERNAL 38
#define CDH_OFFSET 42
#define EOCD_DISK 4
#define EOCD_COUNT_DISK 8
#define EOCD_COUNT 10
#define EOCD_CD_SIZE 12
#define EOCD_CD_OFFSET 16
#define EOCD_COMMENT 20

/* ------------------------------------------------------------ the playground */

struct ground {
    char root[PATH_MAX], dest[PATH_MAX], zip[PATH_MAX], outside[PATH_MAX];
};

static const char SENTINEL[] = "outside the destination\n";

static void ground_make(struct ground *g)
{
    char dir[PATH_MAX];
    if (make_tmpdir(g->root, sizeof g->root, "test_unzip") != 0)
        abort();
    pathf(g->dest, "%s/dest", g->root);
    pathf(dir, "%s/outside", g->root);
    pathf(g->outside, "%s/outside/sentinel", g->root);
    pathf(g->zip, "%s/in.zip", g->root);
    if (mkdir(g->dest, 0700) != 0 || mkdir(dir, 0755) != 0 ||
        write_text(g->outside, SENTINEL, 0644) != 0)
        abort();
}

/* Whether root holds nothing but dest, outside/sentinel (unchanged) and
 * what the tests put there themselves. */
static int outside_untouched(const struct ground *g)
{
    static const char *const ours[] = {"dest", "outside", "in.zip", "template.charm",
                                       "made.zip", "src", NULL};
    char names[1024], dir[PATH_MAX];
    list_dir(g->root, names, sizeof names);
    for (char *name = strtok(names, " "); name != NULL; name = strtok(NULL, " ")) {
        int known = 0;
        for (int i = 0; ours[i] != NULL; i++)
            known |= strcmp(name, ours[i]) == 0;
        if (!known) {
            fprintf(stderr, "  root holds %s\n", name);
            return 0;
        }
    }
    pathf(dir, "%s/outside", g->root);
    list_dir(dir, names, sizeof names);
    size_t n = 0;
    char *s = read_file(g->outside, &n);
    int same = strcmp(names, "sentinel") == 0 && s != NULL && n == strlen(SENTINEL) &&
               memcmp(s, SENTINEL, n) == 0;
    free(s);
    return same;
}

static int dest_empty(const struct ground *g)
{
    char names[1024];
    list_dir(g->dest, names, sizeof names);
    if (names[0] != '\0')
        fprintf(stderr, "  dest holds: %s\n", names);
    return names[0] == '\0';
}

/* Empty dest again (and make it 0700 again). */
static void ground_clear(const struct ground *g)
{
    remove_tree(g->dest);
    if (mkdir(g->dest, 0700) != 0)
        abort();
}

/* Every path under dir (recursively, sorted), one line each:
 * "d NAME MODE", "f NAME MODE SIZE" or "l NAME -> TARGET". */
static void tree_at(const char *dir, const char *rel, char *out, size_t size, size_t *used)
{
    char path[PATH_MAX];
    pathf(path, "%s%s%s", dir, *rel ? "/" : "", rel);
    struct dirent **names = NULL;
    int n = scandir(path, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
            char r[PATH_MAX], full[PATH_MAX], line[PATH_MAX * 2 + 64];
            pathf(r, "%s%s%s", rel, *rel ? "/" : "", name);
            pathf(full, "%s/%s", dir, r);
            struct stat st;
            line[0] = '\0';
            if (lstat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
                snprintf(line, sizeof line, "d %s %04o\n", r, (unsigned)(st.st_mode & 07777));
            } else if (S_ISREG(st.st_mode)) {
                snprintf(line, sizeof line, "f %s %04o %lld\n", r, (unsigned)(st.st_mode & 07777),
                         (long long)st.st_size);
            } else if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t k = readlink(full, target, sizeof target - 1);
                target[k > 0 ? k : 0] = '\0';
                snprintf(line, sizeof line, "l %s -> %s\n", r, target);
            } else {
                snprintf(line, sizeof line, "? %s\n", r);
            }
            int w = snprintf(out + *used, size - *used, "%s", line);
            if (w > 0 && (size_t)w < size - *used)
                *used += (size_t)w;
            if (S_ISDIR(st.st_mode))
                tree_at(dir, r, out, size, used);
        }
        free(names[i]);
    }
    free(names);
}

static void tree(const char *dir, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    tree_at(dir, "", out, size, &used);
}

/* Whether dir/rel holds exactly want_len bytes of want. */
static int file_is(const char *dir, const char *rel, const void *want, size_t want_len)
{
    char path[PATH_MAX];
    pathf(path, "%s/%s", dir, rel);
    return content_is(path, want, want_len);
}

static int write_zip(const struct ground *g, const struct zip *z)
{
    return write_file(g->zip, z->p, z->len, 0644);
}

/* Bytes that differ from position to position and compress somewhat. */
static char *pattern(size_t n, unsigned seed)
{
    char *p = malloc(n);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; p != NULL && i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (char)('a' + (x >> 16) % ((i / 4096) % 2 ? 4 : 26));
    }
    return p;
}

/* ------------------------------------------------------------ extraction */

TEST(stored_and_deflated_with_their_modes)
{
    struct ground g;
    ground_make(&g);
    size_t big_len = 3 * 1024 * 1024 + 17;
    char *big = pattern(big_len, 1);
    const char *script = "#!/bin/sh\necho hi\n";
    const struct zent es[] = {
        {.name = "dispatch", .data = script, .len = strlen(script), .mode = 0100755},
        {.name = "src/", .mode = 040755},
        {.name = "src/charm.lua", .data = "return {}\n", .len = 10, .deflate = 1, .mode = 0100644},
        {.name = "lib/deep/er/big.bin", .data = big, .len = big_len, .deflate = 1, .mode = 0100600},
        {.name = "stored-big", .data = big, .len = big_len, .mode = 0100640},
        {.name = "empty", .data = "", .len = 0, .mode = 0100644},
        {.name = "empty-deflated", .data = "", .len = 0, .deflate = 1, .mode = 0100444},
        {.name = "suid", .data = "x", .len = 1, .mode = 0106755},
        {.name = "private/", .mode = 040500},
        {.name = "private/f", .data = "p", .len = 1, .mode = 0100600},
        {.name = "dos.txt", .data = "d", .len = 1, .dos = 1, .msdos = 0x20},
        {.name = "dosdir", .dos = 1, .msdos = 0x10},
        {.name = "unix-no-mode", .data = "u", .len = 1, .mode = 0},
        {.name = "hooks/install", .data = "../dispatch", .len = 11, .mode = 0120777},
        {.name = "typeless", .data = "t", .len = 1, .mode = 0751},
        {.name = "lib/deep/", .mode = 040750},
    };
    struct zip z;
    build(&z, es, sizeof es / sizeof es[0]);
    CHECK(write_zip(&g, &z) == 0);
    mode_t old = umask(077);
    char msg[1024] = "untouched";
    int r = unzip_extract(g.zip, g.dest, NULL, msg, sizeof msg);
    umask(old);
    CHECK_EQ_INT(r, 0);
    CHECK_EQ_STR(msg, "");
    char got[8192];
    tree(g.dest, got, sizeof got);
    char want[8192];
    snprintf(want, sizeof want,
             "f dispatch 0755 %zu\n"
             "f dos.txt 0644 1\n"
             "d dosdir 0755\n"
             "f empty 0644 0\n"
             "f empty-deflated 0444 0\n"
             "d hooks 0755\n"
             "l hooks/install -> ../dispatch\n"
             "d lib 0755\n"
             "d lib/deep 0750\n"
             "d lib/deep/er 0755\n"
             "f lib/deep/er/big.bin 0600 %zu\n"
             "d private 0700\n"
             "f private/f 0600 1\n"
             "d src 0755\n"
             "f src/charm.lua 0644 10\n"
             "f stored-big 0640 %zu\n"
             "f suid 0755 1\n"
             "f typeless 0751 1\n"
             "f unix-no-mode 0644 1\n",
             strlen(script), big_len, big_len);
    CHECK_EQ_STR(got, want);
    CHECK(file_is(g.dest, "dispatch", script, strlen(script)));
    CHECK(file_is(g.dest, "src/charm.lua", "return {}\n", 10));
    CHECK(file_is(g.dest, "lib/deep/er/big.bin", big, big_len));
    CHECK(file_is(g.dest, "stored-big", big, big_len));
    CHECK(file_is(g.dest, "hooks/install", script, strlen(script))); /* through the link */
    CHECK(outside_untouched(&g));
    free(big);
    free(z.p);
    remove_tree(g.root);
}

/* Flag 3: sizes and CRC-32 after the data, with and without the
 * descriptor's signature. */
TEST(data_descriptors)
{
    struct ground g;
    ground_make(&g);
    char *text = pattern(200000, 2);
    const struct zent es[] = {
        {.name = "a", .data = text, .len = 200000, .deflate = 1, .mode = 0100644, .descriptor = 1},
        {.name = "b", .data = "bee", .len = 3, .mode = 0100644, .descriptor = 2},
        {.name = "c", .data = text, .len = 1000, .deflate = 1, .mode = 0100755, .descriptor = 2},
    };
    struct zip z;
    build(&z, es, 3);
    CHECK(write_zip(&g, &z) == 0);
    char msg[1024];
    CHECK_EQ_INT(unzip_extract(g.zip, g.dest, NULL, msg, sizeof msg), 0);
    CHECK_EQ_STR(msg, "");
    CHECK(file_is(g.dest, "a", text, 200000));
    CHECK(file_is(g.dest, "b", "bee", 3));
    CHECK(file_is(g.dest, "c", text, 1000));
    free(text);
    free(z.p);
    remove_tree(g.root);
}

TEST(an_empty_archive_extracts_nothing)
{
    struct ground g;
    ground_make(&g);
    struct zip z;
    build(&z, NULL, 0);
    CHECK_EQ_INT(z.len, 22);
    CHECK(write_zip(&g, &z) == 0);
    char msg[256];
    CHECK_EQ_INT(unzip_extract(g.zip, g.dest, NULL, msg, sizeof msg), 0);
    CHECK(dest_empty(&g));
    free(z.p);
    remove_tree(g.root);
}

/* Symlinks that stay inside are made as they are. */
TEST(symlinks_inside_are_made)
{
    struct ground g;
    ground_make(&g);
    const struct zent es[] = {
        {.name = "a/b/c.txt", .data = "c", .len = 1, .mode = 0100644},
        {.name = "a/b/up", .data = "../../top", .len = 9, .mode = 0120777},
        {.name = "a/down", .data = "b/c.txt", .len = 7, .mode = 0120777},
        {.name = "a/here", .data = ".", .len = 1, .mode = 0120777},
        {.name = "a/root", .data = "..", .len = 2, .mode = 0120777},
        {.name = "a/dangling", .data = "nowhere/x", .len = 9, .mode = 0120777},
        {.name = "top", .data = "t", .len = 1, .mode = 0100644},
        {.name = "chain", .data = "a/down", .len = 6, .mode = 0120777},
    };
    struct zip z;
    build(&z, es, sizeof es / sizeof es[0]);
    CHECK(write_zip(&g, &z) == 0);
    char msg[1024];
    CHECK_EQ_INT(unzip_extract(g.zip, g.dest, NULL, msg, sizeof msg), 0);
    CHECK_EQ_STR(msg, "");
    char got[4096];
    tree(g.dest, got, sizeof got);
    CHECK_EQ_STR(got, "d a 0755\n"
                      "d a/b 0755\n"
                      "f a/b/c.txt 0644 1\n"
                      "l a/b/up -> ../../top\n"
                      "l a/dangling -> nowhere/x\n"
                      "l a/down -> b/c.txt\n"
                      "l a/here -> .\n"
                      "l a/root -> ..\n"
                      "l chain -> a/down\n"
                      "f top 0644 1\n");
    CHECK(file_is(g.dest, "chain", "c", 1));
    CHECK(file_is(g.dest, "a/b/up", "t", 1));
    free(z.p);
    remove_tree(g.root);
}

/* ------------------------------------------------------------ refusals */

/* Extract the zip, expecting a refusal with exactly the message want (with
 * %s standing for the zip's path) and errno err; dest must be empty after
 * and nothing outside touched. */
static void refused_with(struct ground *g, const struct zip *z, const struct unzip_limits *lim,
                         const char *want_fmt, int err, int line)
{
    char msg[2048], want[2048];
    CHECK(write_zip(g, z) == 0);
    errno = 0;
    int r = unzip_extract(g->zip, g->dest, lim, msg, sizeof msg);
    int e = errno;
    snprintf(want, sizeof want, want_fmt, g->zip);
    if (r != -1 || strcmp(msg, want) != 0 || e != err) {
        fprintf(stderr, "  line %d: got %d, errno %d (%s):\n    %s\n  wanted errno %d:\n    %s\n",
                line, r, e, strerror(e), r == 0 ? "(no message)" : msg, err, want);
        ctest_current_failed = 1;
    }
    if (!dest_empty(g) || !outside_untouched(g)) {
        fprintf(stderr, "  line %d: something was left behind\n", line);
        ctest_current_failed = 1;
    }
    ground_clear(g);
}

#define REFUSED(g, z, lim, want) refused_with((g), (z), (lim), (want), EINVAL, __LINE__)

/* A one-entry zip of a stored file. */
static void one(struct zip *z, const char *name, size_t name_len, unsigned mode)
{
    const struct zent e = {.name = name, .name_len = name_len, .data = "data", .len = 4,
                           .mode = mode};
    build(z, &e, 1);
}

TEST(refuses_bad_names)
{
    struct ground g;
    ground_make(&g);
    static const struct {
        const char *name;
        size_t len;
        const char *want;
    } cases[] = {
        {"/etc/passwd", 0, "cannot extract \"/etc/passwd\" from %s: its name is an absolute path"},
        {"/", 0, "cannot extract \"/\" from %s: its name is an absolute path"},
        {"../evil", 0, "cannot extract \"../evil\" from %s: its name has a \"..\" component"},
        {"a/../../evil", 0,
         "cannot extract \"a/../../evil\" from %s: its name has a \"..\" component"},
        {"a/..", 0, "cannot extract \"a/..\" from %s: its name has a \"..\" component"},
        {"..", 0, "cannot extract \"..\" from %s: its name has a \"..\" component"},
        {"a\0b", 3, "cannot extract \"a\\x00b\" from %s: its name holds a NUL byte"},
        {"a\\..\\b", 0, "cannot extract \"a\\\\..\\\\b\" from %s: its name holds a backslash"},
        {"", 0, "cannot extract \"\" from %s: its name is empty"},
        {"a//b", 0, "cannot extract \"a//b\" from %s: its name has an empty or \".\" component"},
        {"./a", 0, "cannot extract \"./a\" from %s: its name has an empty or \".\" component"},
        {"a/./b", 0, "cannot extract \"a/./b\" from %s: its name has an empty or \".\" component"},
        {".", 0, "cannot extract \".\" from %s: its name has an empty or \".\" component"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct zip z;
        one(&z, cases[i].name, cases[i].len ? cases[i].len : strlen(cases[i].name), 0100644);
        /* "" has length 0: name_len 0 means strlen, which is 0 too */
        REFUSED(&g, &z, NULL, cases[i].want);
        free(z.p);
    }
    /* quoting in the message: quotes and control bytes escaped */
    struct zip z;
    one(&z, "q\"\n/../x", 0, 0100644);
    REFUSED(&g, &z, NULL, "cannot extract \"q\\\"\\x0a/../x\" from %s: its name has a \"..\" "
                          "component");
    free(z.p);
    /* a long name is cut short in the message */
    char longname[1024];
    for (int i = 0; i < 150; i++)
        memcpy(longname + 2 * i, "d/", 2);
    memcpy(longname + 300, "../x", 5);
    one(&z, longname, 0, 0100644);
    char want[1200];
    snprintf(want, sizeof want, "cannot extract \"%.200s...\" from %%s: its name has a \"..\" "
                                "component", longname);
    REFUSED(&g, &z, NULL, want);
    free(z.p);
    /* a component the file system cannot hold */
    memset(longname, 'n', 256);
    longname[256] = '\0';
    one(&z, longname, 0, 0100644);
    snprintf(want, sizeof want, "cannot extract \"%.200s...\" from %%s: its name has a component "
                                "longer than 255 bytes", longname);
    REFUSED(&g, &z, NULL, want);
    free(z.p);
    longname[255] = '\0'; /* 255 is fine */
    one(&z, longname, 0, 0100644);
    CHECK(write_zip(&g, &z) == 0);
    CHECK_EQ_INT(unzip_extract(g.zip, g.dest, NULL, want, sizeof want), 0);
    CHECK(file_is(g.dest, longname, "data", 4));
    ground_clear(&g);
    free(z.p);
    /* too deep: 257 components (256 are fine) */
    for (int i = 0; i < 257; i++)
        memcpy(longname + 2 * i, "d/", 2);
    longname[2 * 257 - 1] = '\0';
    one(&z, longname, 0, 0100644);
    snprintf(want, sizeof want, "cannot extract \"%.200s...\" from %%s: its name has more than 256 "
                                "components", longname);
    REFUSED(&g, &z, NULL, want);
    free(z.p);
    longname[2 * 256 - 1] = '\0';
    one(&z, longname, 0, 0100644);
    CHECK(write_zip(&g, &z) == 0);
    CHECK_EQ_INT(unzip_extract(g.zip, g.dest, NULL, want, sizeof want), 0);
    CHECK(file_is(g.dest, longname, "data", 4));
    ground_clear(&g);
    free(z.p);
    remove_tree(g.root);
}

TEST(refuses_duplicates_and_file_directory_clashes)
{
    struct ground g;
    ground_make(&g);
    struct zip z;
    const struct zent twice[] = {
        {.name = "a", .data = "1", .len = 1, .mode = 0100644},
        {.name = "b", .data = "2", .len = 1, .mode = 0100644},
        {.name = "a", .data = "3", .len = 1, .mode = 0100644},
    };
    build(&z, twice, 3);
    REFUSED(&g, &z, NULL, "cannot extract \"a\" from %s: another entry has the same path (\"a\")");
    free(z.p);

    const struct zent dir_and_file[] = {
        {.name = "d/", .mode = 040755},
        {.name = "d", .data = "f", .len = 1, .mode = 0100644},
    };
    build(&z, dir_and_file, 2);
    REFUSED(&g, &z, NULL, "cannot extract \"d\" from %s: another entry has the same path (\"d/\")");
    free(z.p);

    /* a file, then something under it */
    const struct zent file_then_child[] = {
        {.name = "x", .data = "f", .len = 1, .mode = 0100644},
        {.name = "x-y", .data = "f", .len = 1, .mode = 0100644},
        {.name = "x/y/z", .data = "f", .len = 1, .mode = 0100644},
    };
    build(&z, file_then_child, 3);
    REFUSED(&g, &z, NULL, "cannot extract \"x/y/z\" from %s: \"x\" is a file in the archive, "
                          "not a directory");
    free(z.p);

    /* something under a path, then a file at the path (vice versa) */
    const struct zent child_then_file[] = {
        {.name = "p/q", .data = "f", .len = 1, .mode = 0100644},
        {.name = "p", .data = "f", .len = 1, .mode = 0100644},
    };
    build(&z, child_then_file, 2);
    REFUSED(&g, &z, NULL, "cannot extract \"p/q\" from %s: \"p\" is a file in the archive, "
                          "not a directory");
    free(z.p);

    /* under a symlink: the link would lead the write elsewhere */
    const struct zent under_link[] = {
        {.name = "l", .data = "d", .len = 1, .mode = 0120777},
        {.name = "d/", .mode = 040755},
        {.name = "l/f", .data = "f", .len = 1, .mode = 0100644},
    };
    build(&z, under_link, 3);
    REFUSED(&g, &z, NULL, "cannot extract \"l/f\" from %s: \"l\" is a symlink in the archive, "
                          "not a directory");
    free(z.p);
    remove_tree(g.root);
}

TEST(refuses_symlinks_that_leave)
{
    struct ground g;
    ground_make(&g);
    static const struct {
        const char *name, *target;
        size_t len; /* 0: strlen(target) */
        const char *want;
    } cases[] = {
        {"l", "../outside/sentinel", 0,
         "cannot extract \"l\" from %s: its symlink target \"../outside/sentinel\" leads outside "
         "the destination"},
        {"a/b/l", "../../..", 0,
         "cannot extract \"a/b/l\" from %s: its symlink target \"../../..\" leads outside the "
         "destination"},
        {"a/l", "x/../../../y", 0,
         "cannot extract \"a/l\" from %s: its symlink target \"x/../../../y\" leads outside the "
         "destination"},
        {"l", "/etc/passwd", 0,
         "cannot extract \"l\" from %s: its symlink target \"/etc/passwd\" is absolute"},
        {"l", "a\0b", 3, "cannot extract \"l\" from %s: its symlink target holds a NUL byte"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* a file first, so the refusal has something to undo */
        size_t tl = cases[i].len ? cases[i].len : strlen(cases[i].target);
        const struct zent es[] = {
            {.name = "first/file", .data = "1", .len = 1, .mode = 0100644},
            {.name = cases[i].name, .data = cases[i].target, .len = tl, .mode = 0120777},
        };
        struct zip z;
        build(&z, es, 2);
        REFUSED(&g, &z, NULL, cases[i].want);
        free(z.p);
    }
    /* Lexically inside, physically outside: "up" is the destination itself,
     * so "a/up/.." would be its parent. Refused: a target may not pass
     * through another symlink of the archive. */
    const struct zent via[] = {
        {.name = "up", .data = ".", .len = 1, .mode = 0120777},
        {.name = "a/escape", .data = "../up/../outside", .len = 16, .mode = 0120777},
    };
    struct zip z;
    build(&z, via, 2);
    REFUSED(&g, &z, NULL, "cannot extract \"a/escape\" from %s: its symlink target "
                          "\"../up/../outside\" passes through the symlink \"up\"");
    free(z.p);
    const struct zent empty[] = {{.name = "l", .data = "", .len = 0, .mode = 0120777}};
    build(&z, empty, 1);
    REFUSED(&g, &z, NULL, "cannot extract \"l\" from %s: its symlink target is 0 bytes (1 to "
                          "4095 are accepted)");
    free(z.p);
    char *huge = pattern(4096, 3);
    const struct zent toolong[] = {{.name = "l", .data = huge, .len = 4096, .mode = 0120777}};
    build(&z, toolong, 1);
    REFUSED(&g, &z, NULL, "cannot extract \"l\" from %s: its symlink target is 4096 bytes (1 to "
                          "4095 are accepted)");
    free(z.p);
    free(huge);
    const struct zent slash[] = {{.name = "l/", .data = "", .len = 0, .mode = 0120777}};
    build(&z, slash, 1);
    REFUSED(&g, &z, NULL, "cannot extract \"l/\" from %s: its name ends in '/' but its mode says "
                          "symlink");
    free(z.p);
    remove_tree(g.root);
}

TEST(refuses_what_it_cannot_or_must_not_read)
{
    struct ground g;
    ground_make(&g);
    struct zip z;
    const struct zent enc = {.name = "secret", .data = "xxxx", .len = 4, .mode = 0100644,
                             .flags = 1};
    build(&z, &enc, 1);
    REFUSED(&g, &z, NULL, "cannot extract \"secret\" from %s: it is encrypted, which is not "
                          "supported");
    free(z.p);
    const struct zent strong = {.name = "secret", .data = "xxxx", .len = 4, .mode = 0100644,
                                .flags = 0x40};
    build(&z, &strong, 1);
    REFUSED(&g, &z, NULL, "cannot extract \"secret\" from %s: it is encrypted, which is not "
                          "supported");
    free(z.p);

    one(&z, "bz", 0, 0100644);
    set16(&z, z.lfh[0] + LFH_METHOD, 12);
    set16(&z, z.cdh[0] + CDH_METHOD, 12);
    REFUSED(&g, &z, NULL, "cannot extract \"bz\" from %s: its compression method is 12; only 0 "
                          "(stored) and 8 (deflated) are supported");
    free(z.p);

    one(&z, "fifo", 0, 0010644);
    REFUSED(&g, &z, NULL, "cannot extract \"fifo\" from %s: it is not a file, directory or "
                          "symlink (mode 010644)");
    free(z.p);
    one(&z, "dev", 0, 0020600);
    REFUSED(&g, &z, NULL, "cannot extract \"dev\" from %s: it is not a file, directory or "
                          "symlink (mode 020600)");
    free(z.p);

    const struct zent dir_with_data = {.name = "d/", .data = "oops", .len = 4, .mode = 040755};
    build(&z, &dir_with_data, 1);
    REFUSED(&g, &z, NULL, "cannot extract \"d/\" from %s: it is a directory, but holds 4 bytes");
    free(z.p);
    remove_tree(g.root);
}

TEST(refuses_zip64_multidisk_and_broken_structure)
{
    struct ground g;
    ground_make(&g);
    struct zip z;

    /* a zip64 end of central directory locator before the record */
    one(&z, "f", 0, 0100644);
    {
        struct zip y;
        memset(&y, 0, sizeof y);
        put(&y, z.p, z.eocd);
        put32(&y, 0x07064b50);
        put32(&y, 0);
        put32(&y, (uint32_t)z.eocd);
        put32(&y, 0);
        put32(&y, 1);
        put(&y, z.p + z.eocd, 22);
        REFUSED(&g, &y, NULL, "cannot extract %s: it is a zip64 archive, which is not supported");
        free(y.p);
    }
    set32(&z, z.eocd + EOCD_CD_OFFSET, 0xffffffffu);
    REFUSED(&g, &z, NULL, "cannot extract %s: it is a zip64 archive, which is not supported");
    free(z.p);

    one(&z, "big", 0, 0100644);
    set32(&z, z.cdh[0] + CDH_USIZE, 0xffffffffu);
    REFUSED(&g, &z, NULL, "cannot extract \"big\" from %s: it needs zip64, which is not supported");
    free(z.p);

    one(&z, "f", 0, 0100644);
    set16(&z, z.eocd + EOCD_DISK, 1);
    REFUSED(&g, &z, NULL, "cannot extract %s: it spans several disks, which is not supported");
    free(z.p);
    one(&z, "f", 0, 0100644);
    set16(&z, z.cdh[0] + CDH_DISK, 2);
    REFUSED(&g, &z, NULL, "cannot extract \"f\" from %s: it starts on disk 2: multi-disk archives "
                          "are not supported");
    free(z.p);

    /* not a zip at all */
    memset(&z, 0, sizeof z);
    put(&z, "PK\3\4 this is not really a zip archive, just text long enough", 60);
    REFUSED(&g, &z, NULL, "cannot extract %s: it is not a zip archive (no end of central "
                          "directory record)");
    free(z.p);
    memset(&z, 0, sizeof z);
    put(&z, "short", 5);
    REFUSED(&g, &z, NULL, "cannot extract %s: it is not a zip archive (5 bytes, too short)");
    free(z.p);

    /* bytes after the end record (its comment length does not reach them) */
    one(&z, "f", 0, 0100644);
    put(&z, "trailing", 8);
    REFUSED(&g, &z, NULL, "cannot extract %s: its end of central directory record does not end "
                          "the file");
    free(z.p);
    /* a comment is fine */
    one(&z, "f", 0, 0100644);
    put(&z, "comment", 7);
    set16(&z, z.eocd + EOCD_COMMENT, 7);
    CHECK(write_zip(&g, &z) == 0);
    char msg[512];
    CHECK_EQ_INT(unzip_extract(g.zip, g.dest, NULL, msg, sizeof msg), 0);
    CHECK(file_is(g.dest, "f", "data", 4));
    ground_clear(&g);
    free(z.p);

    /* the central directory is not where the end record says */
    one(&z, "f", 0, 0100644);
    set32(&z, z.eocd + EOCD_CD_OFFSET, (uint32_t)z.cd + 1);
    {
        char want[256];
        snprintf(want, sizeof want, "cannot extract %%s: its central directory (%zu bytes at "
                 "offset %zu) does not end where its end record starts (offset %zu)",
                 z.eocd - z.cd, z.cd + 1, z.eocd);
        REFUSED(&g, &z, NULL, want);
    }
    free(z.p);

    /* more entries counted than the directory holds, and fewer */
    const struct zent two[] = {
        {.name = "a", .data = "1", .len = 1, .mode = 0100644},
        {.name = "b", .data = "2", .len = 1, .mode = 0100644},
    };
    build(&z, two, 2);
    set16(&z, z.eocd + EOCD_COUNT, 1);
    set16(&z, z.eocd + EOCD_COUNT_DISK, 1);
    REFUSED(&g, &z, NULL, "cannot extract %s: its central directory holds more entries than its "
                          "end record counts (1)");
    set16(&z, z.eocd + EOCD_COUNT, 3);
    set16(&z, z.eocd + EOCD_COUNT_DISK, 3);
    {
        char want[256];
        snprintf(want, sizeof want, "cannot extract %%s: its end record counts 3 entries, "
                 "more than its central directory of %zu bytes can hold", z.eocd - z.cd);
        REFUSED(&g, &z, NULL, want);
    }
    set16(&z, z.eocd + EOCD_COUNT, 2);
    set16(&z, z.eocd + EOCD_COUNT_DISK, 2);
    z.p[z.cdh[1]] = 'X';
    REFUSED(&g, &z, NULL, "cannot extract %s: its central directory is damaged at entry 2 of 2");
    z.p[z.cdh[1]] = 'P';
    set16(&z, z.cdh[1] + 28, 200); /* a name running past the directory */
    REFUSED(&g, &z, NULL, "cannot extract %s: its central directory is damaged at entry 2 of 2");
    free(z.p);
    remove_tree(g.root);
}

TEST(refuses_headers_that_disagree_or_do_not_fit)
{
    struct ground g;
    ground_make(&g);
    struct zip z;

    /* data past the end: a size that runs into the central directory */
    one(&z, "f", 0, 0100644);
    set32(&z, z.lfh[0] + LFH_CSIZE, 400);
    set32(&z, z.lfh[0] + LFH_USIZE, 400);
    set32(&z, z.cdh[0] + CDH_CSIZE, 400);
    set32(&z, z.cdh[0] + CDH_USIZE, 400);
    REFUSED(&g, &z, NULL, "cannot extract \"f\" from %s: its data runs past the start of the "
                          "central directory");
    free(z.p);
    /* a local header offset past the central directory */
    one(&z, "f", 0, 0100644);
    set32(&z, z.cdh[0] + CDH_OFFSET, 100000);
    REFUSED(&g, &z, NULL, "cannot extract \"f\" from %s: its local header (offset 100000) is not "
                          "before the central directory");
    free(z.p);
    /* no local header where it points */
    one(&z, "f", 0, 0100644);
    set32(&z, z.cdh[0] + CDH_OFFSET, 1);
    REFUSED(&g, &z, NULL, "cannot extract \"f\" from %s: there is no local header at offset 1");
    free(z.p);
    /* the local header says otherwise */
    one(&z, "f", 0, 0100644);
    z.p[z.lfh[0] + 30] = 'g';
    REFUSED(&g, &z, NULL, "cannot extract \"f\" from %s: its local header has another name");
    free(z.p);
    one(&z, "f", 0, 0100644);
    set16(&z, z.lfh[0] + LFH_METHOD, 8);
    REFUSED(&g, &z, NULL, "cannot extract \"f\" from %s: its local header has another compression "
                          "method");
    free(z.p);
    one(&z, "f", 0, 0100644);
    set32(&z, z.lfh[0] + LFH_CRC, 1234);
    REFUSED(&g, &z, NULL, "cannot extract \"f\" from %s: its local header has another CRC-32 or "
                          "size");
    free(z.p);
    one(&z, "f", 0, 0100644);
    set16(&z, z.lfh[0] + LFH_FLAGS, 1);
    REFUSED(&g, &z, NULL, "cannot extract \"f\" from %s: it is encrypted, which is not supported");
    free(z.p);
    one(&z, "f", 0, 0100644);
    set16(&z, z.lfh[0] + LFH_FLAGS, 8);
    REFUSED(&g, &z, NULL, "cannot extract \"f\" from %s: its local header and central directory "
                          "header disagree on a data descriptor");
    free(z.p);
    /* a data descriptor that disagrees */
    const struct zent desc = {.name = "f", .data = "data", .len = 4, .mode = 0100644,
                              .descriptor = 1};
    build(&z, &desc, 1);
    set32(&z, z.data[0] + 4 + 4, 99);
    REFUSED(&g, &z, NULL, "cannot extract \"f\" from %s: its data descriptor does not match its "
                          "central directory header");
    free(z.p);
    /* stored, with sizes that differ */
    one(&z, "f", 0, 0100644);
    set32(&z, z.lfh[0] + LFH_USIZE, 3);
    set32(&z, z.cdh[0] + CDH_USIZE, 3);
    REFUSED(&g, &z, NULL, "cannot extract \"f\" from %s: it is stored, but its sizes differ (4 "
                          "compressed, 3 not)");
    free(z.p);

    /* Overlap: the local header of "b" lies inside the data of "a" (the
     * same bytes would be extracted twice, the way zip bombs repeat a
     * block). */
    struct zip inner;
    one(&inner, "b", 0, 0100644); /* its first 35 bytes: header and data */
    const struct zent two[] = {
        {.name = "a", .data = inner.p, .len = 35, .mode = 0100644},
        {.name = "b", .data = "data", .len = 4, .mode = 0100644},
    };
    build(&z, two, 2);
    set32(&z, z.cdh[1] + CDH_OFFSET, (uint32_t)z.data[0]);
    REFUSED(&g, &z, NULL, "cannot extract \"b\" from %s: it overlaps \"a\" in the archive");
    free(z.p);
    /* two central directory entries for one local header */
    const struct zent same[] = {
        {.name = "a", .data = "data", .len = 4, .mode = 0100644},
        {.name = "a", .data = "data", .len = 4, .mode = 0100644},
    };
    build(&z, same, 2);
    set32(&z, z.cdh[1] + CDH_OFFSET, 0);
    REFUSED(&g, &z, NULL, "cannot extract \"a\" from %s: it overlaps \"a\" in the archive");
    free(z.p);
    free(inner.p);
    remove_tree(g.root);
}

TEST(refuses_bad_data_and_undoes_what_was_extracted)
{
    struct ground g;
    ground_make(&g);
    char *text = pattern(100000, 4);
    struct zip z;
    char want[512];
    /* Each archive begins with a file, a directory and a nested file, all
     * extracted before the bad entry is reached; they must be gone again. */
#define GOOD_FIRST \
    {.name = "ok/one", .data = "1", .len = 1, .mode = 0100644}, \
    {.name = "ok/dir/", .mode = 040700}, \
    {.name = "ok/dir/deep/two", .data = "2", .len = 1, .mode = 0100600}

    const struct zent crc[] = {GOOD_FIRST, {.name = "bad", .data = text, .len = 1000,
                                            .deflate = 1, .mode = 0100644}};
    build(&z, crc, 4);
    set32(&z, z.lfh[3] + LFH_CRC, 0xdeadbeef);
    set32(&z, z.cdh[3] + CDH_CRC, 0xdeadbeef);
    snprintf(want, sizeof want, "cannot extract \"bad\" from %%s: its data is damaged (CRC-32 "
             "%08x, not deadbeef)", (unsigned)crc32(0L, (const Bytef *)text, 1000));
    REFUSED(&g, &z, NULL, want);
    free(z.p);

    /* stored data with a wrong CRC-32 too */
    const struct zent scrc[] = {GOOD_FIRST, {.name = "bad", .data = "abc", .len = 3,
                                             .mode = 0100644}};
    build(&z, scrc, 4);
    z.p[z.data[3]] = 'X';
    snprintf(want, sizeof want, "cannot extract \"bad\" from %%s: its data is damaged (CRC-32 "
             "%08x, not %08x)", (unsigned)crc32(0L, (const Bytef *)"Xbc", 3),
             (unsigned)crc32(0L, (const Bytef *)"abc", 3));
    REFUSED(&g, &z, NULL, want);
    free(z.p);

    /* inflates to more than it declares: stops there */
    const struct zent more[] = {GOOD_FIRST, {.name = "bomb", .data = text, .len = 100000,
                                             .deflate = 1, .mode = 0100644}};
    build(&z, more, 4);
    set32(&z, z.lfh[3] + LFH_USIZE, 10);
    set32(&z, z.cdh[3] + CDH_USIZE, 10);
    REFUSED(&g, &z, NULL, "cannot extract \"bomb\" from %s: it inflates to more than the 10 bytes "
                          "it declares");
    /* and to less */
    set32(&z, z.lfh[3] + LFH_USIZE, 100001);
    set32(&z, z.cdh[3] + CDH_USIZE, 100001);
    REFUSED(&g, &z, NULL, "cannot extract \"bomb\" from %s: it holds 100000 bytes, not the "
                          "100001 it declares");
    free(z.p);

    /* damaged deflate data */
    const struct zent bad[] = {GOOD_FIRST, {.name = "junk", .data = text, .len = 1000,
                                            .deflate = 1, .mode = 0100644}};
    build(&z, bad, 4);
    z.p[z.data[3]] = 0xff; /* block type 3: reserved */
    REFUSED(&g, &z, NULL, "cannot extract \"junk\" from %s: its deflated data is damaged (invalid "
                          "block type)");
    free(z.p);

    /* a deflate stream cut short: the sizes say less than the stream needs */
    build(&z, bad, 4);
    uint32_t csize = z.p[z.cdh[3] + CDH_CSIZE] | (uint32_t)z.p[z.cdh[3] + CDH_CSIZE + 1] << 8;
    set32(&z, z.lfh[3] + LFH_CSIZE, csize - 5);
    set32(&z, z.cdh[3] + CDH_CSIZE, csize - 5);
    REFUSED(&g, &z, NULL, "cannot extract \"junk\" from %s: its deflated data ends before its "
                          "deflate stream does");
    free(z.p);

    /* bytes after the end of the deflate stream, within its size */
    const struct zent two[] = {GOOD_FIRST, {.name = "junk", .data = text, .len = 1000,
                                            .deflate = 1, .mode = 0100644},
                               {.name = "z", .data = "zzzz", .len = 4, .mode = 0100644}};
    build(&z, two, 5);
    csize = z.p[z.cdh[3] + CDH_CSIZE] | (uint32_t)z.p[z.cdh[3] + CDH_CSIZE + 1] << 8;
    set32(&z, z.lfh[3] + LFH_CSIZE, csize + 4);
    set32(&z, z.cdh[3] + CDH_CSIZE, csize + 4);
    set32(&z, z.cdh[4] + CDH_OFFSET, (uint32_t)z.lfh[4] + 4); /* keep them apart */
    {
        /* move the local header of z 4 bytes on */
        struct zip y;
        memset(&y, 0, sizeof y);
        put(&y, z.p, z.lfh[4]);
        put(&y, "PAD!", 4);
        put(&y, z.p + z.lfh[4], z.len - z.lfh[4]);
        set32(&y, z.eocd + 4 + EOCD_CD_OFFSET, (uint32_t)z.cd + 4);
        REFUSED(&g, &y, NULL, "cannot extract \"junk\" from %s: its deflated data goes on after "
                              "the end of its deflate stream");
        free(y.p);
    }
    free(z.p);
    free(text);
#undef GOOD_FIRST
    remove_tree(g.root);
}

TEST(refuses_sizes_above_the_limits)
{
    struct ground g;
    ground_make(&g);
    char *text = pattern(5000, 5);
    struct zip z;
    const struct zent es[] = {
        {.name = "small", .data = text, .len = 1000, .deflate = 1, .mode = 0100644},
        {.name = "large", .data = text, .len = 5000, .deflate = 1, .mode = 0100644},
    };
    build(&z, es, 2);
    struct unzip_limits entry = {.max_entry_size = 4999, .max_total_size = 0};
    REFUSED(&g, &z, &entry, "cannot extract \"large\" from %s: it declares 5000 bytes, more than "
                            "the limit of 4999");
    struct unzip_limits total = {.max_entry_size = 0, .max_total_size = 5999};
    REFUSED(&g, &z, &total, "cannot extract %s: its entries declare 6000 bytes in all, more than "
                            "the limit of 5999");
    struct unzip_limits enough = {.max_entry_size = 5000, .max_total_size = 6000};
    char msg[256];
    CHECK(write_zip(&g, &z) == 0);
    CHECK_EQ_INT(unzip_extract(g.zip, g.dest, &enough, msg, sizeof msg), 0);
    CHECK(file_is(g.dest, "large", text, 5000));
    ground_clear(&g);
    /* the default limit: 1 GiB for one entry (declared; nothing is read) */
    set32(&z, z.lfh[1] + LFH_USIZE, (1u << 30) + 1);
    set32(&z, z.cdh[1] + CDH_USIZE, (1u << 30) + 1);
    REFUSED(&g, &z, NULL, "cannot extract \"large\" from %s: it declares 1073741825 bytes, more "
                          "than the limit of 1073741824");
    free(z.p);
    free(text);
    remove_tree(g.root);
}

TEST(destination_and_archive_paths)
{
    struct ground g;
    ground_make(&g);
    struct zip z;
    one(&z, "f", 0, 0100644);
    CHECK(write_zip(&g, &z) == 0);
    char msg[1024], want[PATH_MAX * 2 + 128], path[PATH_MAX];

    /* not empty: refused, and what is there stays */
    pathf(path, "%s/mine", g.dest);
    CHECK(write_file(path, "keep", 4, 0600) == 0);
    CHECK_EQ_INT(unzip_extract(g.zip, g.dest, NULL, msg, sizeof msg), -1);
    CHECK_EQ_INT(errno, ENOTEMPTY);
    snprintf(want, sizeof want, "cannot extract %s into %s: it is not empty", g.zip, g.dest);
    CHECK_EQ_STR(msg, want);
    CHECK(file_is(g.dest, "mine", "keep", 4));
    ground_clear(&g);

    /* missing */
    pathf(path, "%s/missing", g.root);
    CHECK_EQ_INT(unzip_extract(g.zip, path, NULL, msg, sizeof msg), -1);
    CHECK_EQ_INT(errno, ENOENT);
    snprintf(want, sizeof want, "cannot extract %s into %s: cannot open it (No such file or "
             "directory)", g.zip, path);
    CHECK_EQ_STR(msg, want);
    /* a file, not a directory */
    CHECK_EQ_INT(unzip_extract(g.zip, g.zip, NULL, msg, sizeof msg), -1);
    CHECK_EQ_INT(errno, ENOTDIR);
    /* no archive there */
    CHECK_EQ_INT(unzip_extract(path, g.dest, NULL, msg, sizeof msg), -1);
    CHECK_EQ_INT(errno, ENOENT);
    snprintf(want, sizeof want, "cannot extract %s: cannot open it (No such file or directory)",
             path);
    CHECK_EQ_STR(msg, want);
    /* a directory as the archive */
    CHECK_EQ_INT(unzip_extract(g.root, g.dest, NULL, msg, sizeof msg), -1);
    CHECK_EQ_INT(errno, EINVAL);
    snprintf(want, sizeof want, "cannot extract %s: it is not a regular file", g.root);
    CHECK_EQ_STR(msg, want);
    /* a FIFO as the archive: refused at once, not waited on */
    pathf(path, "%s/fifo", g.root);
    CHECK(mkfifo(path, 0600) == 0);
    CHECK_EQ_INT(unzip_extract(path, g.dest, NULL, msg, sizeof msg), -1);
    snprintf(want, sizeof want, "cannot extract %s: it is not a regular file", path);
    CHECK_EQ_STR(msg, want);
    unlink(path);
    CHECK_EQ_INT(unzip_extract("", g.dest, NULL, msg, sizeof msg), -1);
    CHECK_EQ_STR(msg, "cannot extract: no archive given");
    CHECK_EQ_INT(unzip_extract(g.zip, "", NULL, msg, sizeof msg), -1);
    CHECK_EQ_STR(msg, "cannot extract: no destination given");
    /* no message buffer: still refused, nothing written */
    CHECK_EQ_INT(unzip_extract(g.zip, g.zip, NULL, NULL, 0), -1);
    /* a tiny buffer gets a cut message, NUL-terminated */
    char tiny[8];
    CHECK_EQ_INT(unzip_extract(g.root, g.dest, NULL, tiny, sizeof tiny), -1);
    CHECK_EQ_STR(tiny, "cannot ");
    CHECK(dest_empty(&g));
    CHECK(outside_untouched(&g));
    free(z.p);
    remove_tree(g.root);
}

/* The fd entry point: a zip in a memfd, the destination an fd. */
TEST(from_fds)
{
    struct ground g;
    ground_make(&g);
    struct zip z;
    one(&z, "a/b", 0, 0100755);
    int zfd = memfd_create("zip", MFD_CLOEXEC);
    CHECK(zfd >= 0);
    CHECK(write(zfd, z.p, z.len) == (ssize_t)z.len);
    int dfd = open(g.dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char msg[256];
    CHECK_EQ_INT(unzip_extract_fd(zfd, "mem.zip", dfd, "dest", NULL, msg, sizeof msg), 0);
    CHECK(file_is(g.dest, "a/b", "data", 4));
    CHECK_EQ_INT(unzip_extract_fd(zfd, "mem.zip", dfd, "dest", NULL, msg, sizeof msg), -1);
    CHECK_EQ_STR(msg, "cannot extract mem.zip into dest: it is not empty");
    close(dfd);
    close(zfd);
    free(z.p);
    remove_tree(g.root);
}

/* ------------------------------------------------------------ real archives */

/* Run argv (in dir, when given); 0 when it exited 0. Its output goes to
 * *out when out is given (the caller frees it with outcome_free). */
static int run_in(const char *dir, const char *const argv[], outcome *out)
{
    outcome o;
    memset(&o, 0, sizeof o);
    struct spawn_opts so = {.envp = NULL, .cwd = dir, .timeout_ms = 60000};
    int r = spawn_run(argv, &so, NULL, 0, &o);
    int ok = r == 0 && o.kind == OUTCOME_EXITED && o.code == 0;
    if (!ok)
        fprintf(stderr, "  %s failed: %s%.*s\n", argv[0], o.message,
                (int)o.err.len, o.err.data ? o.err.data : "");
    if (out != NULL)
        *out = o;
    else
        outcome_free(&o);
    return ok ? 0 : -1;
}

/* The template charm, packed by tools/pack.lua as `make charm` packs it
 * (compiled Lua too), extracted: every file of the charm is there with its
 * content, dispatch 0755 and byte for byte, the rest 0644, dirs 0755. */
TEST(a_charm_packed_by_pack_lua)
{
    struct ground g;
    ground_make(&g);
    char dispatch[PATH_MAX], charm[PATH_MAX];
    pathf(dispatch, "%s/dispatch", build_dir());
    pathf(charm, "%s/template.charm", g.root);
    const char *argv[] = {"lua5.4", "tools/pack.lua", "--charm", "charm-template/machine",
                          "--dispatch", dispatch, "--out", charm, "--compile", NULL};
    CHECK(run_in(NULL, argv, NULL) == 0);
    char msg[1024];
    CHECK_EQ_INT(unzip_extract(charm, g.dest, NULL, msg, sizeof msg), 0);
    CHECK_EQ_STR(msg, "");
    size_t n = 0;
    char *want = read_file(dispatch, &n);
    CHECK(want != NULL && file_is(g.dest, "dispatch", want, n));
    free(want);
    want = read_file("charm-template/machine/src/charm.lua", &n);
    CHECK(want != NULL && file_is(g.dest, "src/charm.lua", want, n));
    free(want);

    static char got[65536];
    tree(g.dest, got, sizeof got);
    int lines = 0, bad = 0;
    for (char *line = strtok(got, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        lines++;
        char kind = line[0];
        const char *name = line + 2;
        const char *mode = strrchr(line, ' ');
        if (kind == 'f' && strncmp(name, "dispatch ", 9) == 0)
            bad += strstr(line, " 0755 ") == NULL;
        else if (kind == 'f')
            bad += strstr(line, " 0644 ") == NULL;
        else if (kind == 'd')
            bad += mode == NULL || strcmp(mode, " 0755") != 0;
        else
            bad++;
        if (bad)
            fprintf(stderr, "  unexpected: %s\n", line);
    }
    CHECK(lines >= 8);
    CHECK_EQ_INT(bad, 0);
    static const char *const names[] = {"metadata.yaml", "manifest.yaml", "config.yaml",
                                        "actions.yaml", "src", ".dispatch/luac"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[PATH_MAX];
        pathf(path, "%s/%s", g.dest, names[i]);
        if (access(path, F_OK) != 0) {
            fprintf(stderr, "  no %s\n", names[i]);
            ctest_current_failed = 1;
        }
    }
    CHECK(outside_untouched(&g));
    remove_tree(g.root);
}

static int have_zip(void)
{
    const char *argv[] = {"zip", "-v", NULL};
    outcome o;
    memset(&o, 0, sizeof o);
    int r = spawn_capture(argv, NULL, NULL, 0, &o);
    int ok = r == 0 && o.kind == OUTCOME_EXITED && o.code == 0;
    outcome_free(&o);
    return ok;
}

/* A tree zipped by Info-ZIP's zip (deflated, with its extra fields, a
 * symlink kept as one with -y), to a file and to a pipe (which makes it
 * write data descriptors). */
TEST(zips_made_by_the_zip_program)
{
    if (!have_zip()) {
        printf("  note: no `zip` program installed; the check of its archives is skipped "
               "(apt-get install zip)\n");
        return;
    }
    struct ground g;
    ground_make(&g);
    char src[PATH_MAX], path[PATH_MAX];
    pathf(src, "%s/src", g.root);
    CHECK(mkdir(src, 0755) == 0);
    char *text = pattern(300000, 6);
    pathf(path, "%s/run", src);
    CHECK(write_file(path, "#!/bin/sh\n", 10, 0755) == 0);
    CHECK(chmod(path, 0755) == 0);
    pathf(path, "%s/lib", src);
    CHECK(mkdir(path, 0755) == 0 && chmod(path, 0755) == 0);
    pathf(path, "%s/lib/data.txt", src);
    CHECK(write_file(path, text, 300000, 0640) == 0);
    CHECK(chmod(path, 0640) == 0);
    pathf(path, "%s/lib/empty", src);
    CHECK(mkdir(path, 0700) == 0 && chmod(path, 0700) == 0);
    pathf(path, "%s/lib/link", src);
    CHECK(symlink("data.txt", path) == 0);
    const char *want = "d lib 0755\n"
                       "f lib/data.txt 0640 300000\n"
                       "d lib/empty 0700\n"
                       "l lib/link -> data.txt\n"
                       "f run 0755 10\n";
    char got[4096], msg[1024];

    char zipped[PATH_MAX];
    pathf(zipped, "%s/made.zip", g.root);
    const char *to_file[] = {"zip", "-q", "-r", "-y", zipped, ".", NULL};
    CHECK(run_in(src, to_file, NULL) == 0);
    CHECK_EQ_INT(unzip_extract(zipped, g.dest, NULL, msg, sizeof msg), 0);
    CHECK_EQ_STR(msg, "");
    tree(g.dest, got, sizeof got);
    CHECK_EQ_STR(got, want);
    CHECK(file_is(g.dest, "lib/data.txt", text, 300000));
    ground_clear(&g);
    unlink(zipped);

    /* to a pipe: sizes and CRC-32 in data descriptors (without -y: zip
     * cannot stream a symlink; the link's file is zipped instead) */
    const char *to_pipe[] = {"zip", "-q", "-r", "-", ".", NULL};
    outcome o;
    CHECK(run_in(src, to_pipe, &o) == 0);
    /* the local header of "lib/data.txt" (after the one of "lib/") has flag 3 */
    CHECK(o.out.len > 100 && memcmp(o.out.data + 62 + 30, "lib/data.txt", 12) == 0 &&
          (o.out.data[62 + 6] & 8) != 0);
    CHECK(write_file(zipped, o.out.data, o.out.len, 0644) == 0);
    outcome_free(&o);
    CHECK_EQ_INT(unzip_extract(zipped, g.dest, NULL, msg, sizeof msg), 0);
    CHECK_EQ_STR(msg, "");
    tree(g.dest, got, sizeof got);
    CHECK_EQ_STR(got, "d lib 0755\n"
                      "f lib/data.txt 0640 300000\n"
                      "d lib/empty 0700\n"
                      "f lib/link 0640 300000\n"
                      "f run 0755 10\n");
    CHECK(file_is(g.dest, "lib/link", text, 300000));
    ground_clear(&g);
    unlink(zipped);

    /* a symlink leaving the tree, zipped as a link: refused */
    pathf(path, "%s/away", src);
    CHECK(symlink("../../outside", path) == 0);
    CHECK(run_in(src, to_file, NULL) == 0);
    CHECK_EQ_INT(unzip_extract(zipped, g.dest, NULL, msg, sizeof msg), -1);
    char expect[PATH_MAX + 128];
    snprintf(expect, sizeof expect, "cannot extract \"away\" from %s: its symlink target "
             "\"../../outside\" leads outside the destination", zipped);
    CHECK_EQ_STR(msg, expect);
    CHECK(dest_empty(&g));
    free(text);
    remove_tree(g.root);
}

/* Many extractions and refusals of each kind: no fd is left open. */
TEST(no_fd_leaked_on_any_path)
{
    struct ground g;
    ground_make(&g);
    char *text = pattern(70000, 7);
    const struct zent es[] = {
        {.name = "a/b/c", .data = text, .len = 70000, .deflate = 1, .mode = 0100644},
        {.name = "a/d/", .mode = 040755},
        {.name = "l", .data = "a/b", .len = 3, .mode = 0120777},
        {.name = "s", .data = text, .len = 70000, .mode = 0100600},
    };
    struct zip good, crc, clash, escape;
    build(&good, es, 4);
    build(&crc, es, 4);
    set32(&crc, crc.lfh[3] + LFH_CRC, 1);
    set32(&crc, crc.cdh[3] + CDH_CRC, 1);
    build(&clash, es, 4);
    clash.p[clash.cdh[3] + 46] = 'a'; /* "s" becomes "a", where a directory is */
    clash.p[clash.lfh[3] + 30] = 'a';
    build(&escape, es, 4);
    memcpy(escape.p + escape.data[2], "../", 3);
    set32(&escape, escape.lfh[2] + LFH_CRC, (uint32_t)crc32(0L, (const Bytef *)"../", 3));
    set32(&escape, escape.cdh[2] + CDH_CRC, (uint32_t)crc32(0L, (const Bytef *)"../", 3));
    const struct zip *zips[] = {&good, &crc, &clash, &escape};
    int before = count_fds();
    int bad = 0;
    for (int i = 0; i < 40; i++) {
        const struct zip *z = zips[i % 4];
        char msg[512];
        bad += write_zip(&g, z) != 0;
        int r = unzip_extract(g.zip, g.dest, NULL, msg, sizeof msg);
        bad += (i % 4 == 0) != (r == 0);
        if ((i % 4 == 0) != (r == 0))
            fprintf(stderr, "  case %d: %s\n", i % 4, msg);
        bad += r != 0 && !dest_empty(&g);
        ground_clear(&g);
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(count_fds(), before);
    CHECK(outside_untouched(&g));
    free(good.p);
    free(crc.p);
    free(clash.p);
    free(escape.p);
    free(text);
    remove_tree(g.root);
}

int main(void)
{
    RUN(stored_and_deflated_with_their_modes);
    RUN(data_descriptors);
    RUN(an_empty_archive_extracts_nothing);
    RUN(symlinks_inside_are_made);
    RUN(refuses_bad_names);
    RUN(refuses_duplicates_and_file_directory_clashes);
    RUN(refuses_symlinks_that_leave);
    RUN(refuses_what_it_cannot_or_must_not_read);
    RUN(refuses_zip64_multidisk_and_broken_structure);
    RUN(refuses_headers_that_disagree_or_do_not_fit);
    RUN(refuses_bad_data_and_undoes_what_was_extracted);
    RUN(refuses_sizes_above_the_limits);
    RUN(destination_and_archive_paths);
    RUN(from_fds);
    RUN(a_charm_packed_by_pack_lua);
    RUN(zips_made_by_the_zip_program);
    RUN(no_fd_leaked_on_any_path);
    return ctest_summary();
}
