/* The console's storage browser: collections with counts and a filtered listing across owners
 * (SQL here, on the worker), and one object read, written and deleted through the store as the
 * server (tv_storage_read/_write/_delete with no caller). Listing cursors are signed with the
 * store's cursor key for a scope of their own, so neither a player's cursor nor another
 * filter's works here. */
#include "storage_console.h"
#include "app.h"
#include "cursor.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "storage_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OBJ_COLS "collection, key, user_id, value, version, read, write, create_time, update_time"
/* collection NUL key NUL user_id: the last object of a page */
#define POS_BODY_MAX (TV_STORAGE_COLLECTION_MAX + 1 + TV_STORAGE_KEY_MAX + 1 + TV_UUID_LEN)
_Static_assert(POS_BODY_MAX <= TV_CURSOR_BODY_MAX, "a console storage cursor fits a cursor");

static const char BAD_USER_ID[] = "Invalid user ID - make sure user ID is a valid UUID.";
static const char BAD_CURSOR[] = "Malformed cursor was used.";

static tv_storage_t *store_of(void *app)
{
    return ((tv_app_t *)app)->storage;
}

static cJSON *object_json(tv_db_stmt_t *st)
{
    static const char *const names[] = {"collection", "key", "user_id", "value", "version"};
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < 5; i++)
        tv_json_add_str(o, names[i], tv_db_column_text(st, i));
    tv_json_add_int(o, "permission_read", tv_db_column_int64(st, 5));
    tv_json_add_int(o, "permission_write", tv_db_column_int64(st, 6));
    tv_json_add_time(o, "create_time", tv_db_column_int64(st, 7));
    tv_json_add_time(o, "update_time", tv_db_column_int64(st, 8));
    return o;
}

/* An optional UUID query or path value, lower-cased into out ("" when absent or empty).
 * TV_EINVAL when present and not a UUID. */
static int read_uuid(const char *s, char out[TV_UUID_LEN + 1])
{
    out[0] = 0;
    if (!s || !*s)
        return TV_OK;
    if (!tv_uuid_valid(s))
        return TV_EINVAL;
    snprintf(out, TV_UUID_LEN + 1, "%s", s);
    tv_uuid_lower(out);
    return TV_OK;
}

/* Characters (UTF-8 code points) in s: what SQL's substr counts on both engines. */
static int64_t utf8_chars(const char *s)
{
    int64_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* ---- collections --------------------------------------------------------------------------- */

void tv_storage_console_collections(tv_http_req_t *req, void *app)
{
    tv_storage_t *s = store_of(app);
    int limit;
    if (tv_http_query_limit(req, TV_STORAGE_CONSOLE_LIST_DEFAULT, TV_STORAGE_CONSOLE_LIST_MAX,
                            &limit))
        return;
    char after[TV_STORAGE_COLLECTION_MAX + 1] = "";
    const char *cursor = tv_http_query(req, "cursor", NULL);
    size_t len = 0;
    if (cursor && *cursor &&
        (tv_cursor_open(s->cursor_key, "console-collections", cursor, after, sizeof after - 1,
                        &len) != TV_OK ||
         len == 0 || memchr(after, 0, len))) {
        tv_http_error(req, TV_EINVAL, BAD_CURSOR);
        return;
    }
    after[len] = 0;
    tv_db_conn_t *c;
    int rc = tv_db_acquire(s->db, &c);
    if (rc) {
        tv_http_db_error(req, rc);
        return;
    }
    /* The primary key (collection, key, user_id) serves the grouping in collection order. */
    tv_db_stmt_t *st = NULL;
    rc = tv_db_prepare(c, "SELECT collection, COUNT(*) FROM storage WHERE collection > $1 "
                          "GROUP BY collection ORDER BY collection LIMIT $2", &st);
    cJSON *arr = cJSON_CreateArray();
    char last[TV_STORAGE_COLLECTION_MAX + 1] = "";
    int n = 0, more = 0;
    if (!rc)
        rc = tv_db_bind_text(st, 1, after);
    if (!rc)
        rc = tv_db_bind_int64(st, 2, (int64_t)limit + 1);
    while (!rc && (rc = tv_db_step(st)) == TV_DB_ROW) {
        if (n == limit) {
            more = 1;
            break;
        }
        cJSON *o = cJSON_CreateObject();
        tv_json_add_str(o, "name", tv_db_column_text(st, 0));
        tv_json_add_int(o, "count", tv_db_column_int64(st, 1));
        cJSON_AddItemToArray(arr, o);
        snprintf(last, sizeof last, "%s", tv_db_column_text(st, 0));
        n++;
        rc = TV_OK;
    }
    if (st)
        tv_db_reset(st);
    tv_db_release(s->db, c);
    if (rc != TV_OK && rc != TV_DB_ROW) {
        cJSON_Delete(arr);
        tv_http_db_error(req, rc);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    tv_json_add_list(o, "collections", arr);
    char next[TV_CURSOR_TEXT_LEN(TV_STORAGE_COLLECTION_MAX)];
    if (more && tv_cursor_seal(s->cursor_key, "console-collections", last, strlen(last), next,
                               sizeof next) == TV_OK)
        tv_json_add_str(o, "cursor", next);
    tv_http_reply_json(req, o);
}

/* ---- browse -------------------------------------------------------------------------------- */

typedef struct {
    const char *collection; /* NULL = every collection */
    const char *owner;      /* NULL = every owner */
    const char *prefix;     /* NULL = every key */
    int limit;
    int has_pos;            /* continue after pos */
    char pos_collection[TV_STORAGE_COLLECTION_MAX + 1];
    char pos_key[TV_STORAGE_KEY_MAX + 1];
    char pos_user[TV_UUID_LEN + 1];
} browse_t;

/* The filters a cursor is valid for, each length-prefixed so that no choice of one can pose as
 * another. */
static void browse_scope(const browse_t *b, char *out, size_t size)
{
    const char *c = b->collection ? b->collection : "", *o = b->owner ? b->owner : "";
    const char *p = b->prefix ? b->prefix : "";
    snprintf(out, size, "console-storage|%d%zu:%s|%d%zu:%s|%d%zu:%s", b->collection != NULL,
             strlen(c), c, b->owner != NULL, strlen(o), o, b->prefix != NULL, strlen(p), p);
}

static int pos_decode(const unsigned char key[32], const char *scope, const char *cursor,
                      browse_t *b)
{
    char raw[POS_BODY_MAX + 1];
    size_t len = 0;
    if (tv_cursor_open(key, scope, cursor, raw, POS_BODY_MAX, &len) != TV_OK)
        return TV_EINVAL;
    raw[len] = 0;
    const char *c = raw, *k = memchr(raw, 0, len), *u;
    if (!k || !(u = memchr(k + 1, 0, len - (size_t)(k + 1 - raw))))
        return TV_EINVAL;
    k++, u++;
    if (strlen(c) > TV_STORAGE_COLLECTION_MAX || strlen(k) > TV_STORAGE_KEY_MAX ||
        (size_t)(u - raw) + strlen(u) != len || !tv_uuid_valid(u))
        return TV_EINVAL;
    /* lengths checked above */
    memcpy(b->pos_collection, c, strlen(c) + 1);
    memcpy(b->pos_key, k, strlen(k) + 1);
    memcpy(b->pos_user, u, TV_UUID_LEN + 1);
    b->has_pos = 1;
    return TV_OK;
}

static int pos_encode(const unsigned char key[32], const char *scope, const char *collection,
                      const char *k, const char *user, char *out, size_t size)
{
    char raw[POS_BODY_MAX + 2];
    int n = snprintf(raw, sizeof raw, "%s%c%s%c%s", collection, 0, k, 0, user);
    if (n < 0 || (size_t)n > POS_BODY_MAX)
        return TV_EINVAL;
    return tv_cursor_seal(key, scope, raw, (size_t)n, out, size);
}

/* The query for b's filters; params numbered in the order browse_bind binds them. */
static void browse_sql(const browse_t *b, char *sql, size_t size)
{
    char where[640] = "";
    int p = 1;
    size_t w = 0;
#define ADD(...) w += (size_t)snprintf(where + w, sizeof where - w, __VA_ARGS__)
    if (b->collection)
        ADD(" AND collection = $%d", p), p++;
    if (b->owner)
        ADD(" AND user_id = $%d", p), p++;
    if (b->prefix) /* the range uses the index; substr keeps exactly the keys starting so */
        ADD(" AND key >= $%d AND substr(key, 1, CAST($%d AS INTEGER)) = $%d", p, p + 1, p),
            p += 2;
    if (b->has_pos)
        ADD(" AND (collection > $%d OR (collection = $%d AND (key > $%d OR (key = $%d AND "
            "user_id > $%d))))", p, p, p + 1, p + 1, p + 2),
            p += 3;
#undef ADD
    snprintf(sql, size, "SELECT " OBJ_COLS " FROM storage WHERE 1 = 1%s "
             "ORDER BY collection, key, user_id LIMIT $%d", where, p);
}

static int browse_bind(tv_db_stmt_t *st, const browse_t *b)
{
    int p = 1, rc = TV_OK;
    if (b->collection)
        rc = tv_db_bind_text(st, p++, b->collection);
    if (!rc && b->owner)
        rc = tv_db_bind_text(st, p++, b->owner);
    if (!rc && b->prefix) {
        rc = tv_db_bind_text(st, p++, b->prefix);
        if (!rc)
            rc = tv_db_bind_int64(st, p++, utf8_chars(b->prefix));
    }
    if (!rc && b->has_pos) {
        rc = tv_db_bind_text(st, p++, b->pos_collection);
        if (!rc)
            rc = tv_db_bind_text(st, p++, b->pos_key);
        if (!rc)
            rc = tv_db_bind_text(st, p++, b->pos_user);
    }
    if (!rc) /* one more than asked: tells whether a next page exists */
        rc = tv_db_bind_int64(st, p, (int64_t)b->limit + 1);
    return rc;
}

/* Runs the listing into out; *next (malloc'd) continues it when more rows exist. */
static int browse_rows(tv_storage_t *s, const browse_t *b, const char *scope, cJSON *out,
                       char **next)
{
    char sql[1024];
    browse_sql(b, sql, sizeof sql);
    tv_db_conn_t *c;
    int rc = tv_db_acquire(s->db, &c);
    if (rc)
        return rc;
    tv_db_stmt_t *st;
    rc = tv_db_prepare(c, sql, &st);
    if (rc) {
        tv_db_release(s->db, c);
        return rc;
    }
    rc = browse_bind(st, b);
    int n = 0, more = 0;
    char lc[TV_STORAGE_COLLECTION_MAX + 1] = "", lk[TV_STORAGE_KEY_MAX + 1] = "";
    char lu[TV_UUID_LEN + 1] = "";
    while (!rc && (rc = tv_db_step(st)) == TV_DB_ROW) {
        if (n == b->limit) {
            more = 1;
            break;
        }
        cJSON_AddItemToArray(out, object_json(st));
        snprintf(lc, sizeof lc, "%s", tv_db_column_text(st, 0));
        snprintf(lk, sizeof lk, "%s", tv_db_column_text(st, 1));
        snprintf(lu, sizeof lu, "%s", tv_db_column_text(st, 2));
        n++;
        rc = TV_OK;
    }
    tv_db_reset(st);
    tv_db_release(s->db, c);
    if (rc != TV_OK && rc != TV_DB_ROW && rc != TV_DB_DONE)
        return rc;
    if (!more)
        return TV_OK;
    size_t cap = TV_CURSOR_TEXT_LEN(POS_BODY_MAX);
    if (!(*next = malloc(cap)))
        return TV_ENOMEM;
    if ((rc = pos_encode(s->cursor_key, scope, lc, lk, lu, *next, cap)) != TV_OK) {
        free(*next);
        *next = NULL;
    }
    return rc;
}

void tv_storage_console_list(tv_http_req_t *req, void *app)
{
    tv_storage_t *s = store_of(app);
    browse_t b = {0};
    char owner[TV_UUID_LEN + 1];
    const char *collection = tv_http_query(req, "collection", NULL);
    const char *prefix = tv_http_query(req, "key_prefix", "keyPrefix");
    if (tv_http_query_limit(req, TV_STORAGE_CONSOLE_LIST_DEFAULT, TV_STORAGE_CONSOLE_LIST_MAX,
                            &b.limit))
        return;
    if (read_uuid(tv_http_query(req, "user_id", "userId"), owner)) {
        tv_http_error(req, TV_EINVAL, BAD_USER_ID);
        return;
    }
    if ((collection && strlen(collection) > TV_STORAGE_COLLECTION_MAX) ||
        (prefix && strlen(prefix) > TV_STORAGE_KEY_MAX)) {
        tv_http_error(req, TV_EINVAL, "Invalid collection or key_prefix: at most 128 bytes.");
        return;
    }
    if ((collection && !tv_utf8_valid(collection)) || (prefix && !tv_utf8_valid(prefix))) {
        tv_http_error(req, TV_EINVAL, "Invalid collection or key_prefix: not UTF-8.");
        return;
    }
    b.collection = collection && *collection ? collection : NULL;
    b.owner = *owner ? owner : NULL;
    b.prefix = prefix && *prefix ? prefix : NULL;
    char scope[3 * 140 + 64];
    browse_scope(&b, scope, sizeof scope);
    const char *cursor = tv_http_query(req, "cursor", NULL);
    if (cursor && *cursor && pos_decode(s->cursor_key, scope, cursor, &b) != TV_OK) {
        tv_http_error(req, TV_EINVAL, BAD_CURSOR);
        return;
    }
    cJSON *objects = cJSON_CreateArray();
    char *next = NULL;
    int rc = browse_rows(s, &b, scope, objects, &next);
    if (rc) {
        cJSON_Delete(objects);
        tv_http_db_error(req, rc);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    tv_json_add_list(o, "objects", objects);
    tv_json_add_str(o, "cursor", next);
    free(next);
    tv_http_reply_json(req, o);
}

/* ---- one object ---------------------------------------------------------------------------- */

/* The object id of the path: collection, key and owner (the nil UUID for the server's). 0, or
 * non-zero after answering 400. */
static int path_id(tv_http_req_t *req, tv_storage_obj_t *id)
{
    memset(id, 0, sizeof *id);
    id->collection = tv_http_param(req, 0);
    id->key = tv_http_param(req, 1);
    const char *uid = tv_http_param(req, 2);
    if (!id->collection || !*id->collection || !id->key || !*id->key ||
        strlen(id->collection) > TV_STORAGE_COLLECTION_MAX ||
        strlen(id->key) > TV_STORAGE_KEY_MAX) {
        tv_http_error(req, TV_EINVAL, "Invalid collection or key: 1-128 bytes each.");
        return -1;
    }
    if (!uid || !tv_uuid_valid(uid)) {
        tv_http_error(req, TV_EINVAL, BAD_USER_ID);
        return -1;
    }
    snprintf(id->user_id, sizeof id->user_id, "%s", uid);
    tv_uuid_lower(id->user_id);
    return 0;
}

/* Reads the object of id as the server: TV_OK with *obj (owned; NULL when absent). */
static int read_obj(tv_storage_t *s, const tv_storage_obj_t *id, cJSON **obj)
{
    cJSON *arr = NULL;
    *obj = NULL;
    int rc = tv_storage_read(s, NULL, id, 1, &arr);
    if (rc == TV_OK && cJSON_GetArraySize(arr) > 0)
        *obj = cJSON_DetachItemFromArray(arr, 0);
    cJSON_Delete(arr);
    return rc;
}

static void reply_store_error(tv_http_req_t *req, int rc, const char *conflict)
{
    if (rc == TV_ECONFLICT)
        tv_http_error(req, TV_ECONFLICT, conflict);
    else if (rc == TV_ENOMEM)
        tv_http_error(req, TV_ENOMEM, "Out of memory.");
    else
        tv_http_db_error(req, rc);
}

void tv_storage_console_get(tv_http_req_t *req, void *app)
{
    tv_storage_obj_t id;
    if (path_id(req, &id))
        return;
    cJSON *obj;
    int rc = read_obj(store_of(app), &id, &obj);
    if (rc)
        reply_store_error(req, rc, "Storage read failed.");
    else if (!obj)
        tv_http_error(req, TV_ENOTFOUND, "Storage object not found.");
    else
        tv_http_reply_json(req, obj);
}

/* A permission member: absent leaves *out; else an integer. */
static int perm(const cJSON *body, const char *snake, const char *camel, int *out)
{
    const cJSON *v = tv_json_get(body, snake, camel);
    if (!v)
        return TV_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int)v->valuedouble)
        return TV_EINVAL;
    *out = (int)v->valuedouble;
    return TV_OK;
}

void tv_storage_console_put(tv_http_req_t *req, void *app)
{
    tv_storage_obj_t o;
    if (path_id(req, &o))
        return;
    cJSON *body = tv_http_body_json(req);
    if (!body)
        return;
    const cJSON *v = tv_json_get(body, "value", NULL);
    char *printed = NULL;
    if (cJSON_IsObject(v))
        o.value = printed = cJSON_PrintUnformatted(v);
    else if (cJSON_IsString(v))
        o.value = v->valuestring;
    else {
        tv_http_error(req, TV_EINVAL, "Invalid value: a JSON object (or its text) is required.");
        return;
    }
    o.read = o.write = 1;
    if (tv_json_get_str(body, "version", NULL, &o.version) ||
        perm(body, "permission_read", "permissionRead", &o.read) ||
        perm(body, "permission_write", "permissionWrite", &o.write)) {
        free(printed);
        tv_http_error(req, TV_EINVAL, "Invalid request: version is a string, permissions are "
                                      "integers.");
        return;
    }
    const char *msg = tv_storage_check_write(&o);
    if (msg) {
        free(printed);
        tv_http_error(req, TV_EINVAL, msg);
        return;
    }
    cJSON *acks = NULL;
    int rc = tv_storage_write(store_of(app), NULL, &o, 1, &acks);
    free(printed);
    if (rc) {
        reply_store_error(req, rc, "Storage write rejected: the version does not match (\"*\": "
                                   "the object exists).");
        return;
    }
    cJSON *ack = cJSON_DetachItemFromArray(acks, 0);
    cJSON_Delete(acks);
    tv_http_reply_json(req, ack);
}

void tv_storage_console_delete(tv_http_req_t *req, void *app)
{
    tv_storage_obj_t id;
    if (path_id(req, &id))
        return;
    const char *version = tv_http_query(req, "version", NULL);
    if (version && strlen(version) > TV_STORAGE_VERSION_LEN) {
        tv_http_error(req, TV_EINVAL, "Invalid version: at most 32 characters.");
        return;
    }
    id.version = version && *version ? version : NULL;
    tv_storage_t *s = store_of(app);
    cJSON *obj;
    int rc = read_obj(s, &id, &obj); /* the store's server delete of nothing succeeds: 404 */
    if (rc) {
        reply_store_error(req, rc, "Storage read failed.");
        return;
    }
    if (!obj) {
        tv_http_error(req, TV_ENOTFOUND, "Storage object not found.");
        return;
    }
    cJSON_Delete(obj);
    rc = tv_storage_delete(s, NULL, &id, 1);
    if (rc)
        reply_store_error(req, rc, "Storage delete rejected: the version does not match.");
    else
        tv_http_reply_json(req, NULL);
}
