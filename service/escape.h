/* escape.h — a server's text made safe to print: control bytes, terminal escapes and invalid UTF-8 shown as \xNN. */
#ifndef PH_SVC_ESCAPE_H
#define PH_SVC_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/* What a server sends is untrusted: printed raw on an (elevated) console, an ESC or CSI byte starts a terminal
 * control sequence (retitle, recolour, rewrite what is shown, or on some terminals answer back as if typed).
 * The escaped form keeps printable ASCII, tab, line feed, a carriage return directly before a line feed, and
 * valid UTF-8 (letters of every script) as they are; every other byte is written as \xNN (two lower-case hex
 * digits): the other C0 controls and DEL, the C1 controls (U+0080..U+009F, written as the \xNN of their two
 * UTF-8 bytes), the bidirectional-text controls (U+202A..U+202E, U+2066..U+2069, which reorder what is shown),
 * and every byte that is not part of valid UTF-8 (overlong forms, surrogates, beyond U+10FFFF, cut sequences).
 * A backslash stays as it is (Windows paths stay readable), so the form is for reading, not for recovering the
 * bytes: `--raw` is for that. */

/* The escaped form of in[0..len) into out: at most size - 1 bytes and a NUL (size 0: nothing written), never
 * cutting an escape in two. Returns the length of the whole escaped form (at most 4 * len), so a return of
 * size or more means out was too small. */
size_t ph__svc_escape(const unsigned char *in, size_t len, char *out, size_t size);

/* Writes the escaped form of in[0..len) to f. Returns 0, or -1 when a write failed. */
int ph__svc_escape_write(FILE *f, const unsigned char *in, size_t len);

#endif /* PH_SVC_ESCAPE_H */
