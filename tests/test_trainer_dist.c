/* Data-parallel training through ds_trainer_set_distributed, with the ranks simulated by
 * threads of this process and a collective made of a barrier and shared buffers (the MPI
 * component is tested under mpirun in tests/mpi/). Each rank has its own context, model
 * and trainer, as separate processes would. Checked: deterministic mode gives bitwise the
 * same trainer state (weights and Adam moments) for 1..4 ranks and any thread count,
 * including with noise (stage 1) and dropout (PixelCNN++); one block on one rank is plain
 * training; resuming on another rank count continues bitwise; the fast mode trains; a
 * rank's failure, stop request or disagreement stops every rank with the same status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "test_util.h"
#include "model_fixtures.h"
#include "pixelcnn_fixtures.h"

#define MAX_RANKS 4
#define N_MADE 480

/* ---- the simulated world ----------------------------------------------------------- */

typedef struct world {
  int32_t size, serial; /* serial: which run of this process (names its files) */
  pthread_barrier_t barrier;
  const void *in[MAX_RANKS];
  const int64_t *counts_in[MAX_RANKS];
  int64_t calls[MAX_RANKS]; /* collectives each rank made */
} world;

typedef struct rank_handle {
  world *w;
  int32_t rank;
} rank_handle;

static int32_t sim_collective(void *user, int32_t op, const void *send, void *recv,
                              int64_t count, const int64_t *counts) {
  rank_handle *me = user;
  world *w = me->w;
  w->calls[me->rank]++;
  w->in[me->rank] = op == DS_COLLECTIVE_ALLGATHER || op == DS_COLLECTIVE_ALLTOALL ? send : recv;
  w->counts_in[me->rank] = counts;
  pthread_barrier_wait(&w->barrier);
  size_t bytes = 0;
  void *tmp = NULL;
  if (op == DS_COLLECTIVE_ALLGATHER) {
    for (int32_t r = 0; r < w->size; r++) {
      memcpy((char *)recv + bytes, w->in[r], (size_t)counts[r]);
      bytes += (size_t)counts[r];
    }
  } else if (op == DS_COLLECTIVE_ALLTOALL) { /* from rank r: its part for me, in order */
    for (int32_t r = 0; r < w->size; r++) {
      size_t skip = 0;
      const int64_t *theirs = w->counts_in[r];
      for (int32_t q = 0; q < me->rank; q++) skip += (size_t)theirs[q];
      memcpy((char *)recv + bytes, (const char *)w->in[r] + skip, (size_t)counts[w->size + r]);
      assert_int_equal(theirs[me->rank], counts[w->size + r]); /* sizes agree */
      bytes += (size_t)counts[w->size + r];
    }
  } else if (op == DS_COLLECTIVE_SUM_FLOAT) {
    float *acc = tmp = calloc((size_t)count, sizeof(float));
    for (int32_t r = 0; r < w->size; r++)
      for (int64_t i = 0; i < count; i++) acc[i] += ((const float *)w->in[r])[i];
    bytes = (size_t)count * sizeof(float);
  } else {
    double *acc = tmp = calloc((size_t)count, sizeof(double));
    for (int32_t r = 0; r < w->size; r++)
      for (int64_t i = 0; i < count; i++) acc[i] += ((const double *)w->in[r])[i];
    bytes = (size_t)count * sizeof(double);
  }
  pthread_barrier_wait(&w->barrier); /* every rank has read every input */
  if (tmp) memcpy(recv, tmp, bytes);
  free(tmp);
  return 0;
}

/* ---- one rank's run ------------------------------------------------------------------ */

enum { MODEL_MADE_SMOOTHED = 0, MODEL_PIXELCNN_DROPOUT = 1 };

typedef struct run_spec {
  int32_t model, reduction, world, threads;
  int64_t blocks, batch, steps;
  int64_t chunk;           /* train in calls of this many steps */
  const char *resume_from; /* or NULL */
  const char *save_to;     /* rank 0 saves the final state here, or NULL */
  int32_t bad_rank;        /* this rank passes NaN data on its second call (-1: none) */
  int32_t stop_rank;       /* this rank's progress callback asks to stop at step 6 */
  int32_t odd_rank;        /* this rank passes one row fewer (-1: none) */
  int32_t no_distribution; /* plain training (world must be 1) */
  int64_t until;           /* stop after this step (0: steps, the schedule's total) */
} run_spec;

typedef struct rank_run {
  const run_spec *spec;
  world *w;
  rank_handle h;
  ds_status status;       /* of the call that failed, or DS_OK */
  char message[512];
  int64_t step;
  double loss;
  char state_path[64];    /* this rank's final trainer checkpoint */
} rank_run;

static int32_t stop_at_six(void *user, int64_t step, int64_t total, double loss, double rate) {
  (void)user, (void)total, (void)loss, (void)rate;
  return step == 6;
}

static void *rank_main(void *arg) {
  rank_run *run = arg;
  const run_spec *s = run->spec;
  int32_t rank = run->h.rank;
  ds_context *ctx = test_context(s->threads, 1234);
  ds_smoother *sm = NULL;
  ds_model *m;
  int64_t n, D;
  float *x;
  if (s->model == MODEL_MADE_SMOOTHED) {
    assert_int_equal(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 0.3, &sm), DS_OK);
    m = small_model(ctx, 2, 0, 3, 16);
    n = N_MADE, D = 2;
    x = malloc(sizeof(float) * (size_t)(n * D));
    mixture_data(x, n, 5);
  } else {
    m = tiny_pixelcnn(ctx, 1, 6, 6, 4, 1, 2, DS_HEAD_DISCRETIZED, 0, 0.5);
    n = 48, D = 36;
    x = malloc(sizeof(float) * (size_t)(n * D));
    stripe_images(x, n, 1, 6, 6, 3);
  }
  ds_trainer_config *tc = small_trainer_config(s->batch, s->steps);
  ds_trainer *t = NULL;
  assert_int_equal(ds_trainer_create(m, tc, sm, &t), DS_OK);
  if (!s->no_distribution)
    assert_int_equal(ds_trainer_set_distributed(t, rank, s->world, s->reduction, s->blocks,
                                                s->world > 1 || rank != 0 ? sim_collective : NULL,
                                                &run->h),
                     DS_OK);
  if (s->stop_rank == rank) assert_int_equal(ds_trainer_set_progress(t, stop_at_six, NULL, 3), DS_OK);
  if (s->resume_from) assert_int_equal(ds_trainer_resume(t, s->resume_from), DS_OK);
  run->status = DS_OK;
  int64_t n_mine = s->odd_rank == rank ? n - 1 : n;
  int64_t until = s->until ? s->until : s->steps;
  for (int64_t call = 0; ds_trainer_step(t) < until && run->status == DS_OK; call++) {
    int64_t left = until - ds_trainer_step(t), steps = left < s->chunk ? left : s->chunk;
    float keep = x[0];
    if (s->bad_rank == rank && call == 1) x[0] = NAN;
    run->status = ds_trainer_train(t, x, NULL, n_mine, steps, &run->loss);
    x[0] = keep;
    if (run->status != DS_OK)
      snprintf(run->message, sizeof run->message, "%s", ds_context_last_error(ctx));
  }
  run->step = ds_trainer_step(t);
  snprintf(run->state_path, sizeof run->state_path, "dist_state_%d_%d_%d.bin", (int)getpid(),
           (int)run->w->serial, (int)rank);
  assert_int_equal(ds_trainer_save(t, run->state_path), DS_OK);
  if (s->save_to && rank == 0) assert_int_equal(ds_trainer_save(t, s->save_to), DS_OK);
  free(x);
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
  ds_model_free(m);
  ds_smoother_free(sm);
  ds_context_free(ctx);
  return NULL;
}

static void run_world(const run_spec *s, rank_run *runs) {
  static world w;
  static int32_t runs_so_far;
  memset(&w, 0, sizeof w);
  w.size = s->world;
  w.serial = runs_so_far++;
  pthread_barrier_init(&w.barrier, NULL, (unsigned)s->world);
  pthread_t th[MAX_RANKS];
  for (int32_t r = 0; r < s->world; r++) {
    memset(&runs[r], 0, sizeof runs[r]);
    runs[r].spec = s;
    runs[r].w = &w;
    runs[r].h = (rank_handle){&w, r};
    assert_int_equal(pthread_create(&th[r], NULL, rank_main, &runs[r]), 0);
  }
  for (int32_t r = 0; r < s->world; r++) pthread_join(th[r], NULL);
  pthread_barrier_destroy(&w.barrier);
}

static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(*len);
  assert_int_equal(fread(buf, 1, *len, f), *len);
  fclose(f);
  return buf;
}

/* 1 if the two checkpoints (weights, Adam moments, step) are byte for byte the same. */
static int same_state(const char *a, const char *b) {
  size_t la, lb;
  uint8_t *x = slurp(a, &la), *y = slurp(b, &lb);
  int same = la == lb && memcmp(x, y, la) == 0;
  free(x);
  free(y);
  return same;
}

static void cleanup(rank_run *runs, int32_t world_size) {
  for (int32_t r = 0; r < world_size; r++) unlink(runs[r].state_path);
}

/* Runs spec on world sizes / thread counts and checks every rank's state equals the first
 * run's rank 0. */
static void expect_same_for(run_spec base, const int32_t (*shapes)[2], int count) {
  rank_run ref[MAX_RANKS], runs[MAX_RANKS];
  base.world = shapes[0][0];
  base.threads = shapes[0][1];
  run_world(&base, ref);
  assert_int_equal(ref[0].status, DS_OK);
  assert_int_equal(ref[0].step, base.steps);
  for (int i = 1; i < count; i++) {
    run_spec s = base;
    s.world = shapes[i][0];
    s.threads = shapes[i][1];
    run_world(&s, runs);
    for (int32_t r = 0; r < s.world; r++) {
      assert_int_equal(runs[r].status, DS_OK);
      assert_true(same_state(ref[0].state_path, runs[r].state_path));
      assert_true(runs[r].loss == ref[0].loss); /* the global loss, bitwise */
    }
    print_message("%d rank(s) x %d thread(s): same bits as %d x %d (mean loss %.6f)\n",
                  (int)s.world, (int)s.threads, (int)base.world, (int)base.threads, runs[0].loss);
    cleanup(runs, s.world);
  }
  cleanup(ref, base.world);
}

static run_spec made_spec(void) {
  run_spec s = {MODEL_MADE_SMOOTHED, DS_REDUCE_DETERMINISTIC, 1, 1, 12, 24, 30, 7,
                NULL, NULL, -1, -1, -1, 0, 0};
  return s;
}

static void deterministic_made_any_ranks_and_threads(void **state) {
  (void)state;
  const int32_t shapes[][2] = {{1, 2}, {2, 1}, {3, 2}, {4, 1}, {4, 3}};
  expect_same_for(made_spec(), shapes, 5);
}

/* The scattered exchange: the deterministic mode's bits, for any rank and thread count. */
static void scattered_mode_gives_the_deterministic_bits(void **state) {
  (void)state;
  const int32_t shapes[][3] = {{DS_REDUCE_DETERMINISTIC, 1, 1}, {DS_REDUCE_DETERMINISTIC_SCATTER, 1, 2},
                               {DS_REDUCE_DETERMINISTIC_SCATTER, 2, 1},
                               {DS_REDUCE_DETERMINISTIC_SCATTER, 3, 2},
                               {DS_REDUCE_DETERMINISTIC_SCATTER, 4, 1}};
  rank_run ref[MAX_RANKS], runs[MAX_RANKS];
  for (int i = 0; i < 5; i++) {
    run_spec s = made_spec();
    s.reduction = shapes[i][0];
    s.world = shapes[i][1];
    s.threads = shapes[i][2];
    run_world(&s, i == 0 ? ref : runs);
    if (i == 0) continue;
    for (int32_t r = 0; r < s.world; r++) {
      assert_int_equal(runs[r].status, DS_OK);
      assert_true(same_state(ref[0].state_path, runs[r].state_path));
      assert_true(runs[r].loss == ref[0].loss);
    }
    print_message("scattered, %d rank(s) x %d thread(s): the deterministic bits\n",
                  (int)s.world, (int)s.threads);
    cleanup(runs, s.world);
  }
  cleanup(ref, 1);
}

static void deterministic_pixelcnn_dropout_any_ranks(void **state) {
  (void)state;
  run_spec s = {MODEL_PIXELCNN_DROPOUT, DS_REDUCE_DETERMINISTIC, 1, 1, 6, 12, 6, 4,
                NULL, NULL, -1, -1, -1, 0, 0};
  const int32_t shapes[][2] = {{1, 1}, {2, 2}, {3, 1}};
  expect_same_for(s, shapes, 3);
}

/* One block on one rank is exactly the single-process trainer. */
static void one_block_is_plain_training(void **state) {
  (void)state;
  rank_run plain[1], dist[1];
  run_spec s = made_spec();
  s.no_distribution = 1;
  run_world(&s, plain);
  s.no_distribution = 0;
  s.blocks = 1;
  run_world(&s, dist);
  assert_true(same_state(plain[0].state_path, dist[0].state_path));
  /* and with blocks the bits change (the test above is not vacuous) */
  s.blocks = 12;
  rank_run blocked[1];
  run_world(&s, blocked);
  assert_false(same_state(plain[0].state_path, blocked[0].state_path));
  cleanup(plain, 1);
  cleanup(dist, 1);
  cleanup(blocked, 1);
}

static void resume_on_another_rank_count(void **state) {
  (void)state;
  char ckpt[64];
  snprintf(ckpt, sizeof ckpt, "dist_resume_%d.ckpt", (int)getpid());
  rank_run whole[1], first[2], second[3];
  run_spec s = made_spec();
  run_world(&s, whole); /* 30 steps on one rank */
  s.world = 2;
  s.until = 13;
  s.save_to = ckpt;
  run_world(&s, first); /* 13 steps on two ranks, saved */
  s.world = 3;
  s.threads = 2;
  s.until = 0;
  s.save_to = NULL;
  s.resume_from = ckpt;
  run_world(&s, second); /* 17 more on three */
  for (int32_t r = 0; r < 3; r++) {
    assert_int_equal(second[r].status, DS_OK);
    assert_true(same_state(whole[0].state_path, second[r].state_path));
  }
  unlink(ckpt);
  cleanup(whole, 1);
  cleanup(first, 2);
  cleanup(second, 3);
}

static void fast_mode_trains_and_agrees(void **state) {
  (void)state;
  rank_run det[1], fast[3];
  run_spec s = made_spec();
  s.steps = 60;
  run_world(&s, det);
  s.reduction = DS_REDUCE_FAST;
  s.blocks = 0;
  s.world = 3;
  run_world(&s, fast);
  for (int32_t r = 0; r < 3; r++) {
    assert_int_equal(fast[r].status, DS_OK);
    assert_true(same_state(fast[0].state_path, fast[r].state_path)); /* ranks agree */
    assert_true(fast[r].loss == fast[0].loss);
  }
  print_message("fast, 3 ranks: last-call loss %.6f; deterministic, 1 rank: %.6f\n",
                fast[0].loss, det[0].loss);
  assert_true(fabs(fast[0].loss - det[0].loss) < 0.05);
  cleanup(det, 1);
  cleanup(fast, 3);
}

static void check_all_stopped(rank_run *runs, int32_t size, ds_status want, const char *text) {
  for (int32_t r = 0; r < size; r++) {
    print_message("rank %d: %s: %s\n", (int)r, ds_status_str(runs[r].status), runs[r].message);
    assert_int_equal(runs[r].status, want);
    assert_non_null(strstr(runs[r].message, text));
    assert_int_equal(runs[r].step, runs[0].step);
  }
}

/* Spec s (up to 3 ranks) run with each of the three reductions: every rank stops with
 * `want` and a detail holding `text`, at rank 0's step, which is `step`. `own` (or NULL):
 * the failing rank's own detail, which the last rank's message carries too except with
 * DS_REDUCE_FAST. */
static void every_reduction_stops(run_spec s, ds_status want, const char *text, int64_t step,
                                  const char *own) {
  for (int32_t reduction = 0; reduction < 3; reduction++) {
    rank_run runs[3];
    s.reduction = reduction;
    run_world(&s, runs);
    check_all_stopped(runs, s.world, want, text);
    assert_int_equal(runs[0].step, step);
    if (own && reduction != DS_REDUCE_FAST) /* its own detail travels to every rank */
      assert_non_null(strstr(runs[s.world - 1].message, own));
    cleanup(runs, s.world);
  }
}

static void a_failing_rank_stops_every_rank(void **state) {
  (void)state;
  run_spec s = made_spec();
  s.world = 3;
  s.bad_rank = 1;
  /* the first call's 7 steps are kept */
  every_reduction_stops(s, DS_ERR_NUMERIC, "rank 1 of 3 stopped the job at step 7", 7,
                        "x[0][0] is NaN");
}

static void a_stop_request_stops_every_rank(void **state) {
  (void)state;
  run_spec s = made_spec();
  s.world = 3;
  s.stop_rank = 2;
  every_reduction_stops(s, DS_ERR_CANCELLED, "progress callback of rank 2 of 3", 6, NULL);
}

static void ranks_that_disagree_stop(void **state) {
  (void)state;
  run_spec s = made_spec();
  s.world = 2;
  s.odd_rank = 1;
  every_reduction_stops(s, DS_ERR_BAD_STATE, "the ranks disagree", 0, NULL);
}

static int32_t never_called(void *user, int32_t op, const void *send, void *recv, int64_t count,
                            const int64_t *counts) {
  (void)user, (void)op, (void)send, (void)recv, (void)count, (void)counts;
  fail();
  return 1;
}

static int32_t broken(void *user, int32_t op, const void *send, void *recv, int64_t count,
                      const int64_t *counts) {
  (void)user, (void)op, (void)send, (void)recv, (void)count, (void)counts;
  return 42;
}

static void bad_arguments(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 1);
  ds_model *m = small_model(ctx, 2, 0, 2, 8);
  ds_trainer_config *tc = small_trainer_config(8, 10);
  ds_trainer *t = NULL;
  assert_int_equal(ds_trainer_create(m, tc, NULL, &t), DS_OK);
  assert_int_equal(ds_trainer_set_distributed(NULL, 0, 1, 0, 1, NULL, NULL), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_trainer_set_distributed(t, 2, 2, 0, 2, never_called, NULL), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_trainer_set_distributed(t, -1, 2, 0, 2, never_called, NULL), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_trainer_set_distributed(t, 0, -1, 0, 2, never_called, NULL), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_trainer_set_distributed(t, 0, 2, 7, 2, never_called, NULL), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_trainer_set_distributed(t, 0, 2, 0, 0, never_called, NULL), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_trainer_set_distributed(t, 0, 2, 0, 9, never_called, NULL), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(ctx), "grad_blocks = 9"));
  assert_int_equal(ds_trainer_set_distributed(t, 0, 2, 0, 2, NULL, NULL), DS_ERR_INVALID_ARGUMENT);
  /* a collective that fails: DS_ERR_IO naming its return value, nothing applied */
  float x[16 * 2];
  mixture_data(x, 16, 1);
  assert_int_equal(ds_trainer_set_distributed(t, 0, 2, DS_REDUCE_DETERMINISTIC, 2, broken, NULL), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, NULL, 16, 3, NULL), DS_ERR_IO);
  assert_non_null(strstr(ds_context_last_error(ctx), "returned 42"));
  assert_int_equal(ds_trainer_step(t), 0);
  /* world = 0: single-process training again */
  assert_int_equal(ds_trainer_set_distributed(t, 0, 0, 0, 0, NULL, NULL), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, NULL, 16, 3, NULL), DS_OK);
  assert_int_equal(ds_trainer_step(t), 3);
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
  ds_model_free(m);
  ds_context_free(ctx);
}

/* Every allocation of ds_trainer_set_distributed failing in turn: OUT_OF_MEMORY, nothing
 * leaked, and the previous setting (here: 1 rank, 2 blocks) still trains. */
static void allocation_failures_keep_the_previous_setting(void **state) {
  (void)state;
  counting_alloc a = {0, -1, 0};
  ds_context *ctx = NULL;
  assert_int_equal(counting_context(&a, 1, &ctx), DS_OK);
  ds_model *m = small_model(ctx, 2, 0, 2, 8);
  ds_trainer_config *tc = small_trainer_config(8, 10);
  ds_trainer *t = NULL;
  assert_int_equal(ds_trainer_create(m, tc, NULL, &t), DS_OK);
  assert_int_equal(ds_trainer_set_distributed(t, 0, 1, DS_REDUCE_DETERMINISTIC, 2, NULL, NULL), DS_OK);
  float x[16 * 2];
  mixture_data(x, 16, 1);
  int failures = 0;
  for (int64_t k = 0;; k++) {
    int64_t live = a.live;
    a.calls = 0;
    a.fail_at = k;
    ds_status st = ds_trainer_set_distributed(t, 1, 3, (int32_t)(k % 3), 8, never_called, NULL);
    a.fail_at = -1;
    if (st == DS_OK) { /* every allocation succeeded: undo, done */
      assert_int_equal(ds_trainer_set_distributed(t, 0, 1, DS_REDUCE_DETERMINISTIC, 2, NULL, NULL), DS_OK);
      break;
    }
    failures++;
    assert_int_equal(st, DS_ERR_OUT_OF_MEMORY);
    assert_int_equal(a.live, live);
    assert_int_equal(ds_trainer_train(t, x, NULL, 16, 1, NULL), DS_OK); /* never_called unused */
  }
  assert_true(failures >= 3);
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
  ds_model_free(m);
  ds_context_free(ctx);
  assert_int_equal(a.live, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(deterministic_made_any_ranks_and_threads),
      cmocka_unit_test(scattered_mode_gives_the_deterministic_bits),
      cmocka_unit_test(deterministic_pixelcnn_dropout_any_ranks),
      cmocka_unit_test(one_block_is_plain_training),
      cmocka_unit_test(resume_on_another_rank_count),
      cmocka_unit_test(fast_mode_trains_and_agrees),
      cmocka_unit_test(a_failing_rank_stops_every_rank),
      cmocka_unit_test(a_stop_request_stops_every_rank),
      cmocka_unit_test(ranks_that_disagree_stop),
      cmocka_unit_test(bad_arguments),
      cmocka_unit_test(allocation_failures_keep_the_previous_setting),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
