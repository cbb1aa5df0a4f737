/* Bytes from an input file, made safe to show in an error message. */
#ifndef GB_ESCAPE_H
#define GB_ESCAPE_H

#include <stddef.h>

/* A buffer size for gb_escape that shows about 20 to 80 input bytes. */
#define GB_ESCAPE_SIZE 96

/* Writes bytes[0..n) into out as printable ASCII, with a backslash shown as
 * \\ and every other byte (control, DEL, non-ASCII) as \xNN, so a damaged or
 * binary file cannot put terminal control codes or invalid UTF-8 into a
 * message. What does not fit in out_size (>= 8) ends with "...". Returns out. */
const char *gb_escape(char *out, size_t out_size, const void *bytes, size_t n);
/* gb_escape of a NUL-terminated string (reads at most out_size bytes of it). */
const char *gb_escape_text(char *out, size_t out_size, const char *text);

#endif
