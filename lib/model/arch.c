/* The architecture registry: one line per ds_arch value (model/arch.h). */
#include "model/arch.h"

static const ds__arch *const registry[] = {
    [DS_ARCH_MADE] = &ds__arch_made,
    [DS_ARCH_PIXELCNNPP] = &ds__arch_pixelcnnpp,
    [DS_ARCH_PIXELCNN] = &ds__arch_pixelcnn_masked,
};

const ds__arch *ds__arch_for(int32_t arch) {
  if (arch < 0 || arch >= (int32_t)(sizeof registry / sizeof registry[0])) return NULL;
  return registry[arch];
}
