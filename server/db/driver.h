/* The contract between the SQL abstraction (db.c) and one engine (sqlite.c, pg.c). Only the
 * db room includes this. Every function returns TV_OK / TV_DB_ROW / TV_DB_DONE or a TV_E*
 * code with the meaning given in db.h; connection and statement handles are the driver's. */
#ifndef TV_DB_DRIVER_H
#define TV_DB_DRIVER_H

#include <stddef.h>
#include <stdint.h>

typedef struct tv_db_driver {
    const char *name;        /* "sqlite" / "postgres" */
    const char *scheme;      /* URL prefix it serves, e.g. "sqlite://" */
    /* SQL run inside the migration transaction before reading the version, so that two
     * nodes starting together apply each migration once; NULL when BEGIN already locks. */
    const char *migrate_lock_sql;

    int (*open)(const char *url, void **conn, char *err, size_t errlen);
    void (*close)(void *conn);
    int (*healthy)(void *conn);                 /* 0 when the connection must be dropped */
    const char *(*errmsg)(void *conn);

    /* sql uses $1..$N placeholders. The driver may keep the statement prepared for reuse
     * until finalize. */
    int (*prepare)(void *conn, const char *sql, void **stmt);
    int (*bind_text)(void *stmt, int idx, const char *v);   /* copies v */
    int (*bind_int64)(void *stmt, int idx, int64_t v);
    int (*bind_null)(void *stmt, int idx);
    int (*step)(void *stmt);                    /* first call executes */
    const char *(*column_text)(void *stmt, int col);
    int64_t (*column_int64)(void *stmt, int col);
    int (*column_is_null)(void *stmt, int col);
    int64_t (*changes)(void *stmt);
    void (*reset)(void *stmt);                  /* clear bindings and result */
    void (*finalize)(void *stmt);

    int (*exec)(void *conn, const char *sql);   /* several statements, no parameters */
    int (*begin)(void *conn);                   /* a write transaction */
    int (*commit)(void *conn);
    int (*rollback)(void *conn);
} tv_db_driver_t;

/* The engine behind a pool (for the db room's own use, e.g. migrate.c). */
struct tv_db;
const tv_db_driver_t *tv_db_driver_of(const struct tv_db *db);

extern const tv_db_driver_t tv_db_sqlite_driver;
extern const tv_db_driver_t tv_db_pg_driver;

#endif
