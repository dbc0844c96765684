/* Storage objects (Nakama's storage engine): JSON objects kept per (collection, key, owner),
 * with read permission 0 (server only), 1 (owner) or 2 (public), write permission 0 (server
 * only) or 1 (owner), and a version that is a hash of the value for optimistic concurrency.
 * The owner of a server-owned object is the nil UUID. Every call runs its SQL on the calling
 * thread (a worker), never on an event loop; nothing is cached in memory, so any number of
 * nodes may share one database. */
#ifndef TV_STORAGE_STORAGE_H
#define TV_STORAGE_STORAGE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct tv_db;

#define TV_STORAGE_SYSTEM_USER "00000000-0000-0000-0000-000000000000"
#define TV_STORAGE_COLLECTION_MAX 128 /* bytes */
#define TV_STORAGE_KEY_MAX 128        /* bytes */
#define TV_STORAGE_VALUE_MAX 65536    /* bytes of JSON text */
#define TV_STORAGE_BATCH_MAX 100      /* objects or ids per call */
#define TV_STORAGE_LIST_MAX 100       /* list limit: 1..100 */
/* A version is the lower-case hex of a 16-byte BLAKE2b (libsodium crypto_generichash, no key)
 * of the value's bytes: 32 characters, the same shape as Nakama's md5 hex, but not the same
 * digest. Clients treat versions as opaque, so only the shape matters to them. */
#define TV_STORAGE_VERSION_LEN 32

typedef struct tv_storage tv_storage_t;

/* One object to write, or the id of one to read or delete. Strings are borrowed (usually from
 * a parsed request); user_id is the owner, lower-case, the nil UUID for the server. */
typedef struct tv_storage_obj {
    const char *collection;
    const char *key;
    char user_id[TV_UUID_LEN + 1];
    const char *value;   /* writes: JSON object text */
    const char *version; /* writes: NULL/"" any, "*" only if absent, else only if unchanged;
                            deletes: NULL/"" any, else only if unchanged */
    int read, write;     /* writes: permissions (default 1 and 1) */
} tv_storage_obj_t;

/* A listing position: the last object of a page. */
typedef struct tv_storage_pos {
    int read;
    char key[TV_STORAGE_KEY_MAX + 1];
    char user_id[TV_UUID_LEN + 1];
} tv_storage_pos_t;

/* --- the store ------------------------------------------------------------------------- */

/* A store over db (borrowed; must outlive it). Cursors are signed with a key derived from
 * secret (the session key), so every node of a cluster with the same secret accepts the
 * cursors of the others. *out is owned by the caller (tv_storage_free). */
int tv_storage_new(struct tv_db *db, const char *secret, tv_storage_t **out);
void tv_storage_free(tv_storage_t *s);

/* In every call below caller is the signed-in user id (permissions apply as Nakama applies
 * them to clients) or NULL for the server (modules: no permission checks).
 * Errors: TV_EINVAL bad cursor (list); TV_ECONFLICT rejected (a version did not match, a
 * permission denied it, or a delete found nothing): nothing was written; database errors as
 * tv_db_tx returns them (TV_EUNAVAIL, TV_ERETRY, TV_EINTERNAL); TV_ENOMEM. */

/* Writes n objects in one transaction, all or nothing. *acks (owned by the caller) is a JSON
 * array of {collection, key, version, user_id, create_time, update_time}, in input order. */
int tv_storage_write(tv_storage_t *s, const char *caller, const tv_storage_obj_t *objs,
                     size_t n, cJSON **acks);
/* Reads the objects with these ids that exist and the caller may read (a client: its own with
 * read >= 1, others' with read 2). *objects (owned) is a JSON array in input order, each
 * object once; ids not found are left out. */
int tv_storage_read(tv_storage_t *s, const char *caller, const tv_storage_obj_t *ids, size_t n,
                    cJSON **objects);
/* Deletes n objects in one transaction. A client needs write permission 1; any id that matches
 * nothing (absent, other version, no permission) rejects the whole batch. The server's
 * deletes of absent objects without a version succeed. */
int tv_storage_delete(tv_storage_t *s, const char *caller, const tv_storage_obj_t *ids,
                      size_t n);
/* Lists a collection, limit (1..TV_STORAGE_LIST_MAX) objects after cursor (NULL/"" = from the
 * start), ordered by (read, key, user_id). owner NULL lists every owner. A client sees its
 * own objects with read >= 1 and others' with read 2. *objects (owned) is a JSON array;
 * *next (owned, NULL on the last page) continues the listing. */
int tv_storage_list(tv_storage_t *s, const char *caller, const char *owner,
                    const char *collection, int limit, const char *cursor, cJSON **objects,
                    char **next);

/* --- JSON requests ------------------------------------------------------------------------ */

typedef enum { TV_STORAGE_PARSE_WRITE, TV_STORAGE_PARSE_READ, TV_STORAGE_PARSE_DELETE }
    tv_storage_parse_t;

/* Reads a JSON array of objects (write) or ids (read, delete) and checks every one. owner
 * non-NULL forces the owner of all (a client writes and deletes only its own); NULL reads
 * each one's user_id ("" or absent = the server; a client read may not name the nil UUID
 * itself, as in Nakama, unless allow_nil). *out is calloc'd (free it) and borrows strings from
 * arr. TV_OK, or TV_EINVAL with *msg (static text for a 400), TV_ENOMEM. An empty or absent
 * array gives n 0 and *out NULL. */
int tv_storage_parse(const cJSON *arr, tv_storage_parse_t kind, const char *owner,
                     int allow_nil, tv_storage_obj_t **out, size_t *n, const char **msg);

/* --- pure rules (exported for the unit tests) --------------------------------------------- */

/* out[33] = the version of value (see TV_STORAGE_VERSION_LEN). */
void tv_storage_version(const char *value, char out[TV_STORAGE_VERSION_LEN + 1]);
/* NULL when o is a valid write (read 0..2, write 0..1, collection/key 1..128 bytes, value a
 * JSON object of at most TV_STORAGE_VALUE_MAX bytes), else the 400 message. */
const char *tv_storage_check_write(const tv_storage_obj_t *o);
/* 1 when caller (NULL = server) may read an object of owner with permission read. */
int tv_storage_can_read(const char *caller, const char *owner, int read);
/* The read permissions a listing by caller of owner (NULL = all owners) covers. */
void tv_storage_list_reads(const char *caller, const char *owner, int *min_read, int *max_read);
/* A cursor for pos within a listing named by scope (text the MAC covers, so a cursor works
 * only for the listing that made it). *out is malloc'd. TV_OK or TV_ENOMEM. */
int tv_storage_cursor_encode(const unsigned char key[32], const char *scope,
                             const tv_storage_pos_t *pos, char **out);
/* Reads a cursor back: TV_OK with *pos, TV_EINVAL when it is malformed, tampered with or
 * made for another listing. */
int tv_storage_cursor_decode(const unsigned char key[32], const char *scope, const char *cursor,
                             tv_storage_pos_t *pos);

/* --- module host entries ------------------------------------------------------------------ */

/* What the module host table's storage entries forward to (server/modules/host.c); JSON in
 * and out as module.h documents. Each returns a TV_GRPC_* code. */
typedef struct tv_storage_host_ops {
    int (*read)(const char *ids_json, char **objects_json);
    int (*write)(const char *objects_json, char **acks_json);
    int (*list)(const char *caller_id, const char *user_id, const char *collection, int limit,
                const char *cursor, char **result_json);
    int (*del)(const char *ids_json);
} tv_storage_host_ops_t;

/* Points the host table's storage entries at s (borrowed until tv_storage_host_uninstall,
 * which must come after the last module call). */
void tv_storage_host_install(tv_storage_t *s);
void tv_storage_host_uninstall(void);
/* Defined in server/modules/host.c: ops (static) or NULL (the entries answer UNAVAILABLE). */
void tv_mod_host_set_storage_ops(const tv_storage_host_ops_t *ops);

#endif
