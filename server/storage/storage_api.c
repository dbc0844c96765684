/* REST handlers for storage objects, as Nakama's WriteStorageObjects, ReadStorageObjects,
 * DeleteStorageObjects and ListStorageObjects answer them: the owner is always the caller for
 * writes and deletes; reads and listings apply the read permissions. */
#include "storage_api.h"
#include "app.h"
#include "error.h"
#include "json.h"
#include "storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 1

/* Answers a failed store call: a rejection (TV_ECONFLICT) and bad input the database refused
 * or a bad cursor (TV_EINVAL) are 400 with these messages; the rest are database errors. */
static void reply_error(tv_http_req_t *req, int rc, const char *rejected, const char *invalid)
{
    if (rc == TV_ECONFLICT)
        tv_http_error(req, TV_EINVAL, rejected);
    else if (rc == TV_EINVAL)
        tv_http_error(req, TV_EINVAL, invalid);
    else if (rc == TV_ENOMEM)
        tv_http_error(req, TV_ENOMEM, "Out of memory.");
    else
        tv_http_db_error(req, rc);
}

/* Reads the body's list (objects or object_ids). Answers 400 itself and returns non-zero. */
static int read_body(tv_http_req_t *req, const char *snake, const char *camel,
                     tv_storage_parse_t kind, const char *owner, tv_storage_obj_t **objs,
                     size_t *n)
{
    cJSON *body = tv_http_body_json(req);
    if (!body)
        return -1;
    const char *msg = NULL;
    int rc = tv_storage_parse(tv_json_get(body, snake, camel), kind, owner, 0, objs, n, &msg);
    if (rc == TV_EINVAL)
        tv_http_error(req, TV_EINVAL, msg);
    else if (rc)
        tv_http_error(req, TV_ENOMEM, "Out of memory.");
    return rc;
}

/* {name: list}, or {} for an empty list (protojson leaves it out). Consumes list. */
static void reply_list(tv_http_req_t *req, const char *name, cJSON *list, char *cursor)
{
    cJSON *o = cJSON_CreateObject();
    tv_json_add_list(o, name, list);
    tv_json_add_str(o, "cursor", cursor);
    free(cursor);
    tv_http_reply_json(req, o);
}

void tv_storage_api_write(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    const char *uid = tv_http_claims(req)->uid;
    tv_storage_obj_t *objs;
    size_t n;
    if (read_body(req, "objects", NULL, TV_STORAGE_PARSE_WRITE, uid, &objs, &n))
        return;
    cJSON *acks = NULL;
    int rc = tv_storage_write(app->storage, uid, objs, n, &acks);
    free(objs);
    if (rc)
        reply_error(req, rc, "Storage write rejected.", "Invalid storage object.");
    else
        reply_list(req, "acks", acks, NULL);
}

void tv_storage_api_read(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    tv_storage_obj_t *ids;
    size_t n;
    if (read_body(req, "object_ids", "objectIds", TV_STORAGE_PARSE_READ, NULL, &ids, &n))
        return;
    cJSON *objects = NULL;
    int rc = tv_storage_read(app->storage, tv_http_claims(req)->uid, ids, n, &objects);
    free(ids);
    if (rc)
        reply_error(req, rc, "Storage read failed.", "Invalid storage object id.");
    else
        reply_list(req, "objects", objects, NULL);
}

void tv_storage_api_delete(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    const char *uid = tv_http_claims(req)->uid;
    tv_storage_obj_t *ids;
    size_t n;
    if (read_body(req, "object_ids", "objectIds", TV_STORAGE_PARSE_DELETE, uid, &ids, &n))
        return;
    int rc = tv_storage_delete(app->storage, uid, ids, n);
    free(ids);
    if (rc)
        reply_error(req, rc, "Storage delete rejected.", "Invalid storage object id.");
    else
        tv_http_reply_json(req, NULL);
}

/* GET /v2/storage/{collection} (owner from ?user_id) and /v2/storage/{collection}/{user_id}. */
void tv_storage_api_list(tv_http_req_t *req, void *p)
{
    tv_app_t *app = p;
    const char *collection = tv_http_param(req, 0);
    const char *owner = tv_http_param(req, 1);
    if (!owner)
        owner = tv_http_query(req, "user_id", "userId");
    int limit;
    if (tv_http_query_limit(req, LIST_DEFAULT, TV_STORAGE_LIST_MAX, &limit))
        return;
    char uid[TV_UUID_LEN + 1];
    if (owner && *owner) {
        if (!tv_uuid_valid(owner)) {
            tv_http_error(req, TV_EINVAL, "Invalid user ID - make sure user ID is a valid UUID.");
            return;
        }
        snprintf(uid, sizeof uid, "%s", owner);
        tv_uuid_lower(uid);
    }
    if (!collection || strlen(collection) > TV_STORAGE_COLLECTION_MAX) {
        tv_http_error(req, TV_EINVAL, "Invalid collection: at most 128 bytes.");
        return;
    }
    cJSON *objects = NULL;
    char *next = NULL;
    int rc = tv_storage_list(app->storage, tv_http_claims(req)->uid, owner && *owner ? uid : NULL,
                             collection, limit, tv_http_query(req, "cursor", NULL), &objects,
                             &next);
    if (rc)
        reply_error(req, rc, "Malformed cursor was used.", "Malformed cursor was used.");
    else
        reply_list(req, "objects", objects, next);
}
