/* The PostgreSQL driver (libpq): one PGconn per connection, server-side prepared statements
 * with per-connection names, parameters sent as text, whole results buffered, and SQLSTATE
 * mapped to TV_E* codes. The contract is driver.h. */
#include "driver.h"
#include "db.h"
#include "error.h"

#include <libpq-fe.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERRMSG_MAX 512

/* pg_advisory_xact_lock key for migrations: "tavern" in ASCII, so it is recognisable in
 * pg_locks and unlikely to collide with another application sharing the database. */
#define MIGRATE_LOCK_SQL "SELECT pg_advisory_xact_lock(127979077333614)"

typedef struct {
    PGconn *pg;
    unsigned long next_id; /* statement names are unique per connection, never reused */
    char err[ERRMSG_MAX];
} pg_conn_t;

typedef struct {
    pg_conn_t *c;          /* borrowed: db.c finalizes statements before closing */
    char name[32];
    char *vals[TV_DB_MAX_PARAMS]; /* owned text copies, NULL = SQL NULL (also unbound) */
    int nparams;           /* placeholders in the statement, as the server counted them */
    PGresult *res;         /* owned; NULL before the first step */
    int executed;
    int rc;                /* result of the execution: TV_OK or a TV_E* code */
    int row, nrows;        /* current row; row == nrows when done */
    int64_t changes;
} pg_stmt_t;

/* Copies a libpq message as one line: they end in a newline and a failed connect lists one
 * line (plus a tab-indented hint) per address tried, which would split a log entry. */
static void copy_line(char *dst, size_t n, const char *msg)
{
    snprintf(dst, n, "%s", msg && *msg ? msg : "unknown error");
    for (char *p = dst; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    size_t len = strlen(dst);
    while (len > 0 && dst[len - 1] == ' ')
        dst[--len] = '\0';
}

static void set_err(pg_conn_t *c, const char *msg)
{
    copy_line(c->err, sizeof c->err, msg);
}

/* Keeps the server's words plus the SQLSTATE, so a log line says what failed and why. */
static void set_err_result(pg_conn_t *c, const PGresult *res)
{
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!primary) {
        set_err(c, PQerrorMessage(c->pg));
        return;
    }
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    snprintf(c->err, sizeof c->err, "%s [%s]%s%s", primary, state ? state : "?????",
             detail ? ": " : "", detail ? detail : "");
}

/* The TV_E* code for a failed result. A dead connection wins over any SQLSTATE: the pool
 * must drop it whatever the last statement said. */
static int map_error(pg_conn_t *c, const PGresult *res)
{
    set_err_result(c, res);
    if (PQstatus(c->pg) != CONNECTION_OK)
        return TV_EUNAVAIL;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (!state)
        return res ? TV_EINTERNAL : TV_ENOMEM; /* no result: libpq could not allocate */
    if (strcmp(state, "23505") == 0)
        return TV_ECONFLICT;
    /* Other integrity violations (not null, foreign key, check) are bad input, as the SQLite
     * driver reports them; so are data exceptions (a malformed UUID for a UUID column, an
     * overflowing number), which SQLite's loose typing never raises at all. */
    if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0)
        return TV_EINVAL;
    /* serialization failure, deadlock, lock_timeout / NOWAIT */
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
        strcmp(state, "55P03") == 0)
        return TV_ERETRY;
    /* class 08 (connection exception) and the server shutting down or starting up */
    if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
        strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0)
        return TV_EUNAVAIL;
    return TV_EINTERNAL;
}

/* Runs sql without parameters; any non-error status counts as success. */
static int run_simple(pg_conn_t *c, const char *sql)
{
    PGresult *res = PQexec(c->pg, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int rc = TV_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
        rc = map_error(c, res);
    PQclear(res);
    return rc;
}

/* Migrations and "ROLLBACK outside a transaction" raise NOTICE/WARNING messages that libpq
 * would print on stderr; they are not errors, so they are dropped. */
static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static int pg_open(const char *url, void **conn, char *err, size_t errlen)
{
    int rc = TV_OK;
    char *perr = NULL;
    pg_conn_t *c = NULL;
    if (strncmp(url, "postgres://", 11) != 0 && strncmp(url, "postgresql://", 13) != 0) {
        snprintf(err, errlen, "not a postgres:// URL");
        return TV_EINVAL;
    }
    /* Parse first so that a malformed URL is told apart from an unreachable server. */
    PQconninfoOption *opts = PQconninfoParse(url, &perr);
    if (!opts) {
        rc = perr ? TV_EINVAL : TV_ENOMEM;
        char why[256];
        copy_line(why, sizeof why, perr);
        snprintf(err, errlen, "bad postgres URL: %s", why);
        goto fail;
    }
    PQconninfoFree(opts);
    if (!(c = calloc(1, sizeof *c))) {
        rc = TV_ENOMEM;
        goto fail;
    }
    /* Keywords before dbname are defaults the URL overrides: a dead host fails in 10 s instead
     * of hanging, and text is UTF-8 whatever the environment says. */
    const char *const keys[] = {"connect_timeout", "client_encoding",
                                "fallback_application_name", "dbname", NULL};
    const char *const vals[] = {"10", "UTF8", "tavern", url, NULL};
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (!c->pg) {
        rc = TV_ENOMEM;
        goto fail;
    }
    if (PQstatus(c->pg) != CONNECTION_OK) {
        set_err(c, PQerrorMessage(c->pg));
        snprintf(err, errlen, "cannot connect to postgres: %s", c->err);
        rc = TV_EUNAVAIL;
        goto fail;
    }
    PQsetNoticeProcessor(c->pg, quiet_notice, NULL);
    *conn = c;
    return TV_OK;
fail:
    if (rc == TV_ENOMEM)
        snprintf(err, errlen, "out of memory");
    PQfreemem(perr);
    if (c)
        PQfinish(c->pg);
    free(c);
    return rc;
}

static void pg_close(void *conn)
{
    pg_conn_t *c = conn;
    if (!c)
        return;
    PQfinish(c->pg);
    free(c);
}

/* A connection left inside a transaction (a caller that forgot commit or rollback) is as
 * unusable for the next borrower as a broken one, so both are dropped. */
static int pg_healthy(void *conn)
{
    pg_conn_t *c = conn;
    return PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) == PQTRANS_IDLE;
}

static const char *pg_errmsg(void *conn)
{
    return ((pg_conn_t *)conn)->err;
}

/* The server keeps a prepared statement until DEALLOCATE or disconnect, so statements that
 * db.c finalizes while the connection lives (cache eviction, busy twins) must be dropped
 * there. Skipped when the connection is broken or the transaction has failed (it would be
 * refused); the name is never reused, so a leftover only costs memory until disconnect. */
static void drop_prepared(pg_stmt_t *s)
{
    PGTransactionStatusType ts = PQtransactionStatus(s->c->pg);
    if (PQstatus(s->c->pg) != CONNECTION_OK || (ts != PQTRANS_IDLE && ts != PQTRANS_INTRANS))
        return;
    char sql[48];
    snprintf(sql, sizeof sql, "DEALLOCATE %s", s->name);
    PQclear(PQexec(s->c->pg, sql));
}

/* Asks the server how many placeholders sql has, so that unbound ones go as NULL and an
 * index past the last one is refused at bind time: both as SQLite does. */
static int count_params(pg_stmt_t *s)
{
    PGresult *res = PQdescribePrepared(s->c->pg, s->name);
    int rc = TV_OK;
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = map_error(s->c, res);
    else if ((s->nparams = PQnparams(res)) > TV_DB_MAX_PARAMS) {
        set_err(s->c, "too many placeholders");
        rc = TV_EINVAL;
    }
    PQclear(res);
    return rc;
}

static int pg_prepare(void *conn, const char *sql, void **stmt)
{
    pg_conn_t *c = conn;
    pg_stmt_t *s = calloc(1, sizeof *s);
    if (!s)
        return TV_ENOMEM;
    s->c = c;
    snprintf(s->name, sizeof s->name, "tv_%lu", c->next_id++);
    PGresult *res = PQprepare(c->pg, s->name, sql, 0, NULL);
    int rc = TV_OK;
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = map_error(c, res);
    PQclear(res);
    if (rc == TV_OK && (rc = count_params(s)) != TV_OK)
        drop_prepared(s);
    if (rc != TV_OK) {
        free(s);
        return rc;
    }
    *stmt = s;
    return TV_OK;
}

/* Takes ownership of v (NULL = SQL NULL). Binding after the first step without a reset is
 * a caller bug, refused as SQLite refuses it, so both engines behave alike. */
static int bind_owned(pg_stmt_t *s, int idx, char *v, int is_null)
{
    int rc = TV_OK;
    if (idx < 1 || idx > s->nparams) {
        set_err(s->c, "parameter index out of range");
        rc = TV_EINVAL;
    } else if (s->executed) {
        set_err(s->c, "bind after step without reset");
        rc = TV_EINVAL;
    } else if (!v && !is_null) {
        rc = TV_ENOMEM;
    }
    if (rc != TV_OK) {
        free(v);
        return rc;
    }
    free(s->vals[idx - 1]);
    s->vals[idx - 1] = v;
    return TV_OK;
}

static int pg_bind_text(void *stmt, int idx, const char *v)
{
    return v ? bind_owned(stmt, idx, strdup(v), 0) : bind_owned(stmt, idx, NULL, 1);
}

static int pg_bind_int64(void *stmt, int idx, int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return bind_owned(stmt, idx, strdup(buf), 0);
}

static int pg_bind_null(void *stmt, int idx)
{
    return bind_owned(stmt, idx, NULL, 1);
}

/* Buffers the whole result (no single-row mode) so that the caller may run other
 * statements on the same connection while it walks the rows. */
static int execute(pg_stmt_t *s)
{
    s->executed = 1;
    s->changes = 0;
    s->res = PQexecPrepared(s->c->pg, s->name, s->nparams, (const char *const *)s->vals, NULL,
                            NULL, 0);
    ExecStatusType st = s->res ? PQresultStatus(s->res) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        s->nrows = st == PGRES_TUPLES_OK ? PQntuples(s->res) : 0;
        /* PQcmdTuples counts a SELECT's rows too; only writes count as changes */
        if (strncmp(PQcmdStatus(s->res), "SELECT", 6) != 0)
            s->changes = strtoll(PQcmdTuples(s->res), NULL, 10); /* "" for DDL: 0 */
        s->row = -1;
        return TV_OK;
    }
    s->nrows = s->row = 0;
    return map_error(s->c, s->res);
}

static int pg_step(void *stmt)
{
    pg_stmt_t *s = stmt;
    if (!s->executed)
        s->rc = execute(s);
    if (s->rc != TV_OK)
        return s->rc;
    if (s->row < s->nrows)
        s->row++;
    return s->row < s->nrows ? TV_DB_ROW : TV_DB_DONE;
}

static int has_value(const pg_stmt_t *s, int col)
{
    return s->rc == TV_OK && s->res && s->row >= 0 && s->row < s->nrows && col >= 0 &&
           col < PQnfields(s->res);
}

static const char *pg_column_text(void *stmt, int col)
{
    pg_stmt_t *s = stmt;
    if (!has_value(s, col) || PQgetisnull(s->res, s->row, col))
        return NULL;
    return PQgetvalue(s->res, s->row, col);
}

/* Booleans arrive as "t"/"f"; they read as 1/0 like SQLite's integers, so subsystem code
 * needs no dialect test. Anything unparsable is 0, as sqlite3_column_int64 does. */
static int64_t pg_column_int64(void *stmt, int col)
{
    const char *v = pg_column_text(stmt, col);
    if (!v)
        return 0;
    if (strcmp(v, "t") == 0)
        return 1;
    return strtoll(v, NULL, 10);
}

static int pg_column_is_null(void *stmt, int col)
{
    pg_stmt_t *s = stmt;
    return !has_value(s, col) || PQgetisnull(s->res, s->row, col);
}

static int64_t pg_changes(void *stmt)
{
    return ((pg_stmt_t *)stmt)->changes;
}

/* changes survives the reset: callers may read it after giving the statement back. */
static void pg_reset(void *stmt)
{
    pg_stmt_t *s = stmt;
    for (int i = 0; i < s->nparams; i++) {
        free(s->vals[i]);
        s->vals[i] = NULL;
    }
    PQclear(s->res);
    s->res = NULL;
    s->executed = 0;
    s->rc = TV_OK;
    s->row = s->nrows = 0;
}

static void pg_finalize(void *stmt)
{
    pg_stmt_t *s = stmt;
    if (!s)
        return;
    pg_reset(s);
    drop_prepared(s);
    free(s);
}

static int pg_exec(void *conn, const char *sql)
{
    return run_simple(conn, sql);
}

static int pg_begin(void *conn)
{
    return run_simple(conn, "BEGIN");
}

/* COMMIT of a transaction that already failed "succeeds" with the tag ROLLBACK; that must
 * not read as a commit. */
static int pg_commit(void *conn)
{
    pg_conn_t *c = conn;
    PGresult *res = PQexec(c->pg, "COMMIT");
    int rc = TV_OK;
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = map_error(c, res);
    else if (strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
        set_err(c, "COMMIT of a failed transaction rolled it back");
        rc = TV_EINTERNAL;
    }
    PQclear(res);
    return rc;
}

static int pg_rollback(void *conn)
{
    return run_simple(conn, "ROLLBACK");
}

const tv_db_driver_t tv_db_pg_driver = {
    .name = "postgres",
    .scheme = "postgres://",
    .migrate_lock_sql = MIGRATE_LOCK_SQL,
    .open = pg_open,
    .close = pg_close,
    .healthy = pg_healthy,
    .errmsg = pg_errmsg,
    .prepare = pg_prepare,
    .bind_text = pg_bind_text,
    .bind_int64 = pg_bind_int64,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .column_text = pg_column_text,
    .column_int64 = pg_column_int64,
    .column_is_null = pg_column_is_null,
    .changes = pg_changes,
    .reset = pg_reset,
    .finalize = pg_finalize,
    .exec = pg_exec,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
};
