/* escape.c — a server's text made safe to print: control bytes, terminal escapes and invalid UTF-8 shown as \xNN. */
#include "escape.h"

#include <string.h>

static int cont(unsigned char b)
{
    return b >= 0x80 && b <= 0xBF;
}

/* The length of the valid UTF-8 sequence starting at in[0] (2..4), or 0 when it is not one (RFC 3629: no
 * overlong form, no surrogate, nothing beyond U+10FFFF). */
static size_t utf8_length(const unsigned char *in, size_t len)
{
    unsigned char b = in[0];

    if (b >= 0xC2 && b <= 0xDF)
        return len >= 2 && cont(in[1]) ? 2 : 0;
    if (b >= 0xE0 && b <= 0xEF) {
        unsigned char lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
        return len >= 3 && in[1] >= lo && in[1] <= hi && cont(in[2]) ? 3 : 0;
    }
    if (b >= 0xF0 && b <= 0xF4) {
        unsigned char lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
        return len >= 4 && in[1] >= lo && in[1] <= hi && cont(in[2]) && cont(in[3]) ? 4 : 0;
    }
    return 0;
}

/* A valid sequence that is still a control: C1 (U+0080..U+009F) or a bidirectional-text control. */
static int utf8_control(const unsigned char *in, size_t n)
{
    if (n == 2)
        return in[0] == 0xC2 && in[1] <= 0x9F;
    if (n == 3 && in[0] == 0xE2 && in[1] == 0x80)
        return in[2] >= 0xAA && in[2] <= 0xAE; /* U+202A..U+202E: embeddings and overrides */
    if (n == 3 && in[0] == 0xE2 && in[1] == 0x81)
        return in[2] >= 0xA6 && in[2] <= 0xA9; /* U+2066..U+2069: isolates */
    return 0;
}

/* The escaped form of the character at in[0] into piece (at most 16 bytes, not NUL-terminated): *used bytes
 * of output. Returns how many input bytes it took (1..4). */
static size_t step(const unsigned char *in, size_t len, char piece[16], size_t *used)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b = in[0];
    size_t n = 1, i;
    int escape;

    if (b < 0x80) {
        escape = !((b >= 0x20 && b < 0x7F) || b == '\t' || b == '\n' || (b == '\r' && len >= 2 && in[1] == '\n'));
    } else {
        n = utf8_length(in, len);
        escape = n == 0 || utf8_control(in, n);
        if (n == 0)
            n = 1; /* only this byte: what follows is looked at on its own */
    }
    if (!escape) {
        memcpy(piece, in, n);
        *used = n;
        return n;
    }
    for (i = 0; i < n; i++) {
        piece[4 * i] = '\\';
        piece[4 * i + 1] = 'x';
        piece[4 * i + 2] = hex[in[i] >> 4];
        piece[4 * i + 3] = hex[in[i] & 0xF];
    }
    *used = 4 * n;
    return n;
}

size_t ph__svc_escape(const unsigned char *in, size_t len, char *out, size_t size)
{
    size_t i = 0, total = 0, written = 0, used;
    char piece[16];
    int full = 0;

    while (i < len) {
        i += step(in + i, len - i, piece, &used);
        total += used;
        /* Whole pieces only: a cut escape would read as another byte. */
        if (!full && size > 0 && written + used <= size - 1) {
            memcpy(out + written, piece, used);
            written += used;
        } else {
            full = 1;
        }
    }
    if (size > 0)
        out[written] = '\0';
    return total;
}

int ph__svc_escape_write(FILE *f, const unsigned char *in, size_t len)
{
    char buf[4096];
    size_t i = 0, fill = 0, used;

    while (i < len) {
        i += step(in + i, len - i, buf + fill, &used);
        fill += used;
        if (fill > sizeof(buf) - 16) {
            if (fwrite(buf, 1, fill, f) != fill)
                return -1;
            fill = 0;
        }
    }
    if (fill > 0 && fwrite(buf, 1, fill, f) != fill)
        return -1;
    return 0;
}
