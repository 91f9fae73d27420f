/* Persistent pthread pool: see pool.h for the contract. */
#include "core/pool.h"

#include <pthread.h>
#include <stdatomic.h>

#include "core/context.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define DS__CPU_RELAX() _mm_pause()
#else
#define DS__CPU_RELAX() ((void)0)
#endif

/* About 20-50 microseconds of polling before a worker goes to sleep: long enough to catch
 * the next job of a training step, short enough to give the core away when idle. */
#define DS__SPIN_ITERATIONS 4000

typedef struct worker_slot {
  ds__pool *pool;
  int32_t index;
} worker_slot;

struct ds__pool {
  int32_t threads;
  pthread_t *workers;   /* (threads - 1) */
  worker_slot *slots;   /* (threads - 1) */
  pthread_mutex_t run_lock;  /* one job at a time */
  pthread_mutex_t lock;      /* guards the sleeps below */
  pthread_cond_t wake;
  pthread_cond_t done;
  _Atomic uint64_t generation;
  _Atomic int32_t pending;
  _Atomic int32_t stop;
  ds__pool_fn fn;
  void *arg;
};

/* Set while this thread runs a job, so nested ds__pool_run calls run inline. */
static _Thread_local int32_t in_pool_job;

static void *worker_main(void *p) {
  worker_slot *slot = p;
  ds__pool *pool = slot->pool;
  uint64_t seen = 0;
  in_pool_job = 1;
  for (;;) {
    int spins = 0;
    while (atomic_load_explicit(&pool->generation, memory_order_acquire) == seen &&
           !atomic_load_explicit(&pool->stop, memory_order_acquire) &&
           spins < DS__SPIN_ITERATIONS) {
      DS__CPU_RELAX();
      spins++;
    }
    pthread_mutex_lock(&pool->lock);
    while (atomic_load_explicit(&pool->generation, memory_order_acquire) == seen &&
           !atomic_load_explicit(&pool->stop, memory_order_acquire))
      pthread_cond_wait(&pool->wake, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
    if (atomic_load_explicit(&pool->stop, memory_order_acquire)) break;
    seen = atomic_load_explicit(&pool->generation, memory_order_acquire);
    pool->fn(pool->arg, slot->index, pool->threads);
    if (atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_acq_rel) == 1) {
      pthread_mutex_lock(&pool->lock);
      pthread_cond_broadcast(&pool->done);
      pthread_mutex_unlock(&pool->lock);
    }
  }
  return NULL;
}

static void stop_workers(ds__pool *pool, int32_t started) {
  pthread_mutex_lock(&pool->lock);
  atomic_store(&pool->stop, 1);
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->lock);
  for (int32_t i = 0; i < started; i++) pthread_join(pool->workers[i], NULL);
}

static void release_memory(struct ds_context *ctx, ds__pool *pool) {
  ds__free(ctx, pool->workers);
  ds__free(ctx, pool->slots);
  ds__free(ctx, pool);
}

static void destroy_sync(ds__pool *pool) {
  pthread_cond_destroy(&pool->done);
  pthread_cond_destroy(&pool->wake);
  pthread_mutex_destroy(&pool->lock);
  pthread_mutex_destroy(&pool->run_lock);
}

int ds__pool_create(struct ds_context *ctx, int32_t threads, ds__pool **out) {
  ds__pool *pool = ds__calloc(ctx, 1, sizeof *pool);
  if (!pool) return 1;
  pool->threads = threads;
  if (threads > 1) {
    pool->workers = ds__calloc(ctx, (size_t)threads - 1, sizeof *pool->workers);
    pool->slots = ds__calloc(ctx, (size_t)threads - 1, sizeof *pool->slots);
    if (!pool->workers || !pool->slots) {
      release_memory(ctx, pool);
      return 1;
    }
  }
  int ok = pthread_mutex_init(&pool->run_lock, NULL) == 0;
  ok = ok && pthread_mutex_init(&pool->lock, NULL) == 0;
  ok = ok && pthread_cond_init(&pool->wake, NULL) == 0;
  ok = ok && pthread_cond_init(&pool->done, NULL) == 0;
  if (!ok) { /* these inits do not fail on Linux; stay tidy if they ever do */
    release_memory(ctx, pool);
    return 2;
  }
  for (int32_t i = 0; i < threads - 1; i++) {
    pool->slots[i].pool = pool;
    pool->slots[i].index = i + 1;
    if (pthread_create(&pool->workers[i], NULL, worker_main, &pool->slots[i])) {
      stop_workers(pool, i);
      destroy_sync(pool);
      release_memory(ctx, pool);
      return 2;
    }
  }
  *out = pool;
  return 0;
}

void ds__pool_free(struct ds_context *ctx, ds__pool *pool) {
  if (!pool) return;
  stop_workers(pool, pool->threads - 1);
  destroy_sync(pool);
  release_memory(ctx, pool);
}

int32_t ds__pool_threads(const ds__pool *pool) { return pool->threads; }

void ds__pool_run(ds__pool *pool, ds__pool_fn fn, void *arg) {
  if (in_pool_job || pool->threads == 1) {
    int32_t outer = in_pool_job;
    in_pool_job = 1;
    fn(arg, 0, 1);
    in_pool_job = outer;
    return;
  }
  pthread_mutex_lock(&pool->run_lock);
  pool->fn = fn;
  pool->arg = arg;
  atomic_store_explicit(&pool->pending, pool->threads - 1, memory_order_relaxed);
  pthread_mutex_lock(&pool->lock);
  atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->lock);

  in_pool_job = 1;
  fn(arg, 0, pool->threads);
  in_pool_job = 0;

  int spins = 0;
  while (atomic_load_explicit(&pool->pending, memory_order_acquire) > 0 &&
         spins < DS__SPIN_ITERATIONS) {
    DS__CPU_RELAX();
    spins++;
  }
  pthread_mutex_lock(&pool->lock);
  while (atomic_load_explicit(&pool->pending, memory_order_acquire) > 0)
    pthread_cond_wait(&pool->done, &pool->lock);
  pthread_mutex_unlock(&pool->lock);
  pthread_mutex_unlock(&pool->run_lock);
}
