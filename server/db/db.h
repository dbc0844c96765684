/* The SQL abstraction: a pool of connections to one database, chosen by URL scheme
 * (sqlite:// or postgres://), prepared statements cached per connection, and transactions
 * retried on serialization failure. Queries use numbered placeholders ($1, $2, ...) in one
 * dialect-neutral string; the drivers translate. */
#ifndef TV_DB_DB_H
#define TV_DB_DB_H

#include <stddef.h>
#include <stdint.h>

typedef struct tv_db tv_db_t;           /* the pool; thread-safe */
typedef struct tv_db_conn tv_db_conn_t; /* one connection, one thread at a time */
typedef struct tv_db_stmt tv_db_stmt_t; /* a prepared statement, owned by its connection */

enum { TV_DB_DONE = 0, TV_DB_ROW = 1 };
#define TV_DB_MAX_PARAMS 32

/* Opens a pool of at most max_conns connections (one is opened now, to fail early). Returns
 * TV_OK and *out (owned by the caller, free with tv_db_close), or TV_EINVAL for a bad URL,
 * TV_EUNAVAIL when the database cannot be reached; err gets the reason. */
int tv_db_open(const char *url, int max_conns, tv_db_t **out, char *err, size_t errlen);
/* Closes every connection; all borrowed ones must have been released first. */
void tv_db_close(tv_db_t *db);
/* "sqlite" or "postgres". */
const char *tv_db_engine(const tv_db_t *db);

/* Borrows a connection, waiting up to 10 s for one: TV_EUNAVAIL on time-out or when a new
 * connection cannot be made. Give it back with tv_db_release on the same thread. */
int tv_db_acquire(tv_db_t *db, tv_db_conn_t **out);
void tv_db_release(tv_db_t *db, tv_db_conn_t *conn);
/* The pool's figures: connections lent out now, open (lent + idle), and the most allowed. */
void tv_db_pool_stats(tv_db_t *db, int *in_use, int *open, int *max);

/* Prepares sql (or takes it from the connection's cache). The statement is borrowed: call
 * tv_db_reset when done with it, before preparing the same sql again. */
int tv_db_prepare(tv_db_conn_t *conn, const char *sql, tv_db_stmt_t **out);
/* Binds parameter idx (1-based). Text is copied. */
int tv_db_bind_text(tv_db_stmt_t *st, int idx, const char *v);
int tv_db_bind_int64(tv_db_stmt_t *st, int idx, int64_t v);
int tv_db_bind_null(tv_db_stmt_t *st, int idx);
/* Runs the statement or moves to its next row: TV_DB_ROW, TV_DB_DONE, or a TV_E* code:
 * TV_ECONFLICT for a unique violation, TV_ERETRY for a serialization failure or lock
 * time-out, TV_EUNAVAIL for a lost connection, TV_EINTERNAL otherwise (see tv_db_errmsg). */
int tv_db_step(tv_db_stmt_t *st);
/* Column values of the current row; text is borrowed until the next step or reset and is
 * NULL for SQL NULL. */
const char *tv_db_column_text(tv_db_stmt_t *st, int col);
int64_t tv_db_column_int64(tv_db_stmt_t *st, int col);
int tv_db_column_is_null(tv_db_stmt_t *st, int col);
/* Rows changed by the last INSERT/UPDATE/DELETE run to completion. */
int64_t tv_db_changes(tv_db_stmt_t *st);
/* Clears bindings and result; the statement returns to the cache. */
void tv_db_reset(tv_db_stmt_t *st);
/* Prepare, bind all text args (NULL = SQL NULL), step to TV_DB_DONE and reset: for writes. */
int tv_db_execp(tv_db_conn_t *conn, const char *sql, int nargs, const char *const *args,
                int64_t *changes);

/* Runs one or more statements with no parameters and no result (schema scripts). */
int tv_db_exec(tv_db_conn_t *conn, const char *sql);
int tv_db_begin(tv_db_conn_t *conn);
int tv_db_commit(tv_db_conn_t *conn);
int tv_db_rollback(tv_db_conn_t *conn);
/* The last error of this connection, for logs only (never shown to clients). */
const char *tv_db_errmsg(tv_db_conn_t *conn);

/* Runs fn inside a transaction on a pooled connection: commits when fn returns TV_OK,
 * rolls back otherwise, and runs it again (up to 8 tries, with back-off) when fn or the
 * commit returns TV_ERETRY. Returns fn's result. fn may run several times: it must start
 * from ctx afresh each time.
 * Isolation differs by engine: SQLite lets one writer in at a time (BEGIN IMMEDIATE),
 * PostgreSQL runs READ COMMITTED. So never read a value and write it back computed: write
 * "SET n = n + $1" in one statement, or update only if unchanged and return TV_ERETRY when
 * no row changed. List columns by name (no SELECT *): cached statements outlive schema
 * changes made by another node. */
typedef int (*tv_db_tx_fn)(tv_db_conn_t *conn, void *ctx);
int tv_db_tx(tv_db_t *db, tv_db_tx_fn fn, void *ctx);

/* Schema migrations (migrate.c): applies every embedded migration newer than the database's
 * version, each in its own transaction, recorded in tv_schema_migrations. */
int tv_db_migrate_up(tv_db_t *db, char *err, size_t errlen);
/* Writes one line per migration ("applied"/"pending") to out. */
int tv_db_migrate_status(tv_db_t *db, void (*line)(const char *text, void *ud), void *ud);

#endif
