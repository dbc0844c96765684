/* Files compiled into the binary by tools/embed.c: the schema migrations (here) and the
 * console's web files (tv_web_console, declared in console.h). */
#ifndef TV_DB_EMBEDDED_H
#define TV_DB_EMBEDDED_H

#include <stddef.h>

typedef struct {
    const char *name; /* base name, e.g. "0001_init.sql", or path below web-console/ */
    const char *text; /* NUL-terminated */
    size_t len;
} tv_embedded_t;

/* Both lists end with a {NULL, NULL, 0} entry and are sorted by name. */
extern const tv_embedded_t tv_migrations_sqlite[];
extern const tv_embedded_t tv_migrations_postgres[];

#endif
