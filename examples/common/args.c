#define _GNU_SOURCE /* getopt_long */
#include "args.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void args_fail(const arg_parser *p, const char *flag, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s: ", p->program);
  if (flag) fprintf(stderr, "--%s: ", flag);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry '%s --help' for the options.\n", p->program);
  exit(2);
}

/* "1e-3" for a range bound: integers without an exponent, the rest with %g. */
static void format_bound(char *buf, size_t size, double v) {
  if (v == floor(v) && fabs(v) < 1e15) snprintf(buf, size, "%.0f", v);
  else snprintf(buf, size, "%g", v);
}

int64_t args_int(const arg_parser *p, const char *flag, const char *value, int64_t min,
                 int64_t max) {
  if (!value || !*value) args_fail(p, flag, "needs an integer value, got an empty string");
  char *end = NULL;
  errno = 0;
  long long v = strtoll(value, &end, 10);
  if (end == value || *end != '\0')
    args_fail(p, flag, "'%s' is not an integer", value);
  if (errno == ERANGE || v < min || v > max) {
    if (max == INT64_MAX)
      args_fail(p, flag, "%s is out of range: must be at least %lld", value, (long long)min);
    args_fail(p, flag, "%s is out of range: must be in %lld..%lld", value, (long long)min,
              (long long)max);
  }
  return (int64_t)v;
}

double args_double(const arg_parser *p, const char *flag, const char *value, double min,
                   int min_open, double max) {
  if (!value || !*value) args_fail(p, flag, "needs a number, got an empty string");
  char *end = NULL;
  errno = 0;
  double v = strtod(value, &end);
  if (end == value || *end != '\0') args_fail(p, flag, "'%s' is not a number", value);
  if (!isfinite(v) || errno == ERANGE) args_fail(p, flag, "'%s' is not a finite number", value);
  char lo[32], hi[32];
  format_bound(lo, sizeof lo, min);
  format_bound(hi, sizeof hi, max);
  if (min_open && !(v > min)) {
    if (max >= 1e29) /* no upper bound worth naming */
      args_fail(p, flag, "%s is out of range: must be greater than %s", value, lo);
    args_fail(p, flag, "%s is out of range: must be greater than %s and at most %s", value, lo, hi);
  }
  if (v < min || v > max) {
    if (min_open) args_fail(p, flag, "%s is out of range: must be in (%s, %s]", value, lo, hi);
    if (max >= 1e29) args_fail(p, flag, "%s is out of range: must be at least %s", value, lo);
    args_fail(p, flag, "%s is out of range: must be in [%s, %s]", value, lo, hi);
  }
  return v;
}

/* Split `value` at commas into a scratch copy; calls item() on each piece. */
static int split_list(const arg_parser *p, const char *flag, const char *value, int max_count,
                      char *items[], char **scratch) {
  if (!value || !*value) args_fail(p, flag, "needs a comma-separated list, got an empty string");
  *scratch = strdup(value);
  if (!*scratch) args_fail(p, flag, "out of memory");
  int count = 0;
  char *s = *scratch;
  for (;;) {
    char *comma = strchr(s, ',');
    if (comma) *comma = '\0';
    if (count == max_count) {
      free(*scratch);
      args_fail(p, flag, "'%s' has more than %d items", value, max_count);
    }
    items[count++] = s;
    if (!comma) break;
    s = comma + 1;
  }
  return count;
}

int args_int_list(const arg_parser *p, const char *flag, const char *value, int64_t min,
                  int64_t max, int64_t *out, int max_count) {
  char *items[256], *scratch = NULL;
  if (max_count > 256) max_count = 256;
  int count = split_list(p, flag, value, max_count, items, &scratch);
  for (int i = 0; i < count; i++) out[i] = args_int(p, flag, items[i], min, max);
  free(scratch);
  return count;
}

int args_double_list(const arg_parser *p, const char *flag, const char *value, double min,
                     int min_open, double max, double *out, int max_count) {
  char *items[256], *scratch = NULL;
  if (max_count > 256) max_count = 256;
  int count = split_list(p, flag, value, max_count, items, &scratch);
  for (int i = 0; i < count; i++) out[i] = args_double(p, flag, items[i], min, min_open, max);
  free(scratch);
  return count;
}

static int choice_index(const char *choices, const char *value) {
  size_t len = strlen(value);
  int index = 0;
  for (const char *c = choices; *c; index++) {
    const char *bar = strchr(c, '|');
    size_t n = bar ? (size_t)(bar - c) : strlen(c);
    if (n == len && strncmp(c, value, n) == 0) return index;
    if (!bar) break;
    c = bar + 1;
  }
  return -1;
}

/* The index-th name of "a|b|c" into buf. */
static const char *choice_name(const char *choices, int index, char *buf, size_t size) {
  const char *c = choices;
  for (int i = 0; i < index && c; i++) {
    c = strchr(c, '|');
    if (c) c++;
  }
  if (!c) return "?";
  const char *bar = strchr(c, '|');
  size_t n = bar ? (size_t)(bar - c) : strlen(c);
  if (n >= size) n = size - 1;
  memcpy(buf, c, n);
  buf[n] = '\0';
  return buf;
}

static void set_value(const arg_parser *p, const arg_spec *s, const char *value) {
  switch (s->kind) {
  case ARG_FLAG: *(int *)s->target = 1; break;
  case ARG_INT: /* a max of 2^63 or more (double) means no upper bound */
    *(int64_t *)s->target = args_int(p, s->name, value, (int64_t)s->min,
                                     s->max >= 9.2e18 ? INT64_MAX : (int64_t)s->max);
    break;
  case ARG_INT32: *(int *)s->target = (int)args_int(p, s->name, value, (int64_t)s->min, (int64_t)s->max); break;
  case ARG_UINT64: {
    char *end = NULL;
    errno = 0;
    if (!*value || *value == '-' || *value == '+')
      args_fail(p, s->name, "'%s' is not a non-negative integer", value);
    unsigned long long v = strtoull(value, &end, 10);
    if (*end != '\0') args_fail(p, s->name, "'%s' is not a non-negative integer", value);
    if (errno == ERANGE) args_fail(p, s->name, "%s is out of range: must be below 2^64", value);
    *(uint64_t *)s->target = (uint64_t)v;
    break;
  }
  case ARG_DOUBLE: *(double *)s->target = args_double(p, s->name, value, s->min, s->min_open, s->max); break;
  case ARG_STRING:
    if (!*value) args_fail(p, s->name, "needs a value, got an empty string");
    *(const char **)s->target = value;
    break;
  case ARG_CHOICE: {
    int i = choice_index(s->choices, value);
    if (i < 0) {
      char list[256];
      snprintf(list, sizeof list, "%s", s->choices);
      for (char *c = list; *c; c++)
        if (*c == '|') *c = '/';
      args_fail(p, s->name, "'%s' is not one of %s", value, list);
    }
    *(int *)s->target = i;
    break;
  }
  }
}

/* The current value of a target, for "(default: ...)" in the help. Empty: no default. */
static void format_default(const arg_spec *s, char *buf, size_t size) {
  buf[0] = '\0';
  switch (s->kind) {
  case ARG_FLAG: break;
  case ARG_INT: snprintf(buf, size, "%lld", (long long)*(int64_t *)s->target); break;
  case ARG_INT32: snprintf(buf, size, "%d", *(int *)s->target); break;
  case ARG_UINT64: snprintf(buf, size, "%llu", (unsigned long long)*(uint64_t *)s->target); break;
  case ARG_DOUBLE: /* NaN: no default (a required value) */
    if (!isnan(*(double *)s->target)) snprintf(buf, size, "%g", *(double *)s->target);
    break;
  case ARG_STRING: {
    const char *v = *(const char **)s->target;
    if (v) snprintf(buf, size, "%s", v);
    break;
  }
  case ARG_CHOICE: choice_name(s->choices, *(int *)s->target, buf, size); break;
  }
}

/* Word-wrap `text` at `width` columns, every line indented by `indent`. */
static void print_wrapped(FILE *f, const char *text, int indent, int width, int first_column) {
  int column = first_column;
  const char *w = text;
  while (*w) {
    while (*w == ' ') w++;
    if (*w == '\n') { /* explicit break */
      fprintf(f, "\n%*s", indent, "");
      column = indent;
      w++;
      continue;
    }
    const char *e = w;
    while (*e && *e != ' ' && *e != '\n') e++;
    int len = (int)(e - w);
    if (len == 0) break;
    if (column > indent && column + 1 + len > width) {
      fprintf(f, "\n%*s", indent, "");
      column = indent;
    } else if (column > indent) {
      fputc(' ', f);
      column++;
    }
    fwrite(w, 1, (size_t)len, f);
    column += len;
    w = e;
  }
  fputc('\n', f);
}

void args_print_help(const arg_parser *p, void *stream) {
  FILE *f = stream;
  fprintf(f, "Usage: %s %s\n\n", p->program, p->usage);
  if (p->description) {
    print_wrapped(f, p->description, 0, 92, 0);
    fputc('\n', f);
  }
  fprintf(f, "Options:\n");
  for (int i = 0; i < p->count; i++) {
    const arg_spec *s = &p->specs[i];
    char head[96], def[128], text[1024];
    if (s->kind == ARG_FLAG) snprintf(head, sizeof head, "  --%s", s->name);
    else if (s->kind == ARG_CHOICE) {
      char list[80];
      snprintf(list, sizeof list, "%s", s->choices);
      snprintf(head, sizeof head, "  --%s %s", s->name, list);
    } else snprintf(head, sizeof head, "  --%s %s", s->name, s->metavar ? s->metavar : "VALUE");
    format_default(s, def, sizeof def);
    if (def[0]) snprintf(text, sizeof text, "%s (default: %s)", s->help, def);
    else snprintf(text, sizeof text, "%s", s->help);
    fputs(head, f);
    int column = (int)strlen(head);
    if (column >= 28) {
      fprintf(f, "\n%*s", 28, "");
      column = 28;
    } else {
      fprintf(f, "%*s", 28 - column, "");
      column = 28;
    }
    print_wrapped(f, text, 28, 92, column);
  }
  fprintf(f, "  -h, --help                print this help and exit\n");
  if (p->epilogue) {
    fputc('\n', f);
    fputs(p->epilogue, f);
  }
}

int args_parse(const arg_parser *p, int argc, char **argv) {
  struct option *longs = calloc((size_t)p->count + 2, sizeof *longs);
  if (!longs) args_fail(p, NULL, "out of memory");
  for (int i = 0; i < p->count; i++) {
    longs[i].name = p->specs[i].name;
    longs[i].has_arg = p->specs[i].kind == ARG_FLAG ? no_argument : required_argument;
    longs[i].val = 1000 + i;
  }
  longs[p->count].name = "help";
  longs[p->count].val = 'h';
  opterr = 0;
  optind = 0; /* full re-initialisation (glibc) */
  for (;;) {
    int index_before = optind ? optind : 1;
    int c = getopt_long(argc, argv, ":h", longs, NULL);
    if (c == -1) break;
    if (c == 'h') {
      free(longs);
      args_print_help(p, stdout);
      exit(0);
    }
    if (c == ':') {
      const char *name = optopt >= 1000 ? p->specs[optopt - 1000].name : "?";
      const arg_spec *s = optopt >= 1000 ? &p->specs[optopt - 1000] : NULL;
      args_fail(p, name, "needs a value (%s)", s && s->metavar ? s->metavar : "VALUE");
    }
    if (c == '?') {
      const char *bad = index_before < argc ? argv[index_before] : "?";
      if (optopt >= 1000) /* a flag given a value: --quiet=1 */
        args_fail(p, p->specs[optopt - 1000].name, "takes no value ('%s')", bad);
      if (optopt && optopt < 1000) args_fail(p, NULL, "unknown option '-%c'", optopt);
      args_fail(p, NULL, "unknown option '%s'", argv[optind - 1]);
    }
    set_value(p, &p->specs[c - 1000], optarg);
  }
  free(longs);
  int operands = argc - optind;
  if (operands < p->min_positional)
    args_fail(p, NULL, "missing operand (usage: %s %s)", p->program, p->usage);
  if (operands > p->max_positional)
    args_fail(p, NULL, "unexpected operand '%s'", argv[optind + p->max_positional]);
  return optind;
}
