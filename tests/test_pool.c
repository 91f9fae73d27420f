/* The thread pool: every (thread, threads) pair runs exactly once per job, nested runs
 * execute inline, and application threads sharing one pool take turns safely. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core/context.h"
#include "test_util.h"

typedef struct coverage {
  _Atomic int32_t hits[16];
  _Atomic int32_t seen_threads;
} coverage;

static void mark(void *p, int32_t t, int32_t threads) {
  coverage *c = p;
  atomic_fetch_add(&c->hits[t], 1);
  atomic_store(&c->seen_threads, threads);
}

static void every_thread_runs_once_per_job(void **state) {
  (void)state;
  for (int32_t n = 1; n <= 8; n++) {
    ds_context *ctx = test_context(n, 0);
    for (int rep = 0; rep < 200; rep++) {
      coverage c = {0};
      ds__pool_run(ctx->pool, mark, &c);
      assert_int_equal(atomic_load(&c.seen_threads), n);
      for (int32_t t = 0; t < n; t++) assert_int_equal(atomic_load(&c.hits[t]), 1);
    }
    ds_context_free(ctx);
  }
}

typedef struct nested_arg {
  ds__pool *pool;
  _Atomic int32_t inner_calls;
  _Atomic int32_t inner_threads_max;
} nested_arg;

static void inner(void *p, int32_t t, int32_t threads) {
  nested_arg *a = p;
  (void)t;
  atomic_fetch_add(&a->inner_calls, 1);
  if (threads > atomic_load(&a->inner_threads_max)) atomic_store(&a->inner_threads_max, threads);
}

static void outer(void *p, int32_t t, int32_t threads) {
  (void)t; (void)threads;
  ds__pool_run(((nested_arg *)p)->pool, inner, p);
}

static void nested_runs_execute_inline(void **state) {
  (void)state;
  ds_context *ctx = test_context(4, 0);
  nested_arg a = {ctx->pool, 0, 0};
  ds__pool_run(ctx->pool, outer, &a);
  assert_int_equal(atomic_load(&a.inner_calls), 4);
  assert_int_equal(atomic_load(&a.inner_threads_max), 1);
  ds_context_free(ctx);
}

typedef struct sum_job {
  const int64_t *data;
  int64_t n;
  int64_t partial[16];
} sum_job;

static void sum_chunks(void *p, int32_t t, int32_t threads) {
  sum_job *j = p;
  int64_t b, e, s = 0;
  ds__split_range(j->n, t, threads, &b, &e);
  for (int64_t i = b; i < e; i++) s += j->data[i];
  j->partial[t] = s;
}

typedef struct app_thread {
  ds__pool *pool;
  const int64_t *data;
  int64_t n, expect;
  int ok;
} app_thread;

static void *hammer(void *p) {
  app_thread *a = p;
  a->ok = 1;
  for (int rep = 0; rep < 300; rep++) {
    sum_job j = {a->data, a->n, {0}};
    ds__pool_run(a->pool, sum_chunks, &j);
    int64_t s = 0;
    for (int t = 0; t < ds__pool_threads(a->pool); t++) s += j.partial[t];
    if (s != a->expect) a->ok = 0;
  }
  return NULL;
}

static void application_threads_share_the_pool(void **state) {
  (void)state;
  ds_context *ctx = test_context(3, 0);
  enum { N = 10000 };
  static int64_t data[N];
  int64_t expect = 0;
  for (int i = 0; i < N; i++) { data[i] = i * 7 % 13; expect += data[i]; }
  pthread_t th[4];
  app_thread args[4];
  for (int i = 0; i < 4; i++) {
    args[i] = (app_thread){ctx->pool, data, N, expect, 0};
    assert_int_equal(pthread_create(&th[i], NULL, hammer, &args[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_true(args[i].ok);
  }
  ds_context_free(ctx);
}

static void split_range_covers_everything(void **state) {
  (void)state;
  for (int64_t n = 0; n < 40; n++)
    for (int32_t T = 1; T <= 9; T++) {
      int64_t next = 0;
      for (int32_t t = 0; t < T; t++) {
        int64_t b, e;
        ds__split_range(n, t, T, &b, &e);
        assert_int_equal(b, next);
        assert_true(e >= b && e - b <= n / T + 1);
        next = e;
      }
      assert_int_equal(next, n);
    }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_thread_runs_once_per_job),
      cmocka_unit_test(nested_runs_execute_inline),
      cmocka_unit_test(application_threads_share_the_pool),
      cmocka_unit_test(split_range_covers_everything),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
