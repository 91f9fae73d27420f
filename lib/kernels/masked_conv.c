#include "kernels/masked_conv.h"

int ds__mask_allows(int mask_type, int64_t kh, int64_t kw, int64_t ky, int64_t kx) {
  int64_t cy = kh / 2, cx = kw / 2;
  if (ky != cy) return ky < cy;
  return kx < cx || (kx == cx && mask_type == DS_MASK_B);
}
