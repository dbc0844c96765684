/* The console's match handlers: ids parsed here ("<uuid>." relayed, "<uuid>.<node>"
 * authoritative), the registries do the rest (match.h, authoritative.h). */
#include "match_console.h"
#include "app.h"
#include "authoritative.h"
#include "error.h"
#include "json.h"
#include "match.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

/* A match id of the path: the lower-case uuid, and whether it is authoritative. 0, or -1
 * after answering 400 (not a match id) or 404 (another node's). */
static int path_match(tv_http_req_t *req, char uuid[TV_UUID_LEN + 1], char *full, size_t size,
                      int *authoritative)
{
    const char *id = tv_http_param(req, 0);
    const char *dot = id ? strchr(id, '.') : NULL;
    if (!dot || dot - id != TV_UUID_LEN) {
        tv_http_error(req, TV_EINVAL, "Invalid match ID: <uuid>. or <uuid>.<node>.");
        return -1;
    }
    memcpy(uuid, id, TV_UUID_LEN);
    uuid[TV_UUID_LEN] = 0;
    if (!tv_uuid_valid(uuid)) {
        tv_http_error(req, TV_EINVAL, "Invalid match ID: <uuid>. or <uuid>.<node>.");
        return -1;
    }
    tv_uuid_lower(uuid);
    *authoritative = dot[1] != 0;
    if (*authoritative && strcmp(dot + 1, TV_AMATCH_NODE) != 0) {
        tv_http_error(req, TV_ENOTFOUND, "Match not found.");
        return -1;
    }
    snprintf(full, size, "%s.%s", uuid, *authoritative ? TV_AMATCH_NODE : "");
    return 0;
}

void tv_match_console_list(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    int limit;
    if (tv_http_query_limit(req, TV_MATCH_CONSOLE_LIST_DEFAULT, TV_MATCH_CONSOLE_LIST_MAX,
                            &limit))
        return;
    cJSON *arr = cJSON_CreateArray();
    int rc = arr ? tv_amatch_console_list(app->amatch, limit, arr) : TV_ENOMEM;
    if (rc >= 0)
        rc = tv_match_console_relayed(app->matches, limit, arr);
    if (rc < 0) {
        cJSON_Delete(arr);
        tv_http_error(req, TV_ENOMEM, "Out of memory.");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    tv_json_add_list(o, "matches", arr);
    tv_http_reply_json(req, o);
}

void tv_match_console_get(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    char uuid[TV_UUID_LEN + 1], full[TV_UUID_LEN + 16];
    int authoritative;
    if (path_match(req, uuid, full, sizeof full, &authoritative))
        return;
    cJSON *o = NULL;
    int rc = authoritative ? tv_amatch_console_get(app->amatch, full, &o)
                           : tv_match_console_relayed_get(app->matches, uuid, &o);
    if (rc == TV_ENOTFOUND)
        tv_http_error(req, TV_ENOTFOUND, "Match not found.");
    else if (rc)
        tv_http_error(req, TV_ENOMEM, "Out of memory.");
    else
        tv_http_reply_json(req, o);
}

void tv_match_console_stop(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    char uuid[TV_UUID_LEN + 1], full[TV_UUID_LEN + 16];
    int authoritative;
    if (path_match(req, uuid, full, sizeof full, &authoritative))
        return;
    int rc = authoritative
                 ? tv_amatch_stop(app->amatch, full, TV_MATCH_CONSOLE_STOP_WAIT_MS)
                 : tv_match_console_relayed_stop(app->matches, uuid);
    if (rc == TV_ENOTFOUND) {
        tv_http_error(req, TV_ENOTFOUND, "Match not found.");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "match_id", full);
    tv_json_add_bool(o, "authoritative", authoritative);
    tv_json_add_bool(o, "ended", rc == TV_OK); /* TV_EBUSY: asked, ends at its next tick */
    tv_http_reply_json(req, o);
}
