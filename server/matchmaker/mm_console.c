/* The matchmaker's console routes: GET /v2/console/matchmaker (tickets waiting, groups formed,
 * tickets matched and expired, passes and the last pass's duration), .../matched (the recent
 * history of groups and expired tickets) and .../tickets (the tickets waiting now). */
#include "mm_console.h"
#include "app.h"
#include "error.h"
#include "http.h"
#include "matchmaker.h"
#include "util.h"

#include <stdio.h>

void tv_mm_console_stats(tv_http_req_t *req, void *app)
{
    tv_mm_stats_t st;
    tv_mm_stats(((tv_app_t *)app)->matchmaker, &st);
    cJSON *o = cJSON_CreateObject();
    const struct { const char *k; int64_t v; } f[] = {
        {"tickets", st.tickets}, {"added", st.added}, {"removed", st.removed},
        {"groups", st.groups}, {"matched", st.matched}, {"expired", st.expired},
        {"passes", st.passes}, {"last_pass_us", st.last_pass_us},
    };
    /* zeros are left out, as protojson does for every response */
    for (size_t i = 0; o && i < sizeof f / sizeof f[0]; i++)
        if (f[i].v && !cJSON_AddNumberToObject(o, f[i].k, (double)f[i].v)) {
            cJSON_Delete(o);
            o = NULL;
        }
    if (!o) {
        tv_http_error(req, TV_ENOMEM, "No memory.");
        return;
    }
    tv_http_reply_json(req, o);
}

/* An optional UUID filter of the tickets listing: *out NULL when absent. TV_EINVAL after
 * answering 400. */
static int uuid_filter(tv_http_req_t *req, const char *name, const char *alt, const char **out)
{
    *out = tv_http_query(req, name, alt);
    if (*out && **out && !tv_uuid_valid(*out)) {
        char msg[64];
        snprintf(msg, sizeof msg, "Invalid %s: not a UUID.", name);
        tv_http_error(req, TV_EINVAL, msg);
        return TV_EINVAL;
    }
    return TV_OK;
}

/* Drops the members of v's objects, at any depth, that hold a zero, "", false, null, [] or
 * {}: what protojson leaves out of every response. Array elements stay. */
static void prune(cJSON *v)
{
    for (cJSON *c = v ? v->child : NULL, *nx; c; c = nx) {
        nx = c->next;
        prune(c);
        int empty = cJSON_IsNull(c) || cJSON_IsFalse(c) ||
                    (cJSON_IsNumber(c) && c->valuedouble == 0) ||
                    (cJSON_IsString(c) && !*c->valuestring) ||
                    ((cJSON_IsArray(c) || cJSON_IsObject(c)) && !c->child);
        if (empty && cJSON_IsObject(v))
            cJSON_Delete(cJSON_DetachItemViaPointer(v, c));
    }
}

/* {"<key>": list (taken), "total": total}, total left out when 0; or the error rc. */
static void reply_list(tv_http_req_t *req, int rc, const char *key, cJSON *list, double total)
{
    if (rc == TV_EUNAVAIL) {
        tv_http_error(req, TV_EUNAVAIL, "Matchmaker not running.");
        return;
    }
    cJSON *o = rc == TV_OK ? cJSON_CreateObject() : NULL;
    if (!o || !cJSON_AddItemToObject(o, key, list)) {
        cJSON_Delete(list); /* not o's */
        cJSON_Delete(o);
        tv_http_error(req, TV_ENOMEM, "No memory.");
        return;
    }
    prune(o); /* an empty list goes too: "{}" when there is nothing */
    if (total > 0 && !cJSON_AddNumberToObject(o, "total", total)) {
        cJSON_Delete(o);
        tv_http_error(req, TV_ENOMEM, "No memory.");
        return;
    }
    tv_http_reply_json(req, o);
}

void tv_mm_console_matched(tv_http_req_t *req, void *app)
{
    int limit;
    if (tv_http_query_limit(req, 100, TV_MM_HISTORY_MAX, &limit) != TV_OK)
        return;
    cJSON *list = NULL;
    uint64_t total = 0;
    int rc = tv_mm_history(((tv_app_t *)app)->matchmaker, (size_t)limit, &list, &total);
    reply_list(req, rc, "entries", list, (double)total);
}

void tv_mm_console_tickets(tv_http_req_t *req, void *app)
{
    int limit;
    const char *user_id, *session_id;
    if (tv_http_query_limit(req, 100, TV_MM_CONSOLE_TICKETS_MAX, &limit) != TV_OK ||
        uuid_filter(req, "user_id", "userId", &user_id) != TV_OK ||
        uuid_filter(req, "session_id", "sessionId", &session_id) != TV_OK)
        return;
    cJSON *list = NULL;
    size_t total = 0;
    int rc = tv_mm_list(((tv_app_t *)app)->matchmaker, user_id, session_id, (size_t)limit,
                        &list, &total);
    reply_list(req, rc, "tickets", list, (double)total);
}
