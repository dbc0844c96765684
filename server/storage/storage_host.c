/* The module host table's storage entries (module.h: storage_read, storage_write,
 * storage_list, storage_delete): JSON in, JSON out, run as the server (no permission checks,
 * any owner, the nil UUID for server-owned objects). Installed by the server at start. */
#include "storage_internal.h"
#include "error.h"
#include "json.h"
#include "log.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <tavern/module.h>

static _Atomic(tv_storage_t *) host_store;

/* The gRPC code a module sees for a store result. A rejection is INVALID_ARGUMENT, as
 * Nakama's runtime reports it. */
static int grpc_of(int rc)
{
    switch (rc) {
    case TV_OK: return TV_GRPC_OK;
    case TV_EINVAL: case TV_ECONFLICT: return TV_GRPC_INVALID_ARGUMENT;
    case TV_EUNAVAIL: case TV_ERETRY: return TV_GRPC_UNAVAILABLE;
    default: return TV_GRPC_INTERNAL;
    }
}

static int refuse(const char *what, const char *why)
{
    tv_log_info("storage", "module %s refused: %s", what, why);
    return TV_GRPC_INVALID_ARGUMENT;
}

/* Prints v (consumed) into *out (malloc'd: the module frees it with host->free). */
static int give(cJSON *v, char **out)
{
    *out = v ? cJSON_PrintUnformatted(v) : NULL;
    cJSON_Delete(v);
    return *out ? TV_GRPC_OK : TV_GRPC_INTERNAL;
}

/* Parses a JSON array text into objects or ids; *doc owns the strings they borrow. */
static int parse(const char *what, const char *json, tv_storage_parse_t kind, cJSON **doc,
                 tv_storage_obj_t **objs, size_t *n)
{
    *doc = json ? cJSON_Parse(json) : NULL;
    if (!cJSON_IsArray(*doc)) {
        cJSON_Delete(*doc);
        *doc = NULL;
        return refuse(what, "not a JSON array");
    }
    const char *msg = NULL;
    int rc = tv_storage_parse(*doc, kind, NULL, 1, objs, n, &msg);
    if (rc) {
        cJSON_Delete(*doc);
        *doc = NULL;
        return rc == TV_EINVAL ? refuse(what, msg) : TV_GRPC_INTERNAL;
    }
    return TV_GRPC_OK;
}

static int h_write(const char *objects_json, char **acks_json)
{
    tv_storage_t *s = atomic_load(&host_store);
    cJSON *doc, *acks = NULL;
    tv_storage_obj_t *objs;
    size_t n;
    if (acks_json)
        *acks_json = NULL;
    if (!s)
        return TV_GRPC_UNAVAILABLE;
    int code = parse("storage_write", objects_json, TV_STORAGE_PARSE_WRITE, &doc, &objs, &n);
    if (code)
        return code;
    int rc = tv_storage_write(s, NULL, objs, n, &acks);
    free(objs);
    cJSON_Delete(doc);
    if (rc)
        return grpc_of(rc);
    return acks_json ? give(acks, acks_json) : (cJSON_Delete(acks), TV_GRPC_OK);
}

static int h_read(const char *ids_json, char **objects_json)
{
    tv_storage_t *s = atomic_load(&host_store);
    cJSON *doc, *objects = NULL;
    tv_storage_obj_t *ids;
    size_t n;
    if (!objects_json)
        return refuse("storage_read", "no place for the result");
    *objects_json = NULL;
    if (!s)
        return TV_GRPC_UNAVAILABLE;
    int code = parse("storage_read", ids_json, TV_STORAGE_PARSE_READ, &doc, &ids, &n);
    if (code)
        return code;
    int rc = tv_storage_read(s, NULL, ids, n, &objects);
    free(ids);
    cJSON_Delete(doc);
    return rc ? grpc_of(rc) : give(objects, objects_json);
}

static int h_delete(const char *ids_json)
{
    tv_storage_t *s = atomic_load(&host_store);
    cJSON *doc;
    tv_storage_obj_t *ids;
    size_t n;
    if (!s)
        return TV_GRPC_UNAVAILABLE;
    int code = parse("storage_delete", ids_json, TV_STORAGE_PARSE_DELETE, &doc, &ids, &n);
    if (code)
        return code;
    int rc = tv_storage_delete(s, NULL, ids, n);
    free(ids);
    cJSON_Delete(doc);
    return grpc_of(rc);
}

/* A UUID argument: NULL or "" gives *out NULL; else a lower-cased copy in buf. */
static int uuid_arg(const char *v, char buf[TV_UUID_LEN + 1], const char **out)
{
    *out = NULL;
    if (!v || !*v)
        return TV_OK;
    if (!tv_uuid_valid(v))
        return TV_EINVAL;
    memcpy(buf, v, TV_UUID_LEN + 1);
    tv_uuid_lower(buf);
    *out = buf;
    return TV_OK;
}

static int h_list(const char *caller_id, const char *user_id, const char *collection, int limit,
                  const char *cursor, char **result_json)
{
    tv_storage_t *s = atomic_load(&host_store);
    char cbuf[TV_UUID_LEN + 1], obuf[TV_UUID_LEN + 1];
    const char *caller, *owner;
    if (!result_json)
        return refuse("storage_list", "no place for the result");
    *result_json = NULL;
    if (!s)
        return TV_GRPC_UNAVAILABLE;
    if (uuid_arg(caller_id, cbuf, &caller) || uuid_arg(user_id, obuf, &owner))
        return refuse("storage_list", "a user id is not a UUID");
    if (!collection || !*collection || strlen(collection) > TV_STORAGE_COLLECTION_MAX)
        return refuse("storage_list", "collection must be 1-128 bytes");
    if (limit < 1 || limit > TV_STORAGE_LIST_MAX)
        return refuse("storage_list", "limit must be 1-100");
    cJSON *objects = NULL;
    char *next = NULL;
    int rc = tv_storage_list(s, caller, owner, collection, limit, cursor, &objects, &next);
    if (rc)
        return rc == TV_EINVAL ? refuse("storage_list", "malformed cursor") : grpc_of(rc);
    cJSON *o = cJSON_CreateObject();
    tv_json_add_list(o, "objects", objects);
    if (next)
        cJSON_AddStringToObject(o, "cursor", next);
    free(next);
    return give(o, result_json);
}

static const tv_storage_host_ops_t host_ops = {h_read, h_write, h_list, h_delete};

void tv_storage_host_install(tv_storage_t *s)
{
    atomic_store(&host_store, s);
    tv_mod_host_set_storage_ops(&host_ops);
}

void tv_storage_host_uninstall(void)
{
    tv_mod_host_set_storage_ops(NULL);
    atomic_store(&host_store, NULL);
}
