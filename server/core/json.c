/* JSON helpers in Nakama's protojson style (names, omitted defaults, int64 as strings). */
#include "json.h"
#include "error.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cJSON *tv_json_get(const cJSON *obj, const char *snake, const char *camel)
{
    if (!cJSON_IsObject(obj))
        return NULL;
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, snake);
    if (!v && camel)
        v = cJSON_GetObjectItemCaseSensitive(obj, camel);
    return cJSON_IsNull(v) ? NULL : v;
}

int tv_json_get_str(const cJSON *obj, const char *snake, const char *camel, const char **out)
{
    cJSON *v = tv_json_get(obj, snake, camel);
    *out = NULL;
    if (!v)
        return TV_OK;
    if (!cJSON_IsString(v) || !tv_utf8_valid(v->valuestring))
        return TV_EINVAL;
    *out = v->valuestring;
    return TV_OK;
}

int tv_json_get_bool(const cJSON *obj, const char *snake, const char *camel, int *out, int *set)
{
    cJSON *v = tv_json_get(obj, snake, camel);
    *set = v != NULL;
    if (!v)
        return TV_OK;
    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v);
        return TV_OK;
    }
    return cJSON_IsString(v) ? tv_parse_bool(v->valuestring, out) : TV_EINVAL;
}

int tv_json_get_str_map(const cJSON *obj, const char *snake, const char *camel,
                        const cJSON **out)
{
    cJSON *v = tv_json_get(obj, snake, camel);
    *out = NULL;
    if (!v)
        return TV_OK;
    if (!cJSON_IsObject(v))
        return TV_EINVAL;
    for (cJSON *e = v->child; e; e = e->next)
        if (!cJSON_IsString(e) || !tv_utf8_valid(e->valuestring) || !tv_utf8_valid(e->string))
            return TV_EINVAL;
    *out = v;
    return TV_OK;
}

void tv_json_add_str(cJSON *obj, const char *key, const char *v)
{
    if (v && *v)
        cJSON_AddStringToObject(obj, key, v);
}

void tv_json_add_bool(cJSON *obj, const char *key, int v)
{
    if (v)
        cJSON_AddTrueToObject(obj, key);
}

void tv_json_add_int(cJSON *obj, const char *key, int64_t v)
{
    if (v)
        cJSON_AddNumberToObject(obj, key, (double)v);
}

void tv_json_add_int64(cJSON *obj, const char *key, int64_t v)
{
    if (!v)
        return;
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    cJSON_AddStringToObject(obj, key, buf);
}

void tv_json_add_time(cJSON *obj, const char *key, int64_t unix_s)
{
    if (!unix_s)
        return;
    char buf[32];
    tv_time_rfc3339(unix_s, buf);
    cJSON_AddStringToObject(obj, key, buf);
}

/* Rejects overlong forms, surrogates and code points above U+10FFFF. */
int tv_utf8_valid(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        unsigned c = *s, need, cp;
        if (c < 0x80) { s++; continue; }
        if (c >= 0xc2 && c <= 0xdf) { need = 1; cp = c & 0x1f; }
        else if (c >= 0xe0 && c <= 0xef) { need = 2; cp = c & 0x0f; }
        else if (c >= 0xf0 && c <= 0xf4) { need = 3; cp = c & 0x07; }
        else return 0;
        for (unsigned i = 1; i <= need; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        s += need + 1;
    }
    return 1;
}

void tv_json_add_list(cJSON *obj, const char *key, cJSON *list)
{
    if (cJSON_GetArraySize(list))
        cJSON_AddItemToObject(obj, key, list);
    else
        cJSON_Delete(list);
}

/* ---- protojson int64 and bytes ----------------------------------------------------------- */

int tv_json_int64(const cJSON *v, int64_t *out)
{
    *out = 0;
    if (!v)
        return TV_OK;
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!(d >= -9.2e18 && d <= 9.2e18) || (double)(int64_t)d != d)
            return TV_EINVAL;
        *out = (int64_t)d;
        return TV_OK;
    }
    if (!cJSON_IsString(v))
        return TV_EINVAL;
    const char *s = v->valuestring, *p = s + (*s == '-');
    char *end;
    if (*p < '0' || *p > '9')
        return TV_EINVAL;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno || *end)
        return TV_EINVAL;
    *out = n;
    return TV_OK;
}

static int b64_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

/* 1 when s is standard base64 with padding (what nakama-js sends): relayed as it came. */
static int b64_standard(const char *s, size_t n)
{
    size_t pad = 0;
    if (n % 4)
        return 0;
    while (pad < 2 && pad < n && s[n - 1 - pad] == '=')
        pad++;
    for (size_t i = 0; i < n - pad; i++)
        if (!b64_char((unsigned char)s[i]))
            return 0;
    return 1;
}

/* Decodes base64 the way protojson does for bytes (URL alphabet when '-' or '_' appear, no
 * padding when the length is not a multiple of 4; CR and LF ignored). *out is malloc'd. */
int tv_json_b64_decode(const char *s, unsigned char **out, size_t *len)
{
    size_t n = strlen(s);
    int url = strpbrk(s, "-_") != NULL, nopad = n % 4 != 0;
    int variant = url ? (nopad ? sodium_base64_VARIANT_URLSAFE_NO_PADDING
                               : sodium_base64_VARIANT_URLSAFE)
                      : (nopad ? sodium_base64_VARIANT_ORIGINAL_NO_PADDING
                               : sodium_base64_VARIANT_ORIGINAL);
    const char *end;
    unsigned char *bin = malloc(n / 4 * 3 + 3);

    if (!bin)
        return TV_ENOMEM;
    if (sodium_base642bin(bin, n / 4 * 3 + 3, s, n, "\r\n", len, &end, variant) != 0 ||
        end != s + n) {
        free(bin);
        return TV_EINVAL;
    }
    *out = bin;
    return TV_OK;
}

int tv_json_bytes_b64(const char *s, const char **out, char **owned)
{
    unsigned char *bin;
    size_t len;
    int rc;

    *out = NULL;
    *owned = NULL;
    if (!s || !*s)
        return TV_OK;
    if (b64_standard(s, strlen(s))) {
        *out = s;
        return TV_OK;
    }
    if ((rc = tv_json_b64_decode(s, &bin, &len)) != TV_OK)
        return rc;
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    if (len && (*owned = malloc(cap)))
        sodium_bin2base64(*owned, cap, bin, len, sodium_base64_VARIANT_ORIGINAL);
    free(bin);
    if (len && !*owned)
        return TV_ENOMEM;
    *out = *owned;
    return TV_OK;
}
