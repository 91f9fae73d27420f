/* The image architectures' entry points (PixelCNN++, masked PixelCNN) for model.c and
 * model_init.c: they live in the layer-graph module, model/graph.h. */
#ifndef DS_MODEL_PIXELCNN_H
#define DS_MODEL_PIXELCNN_H

#include "model/graph.h"

#endif
