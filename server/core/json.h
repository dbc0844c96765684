/* JSON helpers in Nakama's protojson style: input fields by snake_case or lowerCamel name,
 * output that leaves out empty values, int64 written as strings. */
#ifndef TV_CORE_JSON_H
#define TV_CORE_JSON_H

#include <cjson/cJSON.h>
#include <stdint.h>

/* The member named snake or camel (camel may be NULL); NULL when absent or JSON null. */
cJSON *tv_json_get(const cJSON *obj, const char *snake, const char *camel);
/* A string member: TV_OK with *out (borrowed, NULL when absent), or TV_EINVAL when present
 * with another type. */
int tv_json_get_str(const cJSON *obj, const char *snake, const char *camel, const char **out);
/* A boolean member, from a JSON bool or the strings "true"/"false". */
int tv_json_get_bool(const cJSON *obj, const char *snake, const char *camel, int *out, int *set);
/* A map of strings (e.g. vars): TV_OK with *out borrowed (NULL when absent), TV_EINVAL when
 * not an object whose members are all strings. */
int tv_json_get_str_map(const cJSON *obj, const char *snake, const char *camel,
                        const cJSON **out);

/* protojson's int64: a JSON number holding a whole value, or a decimal string (v NULL: 0).
 * TV_OK with *out, or TV_EINVAL. */
int tv_json_int64(const cJSON *v, int64_t *out);
/* protojson's bytes (a JSON string of base64: standard or URL alphabet, padded or not, CR and
 * LF ignored) as standard padded base64: what clients send is kept (*out = s, *owned NULL),
 * another accepted form is re-encoded into *owned (malloc'd; *out points at it); "" gives
 * *out NULL. TV_OK, TV_EINVAL (not base64) or TV_ENOMEM. */
int tv_json_bytes_b64(const char *s, const char **out, char **owned);
/* Decodes base64 as protojson reads bytes (the forms above) into *out (malloc'd, *len bytes).
 * TV_OK, TV_EINVAL or TV_ENOMEM. */
int tv_json_b64_decode(const char *s, unsigned char **out, size_t *len);

/* Adders that leave out what protojson leaves out. */
void tv_json_add_str(cJSON *obj, const char *key, const char *v);     /* skips NULL and "" */
void tv_json_add_bool(cJSON *obj, const char *key, int v);            /* skips false */
void tv_json_add_int(cJSON *obj, const char *key, int64_t v);         /* int32: number; skips 0 */
void tv_json_add_int64(cJSON *obj, const char *key, int64_t v);       /* string; skips 0 */
void tv_json_add_time(cJSON *obj, const char *key, int64_t unix_s);   /* RFC 3339; skips 0 */
/* Adds list (consumed) under key, or frees it when empty: protojson leaves an empty repeated
 * field out. */
void tv_json_add_list(cJSON *obj, const char *key, cJSON *list);

/* 1 when s is valid UTF-8 (every text that reaches the database is checked). */
int tv_utf8_valid(const char *s);

#endif
