/* The batched network in double precision. */
#define REAL double
#define GB_SUFFIX f64
#include "schnet_impl.h"
#undef REAL
#undef GB_SUFFIX
