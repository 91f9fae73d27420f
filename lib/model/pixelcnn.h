/* The image architectures' entry points (PixelCNN++, masked PixelCNN) for model.c and
 * model_init.c: they live in the layer-graph module, model/graph.h. */
#ifndef DS_MODEL_PIXELCNN_H
#define DS_MODEL_PIXELCNN_H

#include "model/graph.h"

/* The names before the layer-graph module (0.3), for code not yet moved to model/graph.h's. */
typedef ds__graph ds__pixelcnn;
typedef ds__graph_op ds__pcnn_op;
enum { DS__PCNN_CONV = DS__OP_CONV };

#endif
