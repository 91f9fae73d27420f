/* What a libdsmooth checkpoint holds, read from its header (docs/checkpoints.md) without
 * loading the weights: the public API has no getters for most of a model's configuration
 * (architecture, head, image shape, filters, ...), and the command line needs them to
 * describe a model and to lay its samples out as images. */
#ifndef DS_EXAMPLE_CKPT_INFO_H
#define DS_EXAMPLE_CKPT_INFO_H

#include <stddef.h>
#include <stdint.h>

typedef struct ckpt_info {
  uint32_t version, kind;  /* kind 1 model, 2 trainer state                        */
  uint64_t file_bytes;
  uint32_t arch;           /* ds_arch                                              */
  uint64_t dim, cond_dim;
  uint32_t components, head, bins, activation, residual;
  float bin_lo, bin_hi;
  uint32_t hidden_count;
  uint64_t hidden[64];
  /* image architectures */
  uint32_t channels, filters, depth; /* depth: resnets (PixelCNN++) or layers (PixelCNN) */
  uint64_t height, width;
  float dropout;            /* PixelCNN++                                           */
  uint32_t cond_layout, cond_convs, gated;
} ckpt_info;

/* 0, or -1 with a sentence in err (not a checkpoint, truncated header, unknown arch). */
int ckpt_info_read(const char *path, ckpt_info *info, char *err, size_t err_size);
const char *ckpt_arch_name(uint32_t arch);  /* "made", "pixelcnnpp", "pixelcnn"   */
const char *ckpt_head_name(uint32_t head);  /* "continuous", "discretized"        */
const char *ckpt_activation_name(uint32_t activation);

#endif
