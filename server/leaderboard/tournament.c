/* Tournaments (boards with a title, category, active window and entry limits): the list with
 * its filters and cursor, joining, and the reset thread that moves every board into its next
 * period when a reset time passes and tells the modules. */
#include "internal.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOURN_LIST_MAX 100

static int fail(tv_lb_err_t *err, int code, const char *msg)
{
    err->code = code;
    snprintf(err->msg, sizeof err->msg, "%s", msg);
    return code;
}

/* Nakama's api.Tournament. */
static cJSON *tournament_json(lb_board_t *b, int64_t now)
{
    lb_window_t w;
    tv_lb_window(b, now, &w);
    int64_t size = 0;
    tv_lb_cached_rank(b, tv_lb_sync_period(b, now), "", &size);
    int active = now >= b->start_time && now >= w.start_active && now < w.end_active &&
                 (!b->end_time || now < b->end_time);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", b->id);
    tv_json_add_str(o, "title", b->title);
    tv_json_add_str(o, "description", b->description);
    tv_json_add_int(o, "category", b->category);
    tv_json_add_int(o, "sort_order", b->desc);
    tv_json_add_int(o, "size", size);
    tv_json_add_int(o, "max_size", b->max_size);
    tv_json_add_int(o, "max_num_score", b->max_num_score);
    tv_json_add_bool(o, "can_enter", active && (!b->max_size || size < b->max_size));
    tv_json_add_int(o, "end_active", w.end_active);
    tv_json_add_int(o, "next_reset", w.next_reset);
    tv_json_add_str(o, "metadata", b->metadata);
    tv_json_add_time(o, "create_time", b->create_time);
    tv_json_add_time(o, "start_time", b->start_time);
    tv_json_add_time(o, "end_time", b->end_time);
    tv_json_add_int(o, "duration", b->duration);
    tv_json_add_int(o, "start_active", w.start_active);
    tv_json_add_int(o, "prev_reset", w.prev_reset);
    tv_json_add_int(o, "operator", b->op);
    tv_json_add_bool(o, "authoritative", b->authoritative);
    tv_json_add_bool(o, "join_required", b->join_required);
    return o;
}

static int listed(const lb_board_t *b, const tv_tourn_query_t *q)
{
    if (!b->tournament || b->category < q->category_start || b->category > q->category_end)
        return 0;
    if (q->start_time >= 0 && b->start_time < q->start_time)
        return 0;
    /* an end filter lists tournaments that end by then (never-ending ones do not) */
    return q->end_time < 0 || (b->end_time && b->end_time <= q->end_time);
}

int tv_tourn_list(tv_lb_t *lb, const tv_tourn_query_t *q, int64_t now, cJSON **out,
                  tv_lb_err_t *err)
{
    *out = NULL;
    if (q->category_start < 0 || q->category_end > 127 || q->category_start > q->category_end)
        return fail(err, TV_EINVAL, "Invalid category range: 0-127, start before end.");
    if (q->limit < 1 || q->limit > TOURN_LIST_MAX)
        return fail(err, TV_EINVAL, "Invalid limit - limit must be between 1 and 100.");
    char after[TV_LB_ID_MAX + 1] = ""; /* the cursor: the last id listed (ids are sorted) */
    if (q->cursor && *q->cursor) {
        size_t n;
        if (strlen(q->cursor) > 200 ||
            sodium_base642bin((unsigned char *)after, sizeof after - 1, q->cursor,
                              strlen(q->cursor), NULL, &n, NULL,
                              sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || n == 0)
            return fail(err, TV_EINVAL, "Cursor is invalid or expired.");
        after[n] = 0;
    }
    size_t n;
    lb_board_t **all = tv_lb_snapshot(lb, &n);
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    int count = 0;
    const char *last = NULL;
    size_t i = 0;
    for (; i < n && count < q->limit; i++) {
        if (strcmp(all[i]->id, after) <= 0 || !listed(all[i], q))
            continue;
        cJSON_AddItemToArray(arr, tournament_json(all[i], now));
        last = all[i]->id;
        count++;
    }
    int more = 0;
    for (; i < n && !more; i++)
        more = listed(all[i], q);
    if (count)
        cJSON_AddItemToObject(o, "tournaments", arr);
    else
        cJSON_Delete(arr);
    if (more && last) {
        char tok[2 * TV_LB_ID_MAX + 8];
        sodium_bin2base64(tok, sizeof tok, (const unsigned char *)last, strlen(last),
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        cJSON_AddStringToObject(o, "cursor", tok);
    }
    tv_lb_snapshot_free(all, n);
    *out = o;
    return TV_OK;
}

/* --- join ------------------------------------------------------------------------------ */

typedef struct {
    lb_board_t *b;
    const char *owner, *username;
    int64_t now, expiry;
} join_ctx_t;

static int join_tx(tv_db_conn_t *c, void *p)
{
    join_ctx_t *x = p;
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(c, "INSERT INTO leaderboard_record (leaderboard_id, owner_id, "
        "username, score, subscore, num_score, max_num_score, metadata, create_time, "
        "update_time, expiry_time) VALUES ($1, $2, $3, 0, 0, 0, $4, '{}', $5, $5, $6) "
        "ON CONFLICT (leaderboard_id, expiry_time, owner_id) DO NOTHING", &st);
    if (rc)
        return rc;
    tv_db_bind_text(st, 1, x->b->id);
    tv_db_bind_text(st, 2, x->owner);
    tv_db_bind_text(st, 3, x->username);
    tv_db_bind_int64(st, 4, x->b->max_num_score);
    tv_db_bind_int64(st, 5, x->now);
    tv_db_bind_int64(st, 6, x->expiry);
    rc = tv_db_step(st);
    int64_t added = rc == TV_DB_DONE ? tv_db_changes(st) : 0;
    tv_db_reset(st);
    if (added) /* inside the transaction, as for writes */
        tv_lb_cache_apply_board(x->b, x->expiry, x->owner, 0, 0);
    return rc == TV_DB_DONE ? TV_OK : rc;
}

int tv_tourn_join(tv_lb_t *lb, const char *id, const char *owner, const char *username,
                  int64_t now, tv_lb_err_t *err)
{
    if (!owner || !tv_uuid_valid(owner))
        return fail(err, TV_EINVAL, "Invalid owner ID: must be a UUID.");
    lb_board_t *b = tv_lb_board_acquire(lb, id);
    if (!b || !b->tournament) {
        tv_lb_board_release(b);
        return fail(err, TV_ENOTFOUND, "Tournament not found.");
    }
    lb_window_t w;
    tv_lb_window(b, now, &w);
    int rc = TV_OK;
    if (now < b->start_time || now < w.start_active || now >= w.end_active ||
        (b->end_time && now >= b->end_time))
        rc = fail(err, TV_EINVAL, "Tournament is not active and cannot accept new joins.");
    int64_t expiry = tv_lb_sync_period(b, now), size = 0;
    pthread_mutex_lock(&b->join_mu); /* joins one at a time, so the size check holds */
    int joined = !rc && tv_lb_cached_rank(b, expiry, owner, &size) > 0;
    if (!rc && !joined && b->max_size && size >= b->max_size)
        rc = fail(err, TV_EINVAL, "Tournament has reached the maximum number of participants.");
    join_ctx_t x = {b, owner, username, now, expiry};
    if (!rc && !joined && (rc = tv_db_tx(lb->db, join_tx, &x)) != TV_OK)
        fail(err, rc, rc == TV_EUNAVAIL ? "Service unavailable." : "Internal server error.");
    pthread_mutex_unlock(&b->join_mu);
    tv_lb_board_release(b);
    return rc;
}

/* --- resets ---------------------------------------------------------------------------- */

/* The earliest next reset (or tournament period end) after now among all boards; 0 = none. */
static int64_t next_wake(tv_lb_t *lb, int64_t now)
{
    int64_t best = 0;
    for (size_t i = 0; i < lb->n; i++) {
        int64_t e = tv_lb_window_expiry(lb->boards[i], now);
        if (e > now && (!best || e < best))
            best = e;
    }
    return best;
}

/* Moves every board whose period ended into the next one and calls the hook for it, once per
 * period: also when a request moved the cache first (tv_lb_sync_period), and for a
 * tournament's last period, which has no next one. */
static void run_due(tv_lb_t *lb, int64_t now)
{
    size_t n;
    lb_board_t **all = tv_lb_snapshot(lb, &n);
    for (size_t i = 0; i < n; i++) {
        lb_board_t *b = all[i];
        tv_lb_sync_period(b, now);
        pthread_rwlock_wrlock(&b->lock);
        int64_t ended = b->period > 0 && b->period <= now ? b->period : b->last_ended;
        int due = ended > 0 && ended > b->fired;
        if (due)
            b->fired = ended;
        pthread_rwlock_unlock(&b->lock);
        if (!due)
            continue;
        tv_log_info("leaderboard", "%s reset at %" PRId64, b->id, ended);
        if (lb->reset_fn)
            lb->reset_fn(lb->reset_ud, b->id, b->tournament, ended);
    }
    tv_lb_snapshot_free(all, n);
}

static void *reset_main(void *p)
{
    tv_lb_t *lb = p;
    pthread_mutex_lock(&lb->mu);
    while (!lb->stopping) {
        int64_t now = tv_now_s(), wake = next_wake(lb, now);
        /* sleep until the next reset (at most a minute: new boards and clock changes) */
        int64_t secs = wake ? wake - now : 60;
        secs = secs < 1 ? 1 : secs > 60 ? 60 : secs;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += (time_t)secs;
        int rc = pthread_cond_timedwait(&lb->cv, &lb->mu, &ts);
        if (lb->stopping)
            break;
        if (rc == ETIMEDOUT) {
            pthread_mutex_unlock(&lb->mu); /* the hook may be slow: never under the lock */
            run_due(lb, tv_now_s());
            pthread_mutex_lock(&lb->mu);
        }
    }
    pthread_mutex_unlock(&lb->mu);
    return NULL;
}

int tv_lb_start_resets(tv_lb_t *lb, tv_lb_reset_fn fn, void *ud)
{
    lb->reset_fn = fn;
    lb->reset_ud = ud;
    if (pthread_create(&lb->reset_thread, NULL, reset_main, lb) != 0)
        return TV_EINTERNAL;
    lb->reset_running = 1;
    return TV_OK;
}

void tv_lb_stop_resets(tv_lb_t *lb)
{
    if (!lb->reset_running)
        return;
    pthread_mutex_lock(&lb->mu);
    lb->stopping = 1;
    pthread_cond_broadcast(&lb->cv);
    pthread_mutex_unlock(&lb->mu);
    pthread_join(lb->reset_thread, NULL);
    lb->reset_running = 0;
}
