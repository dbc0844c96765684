/* The board registry, the rank caches and the record operations on the database. Boards live
 * in a small array under one mutex, reference-counted so a delete never frees a board in use;
 * each board's cache (a rank.c structure of its current reset period) has its own rwlock.
 * Operators are applied by one upsert statement, so concurrent writers never lose an update on
 * either engine; the cache is updated inside the same transaction, while the row lock (or
 * SQLite's single writer) still orders writers of the same record. */
#include "leaderboard.h"
#include "internal.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- boards ---------------------------------------------------------------------------- */

static void board_unref(lb_board_t *b)
{
    if (!b || atomic_fetch_sub(&b->refs, 1) != 1)
        return;
    tv_lb_rank_free(b->rank);
    pthread_rwlock_destroy(&b->lock);
    pthread_mutex_destroy(&b->join_mu);
    free(b->reset);
    free(b->metadata);
    free(b->title);
    free(b->description);
    free(b);
}

void tv_lb_board_release(lb_board_t *b)
{
    board_unref(b);
}

lb_board_t *tv_lb_board_acquire(tv_lb_t *lb, const char *id)
{
    lb_board_t *found = NULL;
    pthread_mutex_lock(&lb->mu);
    for (size_t i = 0; i < lb->n && id; i++)
        if (strcmp(lb->boards[i]->id, id) == 0) {
            found = lb->boards[i];
            atomic_fetch_add(&found->refs, 1);
            break;
        }
    pthread_mutex_unlock(&lb->mu);
    return found;
}

static char *dup_or(const char *s, const char *dflt)
{
    return strdup(s ? s : dflt);
}

/* A board from a checked definition (no cache contents yet). */
static lb_board_t *board_new(const tv_lb_def_t *d, int64_t create_time)
{
    lb_board_t *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    atomic_init(&b->refs, 1);
    pthread_rwlock_init(&b->lock, NULL);
    pthread_mutex_init(&b->join_mu, NULL);
    snprintf(b->id, sizeof b->id, "%s", d->id);
    b->authoritative = d->authoritative != 0;
    b->desc = d->descending != 0;
    b->op = d->op;
    b->has_reset = d->reset && *d->reset && tv_lb_cron_parse(d->reset, &b->cron) == TV_OK;
    b->create_time = create_time;
    b->tournament = d->tournament != 0;
    b->category = d->category;
    b->start_time = d->start_time;
    b->end_time = d->end_time;
    b->duration = d->duration;
    b->max_size = d->max_size;
    b->max_num_score = d->max_num_score;
    b->join_required = d->join_required != 0;
    b->period = -1; /* nothing cached yet */
    b->reset = dup_or(d->reset, "");
    b->metadata = dup_or(d->metadata, "{}");
    b->title = dup_or(d->title, "");
    b->description = dup_or(d->description, "");
    b->rank = tv_lb_rank_new(b->desc);
    if (!b->reset || !b->metadata || !b->title || !b->description || !b->rank) {
        board_unref(b);
        return NULL;
    }
    return b;
}

static int registry_add(tv_lb_t *lb, lb_board_t *b)
{
    pthread_mutex_lock(&lb->mu);
    if (lb->n == lb->cap) {
        size_t cap = lb->cap ? lb->cap * 2 : 16;
        lb_board_t **nb = realloc(lb->boards, cap * sizeof *nb);
        if (!nb) {
            pthread_mutex_unlock(&lb->mu);
            return TV_ENOMEM;
        }
        lb->boards = nb;
        lb->cap = cap;
    }
    lb->boards[lb->n++] = b;
    pthread_cond_broadcast(&lb->cv); /* the reset thread recomputes its next wake-up */
    pthread_mutex_unlock(&lb->mu);
    return TV_OK;
}

/* Removes id from the registry and returns the registry's reference (NULL when absent). */
static lb_board_t *registry_take(tv_lb_t *lb, const char *id)
{
    lb_board_t *b = NULL;
    pthread_mutex_lock(&lb->mu);
    for (size_t i = 0; i < lb->n; i++)
        if (strcmp(lb->boards[i]->id, id) == 0) {
            b = lb->boards[i];
            lb->boards[i] = lb->boards[--lb->n];
            break;
        }
    pthread_mutex_unlock(&lb->mu);
    return b;
}

/* --- periods and windows --------------------------------------------------------------- */

void tv_lb_window(const lb_board_t *b, int64_t now, lb_window_t *w)
{
    memset(w, 0, sizeof *w);
    int64_t base = b->tournament && b->start_time > now ? b->start_time : now;
    if (b->has_reset) {
        int64_t next = tv_lb_cron_next(&b->cron, base), prev = tv_lb_cron_prev(&b->cron, base);
        w->next_reset = next > 0 ? next : 0;
        w->prev_reset = prev > 0 ? prev : 0;
    }
    w->expiry = w->next_reset;
    if (!b->tournament)
        return;
    w->start_active = b->start_time;
    if (b->has_reset && w->prev_reset > b->start_time)
        w->start_active = w->prev_reset;
    w->end_active = w->start_active + b->duration;
    if (!b->has_reset)
        w->expiry = b->end_time;
    if (b->end_time > 0 && w->end_active > b->end_time)
        w->end_active = b->end_time;
    if (b->end_time > 0 && (w->expiry == 0 || w->expiry > b->end_time))
        w->expiry = b->end_time;
}

/* The expiry of the current period, after moving the cache into it if a reset passed (the new
 * period starts empty: its records are written with the new expiry). */
int64_t tv_lb_sync_period(lb_board_t *b, int64_t now)
{
    lb_window_t w;
    tv_lb_window(b, now, &w);
    pthread_rwlock_rdlock(&b->lock);
    int same = b->period == w.expiry;
    pthread_rwlock_unlock(&b->lock);
    if (same)
        return w.expiry;
    pthread_rwlock_wrlock(&b->lock);
    if (b->period != w.expiry) {
        if (b->period > 0) /* for the reset thread, whoever noticed the reset first */
            b->last_ended = b->period;
        tv_lb_rank_clear(b->rank);
        b->period = w.expiry;
    }
    pthread_rwlock_unlock(&b->lock);
    return w.expiry;
}

/* --- cache hooks ----------------------------------------------------------------------- */

int tv_lb_cache_apply_board(lb_board_t *b, int64_t expiry, const char *owner, int64_t score,
                             int64_t subscore)
{
    int rc = TV_OK;
    pthread_rwlock_wrlock(&b->lock);
    if (b->period == expiry && (rc = tv_lb_rank_set(b->rank, owner, score, subscore)) != TV_OK)
        tv_lb_rank_remove(b->rank, owner); /* a missing rank beats a wrong one */
    pthread_rwlock_unlock(&b->lock);
    return rc;
}

void tv_lb_cache_remove_board(lb_board_t *b, int64_t expiry, const char *owner)
{
    pthread_rwlock_wrlock(&b->lock);
    if (b->period == expiry)
        tv_lb_rank_remove(b->rank, owner);
    pthread_rwlock_unlock(&b->lock);
}

int tv_lb_cache_apply(tv_lb_t *lb, const char *id, int64_t expiry, const char *owner,
                      int64_t score, int64_t subscore)
{
    lb_board_t *b = tv_lb_board_acquire(lb, id);
    int rc = b ? tv_lb_cache_apply_board(b, expiry, owner, score, subscore) : TV_OK;
    board_unref(b);
    return rc;
}

void tv_lb_cache_remove(tv_lb_t *lb, const char *id, int64_t expiry, const char *owner)
{
    lb_board_t *b = tv_lb_board_acquire(lb, id);
    if (b)
        tv_lb_cache_remove_board(b, expiry, owner);
    board_unref(b);
}

void tv_lb_forget_owner(tv_lb_t *lb, const char *owner)
{
    if (!lb)
        return;
    size_t n = 0;
    lb_board_t **all = tv_lb_snapshot(lb, &n);
    for (size_t i = 0; i < n; i++) {
        pthread_rwlock_wrlock(&all[i]->lock);
        tv_lb_rank_remove(all[i]->rank, owner);
        pthread_rwlock_unlock(&all[i]->lock);
    }
    tv_lb_snapshot_free(all, n);
}

int64_t tv_lb_cached_rank(lb_board_t *b, int64_t expiry, const char *owner, int64_t *count)
{
    pthread_rwlock_rdlock(&b->lock);
    int64_t r = b->period == expiry ? tv_lb_rank_of(b->rank, owner) : 0;
    if (count)
        *count = b->period == expiry ? (int64_t)tv_lb_rank_count(b->rank) : 0;
    pthread_rwlock_unlock(&b->lock);
    return r;
}

/* --- start-up load --------------------------------------------------------------------- */

#define BOARD_COLS "id, authoritative, sort_order, operator, reset_schedule, metadata, " \
                   "create_time, tournament, category, title, description, duration, "   \
                   "start_time, end_time, max_size, max_num_score, join_required"

static lb_board_t *board_from_row(tv_db_stmt_t *st)
{
    tv_lb_def_t d = {
        .id = tv_db_column_text(st, 0),
        .authoritative = (int)tv_db_column_int64(st, 1),
        .descending = (int)tv_db_column_int64(st, 2),
        .op = (int)tv_db_column_int64(st, 3),
        .reset = tv_db_column_text(st, 4),
        .metadata = tv_db_column_text(st, 5),
        .tournament = (int)tv_db_column_int64(st, 7),
        .category = (int)tv_db_column_int64(st, 8),
        .title = tv_db_column_text(st, 9),
        .description = tv_db_column_text(st, 10),
        .duration = tv_db_column_int64(st, 11),
        .start_time = tv_db_column_int64(st, 12),
        .end_time = tv_db_column_int64(st, 13),
        .max_size = tv_db_column_int64(st, 14),
        .max_num_score = tv_db_column_int64(st, 15),
        .join_required = (int)tv_db_column_int64(st, 16),
    };
    return board_new(&d, tv_db_column_int64(st, 6));
}

/* Fills b's cache with the records of the current period. */
static int load_ranks(tv_db_conn_t *c, lb_board_t *b, int64_t now)
{
    lb_window_t w;
    tv_lb_window(b, now, &w);
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(c, "SELECT owner_id, score, subscore FROM leaderboard_record "
                              "WHERE leaderboard_id = $1 AND expiry_time = $2", &st);
    if (rc)
        return rc;
    tv_db_bind_text(st, 1, b->id);
    tv_db_bind_int64(st, 2, w.expiry);
    pthread_rwlock_wrlock(&b->lock);
    tv_lb_rank_clear(b->rank);
    b->period = w.expiry;
    b->fired = now; /* periods that ended while the server was down are not announced */
    while ((rc = tv_db_step(st)) == TV_DB_ROW) {
        const char *owner = tv_db_column_text(st, 0);
        if (tv_lb_rank_set(b->rank, owner, tv_db_column_int64(st, 1),
                           tv_db_column_int64(st, 2)) == TV_ENOMEM) {
            rc = TV_ENOMEM;
            break;
        }
    }
    pthread_rwlock_unlock(&b->lock);
    tv_db_reset(st);
    return rc == TV_DB_DONE ? TV_OK : rc;
}

static int load_all(tv_lb_t *lb)
{
    tv_db_conn_t *c;
    int rc = tv_db_acquire(lb->db, &c);
    if (rc)
        return rc;
    tv_db_stmt_t *st = NULL;
    rc = tv_db_prepare(c, "SELECT " BOARD_COLS " FROM leaderboard ORDER BY id", &st);
    while (rc == TV_OK && (rc = tv_db_step(st)) == TV_DB_ROW) {
        lb_board_t *b = board_from_row(st);
        rc = b ? registry_add(lb, b) : TV_ENOMEM;
        if (rc)
            board_unref(b);
    }
    if (st)
        tv_db_reset(st);
    rc = rc == TV_DB_DONE ? TV_OK : rc;
    int64_t now = tv_now_s(), records = 0, t0 = tv_mono_ms();
    for (size_t i = 0; i < lb->n && rc == TV_OK; i++) {
        rc = load_ranks(c, lb->boards[i], now);
        records += (int64_t)tv_lb_rank_count(lb->boards[i]->rank);
    }
    if (rc)
        tv_log_error("leaderboard", "loading: %s", tv_db_errmsg(c));
    else
        tv_log_info("leaderboard", "loaded %zu boards, %" PRId64 " ranked records in %" PRId64
                    " ms", lb->n, records, tv_mono_ms() - t0);
    tv_db_release(lb->db, c);
    return rc;
}

int tv_lb_new(tv_db_t *db, tv_lb_t **out)
{
    tv_lb_t *lb = calloc(1, sizeof *lb);
    if (!lb)
        return TV_ENOMEM;
    lb->db = db;
    pthread_mutex_init(&lb->mu, NULL);
    tv_cond_init_monotonic(&lb->cv);
    int rc = load_all(lb);
    if (rc) {
        tv_lb_free(lb);
        return rc;
    }
    *out = lb;
    return TV_OK;
}

void tv_lb_free(tv_lb_t *lb)
{
    if (!lb)
        return;
    tv_lb_stop_resets(lb);
    for (size_t i = 0; i < lb->n; i++)
        board_unref(lb->boards[i]);
    free(lb->boards);
    pthread_mutex_destroy(&lb->mu);
    pthread_cond_destroy(&lb->cv);
    free(lb);
}

/* --- create / delete / list boards ----------------------------------------------------- */

int tv_lb_parse_sort(const char *s, int *descending)
{
    if (s && (!strcmp(s, "desc") || !strcmp(s, "descending") || !strcmp(s, "1")))
        *descending = 1;
    else if (s && (!strcmp(s, "asc") || !strcmp(s, "ascending") || !strcmp(s, "0")))
        *descending = 0;
    else
        return TV_EINVAL;
    return TV_OK;
}

int tv_lb_parse_op(const char *s, int *op)
{
    static const char *const names[][3] = {
        {"best", "BEST", "1"}, {"set", "SET", "2"}, {"incr", "increment", "3"},
        {"decr", "decrement", "4"},
    };
    for (int i = 0; s && i < 4; i++)
        for (int j = 0; j < 3; j++)
            if (strcmp(s, names[i][j]) == 0 || (j < 2 && strcasecmp(s, names[i][j]) == 0)) {
                *op = i + 1;
                return TV_OK;
            }
    return TV_EINVAL;
}

static int fail(tv_lb_err_t *err, int code, const char *msg)
{
    if (err) {
        err->code = code;
        snprintf(err->msg, sizeof err->msg, "%s", msg);
    }
    return code;
}

/* 1 when s is a JSON object text of at most TV_LB_METADATA_MAX bytes. */
int tv_lb_metadata_ok(const char *s)
{
    if (!s || strlen(s) > TV_LB_METADATA_MAX || !tv_utf8_valid(s))
        return 0;
    cJSON *j = cJSON_Parse(s);
    int ok = cJSON_IsObject(j);
    cJSON_Delete(j);
    return ok;
}

static int id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    return n > 0 && n <= TV_LB_ID_MAX && tv_utf8_valid(id) && !tv_has_space_or_ctl(id) &&
           !strchr(id, '/');
}

static int check_def(const tv_lb_def_t *d, tv_lb_err_t *err)
{
    tv_lb_cron_t c;
    if (!id_ok(d->id))
        return fail(err, TV_EINVAL, "Invalid id: 1-128 bytes, no spaces or slashes.");
    if (d->op < TV_LB_OP_BEST || d->op > TV_LB_OP_DECR)
        return fail(err, TV_EINVAL, "Invalid operator: best, set, incr or decr.");
    if (d->reset && *d->reset && tv_lb_cron_parse(d->reset, &c) != TV_OK)
        return fail(err, TV_EINVAL, "Invalid reset schedule: a 5-field cron expression.");
    if (d->metadata && !tv_lb_metadata_ok(d->metadata))
        return fail(err, TV_EINVAL, "Invalid metadata: a JSON object of at most 16 KB.");
    if (!d->tournament)
        return TV_OK;
    if (d->category < 0 || d->category > 127)
        return fail(err, TV_EINVAL, "Invalid category: 0-127.");
    if ((d->title && strlen(d->title) > TV_LB_TEXT_MAX) ||
        (d->description && strlen(d->description) > TV_LB_TEXT_MAX) ||
        (d->title && !tv_utf8_valid(d->title)) ||
        (d->description && !tv_utf8_valid(d->description)))
        return fail(err, TV_EINVAL, "Invalid title or description: at most 255 bytes.");
    if (d->duration <= 0 || d->duration > INT32_MAX)
        return fail(err, TV_EINVAL, "Invalid duration: must be above zero.");
    if (d->start_time < 0 || d->end_time < 0 || (d->end_time && d->end_time <= d->start_time))
        return fail(err, TV_EINVAL, "Invalid start or end time: the end must come after the start.");
    if (d->max_size < 0 || d->max_num_score < 0 || d->max_size > INT32_MAX ||
        d->max_num_score > INT32_MAX)
        return fail(err, TV_EINVAL, "Invalid max size or max num score: must not be negative.");
    return TV_OK;
}

typedef struct {
    const tv_lb_def_t *d;
    int64_t now;
} create_ctx_t;

static int create_tx(tv_db_conn_t *c, void *p)
{
    create_ctx_t *x = p;
    const tv_lb_def_t *d = x->d;
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(c, "INSERT INTO leaderboard (" BOARD_COLS ") VALUES ($1, $2, $3, $4, "
                              "$5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)", &st);
    if (rc)
        return rc;
    tv_db_bind_text(st, 1, d->id);
    tv_db_bind_int64(st, 2, d->authoritative != 0);
    tv_db_bind_int64(st, 3, d->descending != 0);
    tv_db_bind_int64(st, 4, d->op);
    tv_db_bind_text(st, 5, d->reset ? d->reset : "");
    tv_db_bind_text(st, 6, d->metadata ? d->metadata : "{}");
    tv_db_bind_int64(st, 7, x->now);
    tv_db_bind_int64(st, 8, d->tournament != 0);
    tv_db_bind_int64(st, 9, d->category);
    tv_db_bind_text(st, 10, d->title ? d->title : "");
    tv_db_bind_text(st, 11, d->description ? d->description : "");
    tv_db_bind_int64(st, 12, d->duration);
    tv_db_bind_int64(st, 13, d->start_time);
    tv_db_bind_int64(st, 14, d->end_time);
    tv_db_bind_int64(st, 15, d->max_size);
    tv_db_bind_int64(st, 16, d->max_num_score);
    tv_db_bind_int64(st, 17, d->join_required != 0);
    rc = tv_db_step(st);
    tv_db_reset(st);
    return rc == TV_DB_DONE ? TV_OK : rc;
}

int tv_lb_create(tv_lb_t *lb, const tv_lb_def_t *def, tv_lb_err_t *err)
{
    tv_lb_def_t d = *def;
    if (d.tournament && d.start_time == 0)
        d.start_time = tv_now_s();
    int rc = check_def(&d, err);
    if (rc)
        return rc;
    lb_board_t *old = tv_lb_board_acquire(lb, d.id);
    if (old) {
        board_unref(old);
        return fail(err, TV_ECONFLICT, "Leaderboard already exists.");
    }
    create_ctx_t x = {&d, tv_now_s()};
    pthread_mutex_lock(&lb->create_mu); /* one create at a time: the check above stays true */
    rc = tv_db_tx(lb->db, create_tx, &x);
    lb_board_t *b = NULL;
    if (rc == TV_OK && !(b = board_new(&d, x.now)))
        rc = TV_ENOMEM;
    if (rc == TV_OK) {
        b->period = tv_lb_window_expiry(b, x.now); /* a new board has no records */
        rc = registry_add(lb, b);
    }
    pthread_mutex_unlock(&lb->create_mu);
    if (rc && b)
        board_unref(b);
    if (rc == TV_ECONFLICT)
        return fail(err, TV_ECONFLICT, "Leaderboard already exists.");
    if (rc)
        return fail(err, rc, "Internal server error.");
    tv_log_info("leaderboard", "%s %s created", d.tournament ? "tournament" : "leaderboard", d.id);
    return TV_OK;
}

int64_t tv_lb_window_expiry(const lb_board_t *b, int64_t now)
{
    lb_window_t w;
    tv_lb_window(b, now, &w);
    return w.expiry;
}

static int delete_tx(tv_db_conn_t *c, void *p)
{
    const char *args[] = {p};
    int rc = tv_db_execp(c, "DELETE FROM leaderboard_record WHERE leaderboard_id = $1", 1, args,
                         NULL);
    int64_t n = 0;
    if (rc == TV_DB_DONE)
        rc = tv_db_execp(c, "DELETE FROM leaderboard WHERE id = $1", 1, args, &n);
    if (rc != TV_DB_DONE)
        return rc;
    return n ? TV_OK : TV_ENOTFOUND;
}

int tv_lb_delete(tv_lb_t *lb, const char *id)
{
    if (!id_ok(id))
        return TV_ENOTFOUND;
    int rc = tv_db_tx(lb->db, delete_tx, (void *)id);
    if (rc && rc != TV_ENOTFOUND)
        return rc;
    lb_board_t *b = registry_take(lb, id);
    board_unref(b);
    return b || rc == TV_OK ? TV_OK : TV_ENOTFOUND;
}

static int by_id(const void *a, const void *b)
{
    return strcmp((*(lb_board_t *const *)a)->id, (*(lb_board_t *const *)b)->id);
}

/* Takes a reference to every board, sorted by id; *n of them. Free with release_all. */
lb_board_t **tv_lb_snapshot(tv_lb_t *lb, size_t *n)
{
    pthread_mutex_lock(&lb->mu);
    lb_board_t **all = malloc((lb->n ? lb->n : 1) * sizeof *all);
    *n = 0;
    for (size_t i = 0; all && i < lb->n; i++) {
        all[i] = lb->boards[i];
        atomic_fetch_add(&all[i]->refs, 1);
        *n = i + 1;
    }
    pthread_mutex_unlock(&lb->mu);
    if (all)
        qsort(all, *n, sizeof *all, by_id);
    return all;
}

void tv_lb_snapshot_free(lb_board_t **all, size_t n)
{
    for (size_t i = 0; i < n; i++)
        board_unref(all[i]);
    free(all);
}

static const char *op_name(int op)
{
    static const char *const n[] = {"", "best", "set", "incr", "decr"};
    return op >= 1 && op <= 4 ? n[op] : "";
}

/* A board as the console shows it: every field, names for enums, times as unix seconds;
 * defaults left out as protojson does. */
static cJSON *board_console_json(lb_board_t *b, int64_t now)
{
    lb_window_t w;
    tv_lb_window(b, now, &w);
    int64_t count = 0;
    tv_lb_cached_rank(b, tv_lb_sync_period(b, now), "", &count);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", b->id);
    tv_json_add_bool(o, "authoritative", b->authoritative);
    cJSON_AddStringToObject(o, "sort_order", b->desc ? "desc" : "asc");
    cJSON_AddStringToObject(o, "operator", op_name(b->op));
    tv_json_add_str(o, "reset_schedule", b->reset);
    tv_json_add_str(o, "metadata", b->metadata);
    tv_json_add_int(o, "create_time", b->create_time);
    tv_json_add_int(o, "prev_reset", w.prev_reset);
    tv_json_add_int(o, "next_reset", w.next_reset);
    tv_json_add_int(o, "size", count);
    tv_json_add_bool(o, "tournament", b->tournament);
    if (!b->tournament)
        return o;
    tv_json_add_str(o, "title", b->title);
    tv_json_add_str(o, "description", b->description);
    tv_json_add_int(o, "category", b->category);
    tv_json_add_int(o, "start_time", b->start_time);
    tv_json_add_int(o, "end_time", b->end_time);
    tv_json_add_int(o, "duration", b->duration);
    tv_json_add_int(o, "max_size", b->max_size);
    tv_json_add_int(o, "max_num_score", b->max_num_score);
    tv_json_add_bool(o, "join_required", b->join_required);
    return o;
}

cJSON *tv_lb_list_boards(tv_lb_t *lb, int64_t now)
{
    size_t n;
    lb_board_t **all = tv_lb_snapshot(lb, &n);
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = n ? cJSON_AddArrayToObject(o, "leaderboards") : NULL;
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, board_console_json(all[i], now));
    tv_lb_snapshot_free(all, n);
    return o;
}

cJSON *tv_lb_board_json(tv_lb_t *lb, const char *id, int64_t now, int *tournament)
{
    lb_board_t *b = tv_lb_board_acquire(lb, id ? id : "");
    if (!b)
        return NULL;
    cJSON *o = board_console_json(b, now);
    if (tournament)
        *tournament = b->tournament;
    tv_lb_board_release(b);
    return o;
}

int tv_lb_record_total(tv_lb_t *lb, const char *id, int64_t *count)
{
    *count = 0;
    tv_db_conn_t *c;
    int rc = tv_db_acquire(lb->db, &c);
    if (rc)
        return rc;
    tv_db_stmt_t *st = NULL;
    rc = tv_db_prepare(c, "SELECT COUNT(*) FROM leaderboard_record WHERE leaderboard_id = $1",
                       &st);
    if (!rc)
        rc = tv_db_bind_text(st, 1, id);
    if (!rc)
        rc = tv_db_step(st);
    if (rc == TV_DB_ROW) {
        *count = tv_db_column_int64(st, 0);
        rc = TV_OK;
    }
    if (st)
        tv_db_reset(st);
    tv_db_release(lb->db, c);
    return rc == TV_DB_DONE ? TV_OK : rc;
}
