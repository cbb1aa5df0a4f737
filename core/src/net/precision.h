/* The one vocabulary for code written once for float and double
 * (kernels_impl.h, schnet_impl.h). The including file defines REAL (float or
 * double) and GB_SUFFIX (f32 or f64) and includes the body; GB_T(name) is
 * then name_f32 or name_f64, exactly the names kernels.h and schnet.h
 * declare. Every such definition carries the comment "defines name_f32 and
 * name_f64" on the line above it, so grep finds it by either full name, as
 * it finds the prototypes in the headers. The body #undefs
 * GB_T and friends at its end; REAL, GB_SUFFIX and the other parameters are
 * undefined by kernels_impl.h itself and by schnet_f32.c / schnet_f64.c.
 * No include guard: each instantiation includes it again. */
#define GB_T_JOIN2(a, b) a##_##b
#define GB_T_JOIN(a, b) GB_T_JOIN2(a, b)
#define GB_T(name) GB_T_JOIN(name, GB_SUFFIX)
