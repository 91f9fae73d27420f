/* dsmooth: the library from the command line. Every subcommand has --help. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct command {
  const char *name, *summary;
  int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    {"train", "fit a model (direct, stage 1 or stage 2) to a data file", cli_train},
    {"eval", "NLL and bits/dim of data, or the two-stage bound", cli_eval},
    {"sample", "draw samples (.npy, PNG), also from the two-stage model", cli_sample},
    {"denoise", "undo the smoothing of noisy rows (.npy, PNG)", cli_denoise},
    {"inspect", "describe and check a checkpoint", cli_inspect},
};
enum { COMMANDS = sizeof commands / sizeof commands[0] };

static void usage(FILE *f) {
  fprintf(f, "Usage: dsmooth COMMAND [options]    (dsmooth COMMAND --help for its options)\n\n"
             "Autoregressive density models with distribution smoothing (libdsmooth %s).\n\n"
             "Commands:\n", ds_version_string());
  for (int i = 0; i < COMMANDS; i++) fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\nData files are .npy, IDX (gzip'd or not) or CSV, recognised by their content.\n"
             "Exit status: 0 success, 1 failure (files, the library), 2 usage error.\n"
             "  --version   print the library's version\n  --help      this text\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("dsmooth (libdsmooth) %s\n", ds_version_string());
    return 0;
  }
  for (int i = 0; i < COMMANDS; i++)
    if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "dsmooth: unknown command '%s' (commands: train, eval, sample, denoise, "
          "inspect)\nTry 'dsmooth --help'.\n", argv[1]);
  return 2;
}
