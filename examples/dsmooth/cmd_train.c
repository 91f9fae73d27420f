/* dsmooth train: fit a model to a data file and save it as a checkpoint. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "progress.h"

#define PROGRAM "dsmooth train"

enum { STAGE_DIRECT, STAGE_1, STAGE_2 };
enum { ARCH_AUTO, ARCH_MADE, ARCH_PIXELCNNPP, ARCH_PIXELCNN };
enum { HEAD_AUTO, HEAD_CONTINUOUS, HEAD_DISCRETIZED };

typedef struct train_options {
  const char *data, *out, *hidden, *image, *state, *resume, *val;
  int stage, arch, head, noise, schedule, activation, residual;
  double sigma, lr, clip, dropout;
  int64_t steps, total_steps, batch, components, filters, resnets, layers, limit, every;
  cli_common common;
} train_options;

typedef struct train_progress {
  progress_bar bar;
  int64_t dim;
  double last_loss;
  int64_t first_step; /* the trainer's step count before this run (resumed) */
} train_progress;

static int32_t on_progress(void *user, int64_t step, int64_t total, double loss, double rate) {
  (void)total;
  train_progress *p = user;
  char detail[128];
  p->last_loss = loss;
  snprintf(detail, sizeof detail, "loss %.4f nats (%.4f bits/dim), %.0f examples/s", loss,
           loss / ((double)p->dim * log(2.0)), rate);
  progress_update(&p->bar, step - p->first_step, detail);
  return 0;
}

/* "28x28" or "32x32x3" -> height, width, channels. */
static void parse_image_shape(const arg_parser *ap, const char *text, int64_t shape[3]) {
  int64_t v[3] = {0, 0, 1};
  int count = 0;
  const char *p = text;
  for (;;) {
    char *end;
    long long n = strtoll(p, &end, 10);
    if (end == p || n < 1 || n > 4096 || count == 3) break;
    v[count++] = n;
    if (*end == '\0') {
      p = NULL;
      break;
    }
    if (*end != 'x') break;
    p = end + 1;
  }
  if (p || count < 2 || (v[2] != 1 && v[2] != 3))
    args_fail(ap, "image", "'%s' is not HEIGHTxWIDTH or HEIGHTxWIDTHxCHANNELS (sizes 1..4096, "
              "channels 1 or 3)", text);
  memcpy(shape, v, sizeof v);
}

int cli_train(int argc, char **argv) {
  train_options o = {0};
  o.hidden = "64,64";
  o.sigma = NAN;
  o.lr = 1e-3;
  o.steps = 1000;
  o.batch = 64;
  o.components = 5;
  o.filters = 32;
  o.resnets = 2;
  o.layers = 5;
  o.schedule = DS_LR_COSINE;
  o.every = 0;
  o.common.seed = 1;
  const arg_spec specs[] = {
      {"data", ARG_STRING, &o.data, "FILE", "training data: .npy (float32/float64/uint8), IDX "
       "(gzip'd or not, any name) or CSV; 8-bit values are mapped to [-1, 1]", 0, 0, 0, NULL},
      {"out", ARG_STRING, &o.out, "FILE", "where to write the trained model (a checkpoint, "
       "written atomically)", 0, 0, 0, NULL},
      {"stage", ARG_CHOICE, &o.stage, NULL, "what to fit: the data itself (direct), the "
       "smoothed data x~ = x + noise (1), or the denoiser p(x | x~) (2)", 0, 0, 0,
       "direct|1|2"},
      {"arch", ARG_CHOICE, &o.arch, NULL, "network: auto picks pixelcnnpp for images and made "
       "for vectors", 0, 0, 0, "auto|made|pixelcnnpp|pixelcnn"},
      {"image", ARG_STRING, &o.image, "HxW[xC]", "read every row as an image of this shape "
       "(rows from CSV or 2-D arrays are vectors otherwise)", 0, 0, 0, NULL},
      {"noise", ARG_CHOICE, &o.noise, NULL, "smoothing noise family (stages 1 and 2)", 0, 0, 0,
       "gaussian|laplace|uniform"},
      {"sigma", ARG_DOUBLE, &o.sigma, "S", "noise standard deviation, required for stages 1 "
       "and 2 (in the data's units; [-1, 1] for images)", 0, 1e30, 1, NULL},
      {"steps", ARG_INT, &o.steps, "N", "Adam steps to run now", 1, (double)INT64_MAX, 0, NULL},
      {"total-steps", ARG_INT, &o.total_steps, "N", "the learning-rate schedule's horizon; 0 = "
       "--steps (give the full length when training in pieces with --state/--resume)", 0,
       (double)INT64_MAX, 0, NULL},
      {"batch", ARG_INT, &o.batch, "N", "examples per step", 1, 1 << 20, 0, NULL},
      {"lr", ARG_DOUBLE, &o.lr, "RATE", "learning rate", 0, 1e6, 1, NULL},
      {"schedule", ARG_CHOICE, &o.schedule, NULL, "learning-rate schedule over --steps", 0, 0, 0,
       "constant|exponential|cosine"},
      {"clip", ARG_DOUBLE, &o.clip, "NORM", "clip the global gradient norm; 0 = off", 0, 1e30, 0, NULL},
      {"components", ARG_INT, &o.components, "K", "logistic-mixture components per conditional",
       1, 256, 0, NULL},
      {"head", ARG_CHOICE, &o.head, NULL, "output head: auto is discretized (256 bins over "
       "[-1, 1]) for 8-bit data in the direct model and stage 2, continuous otherwise", 0, 0, 0,
       "auto|continuous|discretized"},
      {"hidden", ARG_STRING, &o.hidden, "W,W,...", "MADE: hidden layer widths", 0, 0, 0, NULL},
      {"activation", ARG_CHOICE, &o.activation, NULL, "MADE and PixelCNN activation", 0, 0, 0,
       "relu|tanh|elu"},
      {"residual", ARG_FLAG, &o.residual, NULL, "MADE: equal-width hidden layers become "
       "residual blocks", 0, 0, 0, NULL},
      {"filters", ARG_INT, &o.filters, "F", "PixelCNN++/PixelCNN: channels of every hidden layer",
       1, 1024, 0, NULL},
      {"resnets", ARG_INT, &o.resnets, "N", "PixelCNN++: gated resnets per resolution level",
       1, 64, 0, NULL},
      {"layers", ARG_INT, &o.layers, "N", "PixelCNN: masked 3x3 blocks", 1, 64, 0, NULL},
      {"dropout", ARG_DOUBLE, &o.dropout, "P", "PixelCNN++: dropout rate in the resnets while "
       "training", 0, 0.999999, 0, NULL},
      {"limit", ARG_INT, &o.limit, "N", "use only the first N rows; 0 = all", 0, (double)INT64_MAX, 0, NULL},
      {"progress-every", ARG_INT, &o.every, "N", "steps between progress reports; 0 = about "
       "200 reports per run", 0, (double)INT64_MAX, 0, NULL},
      {"val", ARG_STRING, &o.val, "FILE", "held-out rows: their mean NLL under the training "
       "objective is reported after training", 0, 0, 0, NULL},
      {"state", ARG_STRING, &o.state, "FILE", "also save the trainer state (weights, Adam "
       "moments, step) after training", 0, 0, 0, NULL},
      {"resume", ARG_STRING, &o.resume, "FILE", "continue from a --state file written with the "
       "same options and data (bitwise as if uninterrupted); --steps more steps", 0, 0, 0, NULL},
      CLI_COMMON_SPECS(&o.common),
  };
  const arg_parser ap = {
      PROGRAM, "--data FILE --out MODEL [options]",
      "Train a model with Adam and save it. --stage direct fits p(x) to the data; --stage 1 "
      "fits p(x~) to smoothed data x~ = x + noise (fresh noise every minibatch); --stage 2 fits "
      "the conditional p(x | x~) on pairs made on the fly. Stage 1 and stage 2 together are "
      "the two-stage model ('dsmooth eval --stage1 ... --stage2 ...').",
      specs, (int)(sizeof specs / sizeof specs[0]), 0, 0,
      "Examples:\n"
      "  dsmooth train --data train-images-idx3-ubyte.gz --stage 1 --sigma 0.5 --out s1.dsm\n"
      "  dsmooth train --data points.csv --stage direct --steps 4000 --out direct.dsm --json\n"};
  args_parse(&ap, argc, argv);
  if (!o.data) args_fail(&ap, "data", "is required (the training data file)");
  if (!o.out) args_fail(&ap, "out", "is required (where to write the model)");
  if (o.stage != STAGE_DIRECT && isnan(o.sigma))
    args_fail(&ap, "sigma", "is required for --stage %s (the smoothing noise's standard deviation)",
              o.stage == STAGE_1 ? "1" : "2");
  if (o.stage == STAGE_DIRECT && !isnan(o.sigma))
    args_fail(&ap, "sigma", "applies to --stage 1 and 2 only (a direct model sees clean data)");
  int64_t widths[64];
  int hidden_count = args_int_list(&ap, "hidden", o.hidden, 1, 65536, widths, 64);
  int64_t image[3] = {0, 0, 0};
  if (o.image) parse_image_shape(&ap, o.image, image);

  FILE *out = cli_out(&o.common);
  data_array d;
  cli_load_data(PROGRAM, o.data, o.limit, &d);
  if (o.image) {
    if (image[0] * image[1] * image[2] != d.dim)
      args_fail(&ap, "image", "%s has %lld values a row, not %lld", o.image, (long long)d.dim,
                (long long)(image[0] * image[1] * image[2]));
    d.ndim = image[2] == 1 ? 2 : 3;
    memcpy(d.shape, image, sizeof image);
  }
  int images = d.ndim >= 2;
  int arch = o.arch == ARCH_AUTO ? (images ? DS_ARCH_PIXELCNNPP : DS_ARCH_MADE)
             : o.arch == ARCH_MADE ? DS_ARCH_MADE
             : o.arch == ARCH_PIXELCNNPP ? DS_ARCH_PIXELCNNPP : DS_ARCH_PIXELCNN;
  if (arch != DS_ARCH_MADE && !images)
    args_fail(&ap, "arch", "%s needs image rows, and %s has vectors of %lld values: give --image HxW",
              ckpt_arch_name((uint32_t)arch), o.data, (long long)d.dim);
  int head = o.head == HEAD_CONTINUOUS ? DS_HEAD_CONTINUOUS
             : o.head == HEAD_DISCRETIZED ? DS_HEAD_DISCRETIZED
             : (o.stage != STAGE_1 && d.from_bytes) ? DS_HEAD_DISCRETIZED : DS_HEAD_CONTINUOUS;

  ds_context *ctx = cli_context(PROGRAM, &o.common);
  ds_model_config *mc = NULL;
  ds_model *m = NULL;
  cli_check(PROGRAM, ctx, ds_model_config_create(arch, &mc), "model configuration");
  if (arch == DS_ARCH_MADE) {
    cli_check(PROGRAM, ctx, ds_model_config_set_int(mc, DS_MODEL_DIM, d.dim), "dimension");
    cli_check(PROGRAM, ctx, ds_model_config_set_hidden(mc, widths, hidden_count), "--hidden");
    cli_check(PROGRAM, ctx, ds_model_config_set_int(mc, DS_MODEL_RESIDUAL, o.residual), "--residual");
  } else {
    cli_check(PROGRAM, ctx, ds_model_config_set_int(mc, DS_MODEL_HEIGHT, d.shape[0]), "image height");
    cli_check(PROGRAM, ctx, ds_model_config_set_int(mc, DS_MODEL_WIDTH, d.shape[1]), "image width");
    cli_check(PROGRAM, ctx, ds_model_config_set_int(mc, DS_MODEL_CHANNELS, d.ndim == 3 ? d.shape[2] : 1),
              "image channels");
    cli_check(PROGRAM, ctx, ds_model_config_set_int(mc, DS_MODEL_FILTERS, o.filters), "--filters");
    if (arch == DS_ARCH_PIXELCNNPP) {
      cli_check(PROGRAM, ctx, ds_model_config_set_int(mc, DS_MODEL_RESNETS, o.resnets), "--resnets");
      cli_check(PROGRAM, ctx, ds_model_config_set_float(mc, DS_MODEL_DROPOUT, o.dropout), "--dropout");
    } else {
      cli_check(PROGRAM, ctx, ds_model_config_set_int(mc, DS_MODEL_LAYERS, o.layers), "--layers");
    }
  }
  if (arch != DS_ARCH_PIXELCNNPP)
    cli_check(PROGRAM, ctx, ds_model_config_set_int(mc, DS_MODEL_ACTIVATION, o.activation), "--activation");
  cli_check(PROGRAM, ctx, ds_model_config_set_int(mc, DS_MODEL_COMPONENTS, o.components), "--components");
  cli_check(PROGRAM, ctx, ds_model_config_set_int(mc, DS_MODEL_HEAD, head), "--head");
  if (o.stage == STAGE_2)
    cli_check(PROGRAM, ctx, ds_model_config_set_int(mc, DS_MODEL_COND_DIM, d.dim), "conditioning");
  cli_check(PROGRAM, ctx, ds_model_create(ctx, mc, &m), "creating the model");
  ds_model_config_free(mc);

  ds_smoother *sm = NULL;
  if (o.stage != STAGE_DIRECT)
    cli_check(PROGRAM, ctx, ds_smoother_create(ctx, o.noise, o.sigma, &sm), "--sigma");
  ds_trainer_config *tc = NULL;
  ds_trainer *tr = NULL;
  cli_check(PROGRAM, ctx, ds_trainer_config_create(&tc), "trainer configuration");
  cli_check(PROGRAM, ctx, ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, o.batch), "--batch");
  cli_check(PROGRAM, ctx, ds_trainer_config_set_int(tc, DS_TRAIN_TOTAL_STEPS,
                                                    o.total_steps ? o.total_steps : o.steps),
            "--total-steps");
  cli_check(PROGRAM, ctx, ds_trainer_config_set_int(tc, DS_TRAIN_SCHEDULE, o.schedule), "--schedule");
  cli_check(PROGRAM, ctx, ds_trainer_config_set_float(tc, DS_TRAIN_LR, o.lr), "--lr");
  cli_check(PROGRAM, ctx, ds_trainer_config_set_float(tc, DS_TRAIN_CLIP_NORM, o.clip), "--clip");
  cli_check(PROGRAM, ctx, ds_trainer_create(m, tc, sm, &tr), "creating the trainer");
  ds_trainer_config_free(tc);

  const char *stage_names[3] = {"direct", "1", "2"};
  char shape[64];
  if (images)
    snprintf(shape, sizeof shape, "images %lldx%lld%s", (long long)d.shape[0],
             (long long)d.shape[1], d.ndim == 3 && d.shape[2] == 3 ? " RGB" : "");
  else snprintf(shape, sizeof shape, "vectors of %lld", (long long)d.dim);
  fprintf(out, "data: %s (%s): %lld rows, %s%s\n", o.data, data_format_name(d.format),
          (long long)d.n, shape, d.from_bytes ? ", 8-bit values mapped to [-1, 1]" : "");
  fprintf(out, "model: %s, stage %s, %s head, K = %lld, %lld parameters; %lld steps of %lld, "
          "lr %g, %d threads\n", ckpt_arch_name((uint32_t)arch), stage_names[o.stage],
          ckpt_head_name((uint32_t)head), (long long)o.components,
          (long long)ds_model_param_count(m), (long long)o.steps, (long long)o.batch, o.lr,
          ds_context_threads(ctx));
  if (o.resume) {
    cli_check(PROGRAM, ctx, ds_trainer_resume(tr, o.resume), "--resume");
    fprintf(out, "resumed %s at step %lld\n", o.resume, (long long)ds_trainer_step(tr));
  }
  data_array v = {0};
  if (o.val) {
    cli_load_data(PROGRAM, o.val, 0, &v);
    if (v.dim != d.dim)
      cli_die(PROGRAM, "--val %s has rows of %lld values, the training data %lld", o.val,
              (long long)v.dim, (long long)d.dim);
  }
  train_progress tp;
  tp.dim = d.dim;
  tp.last_loss = NAN;
  progress_start(&tp.bar, "train", o.steps, o.common.quiet);
  tp.first_step = ds_trainer_step(tr);
  int64_t every = o.every > 0 ? o.every : (o.steps + 199) / 200;
  cli_check(PROGRAM, ctx, ds_trainer_set_progress(tr, on_progress, &tp, every), "progress");
  double mean_loss = NAN;
  ds_status st = ds_trainer_train(tr, d.x, NULL, d.n, o.steps, &mean_loss);
  char detail[96];
  snprintf(detail, sizeof detail, "loss %.4f nats", tp.last_loss);
  progress_finish(&tp.bar, detail);
  cli_check(PROGRAM, ctx, st, "training");
  double seconds = progress_elapsed(&tp.bar);
  cli_check(PROGRAM, ctx, ds_model_save(m, o.out), "saving the model");
  if (o.state) cli_check(PROGRAM, ctx, ds_trainer_save(tr, o.state), "saving the trainer state");
  double bpd = tp.last_loss / ((double)d.dim * log(2.0)), val_nll = NAN;
  if (o.val) {
    cli_check(PROGRAM, ctx, ds_trainer_evaluate(tr, v.x, NULL, v.n, 0, &val_nll), "--val");
    fprintf(out, "held-out NLL (%s, %lld rows): %.4f nats/example, %.4f bits/dim\n", o.val,
            (long long)v.n, val_nll, val_nll / ((double)d.dim * log(2.0)));
  }
  fprintf(out, "trained %lld steps in %.1f s: last loss %.4f nats/example (%.4f bits/dim), "
          "mean %.4f\nwrote %s\n", (long long)ds_trainer_step(tr), seconds, tp.last_loss, bpd,
          mean_loss, o.out);
  if (o.common.json) {
    cli_json j;
    json_begin(&j, stdout);
    json_string(&j, "command", "train");
    json_string(&j, "out", o.out);
    json_string(&j, "data", o.data);
    json_string(&j, "stage", stage_names[o.stage]);
    json_string(&j, "arch", ckpt_arch_name((uint32_t)arch));
    json_string(&j, "head", ckpt_head_name((uint32_t)head));
    json_int(&j, "rows", d.n);
    json_int(&j, "dim", d.dim);
    json_int(&j, "params", ds_model_param_count(m));
    json_int(&j, "steps", ds_trainer_step(tr));
    if (sm) json_number(&j, "sigma", o.sigma);
    json_number(&j, "last_loss_nats", tp.last_loss);
    json_number(&j, "last_loss_bits_per_dim", bpd);
    json_number(&j, "mean_loss_nats", mean_loss);
    if (o.val) {
      json_number(&j, "val_nll_nats", val_nll);
      json_number(&j, "val_bits_per_dim", val_nll / ((double)d.dim * log(2.0)));
    }
    json_number(&j, "seconds", seconds);
    json_int(&j, "threads", ds_context_threads(ctx));
    json_end(&j);
  }
  ds_trainer_free(tr);
  ds_smoother_free(sm);
  ds_model_free(m);
  data_free(&d);
  data_free(&v);
  ds_context_free(ctx);
  return 0;
}
