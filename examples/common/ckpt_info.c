#include "ckpt_info.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dsmooth.h"

typedef struct reader {
  const uint8_t *p;
  size_t left;
  int short_read;
} reader;

static uint64_t take(reader *r, size_t bytes) {
  if (r->left < bytes) {
    r->short_read = 1;
    r->left = 0;
    return 0;
  }
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; i++) v |= (uint64_t)r->p[i] << (8 * i);
  r->p += bytes;
  r->left -= bytes;
  return v;
}
static uint32_t u32(reader *r) { return (uint32_t)take(r, 4); }
static uint64_t u64(reader *r) { return take(r, 8); }
static float f32(reader *r) {
  uint32_t bits = u32(r);
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

static int fail(char *err, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, size, fmt, ap);
  va_end(ap);
  return -1;
}

int ckpt_info_read(const char *path, ckpt_info *info, char *err, size_t err_size) {
  uint8_t buf[24 + 4096];
  FILE *f = fopen(path, "rb");
  if (!f) return fail(err, err_size, "cannot open %s: %s", path, strerror(errno));
  size_t got = fread(buf, 1, sizeof buf, f);
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fclose(f);
  if (got < 24 || memcmp(buf, "DSMOOTH\x1a", 8) != 0)
    return fail(err, err_size, "%s is not a libdsmooth checkpoint (no DSMOOTH magic)", path);
  memset(info, 0, sizeof *info);
  reader r = {buf + 8, got - 8, 0};
  info->version = u32(&r);
  info->kind = u32(&r);
  (void)u64(&r); /* payload length */
  info->file_bytes = size > 0 ? (uint64_t)size : 0;
  if (info->kind != 1 && info->kind != 2)
    return fail(err, err_size, "%s: record kind %u is neither a model (1) nor a trainer (2)", path,
                info->kind);
  info->arch = u32(&r);
  info->dim = u64(&r);
  info->cond_dim = u64(&r);
  info->components = u32(&r);
  info->head = u32(&r);
  info->bins = u32(&r);
  info->bin_lo = f32(&r);
  info->bin_hi = f32(&r);
  info->activation = u32(&r);
  info->residual = u32(&r);
  info->hidden_count = u32(&r);
  if (info->hidden_count > 64)
    return fail(err, err_size, "%s: %u hidden layers (at most 64)", path, info->hidden_count);
  for (uint32_t i = 0; i < info->hidden_count; i++) info->hidden[i] = u64(&r);
  if (info->arch == DS_ARCH_PIXELCNNPP || info->arch == DS_ARCH_PIXELCNN) {
    info->channels = u32(&r);
    info->height = u64(&r);
    info->width = u64(&r);
    info->filters = u32(&r);
    info->depth = u32(&r);
    if (info->arch == DS_ARCH_PIXELCNNPP) {
      info->dropout = f32(&r);
      if (info->version >= 2) {
        info->cond_layout = u32(&r);
        info->cond_convs = u32(&r);
      }
    } else {
      info->gated = u32(&r);
    }
  } else if (info->arch != DS_ARCH_MADE) {
    return fail(err, err_size, "%s: unknown architecture %u", path, info->arch);
  }
  if (r.short_read) return fail(err, err_size, "%s: truncated header", path);
  return 0;
}

const char *ckpt_arch_name(uint32_t arch) {
  return arch == DS_ARCH_MADE ? "made" : arch == DS_ARCH_PIXELCNNPP ? "pixelcnnpp"
         : arch == DS_ARCH_PIXELCNN ? "pixelcnn" : "unknown";
}
const char *ckpt_head_name(uint32_t head) {
  return head == DS_HEAD_CONTINUOUS ? "continuous" : head == DS_HEAD_DISCRETIZED ? "discretized" : "unknown";
}
const char *ckpt_activation_name(uint32_t a) {
  return a == DS_ACTIVATION_RELU ? "relu" : a == DS_ACTIVATION_TANH ? "tanh"
         : a == DS_ACTIVATION_ELU ? "elu" : "unknown";
}
