/* Replacing a file the way a user expects (docs/checkpoints.md, "Writing"). */
#include "model/file_replace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* rename */
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Temporary files are `<target>.tmp.XXXXXX` (six characters of TEMP_ALPHABET) in the
 * target's directory, held under flock(LOCK_EX) by their writer from creation until they
 * are renamed. One whose writer died (kill -9, power loss) is unlocked; the next save to
 * the same target removes it once it is STALE_SECONDS old (the age covers the instant
 * between a writer's open and its flock). */
static const char TEMP_ALPHABET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
#define TEMP_SUFFIX ".tmp."
#define TEMP_RANDOM 6
#define STALE_SECONDS 60
#define MAX_SYMLINKS 40

static int is_temp_of(const char *name, const char *base) {
  size_t bl = strlen(base), sl = strlen(TEMP_SUFFIX);
  if (strncmp(name, base, bl) != 0 || strncmp(name + bl, TEMP_SUFFIX, sl) != 0) return 0;
  const char *r = name + bl + sl;
  if (strlen(r) != TEMP_RANDOM) return 0;
  for (int i = 0; i < TEMP_RANDOM; i++)
    if (!r[i] || !strchr(TEMP_ALPHABET, r[i])) return 0;
  return 1;
}

/* Remove stale temporaries of `target` (directory `dir`, file name `base`). Best effort:
 * anything unexpected leaves the file where it is. */
static void remove_stale_temps(const char *dir, const char *base) {
  DIR *d = opendir(dir);
  if (!d) return;
  int dfd = dirfd(d);
  time_t now = time(NULL);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!is_temp_of(e->d_name, base)) continue;
    int fd = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) continue;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime > STALE_SECONDS &&
        flock(fd, LOCK_EX | LOCK_NB) == 0)
      unlinkat(dfd, e->d_name, 0);
    close(fd); /* releases the lock */
  }
  closedir(d);
}

/* The file a save to `path` must replace: `path` itself, or the final target of the
 * symbolic link(s) it names (a dangling link's target is created). *out is allocated. */
static ds_status resolve_target(ds_context *ctx, const char *fn, const char *path, char **out) {
  size_t len = strlen(path);
  char *cur = ds__malloc(ctx, len + 1);
  if (!cur) return ds__fail(ctx, DS_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
  memcpy(cur, path, len + 1);
  for (int hops = 0;; hops++) {
    struct stat st;
    if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode)) break;
    if (hops == MAX_SYMLINKS) {
      ds__free(ctx, cur);
      return ds__fail(ctx, DS_ERR_IO, "%s: '%s': too many levels of symbolic links", fn, path);
    }
    size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
    char *link = ds__malloc(ctx, cap);
    ssize_t n = link ? readlink(cur, link, cap) : -1;
    if (n < 0 || (size_t)n >= cap) { /* changed under us or vanished: use what we have */
      ds__free(ctx, link);
      if (!link) {
        ds__free(ctx, cur);
        return ds__fail(ctx, DS_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
      }
      break;
    }
    link[n] = '\0';
    const char *slash = strrchr(cur, '/');
    size_t keep = link[0] == '/' || !slash ? 0 : (size_t)(slash - cur) + 1;
    char *next = ds__malloc(ctx, keep + (size_t)n + 1);
    if (!next) {
      ds__free(ctx, link);
      ds__free(ctx, cur);
      return ds__fail(ctx, DS_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    }
    memcpy(next, cur, keep);
    memcpy(next + keep, link, (size_t)n + 1);
    ds__free(ctx, link);
    ds__free(ctx, cur);
    cur = next;
  }
  *out = cur;
  return DS_OK;
}

/* Create and lock a new temporary next to `target` (name written into tmp, which has room
 * for the suffix). Mode 0666 minus the umask, like any new file. */
static int create_temp(const char *target, char *tmp) {
  size_t tl = strlen(target), sl = strlen(TEMP_SUFFIX);
  memcpy(tmp, target, tl);
  memcpy(tmp + tl, TEMP_SUFFIX, sl);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 12) ^
               (uint64_t)(uintptr_t)tmp;
  for (int attempt = 0; attempt < 100; attempt++) {
    for (int i = 0; i < TEMP_RANDOM; i++) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      tmp[tl + sl + (size_t)i] = TEMP_ALPHABET[(x >> 33) % (sizeof TEMP_ALPHABET - 1)];
    }
    tmp[tl + sl + TEMP_RANDOM] = '\0';
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      if (flock(fd, LOCK_EX) != 0) { /* cannot happen on a local file system; be safe */
        int err = errno;
        unlink(tmp);
        close(fd);
        errno = err;
        return -1;
      }
      return fd;
    }
    if (errno != EEXIST) return -1;
  }
  errno = EEXIST;
  return -1;
}

static int write_all(int fd, const uint8_t *data, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t k = write(fd, data + done, len - done);
    if (k < 0 && errno == EINTR) continue;
    if (k == 0) errno = EIO; /* no progress: do not rename a short file into place */
    if (k <= 0) return errno;
    done += (size_t)k;
  }
  return 0;
}

/* Write data to `target` through a locked temporary in its directory, keeping the mode of
 * a file it replaces. */
static ds_status replace_target(ds_context *ctx, const char *fn, const char *path,
                                const char *target, const uint8_t *data, size_t len) {
  size_t tl = strlen(target);
  char *tmp = ds__malloc(ctx, tl + sizeof TEMP_SUFFIX + TEMP_RANDOM + 1);
  char *dir = ds__malloc(ctx, tl + 2);
  if (!tmp || !dir) {
    ds__free(ctx, tmp);
    ds__free(ctx, dir);
    return ds__fail(ctx, DS_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
  }
  const char *slash = strrchr(target, '/');
  if (slash) {
    size_t dl = slash == target ? 1 : (size_t)(slash - target);
    memcpy(dir, target, dl);
    dir[dl] = '\0';
  } else {
    memcpy(dir, ".", 2);
  }
  remove_stale_temps(dir, slash ? slash + 1 : target);
  struct stat old;
  int keep_mode = stat(target, &old) == 0 && S_ISREG(old.st_mode);
  ds_status st = DS_OK;
  int fd = create_temp(target, tmp);
  if (fd < 0) {
    st = ds__fail(ctx, DS_ERR_IO, "%s: cannot create a temporary file next to '%s': %s", fn,
                  path, strerror(errno));
  } else {
    int err = write_all(fd, data, len);
    if (!err && keep_mode && fchmod(fd, old.st_mode & 07777) != 0) err = errno;
    if (!err && fsync(fd) != 0) err = errno;
    if (!err && rename(tmp, target) != 0) err = errno;
    if (err) unlink(tmp);
    if (close(fd) != 0 && !err) err = errno; /* after the rename: locked until in place */
    if (err) {
      st = ds__fail(ctx, DS_ERR_IO, "%s: writing '%s' failed: %s", fn, path, strerror(err));
    } else { /* make the rename itself durable */
      int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
      }
    }
  }
  ds__free(ctx, tmp);
  ds__free(ctx, dir);
  return st;
}

ds_status ds__file_replace(ds_context *ctx, const char *fn, const char *path,
                           const uint8_t *data, size_t len) {
  char *target = NULL;
  ds_status st = resolve_target(ctx, fn, path, &target);
  if (st == DS_OK) st = replace_target(ctx, fn, path, target, data, len);
  ds__free(ctx, target);
  return st;
}
