/* The batched network in single precision. */
#define REAL float
#define GB_SUFFIX f32
#include "schnet_impl.h"
#undef REAL
#undef GB_SUFFIX
