/*
 * unzip.h - extract a zip archive (a packed .charm) into a directory, the
 * way Juju does (Go's archive/zip read by Juju's ziputil), refusing
 * anything that could write outside the directory or that is not a plain,
 * consistent zip. Pure C: no lua.h; inflate and CRC-32 from zlib.
 *
 * What is read: the end of central directory record (which must end the
 * file: its comment runs to the last byte), the central directory (which
 * must end where the record starts), and each entry's local header, which
 * must agree with its central directory header (name, method, flags, CRC-32
 * and sizes; with a data descriptor, flag 3, the local values may be zero
 * and the descriptor after the data must agree instead). Entries are stored
 * (method 0) or deflated (method 8); each is streamed through fixed buffers
 * (never held whole in memory), and its size and CRC-32 are checked.
 *
 * What is made, for each entry in archive order (relative to a directory fd,
 * every component opened with O_NOFOLLOW, so nothing outside the
 * destination is ever reached):
 *   - missing parent directories, mode 0755;
 *   - a directory (a name ending in '/', or a directory mode): its mode;
 *   - a regular file: created with O_EXCL, its mode;
 *   - a symlink (a Unix symlink mode; the data is the target): created only
 *     when its target is relative, stays inside the destination when
 *     resolved from the link's directory (".." never climbs above it), and
 *     passes through no other symlink of the archive on the way (so a
 *     chain of links cannot climb out either); other symlinks are refused.
 * Modes: the entry's Unix permission bits (external attributes >> 16, when
 * made on Unix or macOS and not zero), masked to 0777 (never set-user-ID,
 * set-group-ID or sticky), given with fchmod so the umask plays no part;
 * 0644 for a file and 0755 for a directory without a Unix mode. A
 * directory always gets at least 0700, so it can be filled and removed.
 * Files are not synced and modification times are not set (Juju sets
 * neither).
 *
 * The destination must be an existing, empty directory (mkdtemp's kind):
 * it is not created here. On failure everything this call created in it is
 * removed again (best effort, newest first), leaving it empty. The
 * destination must be private to the caller while this runs (as a
 * directory from mkdtemp is): nothing else may write into it meanwhile.
 *
 * Refused, before anything is written (every message names the entry when
 * there is one, see unzip_extract):
 *   names that are empty, absolute, or hold a NUL byte, a backslash, a ".."
 *   component, an empty or "." component, a component longer than NAME_MAX
 *   or more than UNZIP_MAX_DEPTH components; two entries for the same path
 *   ("a" and "a/" included); an entry under a path that another entry makes
 *   a file or a symlink; encrypted entries; methods other than 0 and 8;
 *   zip64 and multi-disk archives; headers that disagree or do not fit the
 *   file; entries whose data overlap each other or the central directory;
 *   device, FIFO and socket entries; directories with data; a declared size
 *   above the limits (struct unzip_limits).
 * Refused while extracting (then undone): data that inflate rejects, that
 * inflates to more (or less) than its declared size, that goes on after the
 * end of its deflate stream, or whose CRC-32 is wrong; symlink targets as
 * above; any system call that fails.
 */
#ifndef DISPATCH_UNZIP_H
#define DISPATCH_UNZIP_H

#include <stddef.h>
#include <stdint.h>

/* Default limits: one entry's declared (uncompressed) size, and the sum of
 * every entry's. A declared size above them refuses the archive before
 * anything is written, and no entry may inflate to more than it declares. */
#define UNZIP_MAX_ENTRY_SIZE (UINT64_C(1) << 30) /* 1 GiB */
#define UNZIP_MAX_TOTAL_SIZE (UINT64_C(4) << 30) /* 4 GiB */
/* The central directory is read whole: at most this many bytes. */
#define UNZIP_MAX_DIRECTORY_SIZE (64u << 20)
/* The longest symlink target accepted. */
#define UNZIP_MAX_LINK_TARGET 4095
/* The most components a name may have (each at most NAME_MAX bytes): every
 * path is walked from the destination one component at a time, so this
 * bounds the work an entry (and undoing it) costs. */
#define UNZIP_MAX_DEPTH 256

struct unzip_limits {
    uint64_t max_entry_size; /* 0: UNZIP_MAX_ENTRY_SIZE */
    uint64_t max_total_size; /* 0: UNZIP_MAX_TOTAL_SIZE */
};

/*
 * Extract the zip at zip_path into dest_dir (an existing empty directory),
 * as above; limits may be NULL (the defaults). Returns 0; or -1 with errno
 * set (EINVAL when the archive was refused, ENOTEMPTY when dest_dir is not
 * empty, the system's errno when a system call failed) and msg (msg_size
 * bytes, may be 0) one line saying why:
 *   cannot extract ZIP: <what is wrong with the archive>
 *   cannot extract "NAME" from ZIP: <what is wrong with that entry>
 *   cannot extract ZIP into DEST: <what is wrong with the destination>
 * (NAME as stored, with '"', '\' and control bytes escaped, and cut short
 * after 200 bytes.) Never leaves an fd open.
 */
int unzip_extract(const char *zip_path, const char *dest_dir,
                  const struct unzip_limits *limits, char *msg, size_t msg_size);

/*
 * The same from open fds: zip_fd (read with pread only, so its offset does
 * not matter) and dest_fd (a directory; neither is closed). zip_name and
 * dest_name are only used in messages.
 */
int unzip_extract_fd(int zip_fd, const char *zip_name, int dest_fd, const char *dest_name,
                     const struct unzip_limits *limits, char *msg, size_t msg_size);

#endif
