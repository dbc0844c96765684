/* Storage rules that need no database: versions, validation of writes and ids, permission
 * rules, signed list cursors, reading JSON requests into tv_storage_obj_t, and the store's
 * life cycle. */
#include "storage_internal.h"
#include "cursor.h"
#include "error.h"
#include "json.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CURSOR_FORMAT 1
/* format byte, read byte, owner UUID text, then the key */
#define CURSOR_HEAD (2 + TV_UUID_LEN)
#define CURSOR_BODY_MAX (CURSOR_HEAD + TV_STORAGE_KEY_MAX)
_Static_assert(CURSOR_BODY_MAX <= TV_CURSOR_BODY_MAX, "a storage cursor body fits a cursor");

static const char MUST_BE_SET[] = "Invalid collection or key value supplied. They must be set.";
static const char BAD_USER_ID[] = "Invalid user ID - make sure user ID is a valid UUID.";

int tv_storage_new(struct tv_db *db, const char *secret, tv_storage_t **out)
{
    tv_storage_t *s = calloc(1, sizeof *s);
    if (!s)
        return TV_ENOMEM;
    s->db = db;
    /* A key of its own for cursors: a cursor MAC can never double as a token signature. */
    tv_cursor_key(secret, "tavern-storage-cursor", s->cursor_key);
    *out = s;
    return TV_OK;
}

void tv_storage_free(tv_storage_t *s)
{
    if (!s)
        return;
    sodium_memzero(s->cursor_key, sizeof s->cursor_key);
    free(s);
}

void tv_storage_version(const char *value, char out[TV_STORAGE_VERSION_LEN + 1])
{
    unsigned char h[TV_STORAGE_VERSION_LEN / 2];
    crypto_generichash(h, sizeof h, (const unsigned char *)value, strlen(value), NULL, 0);
    sodium_bin2hex(out, TV_STORAGE_VERSION_LEN + 1, h, sizeof h);
}

static int is_json_object(const char *text)
{
    cJSON *v = cJSON_ParseWithOpts(text, NULL, 1);
    int ok = cJSON_IsObject(v);
    cJSON_Delete(v);
    return ok;
}

/* The checks writes and ids share. */
static const char *check_id(const tv_storage_obj_t *o)
{
    if (!o->collection || !*o->collection || !o->key || !*o->key)
        return MUST_BE_SET;
    if (strlen(o->collection) > TV_STORAGE_COLLECTION_MAX)
        return "Invalid collection: at most 128 bytes.";
    if (strlen(o->key) > TV_STORAGE_KEY_MAX)
        return "Invalid key: at most 128 bytes.";
    return NULL;
}

const char *tv_storage_check_write(const tv_storage_obj_t *o)
{
    const char *msg = check_id(o);
    if (msg)
        return msg;
    if (!o->value || !*o->value)
        return MUST_BE_SET;
    if (o->read < 0 || o->read > 2)
        return "Invalid Read permission supplied. It must be either 0, 1 or 2.";
    if (o->write < 0 || o->write > 1)
        return "Invalid Write permission supplied. It must be either 0 or 1.";
    if (strlen(o->value) > TV_STORAGE_VALUE_MAX)
        return "Invalid value: at most 65536 bytes.";
    if (!is_json_object(o->value))
        return "Value must be a JSON object.";
    return NULL;
}

int tv_storage_can_read(const char *caller, const char *owner, int read)
{
    if (!caller || read == 2)
        return 1;
    return read == 1 && owner && strcmp(caller, owner) == 0;
}

void tv_storage_list_reads(const char *caller, const char *owner, int *min_read, int *max_read)
{
    *max_read = 2;
    if (!caller)
        *min_read = 0;
    else if (owner && strcmp(caller, owner) == 0)
        *min_read = 1;
    else
        *min_read = 2;
}

/* --- cursors ------------------------------------------------------------------------------ */

int tv_storage_cursor_encode(const unsigned char key[32], const char *scope,
                             const tv_storage_pos_t *pos, char **out)
{
    unsigned char raw[CURSOR_BODY_MAX];
    size_t klen = strnlen(pos->key, TV_STORAGE_KEY_MAX);
    raw[0] = CURSOR_FORMAT;
    raw[1] = (unsigned char)pos->read;
    memcpy(raw + 2, pos->user_id, TV_UUID_LEN);
    memcpy(raw + CURSOR_HEAD, pos->key, klen);
    size_t len = CURSOR_HEAD + klen, cap = TV_CURSOR_TEXT_LEN(len);
    if (!(*out = malloc(cap)))
        return TV_ENOMEM;
    int rc = tv_cursor_seal(key, scope, raw, len, *out, cap); /* cannot fail: cap fits it */
    if (rc != TV_OK) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

int tv_storage_cursor_decode(const unsigned char key[32], const char *scope, const char *cursor,
                             tv_storage_pos_t *pos)
{
    unsigned char raw[CURSOR_BODY_MAX];
    size_t len = 0;
    if (tv_cursor_open(key, scope, cursor, raw, sizeof raw, &len) != TV_OK ||
        len <= CURSOR_HEAD || raw[0] != CURSOR_FORMAT || raw[1] > 2)
        return TV_EINVAL;
    /* Signed by us, so well-formed; checked anyway in case the key ever leaks. */
    pos->read = raw[1];
    memcpy(pos->user_id, raw + 2, TV_UUID_LEN);
    pos->user_id[TV_UUID_LEN] = 0;
    memcpy(pos->key, raw + CURSOR_HEAD, len - CURSOR_HEAD);
    pos->key[len - CURSOR_HEAD] = 0;
    if (!tv_uuid_valid(pos->user_id) || strlen(pos->key) != len - CURSOR_HEAD ||
        !tv_utf8_valid(pos->key))
        return TV_EINVAL;
    return TV_OK;
}

/* --- JSON requests ------------------------------------------------------------------------ */

/* An Int32Value permission: a JSON integer or a decimal string (protojson reads both). */
static int get_perm(const cJSON *o, const char *snake, const char *camel, int *out)
{
    cJSON *v = tv_json_get(o, snake, camel);
    if (!v)
        return TV_OK;
    double d;
    if (cJSON_IsNumber(v)) {
        d = v->valuedouble;
    } else if (cJSON_IsString(v) && *v->valuestring) {
        char *end;
        d = strtod(v->valuestring, &end);
        if (*end)
            return TV_EINVAL;
    } else {
        return TV_EINVAL;
    }
    if (d != (double)(int)d || d < -1000 || d > 1000)
        return TV_EINVAL;
    *out = (int)d;
    return TV_OK;
}

static int read_owner(const cJSON *e, const char *owner, int allow_nil, tv_storage_obj_t *o,
                      const char **msg)
{
    const char *uid = owner;
    if (!uid && tv_json_get_str(e, "user_id", "userId", &uid) != TV_OK) {
        *msg = BAD_USER_ID;
        return TV_EINVAL;
    }
    if (!uid || !*uid) {
        snprintf(o->user_id, sizeof o->user_id, "%s", TV_STORAGE_SYSTEM_USER);
        return TV_OK;
    }
    if (!tv_uuid_valid(uid)) {
        *msg = BAD_USER_ID;
        return TV_EINVAL;
    }
    snprintf(o->user_id, sizeof o->user_id, "%s", uid);
    tv_uuid_lower(o->user_id);
    if (!owner && !allow_nil && strcmp(o->user_id, TV_STORAGE_SYSTEM_USER) == 0) {
        *msg = BAD_USER_ID;
        return TV_EINVAL;
    }
    return TV_OK;
}

static int parse_one(const cJSON *e, tv_storage_parse_t kind, const char *owner, int allow_nil,
                     tv_storage_obj_t *o, const char **msg)
{
    if (!cJSON_IsObject(e)) {
        *msg = "Invalid request: every storage object must be a JSON object.";
        return TV_EINVAL;
    }
    o->read = o->write = 1;
    if (tv_json_get_str(e, "collection", NULL, &o->collection) ||
        tv_json_get_str(e, "key", NULL, &o->key) ||
        tv_json_get_str(e, "version", NULL, &o->version) ||
        (kind == TV_STORAGE_PARSE_WRITE && tv_json_get_str(e, "value", NULL, &o->value))) {
        *msg = "Invalid request: collection, key, value and version must be strings.";
        return TV_EINVAL;
    }
    if (kind == TV_STORAGE_PARSE_WRITE &&
        (get_perm(e, "permission_read", "permissionRead", &o->read) ||
         get_perm(e, "permission_write", "permissionWrite", &o->write))) {
        *msg = "Invalid request: permissions must be integers.";
        return TV_EINVAL;
    }
    if (kind == TV_STORAGE_PARSE_READ)
        o->version = NULL; /* reads take no version */
    *msg = kind == TV_STORAGE_PARSE_WRITE ? tv_storage_check_write(o) : check_id(o);
    if (*msg)
        return TV_EINVAL;
    return read_owner(e, owner, allow_nil, o, msg);
}

int tv_storage_parse(const cJSON *arr, tv_storage_parse_t kind, const char *owner,
                     int allow_nil, tv_storage_obj_t **out, size_t *n, const char **msg)
{
    *out = NULL;
    *n = 0;
    *msg = NULL;
    if (!arr)
        return TV_OK;
    if (!cJSON_IsArray(arr)) {
        *msg = "Invalid request: the storage objects must be a list.";
        return TV_EINVAL;
    }
    int count = cJSON_GetArraySize(arr);
    if (count == 0)
        return TV_OK;
    if (count > TV_STORAGE_BATCH_MAX) {
        *msg = "Too many storage objects: at most 100 per request.";
        return TV_EINVAL;
    }
    tv_storage_obj_t *objs = calloc((size_t)count, sizeof *objs);
    if (!objs)
        return TV_ENOMEM;
    size_t i = 0;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        int rc = parse_one(e, kind, owner, allow_nil, &objs[i], msg);
        if (rc) {
            free(objs);
            return rc;
        }
    }
    *out = objs;
    *n = i;
    return TV_OK;
}
