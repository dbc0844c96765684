/* The SQLite engine: one sqlite3 handle per pooled connection, WAL journal, busy time-out,
 * foreign keys on. Rewrites $N placeholders to SQLite's ?N form at prepare time. */
#include "db.h"
#include "driver.h"
#include "error.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUSY_TIMEOUT_MS 5000

typedef struct {
    sqlite3 *db;
} conn_t;

typedef struct {
    sqlite3_stmt *s;
    sqlite3 *db;
    int64_t changes;
} stmt_t;

static int map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK: return TV_OK;
    case SQLITE_ROW: return TV_DB_ROW;
    case SQLITE_DONE: return TV_DB_DONE;
    case SQLITE_BUSY: case SQLITE_LOCKED: return TV_ERETRY;
    case SQLITE_NOMEM: return TV_ENOMEM;
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
            return TV_ECONFLICT;
        return TV_EINVAL;
    default: return TV_EINTERNAL;
    }
}

static int sq_open(const char *url, void **out, char *err, size_t errlen)
{
    const char *path = url + strlen("sqlite://");
    if (!*path || strcmp(path, ":memory:") == 0) {
        snprintf(err, errlen, "sqlite URL needs a file path (sqlite:///path/file.db)");
        return TV_EINVAL;
    }
    conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return TV_ENOMEM;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &c->db, flags, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_extended_result_codes(c->db, 1);
        sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
        rc = sqlite3_exec(c->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                 "PRAGMA foreign_keys=ON;", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "sqlite %s: %s", path, c->db ? sqlite3_errmsg(c->db) : "no memory");
        sqlite3_close(c->db);
        free(c);
        return TV_EUNAVAIL;
    }
    *out = c;
    return TV_OK;
}

static void sq_close(void *p)
{
    conn_t *c = p;
    sqlite3_close(c->db);
    free(c);
}

/* A connection given back inside a transaction would keep the write lock: drop it. */
static int sq_healthy(void *p)
{
    return sqlite3_get_autocommit(((conn_t *)p)->db);
}

static const char *sq_errmsg(void *p)
{
    return sqlite3_errmsg(((conn_t *)p)->db);
}

/* "$12" -> "?12" outside quotes: both name the 12th parameter, so the numbers keep their
 * meaning whatever order they appear in. */
static char *rewrite_placeholders(const char *sql)
{
    char *out = strdup(sql);
    if (!out)
        return NULL;
    char quote = 0;
    for (char *p = out; *p; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
            *p = '?';
        }
    }
    return out;
}

static int sq_prepare(void *p, const char *sql, void **out)
{
    conn_t *c = p;
    char *q = rewrite_placeholders(sql);
    stmt_t *st = calloc(1, sizeof *st);
    if (!q || !st) {
        free(q);
        free(st);
        return TV_ENOMEM;
    }
    st->db = c->db;
    int rc = sqlite3_prepare_v3(c->db, q, -1, SQLITE_PREPARE_PERSISTENT, &st->s, NULL);
    free(q);
    if (rc != SQLITE_OK) {
        free(st);
        return map_rc(rc) == TV_ERETRY ? TV_ERETRY : TV_EINTERNAL;
    }
    *out = st;
    return TV_OK;
}

static int sq_bind_text(void *p, int idx, const char *v)
{
    stmt_t *st = p;
    return map_rc(sqlite3_bind_text(st->s, idx, v, -1, SQLITE_TRANSIENT));
}

static int sq_bind_int64(void *p, int idx, int64_t v)
{
    stmt_t *st = p;
    return map_rc(sqlite3_bind_int64(st->s, idx, v));
}

static int sq_bind_null(void *p, int idx)
{
    stmt_t *st = p;
    return map_rc(sqlite3_bind_null(st->s, idx));
}

static int sq_step(void *p)
{
    stmt_t *st = p;
    int rc = map_rc(sqlite3_step(st->s));
    if (rc == TV_DB_DONE)
        st->changes = sqlite3_changes64(st->db);
    return rc;
}

static const char *sq_column_text(void *p, int col)
{
    return (const char *)sqlite3_column_text(((stmt_t *)p)->s, col);
}

static int64_t sq_column_int64(void *p, int col)
{
    return sqlite3_column_int64(((stmt_t *)p)->s, col);
}

static int sq_column_is_null(void *p, int col)
{
    return sqlite3_column_type(((stmt_t *)p)->s, col) == SQLITE_NULL;
}

static int64_t sq_changes(void *p)
{
    return ((stmt_t *)p)->changes;
}

static void sq_reset(void *p)
{
    stmt_t *st = p;
    sqlite3_reset(st->s);
    sqlite3_clear_bindings(st->s);
    st->changes = 0;
}

static void sq_finalize(void *p)
{
    stmt_t *st = p;
    sqlite3_finalize(st->s);
    free(st);
}

static int sq_exec(void *p, const char *sql)
{
    int rc = map_rc(sqlite3_exec(((conn_t *)p)->db, sql, NULL, NULL, NULL));
    return rc == TV_ERETRY || rc == TV_OK ? rc : (rc == TV_ECONFLICT ? rc : TV_EINTERNAL);
}

/* IMMEDIATE takes the write lock up front: a deferred transaction that reads and then writes
 * can fail with SQLITE_BUSY at the upgrade, which the busy time-out cannot wait out. */
static int sq_begin(void *p) { return sq_exec(p, "BEGIN IMMEDIATE"); }
static int sq_commit(void *p) { return sq_exec(p, "COMMIT"); }
static int sq_rollback(void *p) { return sq_exec(p, "ROLLBACK"); }

const tv_db_driver_t tv_db_sqlite_driver = {
    .name = "sqlite",
    .scheme = "sqlite://",
    .migrate_lock_sql = NULL,
    .open = sq_open,
    .close = sq_close,
    .healthy = sq_healthy,
    .errmsg = sq_errmsg,
    .prepare = sq_prepare,
    .bind_text = sq_bind_text,
    .bind_int64 = sq_bind_int64,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .column_text = sq_column_text,
    .column_int64 = sq_column_int64,
    .column_is_null = sq_column_is_null,
    .changes = sq_changes,
    .reset = sq_reset,
    .finalize = sq_finalize,
    .exec = sq_exec,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
};
