/* dsmooth inspect: what a checkpoint holds. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define PROGRAM "dsmooth inspect"

int cli_inspect(int argc, char **argv) {
  cli_common common = {0, 1, 0, 0};
  const arg_spec specs[] = {
      {"json", ARG_FLAG, &common.json, NULL, "print one JSON object instead of text", 0, 0, 0, NULL},
  };
  const arg_parser ap = {
      PROGRAM, "[--json] CHECKPOINT",
      "Describe a model or trainer checkpoint: architecture, dimensions, head, network sizes "
      "and parameter count, read from its header (docs/checkpoints.md); then load it with the "
      "library, which checks the checksum and every value, and say whether it is valid.",
      specs, 1, 1, 1, NULL};
  int first = args_parse(&ap, argc, argv);
  const char *path = argv[first];
  ckpt_info i;
  char err[512];
  if (ckpt_info_read(path, &i, err, sizeof err) != 0) cli_die(PROGRAM, "%s", err);
  common.threads = 1;
  ds_context *ctx = cli_context(PROGRAM, &common);
  ds_model *m = NULL;
  ds_status st = DS_OK;
  if (i.kind == 1) st = ds_model_load(ctx, path, &m);
  const char *check = i.kind != 1 ? "not loaded (trainer state)" : st == DS_OK ? "ok" : ds_status_str(st);
  int image = i.arch != DS_ARCH_MADE;
  char hidden[512] = "";
  for (uint32_t k = 0, o = 0; k < i.hidden_count && o < sizeof hidden - 24; k++)
    o += (uint32_t)snprintf(hidden + o, sizeof hidden - o, "%s%llu", k ? "," : "",
                            (unsigned long long)i.hidden[k]);
  int64_t params = m ? ds_model_param_count(m) : -1;
  if (common.json) {
    cli_json j;
    char list[600];
    json_begin(&j, stdout);
    json_string(&j, "path", path);
    json_string(&j, "kind", i.kind == 1 ? "model" : "trainer");
    json_int(&j, "format_version", i.version);
    json_int(&j, "bytes", (int64_t)i.file_bytes);
    json_string(&j, "arch", ckpt_arch_name(i.arch));
    json_int(&j, "dim", (int64_t)i.dim);
    json_int(&j, "cond_dim", (int64_t)i.cond_dim);
    json_string(&j, "head", ckpt_head_name(i.head));
    json_int(&j, "components", i.components);
    if (i.head == DS_HEAD_DISCRETIZED) {
      json_int(&j, "bins", i.bins);
      json_number(&j, "bin_lo", i.bin_lo);
      json_number(&j, "bin_hi", i.bin_hi);
    }
    if (image) {
      json_int(&j, "channels", i.channels);
      json_int(&j, "height", (int64_t)i.height);
      json_int(&j, "width", (int64_t)i.width);
      json_int(&j, "filters", i.filters);
      json_int(&j, i.arch == DS_ARCH_PIXELCNNPP ? "resnets" : "layers", i.depth);
      if (i.arch == DS_ARCH_PIXELCNNPP) {
        json_number(&j, "dropout", i.dropout);
        if (i.cond_dim) {
          json_string(&j, "cond_layout", i.cond_layout == DS_COND_STACKED ? "stacked" : "channels");
          json_int(&j, "cond_convs", i.cond_convs);
        }
      } else {
        json_int(&j, "gated", i.gated);
      }
    }
    if (i.arch != DS_ARCH_PIXELCNNPP) json_string(&j, "activation", ckpt_activation_name(i.activation));
    if (!image) {
      snprintf(list, sizeof list, "[%s]", hidden);
      json_raw(&j, "hidden", list);
      json_int(&j, "residual", i.residual);
    }
    if (params >= 0) json_int(&j, "params", params);
    json_string(&j, "check", check);
    if (st != DS_OK) json_string(&j, "error", ds_context_last_error(ctx));
    json_end(&j);
  } else {
    printf("%s: libdsmooth %s checkpoint, format version %u, %llu bytes\n", path,
           i.kind == 1 ? "model" : "trainer", i.version, (unsigned long long)i.file_bytes);
    printf("  architecture  %s%s\n", ckpt_arch_name(i.arch),
           i.cond_dim ? " (conditional p(x | c): a stage-2 model)" : "");
    printf("  dimensions    D = %llu, C = %llu\n", (unsigned long long)i.dim,
           (unsigned long long)i.cond_dim);
    if (image)
      printf("  images        %llux%llu, %u channel%s\n", (unsigned long long)i.height,
             (unsigned long long)i.width, i.channels, i.channels == 1 ? "" : "s");
    printf("  head          %s, K = %u", ckpt_head_name(i.head), i.components);
    if (i.head == DS_HEAD_DISCRETIZED) printf(", %u bins over [%g, %g]", i.bins, i.bin_lo, i.bin_hi);
    printf("\n");
    if (i.arch == DS_ARCH_MADE)
      printf("  network       hidden %s, %s%s\n", hidden, ckpt_activation_name(i.activation),
             i.residual ? ", residual" : "");
    else if (i.arch == DS_ARCH_PIXELCNNPP) {
      printf("  network       %u filters, %u resnets per level, dropout %g\n", i.filters, i.depth,
             i.dropout);
      if (i.cond_dim)
        printf("  conditioning  %s layout, %u conditioning convs\n",
               i.cond_layout == DS_COND_STACKED ? "stacked" : "channels", i.cond_convs);
    } else
      printf("  network       %u filters, %u %s blocks, %s\n", i.filters, i.depth,
             i.gated ? "gated" : "residual", ckpt_activation_name(i.activation));
    if (params >= 0) printf("  parameters    %lld\n", (long long)params);
    if (st == DS_OK) printf("  check         %s\n", check);
    else printf("  check         FAILED: %s: %s\n", ds_status_str(st), ds_context_last_error(ctx));
  }
  ds_model_free(m);
  ds_context_free(ctx);
  return st == DS_OK ? 0 : 1;
}
