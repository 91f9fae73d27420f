/* Persistent pthread pool: see pool.h for the contract.
 *
 * A job is `threads` parts, fn(arg, part, threads) for part = 0..threads-1. Parts are not
 * bound to threads: the caller and the workers claim them one at a time from a shared
 * counter, so if a worker is slow to wake (another process holds its core) the caller
 * simply runs that part itself instead of waiting at a barrier. Each part still runs
 * exactly once, with the same index, so results are those of a static split.
 *
 * The claim word holds (job number << 32 | next part); a worker claims a part with a
 * compare-and-swap that only succeeds while the job it woke for is still the current one. */
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

/* About 20-50 microseconds of polling before a thread goes to sleep: long enough to catch
 * the next job of a training step, short enough to give the core away when idle. */
#define DS__SPIN_ITERATIONS 4000

struct ds__pool {
  int32_t threads;
  pthread_t *workers;       /* (threads - 1) */
  pthread_mutex_t run_lock; /* one job at a time */
  pthread_mutex_t lock;     /* guards the sleeps below */
  pthread_cond_t wake;
  pthread_cond_t done;
  _Atomic uint64_t job;     /* job number: workers wake when it changes */
  _Atomic uint64_t claim;   /* (job number << 32) | next unclaimed part */
  _Atomic int32_t finished; /* parts of the current job completed */
  _Atomic int32_t stop;
  ds__pool_fn fn;
  void *arg;
};

/* Set while this thread runs a part, so nested ds__pool_run calls run inline. */
static _Thread_local int32_t in_pool_job;

/* Claim and run parts of job `job` until none are left or the job has changed. */
static void run_parts(ds__pool *pool, uint32_t job) {
  int32_t parts = pool->threads;
  for (;;) {
    uint64_t c = atomic_load_explicit(&pool->claim, memory_order_acquire);
    if ((uint32_t)(c >> 32) != job || (int32_t)(uint32_t)c >= parts) return;
    if (!atomic_compare_exchange_weak_explicit(&pool->claim, &c, c + 1, memory_order_acq_rel,
                                               memory_order_acquire))
      continue;
    /* the job cannot complete (and fn/arg cannot change) before this part finishes */
    pool->fn(pool->arg, (int32_t)(uint32_t)c, parts);
    if (atomic_fetch_add_explicit(&pool->finished, 1, memory_order_acq_rel) + 1 == parts) {
      pthread_mutex_lock(&pool->lock);
      pthread_cond_broadcast(&pool->done);
      pthread_mutex_unlock(&pool->lock);
    }
  }
}

static void *worker_main(void *p) {
  ds__pool *pool = p;
  uint64_t seen = 0;
  in_pool_job = 1;
  for (;;) {
    int spins = 0;
    while (atomic_load_explicit(&pool->job, memory_order_acquire) == seen &&
           !atomic_load_explicit(&pool->stop, memory_order_acquire) &&
           spins < DS__SPIN_ITERATIONS) {
      DS__CPU_RELAX();
      spins++;
    }
    pthread_mutex_lock(&pool->lock);
    while (atomic_load_explicit(&pool->job, memory_order_acquire) == seen &&
           !atomic_load_explicit(&pool->stop, memory_order_acquire))
      pthread_cond_wait(&pool->wake, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
    if (atomic_load_explicit(&pool->stop, memory_order_acquire)) break;
    seen = atomic_load_explicit(&pool->job, memory_order_acquire);
    run_parts(pool, (uint32_t)seen);
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
    if (!pool->workers) {
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
    if (pthread_create(&pool->workers[i], NULL, worker_main, pool)) {
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
  atomic_store_explicit(&pool->finished, 0, memory_order_relaxed);
  uint64_t job = atomic_load_explicit(&pool->job, memory_order_relaxed) + 1;
  /* publish the parts before the job number the workers watch */
  atomic_store_explicit(&pool->claim, (job & 0xffffffffull) << 32, memory_order_release);
  pthread_mutex_lock(&pool->lock);
  atomic_store_explicit(&pool->job, job, memory_order_release);
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->lock);

  in_pool_job = 1;
  run_parts(pool, (uint32_t)job);
  in_pool_job = 0;

  int spins = 0;
  while (atomic_load_explicit(&pool->finished, memory_order_acquire) < pool->threads &&
         spins < DS__SPIN_ITERATIONS) {
    DS__CPU_RELAX();
    spins++;
  }
  pthread_mutex_lock(&pool->lock);
  while (atomic_load_explicit(&pool->finished, memory_order_acquire) < pool->threads)
    pthread_cond_wait(&pool->done, &pool->lock);
  pthread_mutex_unlock(&pool->lock);
  pthread_mutex_unlock(&pool->run_lock);
}
