/*
 * fuzz_unzip.c - libFuzzer target for the zip extractor (src/unzip.c).
 *
 * The input is a zip archive. Each run extracts it (from a memfd) into
 * root/dest, next to root/outside/sentinel, with small limits, and then
 * aborts unless:
 *   - a refusal left dest empty and said why (a NUL-terminated message
 *     starting "cannot extract");
 *   - a success left only directories, regular files and symlinks in dest,
 *     none with a set-user-ID, set-group-ID or sticky bit, every directory
 *     at least 0700;
 *   - root holds only dest and outside/sentinel, the sentinel unchanged;
 *   - no fd was left open.
 * root is made and removed again by each run.
 *
 * An input that starts with "ZS" is not an archive but a list of entries,
 * from which a consistent archive is built (local headers, central
 * directory and end record agree; data deflated with zlib when asked), so
 * that names, types, modes, symlink targets and duplicates are explored
 * past the header checks that random bytes rarely pass. Each entry:
 *   flags (1 byte: 1 deflate, 2 data descriptor, 4 made by MS-DOS),
 *   mode (2 bytes, little-endian: the Unix st_mode, or the MS-DOS
 *   attributes), name length (1), name, data length (2), data.
 *
 *   make fuzz FUZZ_SECONDS=180
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "unzip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char SENTINEL[] = "outside\n";

struct buf {
    uint8_t *p;
    size_t len, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (q == NULL)
            abort();
        b->p = q;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void put16(struct buf *b, unsigned v)
{
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    put(b, x, 2);
}

static void put32(struct buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, x, 4);
}

/* Raw deflate of p into out. */
static void deflate_into(struct buf *out, const uint8_t *p, size_t n)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    uLong bound = deflateBound(&z, (uLong)n);
    uint8_t *tmp = malloc(bound + 1);
    if (tmp == NULL)
        abort();
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    z.next_out = tmp;
    z.avail_out = (uInt)bound;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        abort();
    put(out, tmp, bound - z.avail_out);
    free(tmp);
    deflateEnd(&z);
}

#define SPEC_MAX 64

/* The archive described by a "ZS" input (see the top). */
static void build_from_spec(const uint8_t *p, size_t n, struct buf *zip)
{
    struct {
        unsigned flags, mode;
        const uint8_t *name, *data;
        size_t nlen, dlen, csize, offset;
        uint32_t crc;
    } es[SPEC_MAX];
    size_t count = 0, at = 2;
    while (count < SPEC_MAX && n - at >= 4) {
        es[count].flags = p[at];
        es[count].mode = (unsigned)p[at + 1] | (unsigned)p[at + 2] << 8;
        es[count].nlen = p[at + 3];
        at += 4;
        if (n - at < es[count].nlen + 2)
            break;
        es[count].name = p + at;
        at += es[count].nlen;
        size_t dlen = (size_t)p[at] | (size_t)p[at + 1] << 8;
        at += 2;
        if (dlen > n - at)
            dlen = n - at;
        es[count].data = p + at;
        es[count].dlen = dlen;
        at += dlen;
        count++;
    }
    for (size_t i = 0; i < count; i++) {
        unsigned desc = es[i].flags & 2 ? 8 : 0, method = es[i].flags & 1 ? 8 : 0;
        es[i].crc = (uint32_t)crc32(0L, es[i].data, (uInt)es[i].dlen);
        es[i].offset = zip->len;
        struct buf packed = {0};
        if (method)
            deflate_into(&packed, es[i].data, es[i].dlen);
        else
            put(&packed, es[i].data, es[i].dlen);
        es[i].csize = packed.len;
        put32(zip, 0x04034b50);
        put16(zip, 20);
        put16(zip, desc);
        put16(zip, method);
        put32(zip, 0x00210000);
        put32(zip, desc ? 0 : es[i].crc);
        put32(zip, desc ? 0 : (uint32_t)es[i].csize);
        put32(zip, desc ? 0 : (uint32_t)es[i].dlen);
        put16(zip, (unsigned)es[i].nlen);
        put16(zip, 0);
        put(zip, es[i].name, es[i].nlen);
        put(zip, packed.p, packed.len);
        free(packed.p);
        if (desc) {
            put32(zip, 0x08074b50);
            put32(zip, es[i].crc);
            put32(zip, (uint32_t)es[i].csize);
            put32(zip, (uint32_t)es[i].dlen);
        }
    }
    size_t cd = zip->len;
    for (size_t i = 0; i < count; i++) {
        int dos = (es[i].flags & 4) != 0;
        put32(zip, 0x02014b50);
        put16(zip, (dos ? 0u : 3u << 8) | 20);
        put16(zip, 20);
        put16(zip, es[i].flags & 2 ? 8 : 0);
        put16(zip, es[i].flags & 1 ? 8 : 0);
        put32(zip, 0x00210000);
        put32(zip, es[i].crc);
        put32(zip, (uint32_t)es[i].csize);
        put32(zip, (uint32_t)es[i].dlen);
        put16(zip, (unsigned)es[i].nlen);
        put16(zip, 0);
        put16(zip, 0);
        put16(zip, 0);
        put16(zip, 0);
        put32(zip, dos ? es[i].mode & 0xff : (uint32_t)es[i].mode << 16);
        put32(zip, (uint32_t)es[i].offset);
        put(zip, es[i].name, es[i].nlen);
    }
    size_t cd_len = zip->len - cd;
    put32(zip, 0x06054b50);
    put32(zip, 0);
    put16(zip, (unsigned)count);
    put16(zip, (unsigned)count);
    put32(zip, (uint32_t)cd_len);
    put32(zip, (uint32_t)cd);
    put16(zip, 0);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        abort();
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* The names in dir (not . and ..), how many, and whether each is known. */
static int only(const char *dir, const char *const known[])
{
    DIR *d = opendir(dir);
    if (d == NULL)
        abort();
    int n = 0, bad = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n++;
        int ok = 0;
        for (int i = 0; known != NULL && known[i] != NULL; i++)
            ok |= strcmp(e->d_name, known[i]) == 0;
        bad |= !ok;
    }
    closedir(d);
    return bad ? -1 : n;
}

static int check_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path;
    if (ftw->level == 0)
        return 0;
    if (flag == FTW_NS || flag == FTW_DNR)
        abort();
    if (!S_ISDIR(st->st_mode) && !S_ISREG(st->st_mode) && !S_ISLNK(st->st_mode))
        abort();
    if (!S_ISLNK(st->st_mode) && (st->st_mode & 07000) != 0)
        abort();
    if (S_ISDIR(st->st_mode) && (st->st_mode & 0700) != 0700)
        abort();
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if ((flag == FTW_DP ? rmdir(path) : unlink(path)) != 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fds = count_fds();
    const char *tmp = getenv("TMPDIR");
    char root[PATH_MAX], dest[PATH_MAX + 32], outside[PATH_MAX + 32], sentinel[PATH_MAX + 32];
    snprintf(root, sizeof root, "%s/fuzz_unzip.XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
    if (mkdtemp(root) == NULL)
        abort();
    snprintf(dest, sizeof dest, "%s/dest", root);
    snprintf(outside, sizeof outside, "%s/outside", root);
    snprintf(sentinel, sizeof sentinel, "%s/outside/sentinel", root);
    int sfd = -1;
    if (mkdir(dest, 0700) != 0 || mkdir(outside, 0755) != 0 ||
        (sfd = open(sentinel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0 ||
        write(sfd, SENTINEL, sizeof SENTINEL - 1) != (ssize_t)(sizeof SENTINEL - 1) ||
        close(sfd) != 0)
        abort();

    struct buf spec = {0};
    if (size >= 2 && data[0] == 'Z' && data[1] == 'S') {
        build_from_spec(data, size, &spec);
        data = spec.p;
        size = spec.len;
    }
    int zfd = memfd_create("fuzz.zip", MFD_CLOEXEC);
    if (zfd < 0 || (size > 0 && write(zfd, data, size) != (ssize_t)size))
        abort();
    free(spec.p);
    int dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        abort();
    struct unzip_limits lim = {.max_entry_size = 1 << 20, .max_total_size = 4 << 20};
    char msg[1024];
    memset(msg, 'x', sizeof msg);
    int r = unzip_extract_fd(zfd, "fuzz.zip", dfd, "dest", &lim, msg, sizeof msg);
    close(dfd);
    close(zfd);

    if (r != 0) {
        if (memchr(msg, '\0', sizeof msg) == NULL || strncmp(msg, "cannot extract", 14) != 0)
            abort();
        if (only(dest, NULL) != 0)
            abort(); /* something was left behind */
    } else if (nftw(dest, check_entry, 16, FTW_PHYS) != 0) {
        abort();
    }
    static const char *const root_names[] = {"dest", "outside", NULL};
    static const char *const outside_names[] = {"sentinel", NULL};
    if (only(root, root_names) != 2 || only(outside, outside_names) != 1)
        abort(); /* written outside the destination */
    char buf[sizeof SENTINEL];
    int fd = open(sentinel, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, buf, sizeof buf) != (ssize_t)(sizeof SENTINEL - 1) ||
        memcmp(buf, SENTINEL, sizeof SENTINEL - 1) != 0)
        abort();
    close(fd);

    if (nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        abort();
    if (count_fds() != fds)
        abort(); /* an fd was leaked */
    return 0;
}
