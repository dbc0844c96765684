/* The SQL abstraction's engine-neutral half: the connection pool, the per-connection
 * prepared-statement cache and transactions with retry. Engines live in sqlite.c and pg.c. */
#include "db.h"
#include "driver.h"
#include "error.h"
#include "log.h"
#include "metrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CACHE_MAX 128
#define ACQUIRE_TIMEOUT_S 10
#define TX_TRIES 8

struct tv_db_stmt {
    tv_db_conn_t *conn;
    void *h;
    char *sql;      /* owned copy; the cache key */
    uint64_t hash;
    int busy;
    int stepped;    /* stepped since the last reset: only the first step is timed */
    int cached;     /* 0: made because the cached twin was busy; finalized on reset */
};

struct tv_db_conn {
    const tv_db_driver_t *drv;
    void *h;
    tv_db_stmt_t *cache[CACHE_MAX];
    int ncache;
    tv_db_conn_t *next; /* idle list */
};

struct tv_db {
    const tv_db_driver_t *drv;
    char *url;
    int max, open;
    tv_db_conn_t *idle;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

/* tavern_db_query_duration_seconds: a statement's first step (its execution up to the first
 * row or the end) and commits, the two places a caller waits on the database. */
static const double db_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                   0.05, 0.1, 0.25, 0.5, 1, 2.5};
static struct {
    tv_metric_t *query, *commit;
} dbm;
static pthread_once_t dbm_once = PTHREAD_ONCE_INIT;

static void dbm_init(void)
{
    tv_metric_family_t *f = tv_metrics_family(
        TV_METRIC_HISTOGRAM, "tavern_db_query_duration_seconds",
        "Database time: a statement's execution up to its first row (op=query) and commits "
        "(op=commit).", "op", db_bounds, sizeof db_bounds / sizeof db_bounds[0]);
    dbm.query = tv_metrics_series(f, (const char *const[]){"query"});
    dbm.commit = tv_metrics_series(f, (const char *const[]){"commit"});
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const tv_db_driver_t *driver_for(const char *url)
{
    const tv_db_driver_t *all[] = {&tv_db_sqlite_driver, &tv_db_pg_driver};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strncmp(url, all[i]->scheme, strlen(all[i]->scheme)) == 0)
            return all[i];
    if (strncmp(url, "postgresql://", 13) == 0)
        return &tv_db_pg_driver;
    return NULL;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void stmt_free(tv_db_stmt_t *st)
{
    st->conn->drv->finalize(st->h);
    free(st->sql);
    free(st);
}

static void conn_free(tv_db_conn_t *c)
{
    for (int i = 0; i < c->ncache; i++)
        stmt_free(c->cache[i]);
    c->drv->close(c->h);
    free(c);
}

static int conn_new(tv_db_t *db, tv_db_conn_t **out, char *err, size_t errlen)
{
    tv_db_conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return TV_ENOMEM;
    c->drv = db->drv;
    int rc = db->drv->open(db->url, &c->h, err, errlen);
    if (rc) {
        free(c);
        return rc;
    }
    *out = c;
    return TV_OK;
}

int tv_db_open(const char *url, int max_conns, tv_db_t **out, char *err, size_t errlen)
{
    const tv_db_driver_t *drv = driver_for(url);
    if (!drv) {
        snprintf(err, errlen, "unsupported database URL (use sqlite:// or postgres://)");
        return TV_EINVAL;
    }
    tv_db_t *db = calloc(1, sizeof *db);
    if (!db || !(db->url = strdup(url))) {
        free(db);
        return TV_ENOMEM;
    }
    pthread_once(&dbm_once, dbm_init);
    db->drv = drv;
    db->max = max_conns > 0 ? max_conns : 1;
    pthread_mutex_init(&db->mu, NULL);
    pthread_cond_init(&db->cv, NULL);
    tv_db_conn_t *first;
    int rc = conn_new(db, &first, err, errlen);
    if (rc) {
        tv_db_close(db);
        return rc;
    }
    db->open = 1;
    db->idle = first;
    *out = db;
    return TV_OK;
}

void tv_db_close(tv_db_t *db)
{
    if (!db)
        return;
    while (db->idle) {
        tv_db_conn_t *c = db->idle;
        db->idle = c->next;
        conn_free(c);
    }
    pthread_cond_destroy(&db->cv);
    pthread_mutex_destroy(&db->mu);
    free(db->url);
    free(db);
}

const char *tv_db_engine(const tv_db_t *db)
{
    return db->drv->name;
}

const tv_db_driver_t *tv_db_driver_of(const tv_db_t *db)
{
    return db->drv;
}

static int wait_for_idle(tv_db_t *db)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += ACQUIRE_TIMEOUT_S;
    while (!db->idle && db->open >= db->max)
        if (pthread_cond_timedwait(&db->cv, &db->mu, &dl) == ETIMEDOUT)
            return TV_EUNAVAIL;
    return TV_OK;
}

int tv_db_acquire(tv_db_t *db, tv_db_conn_t **out)
{
    pthread_mutex_lock(&db->mu);
    int rc = wait_for_idle(db);
    if (rc) {
        pthread_mutex_unlock(&db->mu);
        tv_log_warn("db", "no free connection after %d s (pool of %d)", ACQUIRE_TIMEOUT_S,
                    db->max);
        return rc;
    }
    if (db->idle) {
        *out = db->idle;
        db->idle = db->idle->next;
        pthread_mutex_unlock(&db->mu);
        return TV_OK;
    }
    db->open++; /* reserve the slot, connect without holding the lock */
    pthread_mutex_unlock(&db->mu);
    char err[256];
    rc = conn_new(db, out, err, sizeof err);
    if (rc) {
        tv_log_error("db", "cannot open a connection: %s", err);
        pthread_mutex_lock(&db->mu);
        db->open--;
        pthread_cond_signal(&db->cv);
        pthread_mutex_unlock(&db->mu);
        return TV_EUNAVAIL;
    }
    return TV_OK;
}

void tv_db_release(tv_db_t *db, tv_db_conn_t *conn)
{
    int healthy = conn->drv->healthy(conn->h);
    if (!healthy)
        conn_free(conn);
    pthread_mutex_lock(&db->mu);
    if (healthy) {
        conn->next = db->idle;
        db->idle = conn;
    } else {
        db->open--;
    }
    pthread_cond_signal(&db->cv);
    pthread_mutex_unlock(&db->mu);
}

static tv_db_stmt_t *cache_find(tv_db_conn_t *c, const char *sql, uint64_t h)
{
    for (int i = 0; i < c->ncache; i++)
        if (c->cache[i]->hash == h && strcmp(c->cache[i]->sql, sql) == 0)
            return c->cache[i];
    return NULL;
}

/* Makes room by dropping the oldest statement nobody is using. */
static void cache_evict(tv_db_conn_t *c)
{
    for (int i = 0; i < c->ncache; i++) {
        if (c->cache[i]->busy)
            continue;
        stmt_free(c->cache[i]);
        memmove(&c->cache[i], &c->cache[i + 1], (size_t)(c->ncache - i - 1) * sizeof c->cache[0]);
        c->ncache--;
        return;
    }
}

int tv_db_prepare(tv_db_conn_t *conn, const char *sql, tv_db_stmt_t **out)
{
    uint64_t h = hash_str(sql);
    tv_db_stmt_t *st = cache_find(conn, sql, h);
    if (st && !st->busy) {
        st->busy = 1;
        *out = st;
        return TV_OK;
    }
    st = calloc(1, sizeof *st);
    if (!st || !(st->sql = strdup(sql))) {
        free(st);
        return TV_ENOMEM;
    }
    st->conn = conn;
    st->hash = h;
    int rc = conn->drv->prepare(conn->h, sql, &st->h);
    if (rc) {
        free(st->sql);
        free(st);
        return rc;
    }
    st->busy = 1;
    if (!cache_find(conn, sql, h)) {
        if (conn->ncache == CACHE_MAX)
            cache_evict(conn);
        if (conn->ncache < CACHE_MAX) {
            conn->cache[conn->ncache++] = st;
            st->cached = 1;
        }
    }
    *out = st;
    return TV_OK;
}

int tv_db_bind_text(tv_db_stmt_t *st, int idx, const char *v)
{
    if (idx < 1 || idx > TV_DB_MAX_PARAMS)
        return TV_EINVAL;
    return v ? st->conn->drv->bind_text(st->h, idx, v) : st->conn->drv->bind_null(st->h, idx);
}

int tv_db_bind_int64(tv_db_stmt_t *st, int idx, int64_t v)
{
    if (idx < 1 || idx > TV_DB_MAX_PARAMS)
        return TV_EINVAL;
    return st->conn->drv->bind_int64(st->h, idx, v);
}

int tv_db_bind_null(tv_db_stmt_t *st, int idx)
{
    if (idx < 1 || idx > TV_DB_MAX_PARAMS)
        return TV_EINVAL;
    return st->conn->drv->bind_null(st->h, idx);
}

int tv_db_step(tv_db_stmt_t *st)
{
    if (st->stepped)
        return st->conn->drv->step(st->h);
    st->stepped = 1;
    uint64_t t0 = mono_ns();
    int rc = st->conn->drv->step(st->h);
    tv_metric_observe_ns(dbm.query, mono_ns() - t0);
    return rc;
}

const char *tv_db_column_text(tv_db_stmt_t *st, int col)
{
    return st->conn->drv->column_text(st->h, col);
}

int64_t tv_db_column_int64(tv_db_stmt_t *st, int col)
{
    return st->conn->drv->column_int64(st->h, col);
}

int tv_db_column_is_null(tv_db_stmt_t *st, int col)
{
    return st->conn->drv->column_is_null(st->h, col);
}

int64_t tv_db_changes(tv_db_stmt_t *st)
{
    return st->conn->drv->changes(st->h);
}

void tv_db_reset(tv_db_stmt_t *st)
{
    if (!st)
        return;
    st->conn->drv->reset(st->h);
    st->busy = 0;
    st->stepped = 0;
    if (!st->cached)
        stmt_free(st);
}

int tv_db_execp(tv_db_conn_t *conn, const char *sql, int nargs, const char *const *args,
                int64_t *changes)
{
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(conn, sql, &st);
    if (rc)
        return rc;
    for (int i = 0; i < nargs && rc == TV_OK; i++)
        rc = tv_db_bind_text(st, i + 1, args[i]);
    while (rc == TV_OK && (rc = tv_db_step(st)) == TV_DB_ROW)
        rc = TV_OK;
    if (rc == TV_DB_DONE && changes)
        *changes = tv_db_changes(st);
    tv_db_reset(st);
    return rc;
}

int tv_db_exec(tv_db_conn_t *conn, const char *sql) { return conn->drv->exec(conn->h, sql); }
int tv_db_begin(tv_db_conn_t *conn) { return conn->drv->begin(conn->h); }
int tv_db_commit(tv_db_conn_t *conn)
{
    uint64_t t0 = mono_ns();
    int rc = conn->drv->commit(conn->h);
    tv_metric_observe_ns(dbm.commit, mono_ns() - t0);
    return rc;
}

void tv_db_pool_stats(tv_db_t *db, int *in_use, int *open, int *max)
{
    pthread_mutex_lock(&db->mu);
    int idle = 0;
    for (tv_db_conn_t *c = db->idle; c; c = c->next)
        idle++;
    *in_use = db->open - idle;
    *open = db->open;
    *max = db->max;
    pthread_mutex_unlock(&db->mu);
}
int tv_db_rollback(tv_db_conn_t *conn) { return conn->drv->rollback(conn->h); }
const char *tv_db_errmsg(tv_db_conn_t *conn) { return conn->drv->errmsg(conn->h); }

static int tx_once(tv_db_conn_t *c, tv_db_tx_fn fn, void *ctx)
{
    int rc = tv_db_begin(c);
    if (rc)
        return rc;
    rc = fn(c, ctx);
    if (rc == TV_OK)
        rc = tv_db_commit(c);
    if (rc != TV_OK)
        tv_db_rollback(c);
    return rc;
}

int tv_db_tx(tv_db_t *db, tv_db_tx_fn fn, void *ctx)
{
    tv_db_conn_t *c;
    int rc = tv_db_acquire(db, &c);
    if (rc)
        return rc;
    static _Thread_local unsigned seed;
    if (!seed)
        seed = (unsigned)(uintptr_t)&seed ^ (unsigned)time(NULL);
    for (int attempt = 0; attempt < TX_TRIES; attempt++) {
        rc = tx_once(c, fn, ctx);
        if (rc != TV_ERETRY || attempt + 1 == TX_TRIES)
            break;
        /* back off 1, 2, 4 ... ms with jitter so that two retrying writers drift apart */
        usleep((useconds_t)((1000u << attempt) + (unsigned)rand_r(&seed) % 1000u));
    }
    if (rc == TV_ERETRY)
        tv_log_warn("db", "transaction gave up after %d tries: %s", TX_TRIES, tv_db_errmsg(c));
    tv_db_release(db, c);
    return rc;
}
