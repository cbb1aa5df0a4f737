/* The batched network in single precision. */
#define REAL float
#define S f32
#include "schnet_impl.h"
