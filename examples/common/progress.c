#include "progress.h"

#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double progress_elapsed(const progress_bar *p) { return now() - p->start; }

const char *progress_duration(double seconds, char *buf, size_t size) {
  long s = seconds > 0 && seconds < 1e8 ? lround(seconds) : 0;
  if (s >= 3600) snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

void progress_start(progress_bar *p, const char *label, int64_t total, int quiet) {
  memset(p, 0, sizeof *p);
  p->stream = stderr;
  snprintf(p->label, sizeof p->label, "%s", label);
  p->total = total > 0 ? total : 1;
  p->quiet = quiet;
  p->tty = isatty(fileno(stderr));
  p->start = now();
  p->last_draw = -1;
  p->next_line = (p->total + 9) / 10;
}

static void draw(progress_bar *p, int64_t done, const char *detail, int final) {
  double elapsed = now() - p->start;
  double eta = done > 0 ? elapsed / (double)done * (double)(p->total - done) : 0;
  char t1[32], t2[32];
  int percent = (int)(100 * done / p->total);
  if (p->tty) {
    enum { WIDTH = 24 };
    char bar[WIDTH + 1];
    int filled = (int)(WIDTH * done / p->total);
    for (int i = 0; i < WIDTH; i++) bar[i] = i < filled ? '#' : '.';
    bar[WIDTH] = '\0';
    fprintf(p->stream, "\r%s [%s] %3d%% %lld/%lld %s%s%s %s ", p->label, bar, percent,
            (long long)done, (long long)p->total, detail ? detail : "", detail ? "  " : "",
            final ? "took" : "ETA",
            progress_duration(final ? elapsed : eta, final ? t1 : t2, sizeof t1));
    fprintf(p->stream, "\033[K"); /* clear what a longer previous line left */
    if (final) fputc('\n', p->stream);
  } else {
    fprintf(p->stream, "%s: %lld/%lld (%d%%)%s%s, %s elapsed", p->label, (long long)done,
            (long long)p->total, percent, detail ? ", " : "", detail ? detail : "",
            progress_duration(elapsed, t1, sizeof t1));
    if (!final) fprintf(p->stream, ", %s left", progress_duration(eta, t2, sizeof t2));
    fputc('\n', p->stream);
  }
  fflush(p->stream);
}

void progress_update(progress_bar *p, int64_t done, const char *detail) {
  if (p->quiet) return;
  if (p->tty) {
    double t = now();
    if (p->last_draw >= 0 && t - p->last_draw < 0.1 && done < p->total) return;
    p->last_draw = t;
    draw(p, done, detail, 0);
  } else if (done >= p->next_line && done < p->total) {
    while (p->next_line <= done) p->next_line += (p->total + 9) / 10;
    draw(p, done, detail, 0);
  }
}

void progress_finish(progress_bar *p, const char *detail) {
  if (p->quiet) return;
  draw(p, p->total, detail, 1);
}
