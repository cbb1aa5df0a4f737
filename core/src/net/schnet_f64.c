/* The batched network in double precision. */
#define REAL double
#define S f64
#include "schnet_impl.h"
