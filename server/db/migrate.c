/* Schema migrations: the numbered SQL files of migrations/<engine>/, embedded in the binary,
 * applied in order, each in its own transaction and recorded in tv_schema_migrations. */
#include "db.h"
#include "driver.h"
#include "embedded.h"
#include "error.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char create_sql[] =
    "CREATE TABLE IF NOT EXISTS tv_schema_migrations ("
    " version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

static const tv_embedded_t *list_for(tv_db_t *db)
{
    return strcmp(tv_db_engine(db), "sqlite") == 0 ? tv_migrations_sqlite
                                                   : tv_migrations_postgres;
}

static int64_t version_of(const char *name)
{
    return strtoll(name, NULL, 10);
}

static int is_applied(tv_db_conn_t *c, int64_t version, int *applied)
{
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(c, "SELECT 1 FROM tv_schema_migrations WHERE version = $1", &st);
    if (rc)
        return rc;
    rc = tv_db_bind_int64(st, 1, version);
    if (rc == TV_OK)
        rc = tv_db_step(st);
    *applied = rc == TV_DB_ROW;
    tv_db_reset(st);
    return rc < 0 ? rc : TV_OK;
}

typedef struct {
    const tv_embedded_t *m;
    const char *lock_sql;
    int applied_now;
    char err[256]; /* the engine's message of a failure, read before the connection goes */
} step_ctx_t;

static int keep_error(tv_db_conn_t *c, step_ctx_t *s, int rc)
{
    if (rc != TV_OK && rc != TV_DB_ROW && rc != TV_DB_DONE)
        snprintf(s->err, sizeof s->err, "%s", tv_db_errmsg(c));
    return rc;
}

static int apply_one_inner(tv_db_conn_t *c, step_ctx_t *s);

static int apply_one(tv_db_conn_t *c, void *p)
{
    step_ctx_t *s = p;
    return keep_error(c, s, apply_one_inner(c, s));
}

static int apply_one_inner(tv_db_conn_t *c, step_ctx_t *s)
{
    s->applied_now = 0;
    int rc = s->lock_sql ? tv_db_exec(c, s->lock_sql) : TV_OK;
    if (rc == TV_OK)
        rc = tv_db_exec(c, create_sql);
    int applied = 0;
    if (rc == TV_OK)
        rc = is_applied(c, version_of(s->m->name), &applied);
    if (rc || applied)
        return rc;
    rc = tv_db_exec(c, s->m->text);
    if (rc)
        return rc;
    tv_db_stmt_t *st;
    rc = tv_db_prepare(c, "INSERT INTO tv_schema_migrations (version, name, applied_at) "
                          "VALUES ($1, $2, $3)", &st);
    if (rc)
        return rc;
    tv_db_bind_int64(st, 1, version_of(s->m->name));
    tv_db_bind_text(st, 2, s->m->name);
    tv_db_bind_int64(st, 3, tv_now_s());
    rc = tv_db_step(st);
    tv_db_reset(st);
    s->applied_now = rc == TV_DB_DONE;
    return rc == TV_DB_DONE ? TV_OK : rc;
}

int tv_db_migrate_up(tv_db_t *db, char *err, size_t errlen)
{
    const char *lock = tv_db_driver_of(db)->migrate_lock_sql;
    for (const tv_embedded_t *m = list_for(db); m->name; m++) {
        step_ctx_t s = {m, lock, 0, ""};
        int rc = tv_db_tx(db, apply_one, &s);
        if (rc) {
            snprintf(err, errlen, "migration %s failed (%s): %s", m->name, tv_error_name(rc),
                     s.err);
            return rc;
        }
        if (s.applied_now)
            tv_log_info("db", "applied migration %s", m->name);
    }
    return TV_OK;
}

static int read_applied(tv_db_conn_t *c, const tv_embedded_t *m, int *applied)
{
    int rc = tv_db_exec(c, create_sql);
    return rc ? rc : is_applied(c, version_of(m->name), applied);
}

int tv_db_migrate_status(tv_db_t *db, void (*line)(const char *text, void *ud), void *ud)
{
    tv_db_conn_t *c;
    int rc = tv_db_acquire(db, &c);
    if (rc)
        return rc;
    for (const tv_embedded_t *m = list_for(db); m->name && rc == TV_OK; m++) {
        int applied = 0;
        rc = read_applied(c, m, &applied);
        char text[300];
        snprintf(text, sizeof text, "%-8s %s", applied ? "applied" : "pending", m->name);
        if (rc == TV_OK)
            line(text, ud);
    }
    tv_db_release(db, c);
    return rc;
}
