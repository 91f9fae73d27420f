/* Command-line parsing shared by the dsmooth tool and the example programs: a table of
 * long options parsed with getopt_long, every value checked in full (strtoll/strtod with
 * end-of-string, range and finiteness checks; never atoi), errors that name the flag and
 * the value, and a --help text generated from the same table (stdout, exit status 0).
 *
 * Errors print "PROGRAM: --flag: what is wrong" and a hint to stderr and exit with
 * status 2, the usual status for a usage error. */
#ifndef DS_EXAMPLE_ARGS_H
#define DS_EXAMPLE_ARGS_H

#include <stddef.h>
#include <stdint.h>

typedef enum arg_kind {
  ARG_FLAG,   /* no value; target int *, set to 1                                    */
  ARG_INT,    /* target int64_t *, range [min, max]                                   */
  ARG_INT32,  /* target int *, range [min, max]                                       */
  ARG_UINT64, /* target uint64_t *, decimal, 0..2^64-1                                */
  ARG_DOUBLE, /* target double *, finite, range [min, max] (min exclusive if min_open) */
  ARG_STRING, /* target const char **, non-empty                                      */
  ARG_CHOICE  /* target int *, the index of the value in `choices` ("a|b|c")          */
} arg_kind;

typedef struct arg_spec {
  const char *name;    /* long name without the dashes                      */
  arg_kind kind;
  void *target;
  const char *metavar; /* shown in the help: --steps N                       */
  const char *help;    /* one or more sentences; the default is appended     */
  double min, max;     /* ARG_INT, ARG_INT32, ARG_DOUBLE                     */
  int min_open;        /* ARG_DOUBLE: 1 if the value must be greater than min */
  const char *choices; /* ARG_CHOICE                                         */
} arg_spec;

typedef struct arg_parser {
  const char *program;     /* "dsmooth train", used in every message        */
  const char *usage;       /* after the program name: "[options] --data FILE" */
  const char *description; /* paragraph(s) printed under the usage line     */
  const arg_spec *specs;
  int count;
  int min_positional, max_positional; /* counts of operands accepted        */
  const char *epilogue;    /* printed after the options (examples), or NULL */
} arg_parser;

/* Parse argv[1..argc-1] (argv[0] is the program or subcommand name) into the targets.
 * --help / -h prints the help to stdout and exits 0. Returns the index in argv of the
 * first operand (operands are moved to the end, as getopt_long does). */
int args_parse(const arg_parser *p, int argc, char **argv);

/* Print the help text to `stream` (what --help prints). */
void args_print_help(const arg_parser *p, void *stream);

/* Report a usage error about `flag` (may be NULL) and exit 2. printf-style. */
void args_fail(const arg_parser *p, const char *flag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

/* Checked conversions of one value for `flag`; exit 2 with a message naming both. */
int64_t args_int(const arg_parser *p, const char *flag, const char *value, int64_t min,
                 int64_t max);
double args_double(const arg_parser *p, const char *flag, const char *value, double min,
                   int min_open, double max);
/* A comma-separated list of integers ("64,64") or numbers ("0.1,0.2"): returns the count
 * (1..max_count) and fills out; exit 2 on an empty item, a bad number or too many. */
int args_int_list(const arg_parser *p, const char *flag, const char *value, int64_t min,
                  int64_t max, int64_t *out, int max_count);
int args_double_list(const arg_parser *p, const char *flag, const char *value, double min,
                     int min_open, double max, double *out, int max_count);

#endif
