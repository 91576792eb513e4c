/*
 * test_atomicfile.c - atomicfile_write against real files: content, mode
 * (whatever the umask), owner, replacement of an existing file, and
 * failures that leave the path untouched, no temporary file and no fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "ctest.h"
#include "testutil.h"

#define MiB (1024 * 1024)

static unsigned mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0xffffffffu;
}

TEST(writes_content_with_exact_mode_whatever_the_umask)
{
    char dir[PATH_MAX], path[PATH_MAX], names[1024];
    CHECK(make_tmpdir(dir, sizeof dir, "test_atomicfile") == 0);
    pathf(path, "%s/app.conf", dir);
    mode_t old_umask = umask(077);
    static const unsigned modes[] = {0644, 0600, 0640, 0755, 0444, 0750};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        struct atomicfile_opts o = {.mode = modes[i], .uid = -1, .gid = -1};
        char msg[256] = "";
        char text[64];
        snprintf(text, sizeof text, "port = %zu\n", 8000 + i);
        CHECK_EQ_INT(atomicfile_write(path, text, strlen(text), &o, msg, sizeof msg), 0);
        CHECK_EQ_STR(msg, "");
        CHECK(content_is(path, text, strlen(text)));
        CHECK_EQ_INT(mode_of(path), modes[i]);
    }
    umask(old_umask);
    list_dir(dir, names, sizeof names);
    CHECK_EQ_STR(names, "app.conf");
    remove_tree(dir);
}

TEST(defaults_and_empty_content)
{
    char dir[PATH_MAX], path[PATH_MAX];
    CHECK(make_tmpdir(dir, sizeof dir, "test_atomicfile") == 0);
    pathf(path, "%s/empty", dir);
    CHECK_EQ_INT(atomicfile_write(path, "", 0, NULL, NULL, 0), 0);
    CHECK(content_is(path, "", 0));
    CHECK_EQ_INT(mode_of(path), 0644);
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_uid == geteuid() && st.st_gid == getegid());
    remove_tree(dir);
}

TEST(eight_mib_byte_for_byte)
{
    char dir[PATH_MAX], path[PATH_MAX];
    CHECK(make_tmpdir(dir, sizeof dir, "test_atomicfile") == 0);
    pathf(path, "%s/blob", dir);
    char *blob = malloc(8 * MiB);
    CHECK(blob != NULL);
    for (size_t i = 0; blob != NULL && i < 8 * MiB; i++)
        blob[i] = (char)((i * 2654435761u) >> 13);
    CHECK_EQ_INT(atomicfile_write(path, blob, 8 * MiB, NULL, NULL, 0), 0);
    CHECK(content_is(path, blob, 8 * MiB));
    free(blob);
    remove_tree(dir);
}

/* The old file is replaced by a new one (a new inode): whoever had the old
 * one open still reads all of the old content, never a truncated mix. */
TEST(replaces_an_existing_file)
{
    char dir[PATH_MAX], path[PATH_MAX], names[1024];
    CHECK(make_tmpdir(dir, sizeof dir, "test_atomicfile") == 0);
    pathf(path, "%s/existing", dir);
    CHECK(write_file(path, "old content\n", 12, 0600) == 0);
    struct stat before, after;
    CHECK(stat(path, &before) == 0);
    FILE *reader = fopen(path, "re");
    CHECK(reader != NULL);

    struct atomicfile_opts o = {.mode = 0640, .uid = -1, .gid = -1};
    CHECK_EQ_INT(atomicfile_write(path, "new\n", 4, &o, NULL, 0), 0);
    CHECK(content_is(path, "new\n", 4));
    CHECK(stat(path, &after) == 0);
    CHECK(after.st_ino != before.st_ino);
    CHECK_EQ_INT(after.st_mode & 07777, 0640);

    char old[64] = "";
    size_t n = reader != NULL ? fread(old, 1, sizeof old - 1, reader) : 0;
    CHECK_EQ_MEM(old, n, "old content\n", 12);
    if (reader != NULL)
        fclose(reader);
    list_dir(dir, names, sizeof names);
    CHECK_EQ_STR(names, "existing");
    remove_tree(dir);
}

/* A symlink at the path is replaced; its target keeps its content. */
TEST(replaces_a_symlink_not_its_target)
{
    char dir[PATH_MAX], path[PATH_MAX], target[PATH_MAX];
    CHECK(make_tmpdir(dir, sizeof dir, "test_atomicfile") == 0);
    pathf(target, "%s/target", dir);
    pathf(path, "%s/link", dir);
    CHECK(write_file(target, "target\n", 7, 0644) == 0);
    CHECK(symlink("target", path) == 0);
    CHECK_EQ_INT(atomicfile_write(path, "file\n", 5, NULL, NULL, 0), 0);
    struct stat st;
    CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode));
    CHECK(content_is(path, "file\n", 5));
    CHECK(content_is(target, "target\n", 7));
    remove_tree(dir);
}

TEST(relative_path_in_the_current_directory)
{
    char dir[PATH_MAX], here[PATH_MAX], names[1024];
    CHECK(make_tmpdir(dir, sizeof dir, "test_atomicfile") == 0);
    CHECK(getcwd(here, sizeof here) != NULL);
    CHECK(chdir(dir) == 0);
    CHECK_EQ_INT(atomicfile_write("rel.txt", "r", 1, NULL, NULL, 0), 0);
    CHECK(chdir(here) == 0);
    list_dir(dir, names, sizeof names);
    CHECK_EQ_STR(names, "rel.txt");
    remove_tree(dir);
}

TEST(owner_and_group)
{
    char dir[PATH_MAX], path[PATH_MAX];
    CHECK(make_tmpdir(dir, sizeof dir, "test_atomicfile") == 0);
    pathf(path, "%s/owned", dir);
    struct stat st;
    /* our own ids work for anyone */
    struct atomicfile_opts mine = {.mode = 0600, .uid = (long)geteuid(), .gid = (long)getegid()};
    CHECK_EQ_INT(atomicfile_write(path, "x", 1, &mine, NULL, 0), 0);
    CHECK(stat(path, &st) == 0 && st.st_uid == geteuid() && st.st_gid == getegid());
    if (geteuid() == 0) {
        /* root gives files away; the mode survives the chown, set-ID bits too */
        struct atomicfile_opts nobody = {.mode = 04750, .uid = 65534, .gid = 65533};
        CHECK_EQ_INT(atomicfile_write(path, "y", 1, &nobody, NULL, 0), 0);
        CHECK(stat(path, &st) == 0);
        CHECK_EQ_INT(st.st_uid, 65534);
        CHECK_EQ_INT(st.st_gid, 65533);
        CHECK_EQ_INT(st.st_mode & 07777, 04750);
        struct atomicfile_opts group_only = {.mode = 0644, .uid = -1, .gid = 4242};
        CHECK_EQ_INT(atomicfile_write(path, "z", 1, &group_only, NULL, 0), 0);
        CHECK(stat(path, &st) == 0 && st.st_uid == 0 && st.st_gid == 4242);
    } else {
        /* anyone else cannot: the path keeps its old file */
        char msg[512];
        struct atomicfile_opts root = {.mode = 0644, .uid = 0, .gid = 0};
        CHECK_EQ_INT(atomicfile_write(path, "y", 1, &root, msg, sizeof msg), -1);
        CHECK_EQ_INT(errno, EPERM);
        CHECK(strstr(msg, "cannot give it owner 0 and group 0") != NULL);
        CHECK(content_is(path, "x", 1));
    }
    remove_tree(dir);
}

/* The rename fails (a directory is in the way): temp file gone, errno and
 * message say what happened. */
TEST(failure_at_rename_cleans_up)
{
    char dir[PATH_MAX], path[PATH_MAX], names[1024], want[PATH_MAX + 128];
    CHECK(make_tmpdir(dir, sizeof dir, "test_atomicfile") == 0);
    pathf(path, "%s/taken", dir);
    CHECK(mkdir(path, 0755) == 0);
    char msg[512];
    CHECK_EQ_INT(atomicfile_write(path, "data", 4, NULL, msg, sizeof msg), -1);
    CHECK_EQ_INT(errno, EISDIR);
    snprintf(want, sizeof want,
             "cannot write %s: cannot rename the temporary file over it (Is a directory)", path);
    CHECK_EQ_STR(msg, want);
    list_dir(dir, names, sizeof names);
    CHECK_EQ_STR(names, "taken");
    remove_tree(dir);
}

/* The write fails half-way (a file size limit): the old file is intact and
 * no temporary file is left. */
TEST(failure_while_writing_cleans_up)
{
    char dir[PATH_MAX], path[PATH_MAX], names[1024];
    CHECK(make_tmpdir(dir, sizeof dir, "test_atomicfile") == 0);
    pathf(path, "%s/limited", dir);
    CHECK(write_file(path, "original", 8, 0644) == 0);
    char *big = calloc(1, MiB);
    CHECK(big != NULL);

    struct sigaction ign = {.sa_handler = SIG_IGN}, old_xfsz;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGXFSZ, &ign, &old_xfsz);
    struct rlimit old_lim, lim;
    CHECK(getrlimit(RLIMIT_FSIZE, &old_lim) == 0);
    lim = old_lim;
    lim.rlim_cur = 64 * 1024;
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    char msg[512];
    int r = atomicfile_write(path, big, MiB, NULL, msg, sizeof msg);
    int err = errno;
    setrlimit(RLIMIT_FSIZE, &old_lim);
    sigaction(SIGXFSZ, &old_xfsz, NULL);

    CHECK_EQ_INT(r, -1);
    CHECK_EQ_INT(err, EFBIG);
    CHECK(strstr(msg, path) != NULL);
    CHECK(strstr(msg, "cannot write the data (File too large)") != NULL);
    CHECK(content_is(path, "original", 8));
    list_dir(dir, names, sizeof names);
    CHECK_EQ_STR(names, "limited");
    free(big);
    remove_tree(dir);
}

TEST(bad_paths_and_modes)
{
    char msg[512];
    CHECK_EQ_INT(atomicfile_write("/nonexistent-dir-for-dispatch/x.conf", "x", 1, NULL, msg,
                                  sizeof msg), -1);
    CHECK_EQ_INT(errno, ENOENT);
    CHECK_EQ_STR(msg, "cannot write /nonexistent-dir-for-dispatch/x.conf: cannot create a "
                      "temporary file in /nonexistent-dir-for-dispatch (No such file or directory)");
    CHECK_EQ_INT(atomicfile_write("/tmp/", "x", 1, NULL, msg, sizeof msg), -1);
    CHECK_EQ_INT(errno, EISDIR);
    CHECK_EQ_INT(atomicfile_write("", "x", 1, NULL, msg, sizeof msg), -1);
    CHECK_EQ_INT(errno, EINVAL);
    struct atomicfile_opts bad = {.mode = 010000, .uid = -1, .gid = -1};
    CHECK_EQ_INT(atomicfile_write("/tmp/never-written-by-dispatch", "x", 1, &bad, msg,
                                  sizeof msg), -1);
    CHECK_EQ_INT(errno, EINVAL);
    CHECK(access("/tmp/never-written-by-dispatch", F_OK) != 0);
    /* a name too long for the directory */
    char dir[PATH_MAX], path[PATH_MAX], names[1024], longname[300];
    CHECK(make_tmpdir(dir, sizeof dir, "test_atomicfile") == 0);
    memset(longname, 'n', 299);
    longname[299] = '\0';
    pathf(path, "%s/%s", dir, longname);
    CHECK_EQ_INT(atomicfile_write(path, "x", 1, NULL, msg, sizeof msg), -1);
    CHECK_EQ_INT(errno, ENAMETOOLONG);
    list_dir(dir, names, sizeof names);
    CHECK_EQ_STR(names, "");
    /* a long name that does fit keeps a temporary name that fits too */
    longname[250] = '\0';
    pathf(path, "%s/%s", dir, longname);
    CHECK_EQ_INT(atomicfile_write(path, "x", 1, NULL, msg, sizeof msg), 0);
    list_dir(dir, names, sizeof names);
    CHECK_EQ_STR(names, longname);
    remove_tree(dir);
}

TEST(no_fd_leaked_on_any_path)
{
    char dir[PATH_MAX], path[PATH_MAX], taken[PATH_MAX], names[1024];
    CHECK(make_tmpdir(dir, sizeof dir, "test_atomicfile") == 0);
    pathf(path, "%s/f", dir);
    pathf(taken, "%s/d", dir);
    CHECK(mkdir(taken, 0755) == 0);
    int before = count_fds();
    int bad = 0;
    for (int i = 0; i < 300; i++) {
        char msg[256];
        switch (i % 3) {
        case 0:
            bad += atomicfile_write(path, "ok", 2, NULL, msg, sizeof msg) != 0;
            break;
        case 1:
            bad += atomicfile_write(taken, "no", 2, NULL, msg, sizeof msg) != -1;
            break;
        default:
            bad += atomicfile_write("/nonexistent-dir-for-dispatch/f", "no", 2, NULL, msg,
                                    sizeof msg) != -1;
            break;
        }
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(count_fds(), before);
    list_dir(dir, names, sizeof names);
    CHECK_EQ_STR(names, "d f");
    remove_tree(dir);
}

TEST(unsynced_scratch_files_are_still_replaced_whole)
{
    char dir[PATH_MAX], path[PATH_MAX], names[1024];
    CHECK(make_tmpdir(dir, sizeof dir, "test_atomicfile") == 0);
    pathf(path, "%s/session.json", dir);
    struct atomicfile_opts o = {.mode = 0600, .uid = -1, .gid = -1, .no_sync = 1};
    char msg[256] = "";
    CHECK_EQ_INT(atomicfile_write(path, "{\"a\":1}", 7, &o, msg, sizeof msg), 0);
    CHECK_EQ_INT(atomicfile_write(path, "{}", 2, &o, msg, sizeof msg), 0);
    CHECK_EQ_STR(msg, "");
    CHECK(content_is(path, "{}", 2));
    CHECK_EQ_INT(mode_of(path), 0600);
    list_dir(dir, names, sizeof names);
    CHECK_EQ_STR(names, "session.json");
    remove_tree(dir);
}

int main(void)
{
    RUN(writes_content_with_exact_mode_whatever_the_umask);
    RUN(defaults_and_empty_content);
    RUN(eight_mib_byte_for_byte);
    RUN(replaces_an_existing_file);
    RUN(replaces_a_symlink_not_its_target);
    RUN(relative_path_in_the_current_directory);
    RUN(owner_and_group);
    RUN(failure_at_rename_cleans_up);
    RUN(failure_while_writing_cleans_up);
    RUN(bad_paths_and_modes);
    RUN(no_fd_leaked_on_any_path);
    RUN(unsynced_scratch_files_are_still_replaced_whole);
    return ctest_summary();
}
