/* Escaping of input bytes for messages. See escape.h. */
#include "escape.h"

#include <stdio.h>
#include <string.h>

static size_t escaped_length(unsigned char c) {
    if (c == '\\') return 2;
    return (c >= 32 && c < 127) ? 1 : 4;
}

static size_t put_escaped(char *out, unsigned char c) {
    if (c == '\\') return (void)memcpy(out, "\\\\", 2), 2;
    if (c >= 32 && c < 127) return (void)(out[0] = (char)c), 1;
    static const char hex[] = "0123456789abcdef";
    out[0] = '\\';
    out[1] = 'x';
    out[2] = hex[c >> 4];
    out[3] = hex[c & 15];
    return 4;
}

const char *gb_escape(char *out, size_t out_size, const void *bytes, size_t n) {
    if (!out || out_size == 0) return out;
    const unsigned char *p = bytes;
    if (!p) n = 0;
    /* does the whole input fit? (scans at most out_size bytes of it) */
    size_t need = 0, i = 0;
    while (i < n && need < out_size) need += escaped_length(p[i++]);
    int cut = i < n || need >= out_size;
    size_t room = cut ? (out_size > 4 ? out_size - 4 : 0) : out_size - 1; /* "..." + NUL when cut */
    size_t used = 0;
    for (i = 0; i < n && used + escaped_length(p[i]) <= room; ++i) used += put_escaped(out + used, p[i]);
    if (cut && out_size > 4) {
        memcpy(out + used, "...", 3);
        used += 3;
    }
    out[used] = '\0';
    return out;
}

const char *gb_escape_text(char *out, size_t out_size, const char *text) {
    size_t n = 0;
    if (text)
        while (n < out_size && text[n]) ++n;
    return gb_escape(out, out_size, text, n);
}
