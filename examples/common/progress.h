/* Progress of a long loop: on a terminal a bar redrawn in place ("\r", at most ten times a
 * second); into a file or a pipe (a log) plain lines, one every tenth of the work, so logs
 * stay readable. Writes to stderr; quiet mode writes nothing. */
#ifndef DS_EXAMPLE_PROGRESS_H
#define DS_EXAMPLE_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct progress_bar {
  FILE *stream;
  char label[48];
  int64_t total;
  int tty, quiet;
  double start, last_draw;
  int64_t next_line; /* plain mode: the next count that gets a line */
} progress_bar;

void progress_start(progress_bar *p, const char *label, int64_t total, int quiet);
/* `done` of total; `detail` (may be NULL) is appended, e.g. "loss 1.234". */
void progress_update(progress_bar *p, int64_t done, const char *detail);
/* The final state and a newline on a terminal. */
void progress_finish(progress_bar *p, const char *detail);
/* Seconds since progress_start. */
double progress_elapsed(const progress_bar *p);
/* "1:02:03" or "2:03" for a duration in seconds. */
const char *progress_duration(double seconds, char *buf, size_t size);

#endif
