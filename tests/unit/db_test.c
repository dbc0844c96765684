/* Unit tests of the SQL abstraction through db.h only: the same checks run on SQLite (a file
 * in a fresh temporary folder) and, when TAVERN_TEST_PG holds a postgres:// URL, on
 * PostgreSQL, in tables (and schemas) named after this process so parallel runs never meet. */
#include "check.h"
#include "db.h"
#include "error.h"
#include "log.h"

#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 8
#define INCREMENTS 200
#define CAS_THREADS 4
#define CAS_TRIES 50

static const char *engine = "common"; /* prefix of every check line */
static int is_pg;
static char t_items[48], t_counter[48], t_schema1[48], t_schema2[48];

/* CHECK of check.h with the engine's name in front, so a failure says where it happened. */
#define CHECK_E(cond) check_engine((cond) ? 1 : 0, #cond, __LINE__)
static void check_engine(int ok, const char *what, int line)
{
    char text[512];
    snprintf(text, sizeof text, "%s: %s", engine, what);
    check_at(ok, text, __FILE__, line);
}

/* ---- helpers ---------------------------------------------------------------------------- */

/* Runs a query without parameters and returns column 0 of its first row (-1 when none). */
static int64_t scalar(tv_db_conn_t *c, const char *sql)
{
    tv_db_stmt_t *st;
    if (tv_db_prepare(c, sql, &st) != TV_OK)
        return -1;
    int64_t v = tv_db_step(st) == TV_DB_ROW ? tv_db_column_int64(st, 0) : -1;
    tv_db_reset(st);
    return v;
}

static int64_t scalar_db(tv_db_t *db, const char *sql)
{
    tv_db_conn_t *c;
    if (tv_db_acquire(db, &c) != TV_OK)
        return -1;
    int64_t v = scalar(c, sql);
    tv_db_release(db, c);
    return v;
}

static int exec_db(tv_db_t *db, const char *sql)
{
    tv_db_conn_t *c;
    int rc = tv_db_acquire(db, &c);
    if (rc)
        return rc;
    rc = tv_db_exec(c, sql);
    tv_db_release(db, c);
    return rc;
}

static int64_t count_items(tv_db_t *db, const char *where)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE %s", t_items, where);
    return scalar_db(db, sql);
}

/* Inserts (id, name, score, note) with typed binds; note NULL binds SQL NULL. */
static int insert_item(tv_db_conn_t *c, int64_t id, const char *name, int64_t score,
                       const char *note)
{
    char sql[160];
    snprintf(sql, sizeof sql, "INSERT INTO %s (id, name, score, note) VALUES ($1, $2, $3, $4)",
             t_items);
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(c, sql, &st);
    if (rc)
        return rc;
    rc = tv_db_bind_int64(st, 1, id);
    if (rc == TV_OK)
        rc = tv_db_bind_text(st, 2, name);
    if (rc == TV_OK)
        rc = tv_db_bind_int64(st, 3, score);
    if (rc == TV_OK)
        rc = note ? tv_db_bind_text(st, 4, note) : tv_db_bind_null(st, 4);
    if (rc == TV_OK)
        rc = tv_db_step(st);
    tv_db_reset(st);
    return rc == TV_DB_DONE ? TV_OK : rc;
}

/* ---- checks that need no database ------------------------------------------------------- */

static void test_open_errors(void)
{
    tv_db_t *db = NULL;
    char err[256] = "";
    CHECK(tv_db_open("mysql://u:p@localhost/x", 2, &db, err, sizeof err) == TV_EINVAL);
    CHECK(err[0] != '\0');
    CHECK(tv_db_open("", 2, &db, err, sizeof err) == TV_EINVAL);
    CHECK(tv_db_open("sqlite://", 2, &db, err, sizeof err) == TV_EINVAL);
    CHECK(tv_db_open("postgres://u@127.0.0.1/x?no_such_option=1", 2, &db, err, sizeof err) ==
          TV_EINVAL);
    /* port 1 on loopback refuses at once: unreachable without waiting for a time-out */
    err[0] = '\0';
    CHECK(tv_db_open("postgres://tavern:tavern@127.0.0.1:1/tavern", 2, &db, err, sizeof err) ==
          TV_EUNAVAIL);
    CHECK(err[0] != '\0');
    CHECK(tv_db_open("postgresql://tavern:tavern@127.0.0.1:1/tavern", 2, &db, err,
                     sizeof err) == TV_EUNAVAIL);
    CHECK(db == NULL);
}

/* ---- per-engine checks ------------------------------------------------------------------ */

static int create_tables(tv_db_t *db)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "DROP TABLE IF EXISTS %s; DROP TABLE IF EXISTS %s;"
             "CREATE TABLE %s (id BIGINT PRIMARY KEY, name TEXT UNIQUE, score BIGINT, note TEXT);"
             "CREATE TABLE %s (id BIGINT PRIMARY KEY, n BIGINT NOT NULL);"
             "INSERT INTO %s (id, n) VALUES (1, 0);",
             t_items, t_counter, t_items, t_counter, t_counter);
    return exec_db(db, sql);
}

static void drop_tables(tv_db_t *db)
{
    char sql[256];
    snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS %s; DROP TABLE IF EXISTS %s;", t_items,
             t_counter);
    exec_db(db, sql);
}

static void test_bind_and_columns(tv_db_conn_t *c)
{
    const char *odd = "it's \"quoted\" $1 ? \xc3\xbc \xe2\x82\xac"; /* quotes, placeholders, UTF-8 */
    CHECK_E(insert_item(c, 1, "max", INT64_MAX, odd) == TV_OK);
    CHECK_E(insert_item(c, 2, "min", INT64_MIN, NULL) == TV_OK);
    CHECK_E(insert_item(c, 3, "zero", 0, "") == TV_OK);
    CHECK_E(insert_item(c, 4, "minus", -1, NULL) == TV_OK);

    char sql[160];
    snprintf(sql, sizeof sql, "SELECT id, name, score, note FROM %s ORDER BY id", t_items);
    tv_db_stmt_t *st;
    CHECK_E(tv_db_prepare(c, sql, &st) == TV_OK);
    CHECK_E(tv_db_step(st) == TV_DB_ROW);
    CHECK_E(tv_db_column_int64(st, 0) == 1);
    CHECK_E(tv_db_column_int64(st, 2) == INT64_MAX);
    CHECK_E(strcmp(tv_db_column_text(st, 2), "9223372036854775807") == 0);
    CHECK_E(strcmp(tv_db_column_text(st, 3), odd) == 0);
    CHECK_E(tv_db_step(st) == TV_DB_ROW);
    CHECK_E(tv_db_column_int64(st, 2) == INT64_MIN);
    CHECK_E(strcmp(tv_db_column_text(st, 2), "-9223372036854775808") == 0);
    CHECK_E(tv_db_column_text(st, 3) == NULL);
    CHECK_E(tv_db_column_is_null(st, 3) == 1);
    CHECK_E(tv_db_column_is_null(st, 2) == 0);
    CHECK_E(tv_db_step(st) == TV_DB_ROW);
    CHECK_E(tv_db_column_text(st, 3) != NULL && tv_db_column_text(st, 3)[0] == '\0');
    CHECK_E(tv_db_column_is_null(st, 3) == 0); /* '' is not NULL */
    CHECK_E(tv_db_step(st) == TV_DB_ROW);
    CHECK_E(tv_db_column_int64(st, 2) == -1 && strcmp(tv_db_column_text(st, 1), "minus") == 0);
    CHECK_E(tv_db_step(st) == TV_DB_DONE);
    tv_db_reset(st);
}

/* $2 before $1 in the text: the numbers, not the order, decide which value goes where. */
static void test_placeholder_order(tv_db_conn_t *c)
{
    char sql[200];
    snprintf(sql, sizeof sql, "INSERT INTO %s (score, name, id) VALUES ($3, $2, $1)", t_items);
    tv_db_stmt_t *st;
    CHECK_E(tv_db_prepare(c, sql, &st) == TV_OK);
    CHECK_E(tv_db_bind_int64(st, 1, 10) == TV_OK);
    CHECK_E(tv_db_bind_text(st, 2, "ten") == TV_OK);
    CHECK_E(tv_db_bind_int64(st, 3, 100) == TV_OK);
    CHECK_E(tv_db_step(st) == TV_DB_DONE);
    tv_db_reset(st);

    snprintf(sql, sizeof sql, "SELECT id, score FROM %s WHERE score = $2 AND name = $1", t_items);
    CHECK_E(tv_db_prepare(c, sql, &st) == TV_OK);
    CHECK_E(tv_db_bind_text(st, 1, "ten") == TV_OK);
    CHECK_E(tv_db_bind_int64(st, 2, 100) == TV_OK);
    CHECK_E(tv_db_step(st) == TV_DB_ROW);
    CHECK_E(tv_db_column_int64(st, 0) == 10 && tv_db_column_int64(st, 1) == 100);
    CHECK_E(tv_db_step(st) == TV_DB_DONE);
    tv_db_reset(st);
}

static const char *name_of(tv_db_conn_t *c, const char *sql, int64_t id, tv_db_stmt_t **used)
{
    static char out[64];
    tv_db_stmt_t *st;
    out[0] = '\0';
    if (tv_db_prepare(c, sql, &st) != TV_OK)
        return out;
    *used = st;
    if (tv_db_bind_int64(st, 1, id) == TV_OK && tv_db_step(st) == TV_DB_ROW)
        snprintf(out, sizeof out, "%s", tv_db_column_text(st, 0));
    tv_db_reset(st);
    return out;
}

/* The same text prepared again after a reset is the cached statement, with fresh bindings;
 * prepared while still in use it is a second statement. */
static void test_statement_cache(tv_db_conn_t *c)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT name FROM %s WHERE id = $1", t_items);
    tv_db_stmt_t *a = NULL, *b = NULL;
    CHECK_E(strcmp(name_of(c, sql, 1, &a), "max") == 0);
    CHECK_E(strcmp(name_of(c, sql, 2, &b), "min") == 0);
    CHECK_E(a != NULL && a == b);
    CHECK_E(strcmp(name_of(c, sql, 999, &b), "") == 0); /* no row: old result is gone */

    tv_db_stmt_t *s1, *s2;
    CHECK_E(tv_db_prepare(c, sql, &s1) == TV_OK);
    CHECK_E(tv_db_prepare(c, sql, &s2) == TV_OK);
    CHECK_E(s1 != s2);
    tv_db_bind_int64(s1, 1, 3);
    tv_db_bind_int64(s2, 1, 4);
    CHECK_E(tv_db_step(s1) == TV_DB_ROW && tv_db_step(s2) == TV_DB_ROW);
    CHECK_E(strcmp(tv_db_column_text(s1, 0), "zero") == 0);
    CHECK_E(strcmp(tv_db_column_text(s2, 0), "minus") == 0);
    tv_db_reset(s2);
    tv_db_reset(s1);

    /* more distinct texts than the cache holds: evicted statements must be freed (on
     * PostgreSQL also on the server, checked below) */
    int ok = 1;
    for (int i = 0; i < 300 && ok; i++) {
        snprintf(sql, sizeof sql, "SELECT %d", i);
        ok = scalar(c, sql) == i;
    }
    CHECK_E(ok);
    if (is_pg)
        CHECK_E(scalar(c, "SELECT count(*) FROM pg_prepared_statements") <= 130);
}

static void test_errors(tv_db_conn_t *c)
{
    CHECK_E(insert_item(c, 1, "dup-id", 0, NULL) == TV_ECONFLICT);
    CHECK_E(tv_db_errmsg(c) != NULL && tv_db_errmsg(c)[0] != '\0');
    CHECK_E(insert_item(c, 99, "max", 0, NULL) == TV_ECONFLICT); /* UNIQUE column */
    CHECK_E(insert_item(c, 99, "fine", 0, NULL) == TV_OK);        /* connection still usable */

    tv_db_stmt_t *st = NULL;
    char sql[160];
    snprintf(sql, sizeof sql, "INSERT INTO %s (id, name) VALUES ($1, $2)", t_items);
    const char *no_name[] = {"98", NULL};
    CHECK_E(tv_db_execp(c, sql, 2, no_name, NULL) == TV_OK); /* NULL binds NULL */
    snprintf(sql, sizeof sql, "INSERT INTO %s (id) VALUES ($1)", t_counter);
    const char *null_n[] = {"2"};
    CHECK_E(tv_db_execp(c, sql, 1, null_n, NULL) == TV_EINVAL); /* NOT NULL column */
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id = 98", t_items);
    CHECK_E(tv_db_execp(c, sql, 0, NULL, NULL) == TV_OK);

    if (is_pg) { /* a value the column type refuses; SQLite's loose typing takes anything */
        const char *not_int[] = {"x"};
        CHECK_E(tv_db_execp(c, "SELECT CAST($1 AS BIGINT)", 1, not_int, NULL) == TV_EINVAL);
    }
    CHECK_E(tv_db_prepare(c, "SELECT $1, $2", &st) == TV_OK);
    CHECK_E(tv_db_bind_int64(st, 3, 1) < 0); /* past the last placeholder */
    tv_db_reset(st);

    CHECK_E(tv_db_prepare(c, "SELEKT nonsense", &st) == TV_EINTERNAL);
    CHECK_E(tv_db_errmsg(c)[0] != '\0');
    CHECK_E(tv_db_exec(c, "CREATE TABLE;") == TV_EINTERNAL);
    CHECK_E(scalar(c, "SELECT 7") == 7);
}

static void test_changes(tv_db_conn_t *c)
{
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE %s SET score = score WHERE id < 5", t_items);
    tv_db_stmt_t *st;
    CHECK_E(tv_db_prepare(c, sql, &st) == TV_OK);
    CHECK_E(tv_db_step(st) == TV_DB_DONE);
    CHECK_E(tv_db_changes(st) == 4);
    tv_db_reset(st);

    int64_t n = -1;
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE name = $1", t_items);
    const char *none[] = {"nobody"}, *fine[] = {"fine"};
    CHECK_E(tv_db_execp(c, sql, 1, none, &n) == TV_DB_DONE && n == 0);
    CHECK_E(tv_db_execp(c, sql, 1, fine, &n) == TV_DB_DONE && n == 1);
    snprintf(sql, sizeof sql, "UPDATE %s SET note = $2 WHERE id = $1", t_items);
    const char *to_null[] = {"4", NULL};
    CHECK_E(tv_db_execp(c, sql, 2, to_null, &n) == TV_DB_DONE && n == 1);
}

/* ---- transactions ----------------------------------------------------------------------- */

typedef struct {
    int64_t id;
    int result; /* what fn returns after its insert */
    int calls;
} tx_ctx_t;

static int insert_then(tv_db_conn_t *c, void *p)
{
    tx_ctx_t *x = p;
    x->calls++;
    char name[48], note[32];
    snprintf(name, sizeof name, "tx %" PRId64 " attempt %d", x->id, x->calls); /* UNIQUE */
    snprintf(note, sizeof note, "attempt %d", x->calls);
    int rc = insert_item(c, x->id, name, x->calls, note);
    return rc ? rc : x->result;
}

/* Fails with ERETRY on the first call only: the retry must see nothing of that attempt. */
static int retry_once(tv_db_conn_t *c, void *p)
{
    tx_ctx_t *x = p;
    int rc = insert_then(c, p);
    return rc ? rc : (x->calls == 1 ? TV_ERETRY : TV_OK);
}

/* A later insert conflicts: the earlier one must go too. */
static int two_inserts(tv_db_conn_t *c, void *p)
{
    (void)p;
    int rc = insert_item(c, 300, "first of two", 0, NULL);
    return rc ? rc : insert_item(c, 1, "conflicts", 0, NULL);
}

/* Swallows a failed statement and asks to commit: must never look like a commit of the
 * rest on PostgreSQL, where the failure aborted the transaction. */
static int swallow_error(tv_db_conn_t *c, void *p)
{
    (void)p;
    insert_item(c, 400, "before the error", 0, NULL);
    insert_item(c, 1, "conflicts", 0, NULL);
    return TV_OK;
}

static void test_tx(tv_db_t *db)
{
    tx_ctx_t ok = {100, TV_OK, 0};
    CHECK_E(tv_db_tx(db, insert_then, &ok) == TV_OK);
    CHECK_E(count_items(db, "id = 100") == 1);

    tx_ctx_t fails = {101, TV_ENOTFOUND, 0};
    CHECK_E(tv_db_tx(db, insert_then, &fails) == TV_ENOTFOUND);
    CHECK_E(fails.calls == 1);
    CHECK_E(count_items(db, "id = 101") == 0);

    CHECK_E(tv_db_tx(db, two_inserts, NULL) == TV_ECONFLICT);
    CHECK_E(count_items(db, "id = 300") == 0);

    tx_ctx_t retry = {102, TV_OK, 0};
    CHECK_E(tv_db_tx(db, retry_once, &retry) == TV_OK);
    CHECK_E(retry.calls == 2);
    CHECK_E(count_items(db, "id = 102") == 1);
    CHECK_E(count_items(db, "id = 102 AND note = 'attempt 2'") == 1);

    if (is_pg) {
        CHECK_E(tv_db_tx(db, swallow_error, NULL) != TV_OK);
        CHECK_E(count_items(db, "id = 400") == 0);
    }
}

/* A writer holds a row (SQLite: the whole database); a second one must get TV_ERETRY once
 * the lock time-out passes, not hang and not fail hard. */
static void test_lock_timeout(tv_db_t *db)
{
    tv_db_conn_t *holder, *waiter;
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE %s SET n = n WHERE id = 1", t_counter);
    if (tv_db_acquire(db, &holder) != TV_OK || tv_db_acquire(db, &waiter) != TV_OK) {
        CHECK_E(!"two connections");
        return;
    }
    CHECK_E(tv_db_begin(holder) == TV_OK && tv_db_exec(holder, sql) == TV_OK);
    int rc = tv_db_begin(waiter);
    if (rc == TV_OK && is_pg)
        rc = tv_db_exec(waiter, "SET LOCAL lock_timeout = '200ms'");
    if (rc == TV_OK)
        rc = tv_db_exec(waiter, sql);
    CHECK_E(rc == TV_ERETRY);
    tv_db_rollback(waiter);
    CHECK_E(tv_db_rollback(holder) == TV_OK);
    tv_db_release(db, waiter);
    tv_db_release(db, holder);
}

/* ---- many threads ----------------------------------------------------------------------- */

typedef struct {
    tv_db_t *db;
    int failures, done;
} worker_t;

static int increment(tv_db_conn_t *c, void *p)
{
    (void)p;
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE %s SET n = n + 1 WHERE id = 1", t_counter);
    int64_t changes = 0;
    int rc = tv_db_execp(c, sql, 0, NULL, &changes);
    if (rc != TV_DB_DONE)
        return rc;
    return changes == 1 ? TV_OK : TV_EINTERNAL;
}

/* Read, then write only if nobody wrote in between; otherwise ask tv_db_tx for another go.
 * The pattern that keeps read-modify-write correct on both engines. */
static int compare_and_set(tv_db_conn_t *c, void *p)
{
    (void)p;
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT n FROM %s WHERE id = 1", t_counter);
    int64_t n = scalar(c, sql);
    if (n < 0)
        return TV_EINTERNAL;
    char old[24], now[24];
    snprintf(old, sizeof old, "%" PRId64, n);
    snprintf(now, sizeof now, "%" PRId64, n + 1);
    const char *args[] = {now, old};
    snprintf(sql, sizeof sql, "UPDATE %s SET n = $1 WHERE id = 1 AND n = $2", t_counter);
    int64_t changes = 0;
    int rc = tv_db_execp(c, sql, 2, args, &changes);
    if (rc != TV_DB_DONE)
        return rc;
    return changes == 1 ? TV_OK : TV_ERETRY;
}

static void *increment_worker(void *p)
{
    worker_t *w = p;
    for (int i = 0; i < INCREMENTS; i++)
        if (tv_db_tx(w->db, increment, NULL) != TV_OK)
            w->failures++;
    return NULL;
}

static void *cas_worker(void *p)
{
    worker_t *w = p;
    for (int i = 0; i < CAS_TRIES; i++) {
        int rc = tv_db_tx(w->db, compare_and_set, NULL);
        if (rc == TV_OK)
            w->done++;
        else if (rc != TV_ERETRY) /* giving up after 8 tries is allowed, and applies nothing */
            w->failures++;
    }
    return NULL;
}

static int run_threads(tv_db_t *db, int n, void *(*fn)(void *), int *done, int *failures)
{
    pthread_t th[THREADS];
    worker_t w[THREADS];
    int started = 0;
    for (; started < n; started++) {
        w[started] = (worker_t){db, 0, 0};
        if (pthread_create(&th[started], NULL, fn, &w[started]) != 0)
            break;
    }
    *done = *failures = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        *done += w[i].done;
        *failures += w[i].failures;
    }
    return started == n ? TV_OK : TV_EINTERNAL;
}

static void test_threads(tv_db_t *db)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT n FROM %s WHERE id = 1", t_counter);
    int done, failures;
    CHECK_E(run_threads(db, THREADS, increment_worker, &done, &failures) == TV_OK);
    CHECK_E(failures == 0);
    CHECK_E(scalar_db(db, sql) == THREADS * INCREMENTS);

    int64_t before = scalar_db(db, sql);
    CHECK_E(run_threads(db, CAS_THREADS, cas_worker, &done, &failures) == TV_OK);
    CHECK_E(failures == 0 && done > 0);
    CHECK_E(scalar_db(db, sql) == before + done); /* every success counted, nothing lost */
    printf("     %s: compare-and-set: %d of %d transactions done\n", engine, done,
           CAS_THREADS * CAS_TRIES);
}

/* ---- migrations ------------------------------------------------------------------------- */

typedef struct {
    int lines, applied, pending;
} status_t;

static void on_status(const char *text, void *ud)
{
    status_t *s = ud;
    s->lines++;
    s->applied += strncmp(text, "applied", 7) == 0;
    s->pending += strncmp(text, "pending", 7) == 0;
}

static void *migrate_worker(void *p)
{
    char err[256];
    return (void *)(intptr_t)tv_db_migrate_up(p, err, sizeof err);
}

/* A URL for a fresh database: a file beside the main one, or a schema of its own. */
static void fresh_url(const char *base, const char *name, char *out, size_t n)
{
    if (!is_pg) {
        snprintf(out, n, "%.*s/%s.db", (int)(strrchr(base, '/') - base), base, name);
        return;
    }
    snprintf(out, n, "%s%soptions=-c%%20search_path%%3D%s", base, strchr(base, '?') ? "&" : "?",
             name);
}

static void test_migrate(const char *url, const char *schema1, const char *schema2)
{
    char u1[1024], u2[1024], err[256];
    tv_db_t *a = NULL, *b = NULL;
    fresh_url(url, schema1, u1, sizeof u1);
    fresh_url(url, schema2, u2, sizeof u2);
    CHECK_E(tv_db_open(u1, 2, &a, err, sizeof err) == TV_OK);
    if (!a)
        return;
    status_t s0 = {0, 0, 0}, s1 = {0, 0, 0};
    CHECK_E(tv_db_migrate_status(a, on_status, &s0) == TV_OK);
    CHECK_E(s0.lines > 0 && s0.pending == s0.lines);
    CHECK_E(tv_db_migrate_up(a, err, sizeof err) == TV_OK);
    int64_t rows = scalar_db(a, "SELECT count(*) FROM tv_schema_migrations");
    CHECK_E(rows == s0.lines);
    CHECK_E(scalar_db(a, "SELECT count(*) FROM users") == 0); /* the schema is there */
    CHECK_E(tv_db_migrate_up(a, err, sizeof err) == TV_OK);  /* second run: nothing to do */
    CHECK_E(scalar_db(a, "SELECT count(*) FROM tv_schema_migrations") == rows);
    CHECK_E(tv_db_migrate_status(a, on_status, &s1) == TV_OK);
    CHECK_E(s1.lines == s0.lines && s1.applied == s1.lines);
    tv_db_close(a);

    /* two nodes starting together on one empty database: both succeed, each step once */
    CHECK_E(tv_db_open(u2, 2, &a, err, sizeof err) == TV_OK);
    CHECK_E(tv_db_open(u2, 2, &b, err, sizeof err) == TV_OK);
    if (!a || !b) {
        tv_db_close(a);
        tv_db_close(b);
        return;
    }
    pthread_t ta, tb;
    void *ra = (void *)(intptr_t)-100, *rb = ra;
    if (pthread_create(&ta, NULL, migrate_worker, a) == 0) {
        if (pthread_create(&tb, NULL, migrate_worker, b) == 0)
            pthread_join(tb, &rb);
        pthread_join(ta, &ra);
    }
    CHECK_E((intptr_t)ra == TV_OK && (intptr_t)rb == TV_OK);
    CHECK_E(scalar_db(a, "SELECT count(*) FROM tv_schema_migrations") == rows);
    tv_db_close(a);
    tv_db_close(b);
}

/* ---- a lost connection (PostgreSQL) ----------------------------------------------------- */

/* Another session kills ours: the next statement reports TV_EUNAVAIL, and the pool drops
 * the connection on release instead of lending it out again. */
static void test_lost_connection(tv_db_t *db)
{
    tv_db_conn_t *victim, *killer;
    if (tv_db_acquire(db, &victim) != TV_OK || tv_db_acquire(db, &killer) != TV_OK) {
        CHECK_E(!"two connections");
        return;
    }
    int64_t pid = scalar(victim, "SELECT pg_backend_pid()");
    char spid[24];
    snprintf(spid, sizeof spid, "%" PRId64, pid);
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(killer, "SELECT pg_terminate_backend($1::int, 5000)", &st);
    if (rc == TV_OK && (rc = tv_db_bind_text(st, 1, spid)) == TV_OK)
        rc = tv_db_step(st);
    CHECK_E(rc == TV_DB_ROW && strcmp(tv_db_column_text(st, 0), "t") == 0);
    tv_db_reset(st);
    tv_db_release(db, killer);

    CHECK_E(scalar(victim, "SELECT pg_backend_pid()") == -1);
    tv_db_stmt_t *again;
    rc = tv_db_prepare(victim, "SELECT 1", &again);
    CHECK_E(rc == TV_EUNAVAIL);
    if (rc == TV_OK)
        tv_db_reset(again);
    tv_db_release(db, victim);

    /* every connection handed out from now on works */
    int ok = 1;
    tv_db_conn_t *c[2];
    for (int i = 0; i < 2; i++)
        ok &= tv_db_acquire(db, &c[i]) == TV_OK;
    for (int i = 0; i < 2 && ok; i++)
        ok &= scalar(c[i], "SELECT 5") == 5;
    for (int i = 0; i < 2 && ok; i++)
        tv_db_release(db, c[i]);
    CHECK_E(ok);
}

/* ---- one engine, start to end ----------------------------------------------------------- */

static void name_objects(void)
{
    int pid = (int)getpid();
    snprintf(t_items, sizeof t_items, "dbt%d_items", pid);
    snprintf(t_counter, sizeof t_counter, "dbt%d_counter", pid);
    snprintf(t_schema1, sizeof t_schema1, "dbt%d_m1", pid);
    snprintf(t_schema2, sizeof t_schema2, "dbt%d_m2", pid);
}

/* PostgreSQL's migration tests run in schemas of their own, made empty here. */
static int pg_schemas(tv_db_t *db, int create)
{
    char sql[256];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE; DROP SCHEMA IF EXISTS %s CASCADE;",
             t_schema1, t_schema2);
    int rc = exec_db(db, sql);
    if (rc == TV_OK && create) {
        snprintf(sql, sizeof sql, "CREATE SCHEMA %s; CREATE SCHEMA %s;", t_schema1, t_schema2);
        rc = exec_db(db, sql);
    }
    return rc;
}

static void run_engine(const char *name, const char *url)
{
    engine = name;
    tv_db_t *db = NULL;
    char err[256] = "";
    int rc = tv_db_open(url, THREADS, &db, err, sizeof err);
    CHECK_E(rc == TV_OK);
    if (rc) {
        printf("     %s: %s\n", name, err);
        return;
    }
    is_pg = strcmp(tv_db_engine(db), "postgres") == 0;
    CHECK_E(strcmp(tv_db_engine(db), name) == 0);
    CHECK_E(create_tables(db) == TV_OK);
    CHECK_E(!is_pg || pg_schemas(db, 1) == TV_OK);

    tv_db_conn_t *c;
    CHECK_E(tv_db_acquire(db, &c) == TV_OK);
    test_bind_and_columns(c);
    test_placeholder_order(c);
    test_statement_cache(c);
    test_errors(c);
    test_changes(c);
    tv_db_release(db, c);

    test_tx(db);
    test_lock_timeout(db);
    test_threads(db);
    test_migrate(url, t_schema1, t_schema2);
    if (is_pg)
        test_lost_connection(db);

    drop_tables(db);
    if (is_pg)
        pg_schemas(db, 0);
    tv_db_close(db);
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

int main(void)
{
    tv_log_set_level(TV_LOG_ERROR); /* "applied migration" lines would drown the checks */
    name_objects();
    test_open_errors();

    char dir[] = "/tmp/tavern-dbtest-XXXXXX";
    char url[4200];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(url, sizeof url, "sqlite://%s/test.db", dir);
    run_engine("sqlite", url);
    remove_dir(dir);

    const char *pg = getenv("TAVERN_TEST_PG");
    if (pg && *pg)
        run_engine("postgres", pg);
    else
        printf("     postgres: skipped (set TAVERN_TEST_PG to a postgres:// URL)\n");
    engine = "common";
    return check_summary();
}
