/* The batched network in single precision. */
#define REAL float
#define GB_SUFFIX f32
#define GB_NET_QUANT 1 /* quantized dense layers: float only (quant.h) */
#include "schnet_impl.h"
#undef GB_NET_QUANT
#undef REAL
#undef GB_SUFFIX
