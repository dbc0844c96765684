/* RPC payloads as JSON strings, the way Nakama's Go code reads and writes them
 * (encoding/json): a body that must be exactly one string literal, and bytes written as one,
 * both with explicit lengths so NUL bytes survive. Invalid UTF-8 becomes U+FFFD, as in Go. */
#include "internal.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (n bytes available), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
               : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len <= 1)
        return len;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xf0 && p[1] < 0x90)) /* overlong */
        return 0;
    if ((c == 0xed && p[1] > 0x9f) || (c == 0xf4 && p[1] > 0x8f)) /* surrogate, > U+10FFFF */
        return 0;
    return len;
}

static size_t put_utf8(char *d, unsigned cp)
{
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xc0 | cp >> 6);
        d[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xe0 | cp >> 12);
        d[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        d[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    d[0] = (char)(0xf0 | cp >> 18);
    d[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    d[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    d[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* Reads the 4 hex digits of a \u escape at s[i] (after "\u"). -1 when malformed. */
static long hex4(const char *s, size_t n, size_t i)
{
    if (i + 4 > n)
        return -1;
    long v = 0;
    for (size_t k = i; k < i + 4; k++) {
        char c = s[k];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Decodes the escape at s[*i] (the backslash) into d; returns bytes written, -1 when bad. A lone
 * surrogate becomes U+FFFD; a valid pair one code point. */
static int unescape(const char *s, size_t n, size_t *i, char *d)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (*i + 1 >= n)
        return -1;
    char e = s[*i + 1];
    const char *k = e ? strchr(from, e) : NULL;
    if (k) {
        *d = to[k - from];
        *i += 2;
        return 1;
    }
    long cp = e == 'u' ? hex4(s, n, *i + 2) : -1;
    if (cp < 0)
        return -1;
    *i += 6;
    if (cp >= 0xd800 && cp <= 0xdbff && *i + 1 < n && s[*i] == '\\' && s[*i + 1] == 'u') {
        long lo = hex4(s, n, *i + 2);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
            *i += 6;
            return (int)put_utf8(d, 0x10000 + (((unsigned)cp - 0xd800) << 10) +
                                        ((unsigned)lo - 0xdc00));
        }
    }
    if (cp >= 0xd800 && cp <= 0xdfff)
        cp = 0xfffd;
    return (int)put_utf8(d, (unsigned)cp);
}

int tv_mod_json_unquote(const char *s, size_t n, char **out, size_t *outlen)
{
    size_t i = skip_ws(s, n, 0), len = 0;
    if (n - i >= 4 && memcmp(s + i, "null", 4) == 0 && skip_ws(s, n, i + 4) == n) {
        *outlen = 0; /* Go leaves the string empty for null */
        return (*out = strdup("")) ? TV_OK : TV_ENOMEM;
    }
    if (i >= n || s[i] != '"')
        return TV_EINVAL;
    char *d = malloc(3 * n + 1); /* the worst case: one invalid byte becomes U+FFFD's three */
    if (!d)
        return TV_ENOMEM;
    for (i++;;) {
        if (i >= n || (unsigned char)s[i] < 0x20)
            goto bad;
        unsigned char c = (unsigned char)s[i];
        if (c == '"')
            break;
        if (c == '\\') {
            int w = unescape(s, n, &i, d + len);
            if (w < 0)
                goto bad;
            len += (size_t)w;
            continue;
        }
        size_t k = utf8_seq((const unsigned char *)s + i, n - i);
        if (k) {
            memcpy(d + len, s + i, k);
            len += k;
            i += k;
        } else {
            len += put_utf8(d + len, 0xfffd);
            i++;
        }
    }
    if (skip_ws(s, n, i + 1) != n)
        goto bad;
    d[len] = 0;
    *out = d;
    *outlen = len;
    return TV_OK;
bad:
    free(d);
    return TV_EINVAL;
}

/* Writes one character of the string at s[*i] into d as Go escapes it; returns bytes written. */
static size_t quote_one(const unsigned char *s, size_t n, size_t *i, char *d)
{
    static const char hex[] = "0123456789abcdef";
    unsigned c = s[*i];
    if (c == '"' || c == '\\') {
        d[0] = '\\';
        d[1] = (char)c;
        (*i)++;
        return 2;
    }
    if (c == '\n' || c == '\r' || c == '\t') {
        d[0] = '\\';
        d[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        (*i)++;
        return 2;
    }
    /* other controls, and <, >, & (Go's HTML-safe default) as \u00XX */
    if (c < 0x20 || c == '<' || c == '>' || c == '&') {
        memcpy(d, "\\u00", 4);
        d[4] = hex[c >> 4];
        d[5] = hex[c & 15];
        (*i)++;
        return 6;
    }
    size_t k = utf8_seq(s + *i, n - *i);
    if (k == 0) {
        (*i)++;
        memcpy(d, "\\ufffd", 6);
        return 6;
    }
    if (k == 3 && s[*i] == 0xe2 && s[*i + 1] == 0x80 && (s[*i + 2] == 0xa8 || s[*i + 2] == 0xa9)) {
        memcpy(d, s[*i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6); /* JS line separators */
        *i += 3;
        return 6;
    }
    memcpy(d, s + *i, k);
    *i += k;
    return k;
}

char *tv_mod_json_quote(const char *s, size_t n, size_t *outlen)
{
    char *d = malloc(6 * n + 3); /* the worst case: every byte as a \u00XX escape */
    if (!d)
        return NULL;
    size_t len = 0;
    d[len++] = '"';
    for (size_t i = 0; i < n;)
        len += quote_one((const unsigned char *)s, n, &i, d + len);
    d[len++] = '"';
    d[len] = 0;
    if (outlen)
        *outlen = len;
    return d;
}
