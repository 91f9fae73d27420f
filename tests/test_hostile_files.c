/* Hostile files (issue 12): every value a checkpoint can claim is checked against what the
 * code after it can take, saving keeps what a user expects of a file (mode, symlinks, no
 * orphans), and loading never trusts a file's declared size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <glob.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"
#include "model_fixtures.h"
#include "file_patch.h"

#define N_DATA 256

typedef struct trainer_fixture {
  ds_context *ctx;
  ds_model *model;
  ds_trainer_config *tc;
  ds_trainer *trainer;
  float x[N_DATA * 2];
  char path[96];
} trainer_fixture;

static void fixture_open(trainer_fixture *f, const char *name) {
  f->ctx = test_context(2, 7);
  f->model = small_model(f->ctx, 2, 0, 3, 16);
  f->tc = small_trainer_config(32, 100);
  /* lr_min > 0: steps past the cosine horizon are allowed (the step-count test jumps far
   * past it), so only the checks under test refuse */
  assert_int_equal(ds_trainer_config_set_float(f->tc, DS_TRAIN_LR_MIN, 1e-5), DS_OK);
  assert_int_equal(ds_trainer_create(f->model, f->tc, NULL, &f->trainer), DS_OK);
  mixture_data(f->x, N_DATA, 3);
  assert_int_equal(ds_trainer_train(f->trainer, f->x, NULL, N_DATA, 3, NULL), DS_OK);
  snprintf(f->path, sizeof f->path, "/tmp/ds_hostile_%s_%d.ckpt", name, (int)getpid());
  assert_int_equal(ds_trainer_save(f->trainer, f->path), DS_OK);
}

static void fixture_close(trainer_fixture *f) {
  unlink(f->path);
  ds_trainer_free(f->trainer);
  ds_trainer_config_free(f->tc);
  ds_model_free(f->model);
  ds_context_free(f->ctx);
}

/* the trainer file (format 3, no averaged weights) ends: step u64, first moments (P f32),
 * second moments (P f32), the averaged-weights flag u32 (0), CRC */
static size_t step_offset(const trainer_fixture *f, const file_bytes *b) {
  return b->len - 4 - 4 - 8 * (size_t)ds_model_param_count(f->model) - 8;
}

/* Resume must refuse a bad file and leave trainer and model as they were. */
static void expect_refused(trainer_fixture *f, ds_status want, const char *detail) {
  int64_t P = ds_model_param_count(f->model);
  float *before = malloc(sizeof(float) * (size_t)P), *after = malloc(sizeof(float) * (size_t)P);
  double lp_before[4], lp_after[4];
  assert_int_equal(ds_model_log_prob(f->model, f->x, NULL, 4, lp_before), DS_OK);
  assert_int_equal(ds_trainer_resume(f->trainer, f->path), want);
  assert_non_null(strstr(ds_context_last_error(f->ctx), detail));
  assert_int_equal(ds_trainer_step(f->trainer), 3);
  assert_int_equal(ds_model_log_prob(f->model, f->x, NULL, 4, lp_after), DS_OK);
  assert_memory_equal(lp_before, lp_after, sizeof lp_before);
  /* and training continues normally, with finite weights */
  double loss = 0;
  assert_int_equal(ds_trainer_train(f->trainer, f->x, NULL, N_DATA, 2, &loss), DS_OK);
  assert_true(isfinite(loss));
  free(before);
  free(after);
}

/* Defect 1: steps done = INT64_MAX was accepted; the next step overflowed and the one
 * after indexed the shuffle order at a negative index (SIGSEGV). */
static void resume_refuses_step_counts_training_cannot_reach(void **state) {
  (void)state;
  uint64_t claims[] = {(uint64_t)INT64_MAX, (uint64_t)1 << 56, UINT64_MAX};
  for (int i = 0; i < 3; i++) {
    trainer_fixture f;
    fixture_open(&f, "step");
    file_bytes b = read_bytes(f.path);
    put_u64(b.data + step_offset(&f, &b), claims[i]);
    write_bytes_fixed(f.path, b);
    free(b.data);
    expect_refused(&f, DS_ERR_BAD_FORMAT, "steps done");
    fixture_close(&f);
  }
  /* the largest legal count resumes, and training past the limit is refused up front */
  trainer_fixture f;
  fixture_open(&f, "step_max");
  file_bytes b = read_bytes(f.path);
  put_u64(b.data + step_offset(&f, &b), ((uint64_t)1 << 56) - 2);
  write_bytes_fixed(f.path, b);
  free(b.data);
  assert_int_equal(ds_trainer_resume(f.trainer, f.path), DS_OK);
  assert_int_equal(ds_trainer_train(f.trainer, f.x, NULL, N_DATA, 2, NULL),
                   DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_trainer_step(f.trainer), ((int64_t)1 << 56) - 2);
  assert_int_equal(ds_trainer_train(f.trainer, f.x, NULL, N_DATA, 1, NULL), DS_OK);
  assert_int_equal(ds_trainer_step(f.trainer), ((int64_t)1 << 56) - 1);
  fixture_close(&f);
}

/* Defect 2: negative (finite) second moments were accepted and the next step wrote NaN
 * into every weight with DS_OK. */
static void resume_refuses_negative_second_moments(void **state) {
  (void)state;
  trainer_fixture f;
  fixture_open(&f, "moment");
  int64_t P = ds_model_param_count(f.model);
  file_bytes b = read_bytes(f.path);
  size_t v0 = step_offset(&f, &b) + 8 + 4 * (size_t)P;
  put_f32(b.data + v0 + 4 * 5, -1.0f);
  write_bytes_fixed(f.path, b);
  free(b.data);
  expect_refused(&f, DS_ERR_BAD_FORMAT, "second moment");
  fixture_close(&f);
}

/* Defect 7: a FIFO or device used to skip the size check and allocate the declared
 * payload (up to 64 GiB) before reading; now non-regular files are refused at once
 * (and opening a FIFO without a writer does not block). */
static void load_refuses_fifos_and_devices(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 0);
  char fifo[64];
  snprintf(fifo, sizeof fifo, "/tmp/ds_hostile_fifo_%d", (int)getpid());
  unlink(fifo);
  assert_int_equal(mkfifo(fifo, 0600), 0);
  ds_model *m = NULL;
  assert_int_equal(ds_model_load(ctx, fifo, &m), DS_ERR_IO);
  assert_non_null(strstr(ds_context_last_error(ctx), "FIFO"));
  assert_null(m);
  unlink(fifo);
  assert_int_equal(ds_model_load(ctx, "/dev/zero", &m), DS_ERR_IO);
  assert_non_null(strstr(ds_context_last_error(ctx), "character device"));
  assert_int_equal(ds_model_load(ctx, "/tmp", &m), DS_ERR_IO);
  assert_non_null(strstr(ds_context_last_error(ctx), "directory"));
  assert_null(m);
  assert_int_equal(ds_context_memory_peak(ctx) < 1 << 20, 1);
  ds_context_free(ctx);
}

/* The smoothing record (format 3: family u32, sigma f64, just before the CRC) names a
 * ds_noise family or none (UINT32_MAX): any other value is refused, a known one loads. */
static void load_refuses_an_unknown_smoothing_family(void **state) {
  (void)state;
  char path[] = "/tmp/ds_hostile_smoothing_XXXXXX";
  test_temp_path(path);
  ds_context *ctx = test_context(1, 0);
  ds_model *m = small_model(ctx, 2, 0, 2, 8);
  assert_int_equal(ds_model_save(m, path), DS_OK);
  file_bytes b = read_bytes(path);
  uint8_t *family = b.data + b.len - 16, *sigma = b.data + b.len - 12;
  const uint32_t bad[] = {DS_NOISE_UNIFORM + 1, 0x80000000u, UINT32_MAX - 1};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    for (int k = 0; k < 4; k++) family[k] = (uint8_t)(bad[i] >> (8 * k));
    put_u64(sigma, 0x3fe0000000000000ull); /* 0.5 */
    write_bytes_fixed(path, b);
    ds_model *back = NULL;
    assert_int_equal(ds_model_load(ctx, path, &back), DS_ERR_BAD_FORMAT);
    assert_non_null(strstr(ds_context_last_error(ctx), "invalid smoothing"));
    assert_null(back);
  }
  for (int k = 0; k < 4; k++) family[k] = (uint8_t)(DS_NOISE_UNIFORM >> (8 * k));
  write_bytes_fixed(path, b);
  ds_model *back = NULL;
  assert_int_equal(ds_model_load(ctx, path, &back), DS_OK);
  int32_t f = -1;
  double s = 0.0;
  assert_int_equal(ds_model_smoothing(back, &f, &s), DS_OK);
  assert_int_equal(f, DS_NOISE_UNIFORM);
  assert_true(s == 0.5);
  ds_model_free(back);
  free(b.data);
  unlink(path);
  ds_model_free(m);
  ds_context_free(ctx);
}

static mode_t mode_of(const char *path) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  return st.st_mode & 07777;
}

/* Defect 6, first half: saving over a file kept 0600 whatever it was; a new file now
 * gets 0666 minus the umask, an existing one keeps its mode. */
static void save_keeps_the_mode_and_honours_the_umask(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 0);
  ds_model *m = small_model(ctx, 2, 0, 2, 8);
  char path[64];
  snprintf(path, sizeof path, "/tmp/ds_hostile_mode_%d.ckpt", (int)getpid());
  unlink(path);
  mode_t old_mask = umask(022);
  assert_int_equal(ds_model_save(m, path), DS_OK);
  assert_int_equal(mode_of(path), 0644);
  unlink(path);
  umask(077);
  assert_int_equal(ds_model_save(m, path), DS_OK);
  assert_int_equal(mode_of(path), 0600);
  assert_int_equal(chmod(path, 0640), 0);
  assert_int_equal(ds_model_save(m, path), DS_OK);
  assert_int_equal(mode_of(path), 0640);
  assert_int_equal(chmod(path, 0444), 0); /* read-only files are replaced, as by rename */
  assert_int_equal(ds_model_save(m, path), DS_OK);
  assert_int_equal(mode_of(path), 0444);
  umask(old_mask);
  unlink(path);
  ds_model_free(m);
  ds_context_free(ctx);
}

/* Defect 6, second half: saving to a symlink replaced the link and left its target
 * stale; now the final target is written and the link stays. */
static void save_through_a_symlink_updates_its_target(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 0);
  ds_model *a = small_model(ctx, 2, 0, 2, 8), *b = small_model(ctx, 2, 0, 2, 8);
  char dir[64], target[96], link1[96], link2[96];
  snprintf(dir, sizeof dir, "/tmp/ds_hostile_links_%d", (int)getpid());
  snprintf(target, sizeof target, "%s/real.ckpt", dir);
  snprintf(link1, sizeof link1, "%s/relative.ckpt", dir);
  snprintf(link2, sizeof link2, "/tmp/ds_hostile_abs_%d.ckpt", (int)getpid());
  mkdir(dir, 0700);
  assert_int_equal(ds_model_save(a, target), DS_OK);
  assert_int_equal(symlink("real.ckpt", link1), 0);  /* relative, in the same directory */
  assert_int_equal(symlink(link1, link2), 0);        /* absolute, to the first link    */
  /* make b differ from a, save it through the chain of links */
  ds_trainer_config *tc = small_trainer_config(8, 10);
  ds_trainer *t = NULL;
  float x[64];
  mixture_data(x, 32, 1);
  assert_int_equal(ds_trainer_create(b, tc, NULL, &t), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, NULL, 32, 2, NULL), DS_OK);
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
  assert_int_equal(ds_model_save(b, link2), DS_OK);
  struct stat st;
  assert_int_equal(lstat(link2, &st), 0);
  assert_true(S_ISLNK(st.st_mode));
  assert_int_equal(lstat(link1, &st), 0);
  assert_true(S_ISLNK(st.st_mode));
  ds_model *loaded = NULL;
  assert_int_equal(ds_model_load(ctx, target, &loaded), DS_OK);
  double lb[4], ll[4];
  assert_int_equal(ds_model_log_prob(b, x, NULL, 4, lb), DS_OK);
  assert_int_equal(ds_model_log_prob(loaded, x, NULL, 4, ll), DS_OK);
  assert_memory_equal(lb, ll, sizeof lb);
  ds_model_free(loaded);
  /* a dangling link: its target is created */
  unlink(target);
  assert_int_equal(ds_model_save(a, link1), DS_OK);
  assert_int_equal(lstat(target, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  unlink(link2);
  unlink(link1);
  unlink(target);
  rmdir(dir);
  ds_model_free(a);
  ds_model_free(b);
  ds_context_free(ctx);
}

static void make_temp(const char *path, int age_seconds) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "partial", 7), 7);
  close(fd);
  if (age_seconds) {
    struct timespec times[2];
    clock_gettime(CLOCK_REALTIME, &times[0]);
    times[0].tv_sec -= age_seconds;
    times[1] = times[0];
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
  }
}

/* Defect 5: kill -9 during a save left path.tmp.XXXXXX behind forever. The next save to
 * the same path removes temporaries of that path that no live writer holds (unlocked)
 * and that are more than a minute old; anything else is left alone. */
static void save_removes_orphaned_temporaries_of_its_target(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 0);
  ds_model *m = small_model(ctx, 2, 0, 2, 8);
  char path[64], orphan[96], fresh[96], held[96], other[96], odd[96];
  int pid = (int)getpid();
  snprintf(path, sizeof path, "/tmp/ds_hostile_orphan_%d.ckpt", pid);
  snprintf(orphan, sizeof orphan, "%s.tmp.aB3dE9", path);
  snprintf(fresh, sizeof fresh, "%s.tmp.Zz0011", path);
  snprintf(held, sizeof held, "%s.tmp.HeLd00", path);
  snprintf(other, sizeof other, "/tmp/ds_hostile_other_%d.ckpt.tmp.aB3dE9", pid);
  snprintf(odd, sizeof odd, "%s.tmp.aB3dE9x", path);
  make_temp(orphan, 3600);
  make_temp(fresh, 0);
  make_temp(held, 3600);
  make_temp(other, 3600);
  make_temp(odd, 3600);
  int lock_fd = open(held, O_RDONLY);
  assert_int_equal(flock(lock_fd, LOCK_EX), 0); /* a writer still at work */
  assert_int_equal(ds_model_save(m, path), DS_OK);
  assert_int_equal(access(orphan, F_OK), -1);
  assert_int_equal(access(fresh, F_OK), 0);
  assert_int_equal(access(held, F_OK), 0);
  assert_int_equal(access(other, F_OK), 0);
  assert_int_equal(access(odd, F_OK), 0);
  close(lock_fd);
  unlink(fresh), unlink(held), unlink(other), unlink(odd), unlink(path);
  ds_model_free(m);
  ds_context_free(ctx);
}

static size_t temporaries_of(const char *path) {
  char pattern[128];
  glob_t g;
  snprintf(pattern, sizeof pattern, "%s.tmp.*", path);
  if (glob(pattern, 0, NULL, &g) != 0) return 0;
  size_t n = g.gl_pathc;
  globfree(&g);
  return n;
}

/* Every allocation of a save (serialising, link resolution, temporary names) and of a
 * load fails cleanly: DS_ERR_OUT_OF_MEMORY, the file untouched, no temporary left, no
 * leak, the context's memory back where it was. */
static void save_and_load_fail_cleanly_at_every_allocation(void **state) {
  (void)state;
  counting_alloc a = {0, -1, 0};
  ds_context *ctx = NULL;
  assert_int_equal(counting_context(&a, 1, &ctx), DS_OK);
  ds_model *m = small_model(ctx, 2, 0, 2, 8), *other = small_model(ctx, 2, 0, 2, 16);
  char path[64];
  snprintf(path, sizeof path, "/tmp/ds_hostile_alloc_%d.ckpt", (int)getpid());
  assert_int_equal(ds_model_save(m, path), DS_OK);
  file_bytes orig = read_bytes(path);
  uint64_t base = ds_context_memory_in_use(ctx);
  int saved = 0, loaded = 0;
  for (int64_t k = 0; k < 64 && !saved; k++) {
    a.calls = 0;
    a.fail_at = k;
    ds_status st = ds_model_save(other, path);
    a.fail_at = -1;
    if (st == DS_OK) { saved = 1; break; }
    assert_int_equal(st, DS_ERR_OUT_OF_MEMORY);
    file_bytes now = read_bytes(path);
    assert_int_equal(now.len, orig.len);
    assert_memory_equal(now.data, orig.data, orig.len);
    free(now.data);
    assert_int_equal(temporaries_of(path), 0);
    assert_int_equal(ds_context_memory_in_use(ctx), base);
  }
  assert_true(saved);
  for (int64_t k = 0; k < 64 && !loaded; k++) {
    ds_model *l = NULL;
    a.calls = 0;
    a.fail_at = k;
    ds_status st = ds_model_load(ctx, path, &l);
    a.fail_at = -1;
    if (st == DS_OK) { loaded = 1; ds_model_free(l); break; }
    assert_int_equal(st, DS_ERR_OUT_OF_MEMORY);
    assert_null(l);
    assert_int_equal(ds_context_memory_in_use(ctx), base);
  }
  assert_true(loaded);
  free(orig.data);
  unlink(path);
  ds_model_free(m);
  ds_model_free(other);
  ds_context_free(ctx);
  assert_int_equal(a.live, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(resume_refuses_step_counts_training_cannot_reach),
      cmocka_unit_test(resume_refuses_negative_second_moments),
      cmocka_unit_test(load_refuses_fifos_and_devices),
      cmocka_unit_test(load_refuses_an_unknown_smoothing_family),
      cmocka_unit_test(save_keeps_the_mode_and_honours_the_umask),
      cmocka_unit_test(save_through_a_symlink_updates_its_target),
      cmocka_unit_test(save_removes_orphaned_temporaries_of_its_target),
      cmocka_unit_test(save_and_load_fail_cleanly_at_every_allocation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
