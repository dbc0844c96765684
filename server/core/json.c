/* JSON helpers in Nakama's protojson style (names, omitted defaults, int64 as strings). */
#include "json.h"
#include "error.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
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
