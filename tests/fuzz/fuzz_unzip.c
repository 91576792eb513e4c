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

#include "unzip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char SENTINEL[] = "outside\n";

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

    int zfd = memfd_create("fuzz.zip", MFD_CLOEXEC);
    if (zfd < 0 || (size > 0 && write(zfd, data, size) != (ssize_t)size))
        abort();
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
