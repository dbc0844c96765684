/* The matchmaker service: the /ws handlers (which validate and queue, never wait), the
 * matcher thread that owns the pool, applies queued adds and removes at once and runs a pass
 * every interval, and the matchmaker_matched pushes (token or module match id). */
#include "matchmaker.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "rt.h"
#include "token.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MATCH_TOKEN_TTL_S 30 /* Nakama's matchmaker token lifetime */
#define QUEUE_MAX 65536      /* queued adds/removes before new adds are refused */

typedef enum { OP_ADD, OP_REMOVE, OP_CLOSE } op_kind_t;

typedef struct op {
    struct op *next;
    op_kind_t kind;
    tv_mm_ticket_t *ticket;  /* OP_ADD: owned */
    tv_rt_later_t *later;    /* OP_ADD / OP_REMOVE: the reply owed */
    char session_id[37];
    char ticket_id[37];      /* OP_REMOVE */
} op_t;

struct tv_mm {
    tv_rt_t *rt;
    tv_mm_opts_t o;
    char *rating_property;   /* owned copy */
    char *token_key;         /* owned copy */
    pthread_t thread;
    int started;
    int sync_ready;          /* mu and cv initialised */
    pthread_mutex_t mu;      /* guards the queue and stopping */
    pthread_cond_t cv;
    op_t *head, *tail;
    size_t queued;
    int stopping;
    tv_mm_pool_t pool;       /* the matcher thread's alone */
    _Atomic int64_t tickets, added, removed, groups, matched, expired, passes, last_pass_us;
};

/* ---- handlers: on the socket threads -------------------------------------------------------- */

static int enqueue(tv_mm_t *mm, op_t *op, int droppable)
{
    pthread_mutex_lock(&mm->mu);
    if (mm->stopping || (droppable && mm->queued >= QUEUE_MAX)) {
        pthread_mutex_unlock(&mm->mu);
        return TV_EBUSY;
    }
    if (mm->tail)
        mm->tail->next = op;
    else
        mm->head = op;
    mm->tail = op;
    mm->queued++;
    pthread_cond_signal(&mm->cv);
    pthread_mutex_unlock(&mm->mu);
    return TV_OK;
}

static void op_free(op_t *op)
{
    tv_mm_ticket_free(op->ticket);
    if (op->later)
        tv_rt_later_free(op->later);
    free(op);
}

/* matchmaker_add{min_count, max_count, count_multiple, query, string_properties,
 * numeric_properties} -> matchmaker_ticket{ticket}, answered by the matcher thread. */
static int on_add(void *ud, const tv_rt_msg_t *msg)
{
    tv_mm_t *mm = ud;
    tv_mm_ticket_t *t;
    const char *why;
    int rc = tv_mm_ticket_from_json(msg->body, msg->who->session_id, msg->who->user_id,
                                    msg->who->username, mm->rating_property, &t, &why);
    if (rc == TV_EINVAL) {
        tv_rt_reply_error(msg->rt, msg->who->session_id, msg->cid, TV_RT_ERR_BAD_INPUT, why);
        return TV_OK;
    }
    if (rc != TV_OK)
        return rc;
    op_t *op = calloc(1, sizeof *op);
    if (!op || !(op->later = tv_rt_later(msg))) {
        free(op);
        tv_mm_ticket_free(t);
        return TV_ENOMEM;
    }
    op->kind = OP_ADD;
    op->ticket = t;
    memcpy(op->session_id, msg->who->session_id, sizeof op->session_id);
    if (enqueue(mm, op, 1) != TV_OK) {
        tv_rt_later_error(op->later, TV_RT_ERR_RUNTIME_EXCEPTION, "Matchmaker is busy");
        op->later = NULL;
        op_free(op);
    }
    return TV_OK;
}

/* matchmaker_remove{ticket} -> {cid}, or error 3 when the session holds no such ticket. */
static int on_remove(void *ud, const tv_rt_msg_t *msg)
{
    tv_mm_t *mm = ud;
    const char *ticket;
    if (tv_json_get_str(msg->body, "ticket", NULL, &ticket) != TV_OK)
        return TV_EINVAL;
    if (!ticket || !*ticket || strlen(ticket) >= 37) {
        tv_rt_reply_error(msg->rt, msg->who->session_id, msg->cid, TV_RT_ERR_BAD_INPUT,
                          "Invalid ticket");
        return TV_OK;
    }
    op_t *op = calloc(1, sizeof *op);
    if (!op || !(op->later = tv_rt_later(msg))) {
        free(op);
        return TV_ENOMEM;
    }
    op->kind = OP_REMOVE;
    memcpy(op->session_id, msg->who->session_id, sizeof op->session_id);
    memcpy(op->ticket_id, ticket, strlen(ticket) + 1);
    if (enqueue(mm, op, 0) != TV_OK)
        op_free(op);
    return TV_OK;
}

/* A closed socket's tickets go with it. Never dropped for a full queue: a ticket would stay
 * behind. */
static void on_close(void *ud, const tv_rt_identity_t *who)
{
    tv_mm_t *mm = ud;
    op_t *op = calloc(1, sizeof *op);
    if (!op) {
        tv_log_error("matchmaker", "no memory to drop the tickets of session %s", who->session_id);
        return;
    }
    op->kind = OP_CLOSE;
    memcpy(op->session_id, who->session_id, sizeof op->session_id);
    if (enqueue(mm, op, 0) != TV_OK)
        free(op); /* stopping: the pool goes whole */
}

/* ---- the matcher thread --------------------------------------------------------------------- */

static void apply_op(tv_mm_t *mm, op_t *op)
{
    if (op->kind == OP_ADD) {
        char id[37];
        memcpy(id, op->ticket->id, sizeof id);
        int rc = tv_mm_pool_add(&mm->pool, op->ticket);
        if (rc == TV_OK) {
            op->ticket = NULL;
            atomic_fetch_add(&mm->added, 1);
            cJSON *b = cJSON_CreateObject();
            if (b && cJSON_AddStringToObject(b, "ticket", id))
                tv_rt_later_reply(op->later, "matchmaker_ticket", b);
            else {
                cJSON_Delete(b);
                tv_rt_later_error(op->later, TV_RT_ERR_RUNTIME_EXCEPTION, "No memory");
            }
        } else if (rc == TV_EBUSY) {
            tv_rt_later_error(op->later, TV_RT_ERR_BAD_INPUT, "Too many matchmaker tickets");
        } else {
            tv_rt_later_error(op->later, TV_RT_ERR_RUNTIME_EXCEPTION, "No memory");
        }
        op->later = NULL;
    } else if (op->kind == OP_REMOVE) {
        if (tv_mm_pool_remove(&mm->pool, op->session_id, op->ticket_id) == TV_OK) {
            atomic_fetch_add(&mm->removed, 1);
            tv_rt_later_reply(op->later, NULL, NULL);
        } else {
            tv_rt_later_error(op->later, TV_RT_ERR_BAD_INPUT, "Matchmaker ticket not found");
        }
        op->later = NULL;
    } else {
        atomic_fetch_add(&mm->removed,
                         (int64_t)tv_mm_pool_remove_session(&mm->pool, op->session_id));
    }
    op_free(op);
}

/* {presence, string_properties, numeric_properties} of one ticket. */
static cJSON *user_json(const tv_mm_ticket_t *t)
{
    tv_rt_identity_t who = {0};
    memcpy(who.user_id, t->user_id, sizeof who.user_id);
    memcpy(who.session_id, t->session_id, sizeof who.session_id);
    memcpy(who.username, t->username, sizeof who.username);
    cJSON *u = cJSON_CreateObject(), *p = tv_rt_presence_json(&who, 0, NULL);
    cJSON *s = cJSON_Duplicate(t->strings, 1), *n = cJSON_Duplicate(t->numerics, 1);
    if (!u || !p || !s || !n) {
        cJSON_Delete(u), cJSON_Delete(p), cJSON_Delete(s), cJSON_Delete(n);
        return NULL;
    }
    cJSON_AddItemToObject(u, "presence", p);
    cJSON_AddItemToObject(u, "string_properties", s);
    cJSON_AddItemToObject(u, "numeric_properties", n);
    return u;
}

/* Sends each member its matchmaker_matched: body holds users and token or match_id; ticket
 * and self are set per member. */
static void send_each(tv_mm_t *mm, const tv_mm_group_t *g, cJSON *body)
{
    cJSON *users = cJSON_GetObjectItemCaseSensitive(body, "users");
    for (size_t i = 0; i < g->n; i++) {
        cJSON_DeleteItemFromObjectCaseSensitive(body, "ticket");
        cJSON_DeleteItemFromObjectCaseSensitive(body, "self");
        cJSON *self = cJSON_Duplicate(cJSON_GetArrayItem(users, (int)i), 1);
        if (!self || !cJSON_AddStringToObject(body, "ticket", g->t[i]->id)) {
            cJSON_Delete(self);
            continue;
        }
        cJSON_AddItemToObject(body, "self", self);
        cJSON *env = cJSON_CreateObject();
        char *text = NULL;
        if (env && cJSON_AddItemReferenceToObject(env, "matchmaker_matched", body))
            text = cJSON_PrintUnformatted(env);
        cJSON_Delete(env);
        if (text)
            tv_rt_send(mm->rt, g->t[i]->session_id, text, strlen(text));
        cJSON_free(text);
    }
}

/* The module's match id for the group, or NULL for a relayed match. */
static char *hooked_match(tv_mm_t *mm, const cJSON *users)
{
    if (!mm->o.matched)
        return NULL;
    char *entries = cJSON_PrintUnformatted(users), *match_id = NULL;
    if (entries && mm->o.matched(mm->o.matched_ud, entries, &match_id) != TV_OK) {
        free(match_id);
        match_id = NULL;
    }
    cJSON_free(entries);
    return match_id;
}

static void deliver_group(tv_mm_t *mm, const tv_mm_group_t *g)
{
    cJSON *body = cJSON_CreateObject(), *users = cJSON_AddArrayToObject(body, "users");
    for (size_t i = 0; users && i < g->n; i++) {
        cJSON *u = user_json(g->t[i]);
        if (!u || !cJSON_AddItemToArray(users, u)) {
            cJSON_Delete(u);
            users = NULL;
        }
    }
    char *match_id = users ? hooked_match(mm, users) : NULL, *token = NULL;
    int ok = users != NULL;
    if (ok && match_id) {
        ok = cJSON_AddStringToObject(body, "match_id", match_id) != NULL;
    } else if (ok) {
        char uuid[37], mid[38];
        tv_uuid_v4(uuid);
        snprintf(mid, sizeof mid, "%s.", uuid);
        ok = tv_token_match_encode(mm->token_key, mid, tv_now_s() + MATCH_TOKEN_TTL_S,
                                   &token) == TV_OK &&
             cJSON_AddStringToObject(body, "token", token);
    }
    if (ok)
        send_each(mm, g, body);
    else
        tv_log_error("matchmaker", "no memory for a matched group of %zu", g->n);
    free(match_id);
    free(token);
    cJSON_Delete(body);
}

/* An expired ticket's owner hears matchmaker_matched with only itself in users and neither
 * token nor match_id: what a nakama-js client can observe (onmatchmakermatched), unlike an
 * error envelope without cid, which it drops. */
static void deliver_expired(tv_mm_t *mm, const tv_mm_ticket_t *t)
{
    tv_mm_group_t g = {(tv_mm_ticket_t **)&t, 1};
    cJSON *body = cJSON_CreateObject(), *users = cJSON_AddArrayToObject(body, "users");
    cJSON *u = user_json(t);
    if (users && u && cJSON_AddItemToArray(users, u))
        send_each(mm, &g, body);
    else
        cJSON_Delete(u);
    cJSON_Delete(body);
}

static void run_pass(tv_mm_t *mm)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    tv_mm_result_t r;
    if (tv_mm_pool_pass(&mm->pool, &r) != TV_OK) {
        tv_log_error("matchmaker", "no memory for a pass of %zu tickets", mm->pool.n);
        tv_mm_result_free(&r);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    int64_t matched = 0;
    for (size_t i = 0; i < r.ngroups; i++) {
        deliver_group(mm, &r.groups[i]);
        matched += (int64_t)r.groups[i].n;
    }
    for (size_t i = 0; i < r.nexpired; i++)
        deliver_expired(mm, r.expired[i]);
    atomic_fetch_add(&mm->groups, (int64_t)r.ngroups);
    atomic_fetch_add(&mm->matched, matched);
    atomic_fetch_add(&mm->expired, (int64_t)r.nexpired);
    atomic_fetch_add(&mm->passes, 1);
    atomic_store(&mm->last_pass_us, (b.tv_sec - a.tv_sec) * 1000000 +
                                        (b.tv_nsec - a.tv_nsec) / 1000);
    tv_mm_result_free(&r);
}

static struct timespec deadline_after(int ms)
{
    struct timespec d;
    clock_gettime(CLOCK_MONOTONIC, &d);
    d.tv_sec += ms / 1000;
    d.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (d.tv_nsec >= 1000000000L) {
        d.tv_sec++;
        d.tv_nsec -= 1000000000L;
    }
    return d;
}

static int reached(const struct timespec *d)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > d->tv_sec || (now.tv_sec == d->tv_sec && now.tv_nsec >= d->tv_nsec);
}

/* Waits for queued work or the next pass; applies the queue at once (so replies are quick)
 * and runs the pass when due. */
static void *matcher(void *arg)
{
    tv_mm_t *mm = arg;
    struct timespec next = deadline_after(mm->o.interval_ms);
    pthread_mutex_lock(&mm->mu);
    while (!mm->stopping) {
        if (!mm->head && !reached(&next))
            pthread_cond_timedwait(&mm->cv, &mm->mu, &next);
        op_t *ops = mm->head;
        mm->head = mm->tail = NULL;
        mm->queued = 0;
        pthread_mutex_unlock(&mm->mu);
        while (ops) {
            op_t *nx = ops->next;
            apply_op(mm, ops);
            ops = nx;
        }
        if (reached(&next)) {
            run_pass(mm);
            next = deadline_after(mm->o.interval_ms);
        }
        atomic_store(&mm->tickets, (int64_t)mm->pool.n);
        pthread_mutex_lock(&mm->mu);
    }
    pthread_mutex_unlock(&mm->mu);
    return NULL;
}

/* ---- life cycle ----------------------------------------------------------------------------- */

static int check_opts(const tv_mm_opts_t *o)
{
    if (o->interval_ms < 10 || o->params.max_intervals < 1 || o->params.rating_step <= 0 ||
        o->params.max_per_session < 0 || !o->token_key || !*o->token_key)
        return TV_EINVAL;
    return TV_OK;
}

static int init_thread(tv_mm_t *mm)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca))
        return TV_ENOMEM;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* deadlines are monotonic */
    int bad = pthread_cond_init(&mm->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (bad)
        return TV_ENOMEM;
    pthread_mutex_init(&mm->mu, NULL);
    mm->sync_ready = 1;
    if (pthread_create(&mm->thread, NULL, matcher, mm))
        return TV_ENOMEM;
    mm->started = 1;
    return TV_OK;
}

int tv_mm_new(tv_rt_t *rt, const tv_mm_opts_t *o, tv_mm_t **out)
{
    *out = NULL;
    if (check_opts(o) != TV_OK)
        return TV_EINVAL;
    tv_mm_t *mm = calloc(1, sizeof *mm);
    if (!mm)
        return TV_ENOMEM;
    mm->rt = rt;
    mm->o = *o;
    mm->rating_property = strdup(o->params.rating_property ? o->params.rating_property : "");
    mm->token_key = strdup(o->token_key);
    if (!mm->rating_property || !mm->token_key) {
        free(mm->rating_property), free(mm->token_key), free(mm);
        return TV_ENOMEM;
    }
    mm->o.params.rating_property = mm->rating_property;
    tv_mm_pool_init(&mm->pool, &mm->o.params);
    tv_rt_listener_t l = {NULL, on_close, mm};
    int rc;
    if ((rc = tv_rt_register(rt, "matchmaker_add", on_add, mm)) != TV_OK ||
        (rc = tv_rt_register(rt, "matchmaker_remove", on_remove, mm)) != TV_OK ||
        (rc = tv_rt_add_listener(rt, &l)) != TV_OK || (rc = init_thread(mm)) != TV_OK) {
        /* registered handlers would point at freed memory: only a failed start comes here,
         * and the server then stops rt without serving a socket */
        tv_mm_free(mm);
        return rc;
    }
    *out = mm;
    return TV_OK;
}

void tv_mm_stop(tv_mm_t *mm)
{
    if (!mm || !mm->started)
        return;
    pthread_mutex_lock(&mm->mu);
    mm->stopping = 1;
    pthread_cond_signal(&mm->cv);
    pthread_mutex_unlock(&mm->mu);
    pthread_join(mm->thread, NULL);
    mm->started = 0;
}

void tv_mm_free(tv_mm_t *mm)
{
    if (!mm)
        return;
    tv_mm_stop(mm);
    for (op_t *op = mm->head, *nx; op; op = nx) {
        nx = op->next;
        op_free(op);
    }
    tv_mm_pool_clear(&mm->pool);
    if (mm->sync_ready) {
        pthread_cond_destroy(&mm->cv);
        pthread_mutex_destroy(&mm->mu);
    }
    free(mm->rating_property);
    free(mm->token_key);
    free(mm);
}

void tv_mm_stats(tv_mm_t *mm, tv_mm_stats_t *out)
{
    memset(out, 0, sizeof *out);
    if (!mm)
        return;
    out->tickets = atomic_load(&mm->tickets);
    out->added = atomic_load(&mm->added);
    out->removed = atomic_load(&mm->removed);
    out->groups = atomic_load(&mm->groups);
    out->matched = atomic_load(&mm->matched);
    out->expired = atomic_load(&mm->expired);
    out->passes = atomic_load(&mm->passes);
    out->last_pass_us = atomic_load(&mm->last_pass_us);
}
