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
