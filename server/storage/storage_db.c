/* Storage objects in the database: batched writes and deletes in one transaction each (with
 * optimistic concurrency on versions), reads by id and listings with signed cursors. SQL runs
 * on the calling (worker) thread. */
#include "storage_internal.h"
#include "db.h"
#include "error.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OBJ_COLS "collection, key, user_id, value, version, read, write, create_time, update_time"

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

/* Sorts a batch by (collection, key, owner): concurrent batches then lock rows in the same
 * order and cannot deadlock each other on PostgreSQL. */
static int cmp_obj(const void *a, const void *b)
{
    const tv_storage_obj_t *x = *(const tv_storage_obj_t *const *)a;
    const tv_storage_obj_t *y = *(const tv_storage_obj_t *const *)b;
    int c = strcmp(x->collection, y->collection);
    if (!c)
        c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->user_id, y->user_id);
}

static const tv_storage_obj_t **sorted(const tv_storage_obj_t *objs, size_t n)
{
    const tv_storage_obj_t **order = malloc(n * sizeof *order);
    if (!order)
        return NULL;
    for (size_t i = 0; i < n; i++)
        order[i] = &objs[i];
    qsort(order, n, sizeof *order, cmp_obj);
    return order;
}

/* --- write ------------------------------------------------------------------------------- */

#define INSERT_OBJ                                                                           \
    "INSERT INTO storage (collection, key, user_id, value, version, read, write, create_time, " \
    "update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) "
#define UPSERT_SET                                                                           \
    "ON CONFLICT (collection, key, user_id) DO UPDATE SET value = excluded.value, "          \
    "version = excluded.version, read = excluded.read, write = excluded.write, "             \
    "update_time = excluded.update_time"
#define UPDATE_IF_VERSION                                                                    \
    "UPDATE storage SET value = $4, version = $5, read = $6, write = $7, update_time = $8 "  \
    "WHERE collection = $1 AND key = $2 AND user_id = $3 AND version = $9"

/* [client?][kind]: kind 0 = any version (upsert), 1 = "*" (create only), 2 = if unchanged.
 * Every statement returns a row only when it wrote: no row means rejected. */
static const char *const write_sql[2][3] = {
    {INSERT_OBJ UPSERT_SET " RETURNING create_time",
     INSERT_OBJ "ON CONFLICT (collection, key, user_id) DO NOTHING RETURNING create_time",
     UPDATE_IF_VERSION " RETURNING create_time"},
    {INSERT_OBJ UPSERT_SET " WHERE storage.write = 1 RETURNING create_time",
     INSERT_OBJ "ON CONFLICT (collection, key, user_id) DO NOTHING RETURNING create_time",
     UPDATE_IF_VERSION " AND write = 1 RETURNING create_time"},
};

typedef struct {
    const char *caller;
    const tv_storage_obj_t *objs;
    const tv_storage_obj_t **order;
    size_t n;
    char (*versions)[TV_STORAGE_VERSION_LEN + 1];
    int64_t *created;
    int64_t now;
} write_ctx_t;

static int version_kind(const char *version)
{
    if (!version || !*version)
        return 0;
    return strcmp(version, "*") == 0 ? 1 : 2;
}

static int write_one(tv_db_conn_t *c, write_ctx_t *w, size_t i)
{
    const tv_storage_obj_t *o = &w->objs[i];
    int kind = version_kind(o->version);
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(c, write_sql[w->caller != NULL][kind], &st);
    if (rc)
        return rc;
    const char *text[] = {o->collection, o->key, o->user_id, o->value, w->versions[i]};
    for (int k = 0; k < 5 && !rc; k++)
        rc = tv_db_bind_text(st, k + 1, text[k]);
    if (!rc)
        rc = tv_db_bind_int64(st, 6, o->read);
    if (!rc)
        rc = tv_db_bind_int64(st, 7, o->write);
    if (!rc)
        rc = tv_db_bind_int64(st, 8, w->now);
    if (!rc && kind == 2)
        rc = tv_db_bind_text(st, 9, o->version);
    if (!rc)
        rc = tv_db_step(st);
    if (rc == TV_DB_ROW) {
        w->created[i] = tv_db_column_int64(st, 0);
        rc = TV_OK;
    } else if (rc == TV_DB_DONE) {
        rc = TV_ECONFLICT;
    }
    tv_db_reset(st);
    return rc;
}

static int write_tx(tv_db_conn_t *c, void *p)
{
    write_ctx_t *w = p;
    for (size_t k = 0; k < w->n; k++) {
        int rc = write_one(c, w, (size_t)(w->order[k] - w->objs));
        if (rc)
            return rc;
    }
    return TV_OK;
}

static cJSON *acks_json(const write_ctx_t *w)
{
    cJSON *acks = cJSON_CreateArray();
    for (size_t i = 0; i < w->n; i++) {
        cJSON *a = cJSON_CreateObject();
        tv_json_add_str(a, "collection", w->objs[i].collection);
        tv_json_add_str(a, "key", w->objs[i].key);
        tv_json_add_str(a, "version", w->versions[i]);
        tv_json_add_str(a, "user_id", w->objs[i].user_id);
        tv_json_add_time(a, "create_time", w->created[i]);
        tv_json_add_time(a, "update_time", w->now);
        cJSON_AddItemToArray(acks, a);
    }
    return acks;
}

int tv_storage_write(tv_storage_t *s, const char *caller, const tv_storage_obj_t *objs,
                     size_t n, cJSON **acks)
{
    *acks = NULL;
    write_ctx_t w = {.caller = caller, .objs = objs, .n = n, .now = tv_now_s()};
    int rc = TV_ENOMEM;
    if (n == 0) {
        *acks = cJSON_CreateArray();
        return TV_OK;
    }
    w.order = sorted(objs, n);
    w.versions = calloc(n, sizeof *w.versions);
    w.created = calloc(n, sizeof *w.created);
    if (!w.order || !w.versions || !w.created)
        goto done;
    for (size_t i = 0; i < n; i++)
        tv_storage_version(objs[i].value, w.versions[i]);
    rc = tv_db_tx(s->db, write_tx, &w);
    if (rc == TV_OK)
        *acks = acks_json(&w);
done:
    free(w.order);
    free(w.versions);
    free(w.created);
    return rc;
}

/* --- delete ------------------------------------------------------------------------------ */

/* [client?][with version?] */
static const char *const delete_sql[2][2] = {
    {"DELETE FROM storage WHERE collection = $1 AND key = $2 AND user_id = $3",
     "DELETE FROM storage WHERE collection = $1 AND key = $2 AND user_id = $3 AND version = $4"},
    {"DELETE FROM storage WHERE collection = $1 AND key = $2 AND user_id = $3 AND write = 1",
     "DELETE FROM storage WHERE collection = $1 AND key = $2 AND user_id = $3 AND write = 1 "
     "AND version = $4"},
};

typedef struct {
    const char *caller;
    const tv_storage_obj_t **order;
    size_t n;
} delete_ctx_t;

static int delete_tx(tv_db_conn_t *c, void *p)
{
    delete_ctx_t *d = p;
    for (size_t k = 0; k < d->n; k++) {
        const tv_storage_obj_t *o = d->order[k];
        int versioned = o->version && *o->version;
        const char *args[] = {o->collection, o->key, o->user_id, o->version};
        int64_t changed = 0;
        int rc = tv_db_execp(c, delete_sql[d->caller != NULL][versioned], versioned ? 4 : 3, args,
                             &changed);
        if (rc != TV_DB_DONE)
            return rc;
        /* The server may delete what is not there; a client learns that nothing matched. */
        if (!changed && (d->caller || versioned))
            return TV_ECONFLICT;
    }
    return TV_OK;
}

int tv_storage_delete(tv_storage_t *s, const char *caller, const tv_storage_obj_t *ids,
                      size_t n)
{
    if (n == 0)
        return TV_OK;
    delete_ctx_t d = {caller, sorted(ids, n), n};
    if (!d.order)
        return TV_ENOMEM;
    int rc = tv_db_tx(s->db, delete_tx, &d);
    free(d.order);
    return rc;
}

/* --- read -------------------------------------------------------------------------------- */

static int seen_before(const tv_storage_obj_t *ids, size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (strcmp(ids[k].collection, ids[i].collection) == 0 &&
            strcmp(ids[k].key, ids[i].key) == 0 && strcmp(ids[k].user_id, ids[i].user_id) == 0)
            return 1;
    return 0;
}

static int read_one(tv_db_conn_t *c, const char *caller, const tv_storage_obj_t *id,
                    cJSON *out)
{
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(c, "SELECT " OBJ_COLS " FROM storage "
                              "WHERE collection = $1 AND key = $2 AND user_id = $3", &st);
    if (rc)
        return rc;
    rc = tv_db_bind_text(st, 1, id->collection);
    if (!rc)
        rc = tv_db_bind_text(st, 2, id->key);
    if (!rc)
        rc = tv_db_bind_text(st, 3, id->user_id);
    if (!rc)
        rc = tv_db_step(st);
    if (rc == TV_DB_ROW &&
        tv_storage_can_read(caller, id->user_id, (int)tv_db_column_int64(st, 5)))
        cJSON_AddItemToArray(out, object_json(st));
    tv_db_reset(st);
    return rc == TV_DB_ROW || rc == TV_DB_DONE ? TV_OK : rc;
}

int tv_storage_read(tv_storage_t *s, const char *caller, const tv_storage_obj_t *ids, size_t n,
                    cJSON **objects)
{
    *objects = NULL;
    tv_db_conn_t *c;
    int rc = tv_db_acquire(s->db, &c);
    if (rc)
        return rc;
    cJSON *out = cJSON_CreateArray();
    for (size_t i = 0; i < n && !rc; i++)
        if (!seen_before(ids, i))
            rc = read_one(c, caller, &ids[i], out);
    tv_db_release(s->db, c);
    if (rc) {
        cJSON_Delete(out);
        return rc;
    }
    *objects = out;
    return TV_OK;
}

/* --- list -------------------------------------------------------------------------------- */

/* Rows after the position ($4.. or $5..), in (read, key, user_id) order. A first page starts at
 * read -1, before every object. */
static const char LIST_ALL[] =
    "SELECT " OBJ_COLS " FROM storage WHERE collection = $1 AND read >= $2 AND read <= $3 "
    "AND (read > $4 OR (read = $4 AND (key > $5 OR (key = $5 AND user_id > $6)))) "
    "ORDER BY read, key, user_id LIMIT $7";
static const char LIST_OWNER[] =
    "SELECT " OBJ_COLS " FROM storage WHERE collection = $1 AND user_id = $2 AND read >= $3 "
    "AND read <= $4 AND (read > $5 OR (read = $5 AND key > $6)) ORDER BY read, key LIMIT $7";

/* One listing: whose objects, which read permissions, from where, how many. */
typedef struct {
    const char *owner; /* NULL = every owner */
    const char *collection;
    int min_read, max_read, limit;
    tv_storage_pos_t pos;
} list_query_t;

static int bind_list(tv_db_stmt_t *st, const list_query_t *q)
{
    int rc = tv_db_bind_text(st, 1, q->collection);
    int k = 2;
    if (!rc && q->owner)
        rc = tv_db_bind_text(st, k++, q->owner);
    if (!rc)
        rc = tv_db_bind_int64(st, k++, q->min_read);
    if (!rc)
        rc = tv_db_bind_int64(st, k++, q->max_read);
    if (!rc)
        rc = tv_db_bind_int64(st, k++, q->pos.read);
    if (!rc)
        rc = tv_db_bind_text(st, k++, q->pos.key);
    if (!rc && !q->owner)
        rc = tv_db_bind_text(st, k++, q->pos.user_id);
    if (!rc) /* one more than asked: tells whether a next page exists */
        rc = tv_db_bind_int64(st, 7, (int64_t)q->limit + 1);
    return rc;
}

/* Runs the listing; *more tells that a row beyond the limit exists, *last is the last kept. */
static int list_rows(tv_db_conn_t *c, const list_query_t *q, cJSON *out, int *more,
                     tv_storage_pos_t *last)
{
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(c, q->owner ? LIST_OWNER : LIST_ALL, &st);
    if (rc)
        return rc;
    rc = bind_list(st, q);
    int count = 0;
    while (!rc && (rc = tv_db_step(st)) == TV_DB_ROW) {
        if (count == q->limit) {
            *more = 1;
            break;
        }
        cJSON_AddItemToArray(out, object_json(st));
        last->read = (int)tv_db_column_int64(st, 5);
        snprintf(last->key, sizeof last->key, "%s", tv_db_column_text(st, 1));
        snprintf(last->user_id, sizeof last->user_id, "%s", tv_db_column_text(st, 2));
        count++;
        rc = TV_OK;
    }
    tv_db_reset(st);
    return rc == TV_DB_ROW || rc == TV_DB_DONE ? TV_OK : rc;
}

int tv_storage_list(tv_storage_t *s, const char *caller, const char *owner,
                    const char *collection, int limit, const char *cursor, cJSON **objects,
                    char **next)
{
    *objects = NULL;
    *next = NULL;
    list_query_t q = {.owner = owner, .collection = collection, .limit = limit,
                      .pos = {.read = -1, .key = "", .user_id = TV_STORAGE_SYSTEM_USER}};
    tv_storage_list_reads(caller, owner, &q.min_read, &q.max_read);
    /* The cursor is valid only for the listing that made it: same permissions, owner and
     * collection (the collection comes last, so no choice of it can fake the others). */
    char scope[TV_STORAGE_COLLECTION_MAX + 64];
    snprintf(scope, sizeof scope, "%d|%s|%s", q.min_read, owner ? owner : "*", collection);
    if (cursor && *cursor && tv_storage_cursor_decode(s->cursor_key, scope, cursor, &q.pos))
        return TV_EINVAL;
    tv_db_conn_t *c;
    int rc = tv_db_acquire(s->db, &c);
    if (rc)
        return rc;
    cJSON *out = cJSON_CreateArray();
    int more = 0;
    tv_storage_pos_t last;
    rc = list_rows(c, &q, out, &more, &last);
    tv_db_release(s->db, c);
    if (!rc && more)
        rc = tv_storage_cursor_encode(s->cursor_key, scope, &last, next);
    if (rc) {
        cJSON_Delete(out);
        return rc;
    }
    *objects = out;
    return TV_OK;
}
