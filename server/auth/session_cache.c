/* The session deny-list: three small string -> time hash maps (open addressing, linear probing)
 * behind one read-write lock; reads are the hot path (every authenticated request). */
#include "session_cache.h"
#include "error.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char key[37];
    int64_t t;
    int used;
} slot_t;

typedef struct {
    slot_t *slots;
    size_t cap, count;
} map_t;

struct tv_session_cache {
    pthread_rwlock_t lock;
    map_t revoked;    /* tid -> exp */
    map_t logout_all; /* uid -> time */
    map_t banned;     /* uid -> 1 banned, 0 unbanned (slots are never removed; see prune) */
};

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static slot_t *map_find(const map_t *m, const char *key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = hash_key(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->slots[i].used)
            return NULL;
        if (strcmp(m->slots[i].key, key) == 0)
            return &m->slots[i];
    }
}

static void map_put_nogrow(map_t *m, const char *key, int64_t t)
{
    size_t i = hash_key(key) & (m->cap - 1);
    while (m->slots[i].used && strcmp(m->slots[i].key, key) != 0)
        i = (i + 1) & (m->cap - 1);
    if (!m->slots[i].used)
        m->count++;
    m->slots[i].used = 1;
    m->slots[i].t = t;
    strncpy(m->slots[i].key, key, sizeof m->slots[i].key - 1);
    m->slots[i].key[sizeof m->slots[i].key - 1] = 0;
}

/* Rebuilds the table at new_cap, keeping entries with t >= keep_from. */
static int map_rebuild(map_t *m, size_t new_cap, int64_t keep_from)
{
    slot_t *old = m->slots;
    size_t old_cap = m->cap;
    slot_t *fresh = calloc(new_cap, sizeof *fresh);
    if (!fresh)
        return TV_ENOMEM;
    m->slots = fresh;
    m->cap = new_cap;
    m->count = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].used && old[i].t >= keep_from)
            map_put_nogrow(m, old[i].key, old[i].t);
    free(old);
    return TV_OK;
}

static int map_put(map_t *m, const char *key, int64_t t, int64_t keep_from)
{
    if ((m->count + 1) * 4 > m->cap * 3) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        int rc = map_rebuild(m, cap, keep_from);
        if (rc)
            return rc;
    }
    map_put_nogrow(m, key, t);
    return TV_OK;
}

tv_session_cache_t *tv_session_cache_new(void)
{
    tv_session_cache_t *c = calloc(1, sizeof *c);
    if (c)
        pthread_rwlock_init(&c->lock, NULL);
    return c;
}

void tv_session_cache_free(tv_session_cache_t *c)
{
    if (!c)
        return;
    pthread_rwlock_destroy(&c->lock);
    free(c->revoked.slots);
    free(c->logout_all.slots);
    free(c->banned.slots);
    free(c);
}

int tv_session_cache_revoke(tv_session_cache_t *c, const char *tid, int64_t exp)
{
    pthread_rwlock_wrlock(&c->lock);
    int rc = map_put(&c->revoked, tid, exp, INT64_MIN);
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

int tv_session_cache_logout_all(tv_session_cache_t *c, const char *uid, int64_t t)
{
    pthread_rwlock_wrlock(&c->lock);
    const slot_t *s = map_find(&c->logout_all, uid);
    int rc = s && s->t >= t ? TV_OK : map_put(&c->logout_all, uid, t, INT64_MIN);
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

int tv_session_cache_set_banned(tv_session_cache_t *c, const char *uid, int banned)
{
    pthread_rwlock_wrlock(&c->lock);
    const slot_t *s = map_find(&c->banned, uid);
    /* an unban of a user never banned here adds nothing */
    int rc = !s && !banned ? TV_OK : map_put(&c->banned, uid, banned ? 1 : 0, 1);
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

int tv_session_cache_is_banned(tv_session_cache_t *c, const char *uid)
{
    pthread_rwlock_rdlock(&c->lock);
    const slot_t *s = map_find(&c->banned, uid);
    int banned = s && s->t;
    pthread_rwlock_unlock(&c->lock);
    return banned;
}

int tv_session_cache_allows(tv_session_cache_t *c, const tv_token_claims_t *cl)
{
    pthread_rwlock_rdlock(&c->lock);
    int ok = !(cl->tid[0] && map_find(&c->revoked, cl->tid));
    const slot_t *b = ok && cl->uid[0] ? map_find(&c->banned, cl->uid) : NULL;
    if (b && b->t)
        ok = 0;
    const slot_t *s = ok && cl->uid[0] ? map_find(&c->logout_all, cl->uid) : NULL;
    if (s && cl->iat < s->t) /* Nakama's rule; a sign-in right after must work */
        ok = 0;
    pthread_rwlock_unlock(&c->lock);
    return ok;
}

void tv_session_cache_prune(tv_session_cache_t *c, int64_t now)
{
    pthread_rwlock_wrlock(&c->lock);
    if (c->revoked.cap)
        map_rebuild(&c->revoked, c->revoked.cap, now);
    if (c->banned.cap) /* drops the slots of unbanned users */
        map_rebuild(&c->banned, c->banned.cap, 1);
    pthread_rwlock_unlock(&c->lock);
}

typedef enum { ROWS_REVOKED, ROWS_LOGOUT_ALL, ROWS_BANNED } rows_t;

static int load_rows(tv_session_cache_t *c, tv_db_conn_t *conn, const char *sql, int64_t now,
                     rows_t kind)
{
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(conn, sql, &st);
    if (rc)
        return rc;
    if (kind == ROWS_REVOKED)
        tv_db_bind_int64(st, 1, now);
    while ((rc = tv_db_step(st)) == TV_DB_ROW) {
        const char *key = tv_db_column_text(st, 0);
        int64_t t = tv_db_column_int64(st, 1);
        rc = kind == ROWS_REVOKED      ? tv_session_cache_revoke(c, key, t)
             : kind == ROWS_LOGOUT_ALL ? tv_session_cache_logout_all(c, key, t)
                                       : tv_session_cache_set_banned(c, key, 1);
        if (rc)
            break;
    }
    tv_db_reset(st);
    return rc == TV_DB_DONE ? TV_OK : rc;
}

int tv_session_cache_load(tv_session_cache_t *c, tv_db_t *db, int64_t now)
{
    tv_db_conn_t *conn;
    int rc = tv_db_acquire(db, &conn);
    if (rc)
        return rc;
    rc = load_rows(c, conn, "SELECT token_id, expires_at FROM session_revoked "
                            "WHERE expires_at > $1", now, ROWS_REVOKED);
    if (rc == TV_OK)
        rc = load_rows(c, conn, "SELECT user_id, logout_time FROM session_logout_all", now,
                       ROWS_LOGOUT_ALL);
    if (rc == TV_OK)
        rc = load_rows(c, conn, "SELECT id, disable_time FROM users WHERE disable_time <> 0", now,
                       ROWS_BANNED);
    tv_db_release(db, conn);
    return rc;
}
