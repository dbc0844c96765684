/* Building outgoing envelopes: the {"cid":..,"<key>":{..}} wrapper, presence objects in
 * Nakama's shape, and a small text builder for JSON written by hand on hot paths. */
#include "rt/rt.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *tv_rt_envelope_text(const char *cid, const char *key, cJSON *body)
{
    cJSON *env = cJSON_CreateObject();
    char *text = NULL;

    if (!env || (key && !body) || (cid && !cJSON_AddStringToObject(env, "cid", cid)))
        goto done;
    if (key) {
        cJSON_AddItemToObject(env, key, body);
        body = NULL;
    }
    text = cJSON_PrintUnformatted(env);
done:
    cJSON_Delete(body);
    cJSON_Delete(env);
    return text;
}

cJSON *tv_rt_presence_json(const tv_rt_identity_t *who, int persistence, const char *status)
{
    cJSON *p = cJSON_CreateObject();
    if (!p)
        return NULL;
    if (!cJSON_AddStringToObject(p, "user_id", who->user_id) ||
        !cJSON_AddStringToObject(p, "session_id", who->session_id) ||
        !cJSON_AddStringToObject(p, "username", who->username)) {
        cJSON_Delete(p);
        return NULL;
    }
    tv_json_add_bool(p, "persistence", persistence);
    if (status) /* a StringValue: present even when empty */
        cJSON_AddStringToObject(p, "status", status);
    return p;
}

/* ---- the text builder ------------------------------------------------------------------- */

static int reserve(tv_rt_buf_t *b, size_t more)
{
    if (b->oom)
        return -1;
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void tv_rt_buf_raw(tv_rt_buf_t *b, const char *s, size_t n)
{
    if (reserve(b, n) != 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void tv_rt_buf_lit(tv_rt_buf_t *b, const char *s)
{
    tv_rt_buf_raw(b, s, strlen(s));
}

void tv_rt_buf_str(tv_rt_buf_t *b, const char *s)
{
    /* worst case every byte becomes \u00XX; reserving that up front keeps the loop simple */
    size_t n = strlen(s);
    if (reserve(b, n * 6 + 2) != 0)
        return;
    char *o = b->p + b->len;
    *o++ = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c < 0x20) {
            o += sprintf(o, "\\u%04x", c);
        } else {
            *o++ = (char)c;
        }
    }
    *o++ = '"';
    *o = 0;
    b->len = (size_t)(o - b->p);
}

void tv_rt_buf_free(tv_rt_buf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}
