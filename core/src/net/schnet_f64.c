/* The batched network in double precision. */
#define REAL double
#define GB_SUFFIX f64
#define GB_NET_QUANT 0 /* quantized dense layers: float only (quant.h) */
#include "schnet_impl.h"
#undef GB_NET_QUANT
#undef REAL
#undef GB_SUFFIX
