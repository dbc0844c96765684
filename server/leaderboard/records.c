/* Leaderboard records: the atomic write (one upsert per operator), delete, the top list with
 * cursors, owner records and the window around an owner. Ranks come from the board's cache;
 * pages come from the database in the board's order (score, subscore, owner_id). */
#include "internal.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORD_COLS "owner_id, username, score, subscore, num_score, max_num_score, metadata, " \
                    "create_time, update_time, expiry_time"

static int fail(tv_lb_err_t *err, int code, const char *msg)
{
    err->code = code;
    snprintf(err->msg, sizeof err->msg, "%s", msg);
    return code;
}

static int db_fail(tv_lb_err_t *err, int rc)
{
    return fail(err, rc, rc == TV_EUNAVAIL || rc == TV_ERETRY ? "Service unavailable."
                                                               : "Internal server error.");
}

/* Nakama's LeaderboardRecord of the current row (rank added by the caller). */
static cJSON *record_json(const lb_board_t *b, tv_db_stmt_t *st)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "leaderboard_id", b->id);
    tv_json_add_str(r, "owner_id", tv_db_column_text(st, 0));
    tv_json_add_str(r, "username", tv_db_column_text(st, 1));
    tv_json_add_int64(r, "score", tv_db_column_int64(st, 2));
    tv_json_add_int64(r, "subscore", tv_db_column_int64(st, 3));
    tv_json_add_int(r, "num_score", tv_db_column_int64(st, 4));
    tv_json_add_str(r, "metadata", tv_db_column_text(st, 6));
    tv_json_add_time(r, "create_time", tv_db_column_int64(st, 7));
    tv_json_add_time(r, "update_time", tv_db_column_int64(st, 8));
    tv_json_add_time(r, "expiry_time", tv_db_column_int64(st, 9));
    tv_json_add_int(r, "max_num_score", tv_db_column_int64(st, 5));
    return r;
}

/* Finds the board for a record call and checks the API fits it. */
static lb_board_t *board_for(tv_lb_t *lb, const char *id, int flags, tv_lb_err_t *err)
{
    lb_board_t *b = tv_lb_board_acquire(lb, id);
    int want_tourn = (flags & TV_LB_TOURNAMENT) != 0;
    if (b && b->tournament == want_tourn)
        return b;
    tv_lb_board_release(b);
    fail(err, TV_ENOTFOUND, want_tourn ? "Tournament not found." : "Leaderboard not found.");
    return NULL;
}

/* --- write ----------------------------------------------------------------------------- */

/* The new value of column col ("score"/"subscore") given the request value $p. */
static void op_expr(char *buf, size_t n, int op, int desc, const char *col, int p)
{
    const char *old = strcmp(col, "score") == 0 ? "leaderboard_record.score"
                                                : "leaderboard_record.subscore";
    switch (op) {
    case TV_LB_OP_SET:
        snprintf(buf, n, "$%d", p);
        break;
    case TV_LB_OP_INCR:
        snprintf(buf, n, "%s + $%d", old, p);
        break;
    case TV_LB_OP_DECR:
        snprintf(buf, n, "CASE WHEN %s - $%d < 0 THEN 0 ELSE %s - $%d END", old, p, old, p);
        break;
    default: /* best: the better of the two, each column on its own */
        snprintf(buf, n, "CASE WHEN $%d %s %s THEN $%d ELSE %s END", p, desc ? ">" : "<", old,
                 p, old);
    }
}

/* The write statement. Parameters: $1 board, $2 owner, $3 username (NULL keeps), $4 score,
 * $5 subscore, $6 metadata (NULL keeps), $7 now, $8 expiry, $9 max_num_score (0 = any),
 * $10/$11 the values of a new record. A no-change write keeps num_score and update_time.
 * With update_only (tournaments that need a join) no record is created. The attempt limit
 * sits in the WHERE, so a write past it returns no row. */
static void write_sql(char *sql, size_t n, int op, int desc, int update_only)
{
    char s[160], ss[160], changed[600];
    op_expr(s, sizeof s, op, desc, "score", 4);
    op_expr(ss, sizeof ss, op, desc, "subscore", 5);
    snprintf(changed, sizeof changed,
             "(%s) <> leaderboard_record.score OR (%s) <> leaderboard_record.subscore OR "
             "COALESCE($6, leaderboard_record.metadata) <> leaderboard_record.metadata", s, ss);
    char set[2048];
    snprintf(set, sizeof set,
             "score = %s, subscore = %s, "
             "num_score = leaderboard_record.num_score + CASE WHEN %s THEN 1 ELSE 0 END, "
             "update_time = CASE WHEN %s THEN $7 ELSE leaderboard_record.update_time END, "
             "metadata = COALESCE($6, leaderboard_record.metadata), "
             "username = COALESCE($3, leaderboard_record.username), max_num_score = $9",
             s, ss, changed, changed);
    if (update_only)
        snprintf(sql, n,
                 "UPDATE leaderboard_record SET %s WHERE leaderboard_id = $1 AND owner_id = $2 "
                 "AND expiry_time = $8 AND ($9 = 0 OR leaderboard_record.num_score < $9) "
                 "RETURNING " RECORD_COLS, set);
    else
        snprintf(sql, n,
                 "INSERT INTO leaderboard_record (leaderboard_id, owner_id, username, score, "
                 "subscore, num_score, max_num_score, metadata, create_time, update_time, "
                 "expiry_time) VALUES ($1, $2, $3, $10, $11, 1, $9, COALESCE($6, '{}'), $7, $7, "
                 "$8) ON CONFLICT (leaderboard_id, expiry_time, owner_id) DO UPDATE SET %s "
                 "WHERE $9 = 0 OR leaderboard_record.num_score < $9 RETURNING " RECORD_COLS, set);
}

typedef struct {
    lb_board_t *b;
    const tv_lb_write_t *w;
    const char *sql;
    int op;
    int64_t now, expiry;
    int update_only;
    cJSON *record;           /* the row written, NULL when the statement changed nothing */
} write_ctx_t;

static int64_t new_value(int op, int64_t v)
{
    if (op != TV_LB_OP_DECR)
        return v;
    return v > 0 ? 0 : -v; /* 0 - v, floored at 0 */
}

static int write_tx(tv_db_conn_t *c, void *p)
{
    write_ctx_t *x = p;
    cJSON_Delete(x->record); /* a retried transaction starts afresh */
    x->record = NULL;
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(c, x->sql, &st);
    if (rc)
        return rc;
    const lb_board_t *b = x->b;
    tv_db_bind_text(st, 1, b->id);
    tv_db_bind_text(st, 2, x->w->owner);
    tv_db_bind_text(st, 3, x->w->username);
    tv_db_bind_int64(st, 4, x->w->score);
    tv_db_bind_int64(st, 5, x->w->subscore);
    tv_db_bind_text(st, 6, x->w->metadata);
    tv_db_bind_int64(st, 7, x->now);
    tv_db_bind_int64(st, 8, x->expiry);
    tv_db_bind_int64(st, 9, b->max_num_score);
    if (!x->update_only) {
        tv_db_bind_int64(st, 10, new_value(x->op, x->w->score));
        tv_db_bind_int64(st, 11, new_value(x->op, x->w->subscore));
    }
    rc = tv_db_step(st);
    if (rc == TV_DB_ROW) {
        x->record = record_json(b, st);
        /* still inside the transaction: the row lock (PostgreSQL) or the single writer
         * (SQLite) keeps writers of this record in commit order here too */
        tv_lb_cache_apply_board(x->b, x->expiry, tv_db_column_text(st, 0),
                                tv_db_column_int64(st, 2), tv_db_column_int64(st, 3));
        while ((rc = tv_db_step(st)) == TV_DB_ROW) /* drain (one row) so the write completes */
            ;
    }
    tv_db_reset(st);
    return rc == TV_DB_DONE ? TV_OK : rc;
}

/* Puts the database's view of owner back into the cache after a failed transaction (the cache
 * may hold a value that was rolled back). */
static void resync_owner(tv_lb_t *lb, lb_board_t *b, const char *owner, int64_t expiry)
{
    tv_db_conn_t *c;
    if (tv_db_acquire(lb->db, &c))
        return;
    tv_db_stmt_t *st;
    if (tv_db_prepare(c, "SELECT score, subscore FROM leaderboard_record WHERE leaderboard_id = "
                         "$1 AND expiry_time = $2 AND owner_id = $3", &st) == TV_OK) {
        tv_db_bind_text(st, 1, b->id);
        tv_db_bind_int64(st, 2, expiry);
        tv_db_bind_text(st, 3, owner);
        if (tv_db_step(st) == TV_DB_ROW)
            tv_lb_cache_apply_board(b, expiry, owner, tv_db_column_int64(st, 0),
                                    tv_db_column_int64(st, 1));
        else
            tv_lb_cache_remove_board(b, expiry, owner);
        tv_db_reset(st);
    }
    tv_db_release(lb->db, c);
}

static int check_write(const lb_board_t *b, const tv_lb_write_t *w, int flags, tv_lb_err_t *err)
{
    if ((flags & TV_LB_CLIENT) && b->authoritative)
        return fail(err, TV_EPERM, b->tournament
                                       ? "Tournament only allows authoritative submissions."
                                       : "Leaderboard only allows authoritative submissions.");
    if (!w->owner || !tv_uuid_valid(w->owner))
        return fail(err, TV_EINVAL, "Invalid owner ID: must be a UUID.");
    if (w->username && (strlen(w->username) > 128 || !tv_utf8_valid(w->username)))
        return fail(err, TV_EINVAL, "Invalid username.");
    if (w->metadata && !tv_lb_metadata_ok(w->metadata))
        return fail(err, TV_EINVAL, "Metadata value must be a JSON object of at most 16 KB.");
    if (w->op < TV_LB_OP_NONE || w->op > TV_LB_OP_DECR)
        return fail(err, TV_EINVAL, "Invalid operator.");
    return TV_OK;
}

/* A tournament accepts a write inside its active window, from a joined owner when it needs a
 * join, and a new entrant only while there is room. */
static int check_tournament(lb_board_t *b, const lb_window_t *wn, int64_t now, tv_lb_err_t *err)
{
    if (now < b->start_time || now < wn->start_active || now >= wn->end_active ||
        (b->end_time && now >= b->end_time))
        return fail(err, TV_EINVAL, "Tournament is not active and cannot accept new scores.");
    return TV_OK;
}

/* 1 when the tournament has no room for a new entrant in period expiry. */
static int tournament_full(lb_board_t *b, int64_t expiry)
{
    int64_t count = 0;
    tv_lb_cached_rank(b, expiry, "", &count);
    return b->max_size > 0 && count >= b->max_size;
}

int tv_lb_write_record(tv_lb_t *lb, const char *id, const tv_lb_write_t *w, int flags,
                       int64_t now, cJSON **record, tv_lb_err_t *err)
{
    *record = NULL;
    lb_board_t *b = board_for(lb, id, flags, err);
    if (!b)
        return err->code;
    int rc = check_write(b, w, flags, err);
    lb_window_t wn;
    tv_lb_window(b, now, &wn);
    if (!rc && b->tournament)
        rc = check_tournament(b, &wn, now, err);
    if (rc) {
        tv_lb_board_release(b);
        return rc;
    }
    int64_t expiry = tv_lb_sync_period(b, now);
    int op = w->op ? w->op : b->op;
    int known = tv_lb_cached_rank(b, expiry, w->owner, NULL) > 0;
    int update_only = b->tournament && b->join_required;
    char sql[4096];
    write_sql(sql, sizeof sql, op, b->desc, update_only);
    write_ctx_t x = {b, w, sql, op, now, expiry, update_only, NULL};
    /* a new entrant into a sized tournament: one at a time, so the count check holds */
    int gate = b->tournament && b->max_size > 0 && !known && !update_only;
    if (gate)
        pthread_mutex_lock(&b->join_mu);
    if (gate && tournament_full(b, expiry))
        rc = fail(err, TV_EINVAL, "Tournament has reached the maximum number of participants.");
    else if ((rc = tv_db_tx(lb->db, write_tx, &x)) != TV_OK)
        resync_owner(lb, b, w->owner, expiry);
    if (gate)
        pthread_mutex_unlock(&b->join_mu);
    if (rc == TV_OK && !x.record) {
        if (update_only && !tv_lb_cached_rank(b, expiry, w->owner, NULL))
            rc = fail(err, TV_EINVAL, "Must join tournament before attempting to write value.");
        else
            rc = fail(err, TV_EINVAL, "Maximum number of score attempts reached.");
    } else if (rc == TV_OK) {
        tv_json_add_int64(x.record, "rank", tv_lb_cached_rank(b, expiry, w->owner, NULL));
        *record = x.record;
    } else if (rc != TV_EINVAL) {
        db_fail(err, rc);
    }
    tv_lb_board_release(b);
    return rc;
}

/* --- delete ---------------------------------------------------------------------------- */

int tv_lb_delete_record(tv_lb_t *lb, const char *id, const char *owner, int flags, int64_t now,
                        tv_lb_err_t *err)
{
    lb_board_t *b = board_for(lb, id, flags, err);
    if (!b)
        return err->code;
    int rc = TV_OK;
    if ((flags & TV_LB_CLIENT) && b->authoritative)
        rc = fail(err, TV_EPERM, "Leaderboard only allows authoritative score deletions.");
    else if (!owner || !tv_uuid_valid(owner))
        rc = fail(err, TV_EINVAL, "Invalid owner ID: must be a UUID.");
    if (rc) {
        tv_lb_board_release(b);
        return rc;
    }
    int64_t expiry = tv_lb_sync_period(b, now);
    char e[24];
    tv_i64_str(e, expiry);
    const char *args[] = {b->id, owner, e};
    tv_db_conn_t *c;
    int64_t changed = 0;
    rc = tv_db_acquire(lb->db, &c);
    if (rc == TV_OK) {
        rc = tv_db_execp(c, "DELETE FROM leaderboard_record WHERE leaderboard_id = $1 AND "
                            "owner_id = $2 AND expiry_time = CAST($3 AS BIGINT)", 3, args,
                         &changed);
        tv_db_release(lb->db, c);
    }
    if (rc == TV_DB_DONE)
        tv_lb_cache_remove_board(b, expiry, owner);
    tv_lb_board_release(b);
    if (rc == TV_DB_DONE && !changed && (flags & TV_LB_MUST_EXIST))
        return fail(err, TV_ENOTFOUND, "Leaderboard record not found.");
    return rc == TV_DB_DONE ? TV_OK : db_fail(err, rc);
}

/* --- cursors --------------------------------------------------------------------------- */

/* A page boundary: the record's key and rank, and the direction to go from it. */
typedef struct {
    int next;                /* 1: the records after key; 0: those before it */
    int64_t expiry, rank, score, subscore;
    char owner[TV_LB_OWNER_MAX + 1];
} cursor_t;

static char *cursor_encode(const cursor_t *c)
{
    char raw[160];
    int n = snprintf(raw, sizeof raw, "%c|%" PRId64 "|%" PRId64 "|%" PRId64 "|%" PRId64 "|%s",
                     c->next ? 'n' : 'p', c->expiry, c->rank, c->score, c->subscore, c->owner);
    size_t len = sodium_base64_encoded_len((size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(len);
    if (out)
        sodium_bin2base64(out, len, (const unsigned char *)raw, (size_t)n,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

static int cursor_decode(const char *s, cursor_t *c)
{
    unsigned char raw[160];
    size_t n;
    if (strlen(s) > 200 ||
        sodium_base642bin(raw, sizeof raw - 1, s, strlen(s), NULL, &n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return TV_EINVAL;
    raw[n] = 0;
    char dir, owner[64];
    if (sscanf((char *)raw, "%c|%" SCNd64 "|%" SCNd64 "|%" SCNd64 "|%" SCNd64 "|%40s", &dir,
               &c->expiry, &c->rank, &c->score, &c->subscore, owner) != 6 ||
        (dir != 'n' && dir != 'p') || !tv_uuid_valid(owner) || c->rank < 1)
        return TV_EINVAL;
    c->next = dir == 'n';
    memcpy(c->owner, owner, TV_LB_OWNER_MAX + 1); /* a valid UUID: 36 chars and the NUL */
    return TV_OK;
}

static void cursor_from(cJSON *rec, int64_t expiry, int64_t rank, int next, cursor_t *c)
{
    memset(c, 0, sizeof *c);
    c->next = next;
    c->expiry = expiry;
    c->rank = rank;
    cJSON *s = cJSON_GetObjectItemCaseSensitive(rec, "score");
    cJSON *ss = cJSON_GetObjectItemCaseSensitive(rec, "subscore");
    cJSON *o = cJSON_GetObjectItemCaseSensitive(rec, "owner_id");
    c->score = cJSON_IsString(s) ? strtoll(s->valuestring, NULL, 10) : 0;
    c->subscore = cJSON_IsString(ss) ? strtoll(ss->valuestring, NULL, 10) : 0;
    snprintf(c->owner, sizeof c->owner, "%s", cJSON_IsString(o) ? o->valuestring : "");
}

/* --- pages ----------------------------------------------------------------------------- */

/* Reads up to limit records of period expiry in board order (forward) or reversed, starting
 * after (or at, when inclusive) key; NULL key = from the end. Appends record JSONs to arr. */
static int read_page(tv_db_conn_t *c, const lb_board_t *b, int64_t expiry, const cursor_t *key,
                     int forward, int inclusive, int limit, cJSON *arr)
{
    int down = b->desc == forward; /* ORDER BY ... DESC */
    const char *d = down ? "DESC" : "ASC";
    char cond[120] = "", sql[700];
    if (key)
        snprintf(cond, sizeof cond, " AND (score, subscore, owner_id) %s%s ($3, $4, $5)",
                 down ? "<" : ">", inclusive ? "=" : "");
    snprintf(sql, sizeof sql, "SELECT " RECORD_COLS " FROM leaderboard_record WHERE "
             "leaderboard_id = $1 AND expiry_time = $2%s ORDER BY score %s, subscore %s, "
             "owner_id %s LIMIT $%d", cond, d, d, d, key ? 6 : 3);
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(c, sql, &st);
    if (rc)
        return rc;
    tv_db_bind_text(st, 1, b->id);
    tv_db_bind_int64(st, 2, expiry);
    if (key) {
        tv_db_bind_int64(st, 3, key->score);
        tv_db_bind_int64(st, 4, key->subscore);
        tv_db_bind_text(st, 5, key->owner);
    }
    tv_db_bind_int64(st, key ? 6 : 3, limit);
    while ((rc = tv_db_step(st)) == TV_DB_ROW)
        cJSON_AddItemToArray(arr, record_json(b, st));
    tv_db_reset(st);
    return rc == TV_DB_DONE ? TV_OK : rc;
}

/* Reverses arr in place by relinking (at most TV_LB_LIST_MAX + 1 items). */
static void reverse(cJSON *arr)
{
    cJSON *items[TV_LB_LIST_MAX + 1];
    int n = 0;
    while (arr->child && n < TV_LB_LIST_MAX + 1)
        items[n++] = cJSON_DetachItemViaPointer(arr, arr->child);
    while (n > 0)
        cJSON_AddItemToArray(arr, items[--n]);
}

static void number_ranks(cJSON *arr, int64_t first)
{
    cJSON *r;
    cJSON_ArrayForEach(r, arr) tv_json_add_int64(r, "rank", first++);
}

/* The top page: rows, ranks by position, next/prev cursors. */
static int top_page(tv_db_conn_t *c, const lb_board_t *b, int64_t expiry, const cursor_t *cur,
                    int limit, cJSON *out)
{
    cJSON *arr = cJSON_CreateArray();
    int forward = !cur || cur->next;
    int rc = read_page(c, b, expiry, cur, forward, 0, limit + 1, arr);
    int n = cJSON_GetArraySize(arr), more = n > limit;
    if (more)
        cJSON_DeleteItemFromArray(arr, n - 1), n--;
    if (!forward)
        reverse(arr);
    int64_t first = !cur ? 1 : forward ? cur->rank + 1 : cur->rank - n;
    if (first < 1)
        first = 1; /* the board changed under the cursor: positions restart at the top */
    number_ranks(arr, first);
    cursor_t nc;
    char *tok;
    if (n && (forward ? more : cur != NULL)) {
        cursor_from(cJSON_GetArrayItem(arr, n - 1), expiry, first + n - 1, 1, &nc);
        if ((tok = cursor_encode(&nc)))
            cJSON_AddStringToObject(out, "next_cursor", tok);
        free(tok);
    }
    if (n && first > 1 && (forward || more)) {
        cursor_from(cJSON_GetArrayItem(arr, 0), expiry, first, 0, &nc);
        if ((tok = cursor_encode(&nc)))
            cJSON_AddStringToObject(out, "prev_cursor", tok);
        free(tok);
    }
    if (n)
        cJSON_AddItemToObject(out, "records", arr);
    else
        cJSON_Delete(arr);
    return rc;
}

/* The records of the listed owners, with their cached ranks. */
static int owner_records(tv_db_conn_t *c, lb_board_t *b, int64_t expiry,
                         const char *const *owners, size_t n, cJSON *out)
{
    cJSON *arr = cJSON_CreateArray();
    int rc = TV_OK;
    for (size_t i = 0; i < n && rc == TV_OK; i++) {
        tv_db_stmt_t *st;
        rc = tv_db_prepare(c, "SELECT " RECORD_COLS " FROM leaderboard_record WHERE "
                              "leaderboard_id = $1 AND expiry_time = $2 AND owner_id = $3", &st);
        if (rc)
            break;
        tv_db_bind_text(st, 1, b->id);
        tv_db_bind_int64(st, 2, expiry);
        tv_db_bind_text(st, 3, owners[i]);
        if ((rc = tv_db_step(st)) == TV_DB_ROW) {
            cJSON *r = record_json(b, st);
            tv_json_add_int64(r, "rank", tv_lb_cached_rank(b, expiry, owners[i], NULL));
            cJSON_AddItemToArray(arr, r);
        }
        tv_db_reset(st);
        rc = rc < 0 ? rc : TV_OK;
    }
    tv_json_add_list(out, "owner_records", arr);
    return rc;
}

static void add_rank_count(cJSON *out, lb_board_t *b, int64_t expiry)
{
    int64_t count = 0;
    tv_lb_cached_rank(b, expiry, "", &count);
    tv_json_add_int64(out, "rank_count", count);
}

int tv_lb_list_records(tv_lb_t *lb, const char *id, const tv_lb_query_t *q, int flags,
                       int64_t now, cJSON **out, tv_lb_err_t *err)
{
    *out = NULL;
    if (q->limit < 0 || q->limit > TV_LB_LIST_MAX)
        return fail(err, TV_EINVAL, "Invalid limit - limit must be between 1 and 1000.");
    if (q->nowners > TV_LB_OWNERS_MAX)
        return fail(err, TV_EINVAL, "Too many owner IDs: at most 100.");
    for (size_t i = 0; i < q->nowners; i++)
        if (!tv_uuid_valid(q->owners[i]))
            return fail(err, TV_EINVAL, "One or more owner IDs are invalid.");
    cursor_t cur;
    int has_cur = q->cursor && *q->cursor;
    if (has_cur && cursor_decode(q->cursor, &cur))
        return fail(err, TV_EINVAL, "Cursor is invalid or expired.");
    lb_board_t *b = board_for(lb, id, flags, err);
    if (!b)
        return err->code;
    int64_t expiry = tv_lb_sync_period(b, now);
    if (q->expiry > 0)
        expiry = q->expiry;
    if (has_cur && cur.expiry != expiry) {
        tv_lb_board_release(b);
        return fail(err, TV_EINVAL, "Cursor is invalid or expired.");
    }
    /* Nakama: no limit lists one record, unless owners alone were asked for */
    int limit = q->limit ? q->limit : (q->nowners && !has_cur ? 0 : 1);
    tv_db_conn_t *c;
    int rc = tv_db_acquire(lb->db, &c);
    cJSON *o = cJSON_CreateObject();
    if (rc == TV_OK) {
        if (limit)
            rc = top_page(c, b, expiry, has_cur ? &cur : NULL, limit, o);
        if (rc == TV_OK)
            rc = owner_records(c, b, expiry, q->owners, q->nowners, o);
        tv_db_release(lb->db, c);
    }
    add_rank_count(o, b, expiry);
    tv_lb_board_release(b);
    if (rc) {
        cJSON_Delete(o);
        return db_fail(err, rc);
    }
    *out = o;
    return TV_OK;
}

int tv_lb_list_around(tv_lb_t *lb, const char *id, const char *owner, int limit, int flags,
                      int64_t now, cJSON **out, tv_lb_err_t *err)
{
    *out = NULL;
    if (limit < 0 || limit > TV_LB_AROUND_MAX)
        return fail(err, TV_EINVAL, "Invalid limit - limit must be between 1 and 100.");
    if (!owner || !tv_uuid_valid(owner))
        return fail(err, TV_EINVAL, "Invalid owner ID: must be a UUID.");
    limit = limit ? limit : 1;
    lb_board_t *b = board_for(lb, id, flags, err);
    if (!b)
        return err->code;
    int64_t expiry = tv_lb_sync_period(b, now), count = 0, start = 0;
    tv_lb_rank_entry_t first;
    int have = 0;
    pthread_rwlock_rdlock(&b->lock);
    int64_t rank = b->period == expiry ? tv_lb_rank_of(b->rank, owner) : 0;
    count = (int64_t)tv_lb_rank_count(b->rank);
    if (rank) { /* centre the owner; at either end, fill the window from the other side */
        start = rank - limit / 2;
        if (start + limit - 1 > count)
            start = count - limit + 1;
        if (start < 1)
            start = 1;
        have = tv_lb_rank_at(b->rank, start, &first);
    }
    pthread_rwlock_unlock(&b->lock);
    cJSON *o = cJSON_CreateObject();
    int rc = TV_OK;
    if (have) {
        cursor_t key = {1, expiry, start, first.score, first.subscore, ""};
        snprintf(key.owner, sizeof key.owner, "%s", first.owner);
        cJSON *arr = cJSON_CreateArray();
        tv_db_conn_t *c;
        if ((rc = tv_db_acquire(lb->db, &c)) == TV_OK) {
            rc = read_page(c, b, expiry, &key, 1, 1, limit, arr);
            tv_db_release(lb->db, c);
        }
        number_ranks(arr, start);
        tv_json_add_list(o, "records", arr);
    }
    add_rank_count(o, b, expiry);
    tv_lb_board_release(b);
    if (rc) {
        cJSON_Delete(o);
        return db_fail(err, rc);
    }
    *out = o;
    return TV_OK;
}

int tv_lb_rank(tv_lb_t *lb, const char *id, const char *owner, int64_t now, int64_t *rank,
               int64_t *count)
{
    lb_board_t *b = tv_lb_board_acquire(lb, id);
    if (!b)
        return TV_ENOTFOUND;
    int64_t expiry = tv_lb_sync_period(b, now);
    *rank = tv_lb_cached_rank(b, expiry, owner ? owner : "", count);
    tv_lb_board_release(b);
    return TV_OK;
}
