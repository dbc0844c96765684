/* The matchmaker service: the /ws handlers (which validate and queue, never wait), the
 * matcher thread that owns the pool, applies queued adds and removes at once and runs a pass
 * every interval, the matchmaker_matched pushes (token or module match id), the module calls
 * (add, remove and list, which wait for the matcher but never hold up a socket thread) and
 * the console's history of matched groups and expired tickets. */
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

typedef enum {
    OP_ADD, OP_REMOVE, OP_CLOSE,
    OP_PARTY_ADD, OP_PARTY_REMOVE, OP_PARTY_DROP, /* kept last: apply_op tests >= OP_PARTY_ADD */
} op_kind_t;

/* A module call waiting for the matcher to apply its op (on the caller's stack). */
typedef struct waiter {
    int done; /* under mm->mu */
    int rc;
} waiter_t;

typedef struct op {
    struct op *next;
    op_kind_t kind;
    tv_mm_ticket_t *ticket;  /* OP_ADD: owned */
    tv_rt_later_t *later;    /* OP_ADD / OP_REMOVE from a socket: the reply owed */
    waiter_t *wait;          /* OP_ADD / OP_REMOVE from a module: the caller owns the op and
                                waits for wait->done; the matcher never frees it */
    char session_id[37];     /* OP_REMOVE from a module: "" = any session */
    char ticket_id[37];      /* OP_REMOVE, OP_PARTY_REMOVE */
    char party_id[TV_MM_PARTY_ID_MAX]; /* OP_PARTY_* */
} op_t;

struct tv_mm {
    tv_rt_t *rt;
    tv_mm_opts_t o;
    char *rating_property;   /* owned copy */
    char *token_key;         /* owned copy */
    pthread_t thread;
    int started;
    int sync_ready;          /* mu and cv initialised */
    pthread_mutex_t mu;      /* guards the queue, stopping and waiters' done flags */
    pthread_cond_t cv;
    pthread_cond_t done_cv;  /* a module call's op was applied */
    pthread_rwlock_t pool_lock; /* the matcher writes the pool under it; listings read */
    op_t *head, *tail;
    size_t queued;
    int stopping;
    tv_mm_pool_t pool;       /* changed only by the matcher thread, under pool_lock */
    tv_mm_history_t history; /* matched groups and expired tickets, for the console */
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

/* A module's op is done: its caller may free it as soon as mu is released. */
static void finish(tv_mm_t *mm, op_t *op, int rc)
{
    pthread_mutex_lock(&mm->mu);
    op->wait->rc = rc;
    op->wait->done = 1;
    pthread_cond_broadcast(&mm->done_cv);
    pthread_mutex_unlock(&mm->mu);
}

/* A module's add or remove. The session is checked here, on the matcher thread: a socket
 * that closed before this point queued its OP_CLOSE already (so the add is refused), one that
 * closes later queues it behind this add (so the ticket goes with it). */
static void apply_module_op(tv_mm_t *mm, op_t *op)
{
    int rc;
    if (op->kind == OP_ADD) {
        tv_rt_identity_t who;
        rc = tv_rt_session_get(mm->rt, op->session_id, &who);
        if (rc == TV_OK) {
            pthread_rwlock_wrlock(&mm->pool_lock);
            rc = tv_mm_pool_add(&mm->pool, op->ticket);
            pthread_rwlock_unlock(&mm->pool_lock);
        }
        if (rc == TV_OK) {
            op->ticket = NULL; /* the pool's now */
            atomic_fetch_add(&mm->added, 1);
        }
    } else {
        pthread_rwlock_wrlock(&mm->pool_lock);
        rc = tv_mm_pool_remove(&mm->pool, op->session_id[0] ? op->session_id : NULL,
                               op->ticket_id);
        pthread_rwlock_unlock(&mm->pool_lock);
        if (rc == TV_OK)
            atomic_fetch_add(&mm->removed, 1);
    }
    finish(mm, op, rc); /* op is the caller's from here */
}

/* party_matchmaker_ticket {party_id, ticket}: the leader's reply, then the same pushed to the
 * party's other members (as Nakama). */
static void party_ticket_reply(tv_mm_t *mm, op_t *op, const tv_mm_ticket_t *t)
{
    cJSON *b = cJSON_CreateObject();
    if (!b || !cJSON_AddStringToObject(b, "party_id", t->party_id) ||
        !cJSON_AddStringToObject(b, "ticket", t->id)) {
        cJSON_Delete(b);
        tv_rt_later_error(op->later, TV_RT_ERR_RUNTIME_EXCEPTION, "No memory");
        return;
    }
    cJSON *dup = cJSON_Duplicate(b, 1);
    char *text = dup ? tv_rt_envelope_text(NULL, "party_matchmaker_ticket", dup) : NULL;
    tv_rt_later_reply(op->later, "party_matchmaker_ticket", b);
    for (int i = 1; text && i < t->count; i++)
        tv_rt_send(mm->rt, t->members[i].session_id, text, strlen(text));
    cJSON_free(text);
}

static void apply_party_op(tv_mm_t *mm, op_t *op)
{
    pthread_rwlock_wrlock(&mm->pool_lock);
    size_t gone = 0;
    int rc = TV_OK;
    if (op->kind == OP_PARTY_ADD)
        rc = tv_mm_pool_add(&mm->pool, op->ticket);
    else
        gone = tv_mm_pool_remove_party(&mm->pool, op->party_id,
                                       op->kind == OP_PARTY_REMOVE ? op->ticket_id : NULL);
    pthread_rwlock_unlock(&mm->pool_lock);
    atomic_fetch_add(&mm->removed, (int64_t)gone);
    if (op->kind == OP_PARTY_ADD && rc == TV_OK) {
        atomic_fetch_add(&mm->added, 1);
        party_ticket_reply(mm, op, op->ticket); /* the pool's now, unchanged until the pass */
        op->ticket = NULL;
    } else if (op->kind == OP_PARTY_ADD) {
        tv_rt_later_error(op->later, rc == TV_EBUSY ? TV_RT_ERR_BAD_INPUT
                                                    : TV_RT_ERR_RUNTIME_EXCEPTION,
                          rc == TV_EBUSY ? "Too many matchmaker tickets for the party"
                                         : "No memory");
    } else if (op->kind == OP_PARTY_REMOVE && gone) {
        tv_rt_later_reply(op->later, NULL, NULL);
    } else if (op->kind == OP_PARTY_REMOVE) {
        tv_rt_later_error(op->later, TV_RT_ERR_BAD_INPUT, "Matchmaker ticket not found");
    }
    op->later = NULL;
    op_free(op);
}

static void apply_op(tv_mm_t *mm, op_t *op)
{
    if (op->wait) {
        apply_module_op(mm, op);
        return;
    }
    if (op->kind >= OP_PARTY_ADD) {
        apply_party_op(mm, op);
        return;
    }
    if (op->kind == OP_ADD) {
        char id[37];
        tv_rt_identity_t who;
        memcpy(id, op->ticket->id, sizeof id);
        /* As for a module's add: a socket gone by now queued its OP_CLOSE already, and its
         * ticket would wait for nobody until it expired. */
        int rc = tv_rt_session_get(mm->rt, op->session_id, &who);
        if (rc == TV_OK) {
            pthread_rwlock_wrlock(&mm->pool_lock);
            rc = tv_mm_pool_add(&mm->pool, op->ticket);
            pthread_rwlock_unlock(&mm->pool_lock);
        }
        if (rc == TV_ENOTFOUND) {
            tv_rt_later_error(op->later, TV_RT_ERR_BAD_INPUT, "Session closed");
        } else if (rc == TV_OK) {
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
        pthread_rwlock_wrlock(&mm->pool_lock);
        int rc = tv_mm_pool_remove(&mm->pool, op->session_id, op->ticket_id);
        pthread_rwlock_unlock(&mm->pool_lock);
        if (rc == TV_OK) {
            atomic_fetch_add(&mm->removed, 1);
            tv_rt_later_reply(op->later, NULL, NULL);
        } else {
            tv_rt_later_error(op->later, TV_RT_ERR_BAD_INPUT, "Matchmaker ticket not found");
        }
        op->later = NULL;
    } else {
        pthread_rwlock_wrlock(&mm->pool_lock);
        size_t gone = tv_mm_pool_remove_session(&mm->pool, op->session_id);
        pthread_rwlock_unlock(&mm->pool_lock);
        atomic_fetch_add(&mm->removed, (int64_t)gone);
    }
    op_free(op);
}

/* {presence, party_id, string_properties, numeric_properties} of player i of a ticket (a
 * party's players share its properties, as in Nakama). */
static cJSON *user_json(const tv_mm_ticket_t *t, int i)
{
    tv_mm_member_t scratch;
    const tv_mm_member_t *m = tv_mm_ticket_member(t, i, &scratch);
    tv_rt_identity_t who = {0};
    memcpy(who.user_id, m->user_id, sizeof who.user_id);
    memcpy(who.session_id, m->session_id, sizeof who.session_id);
    memcpy(who.username, m->username, sizeof who.username);
    cJSON *u = cJSON_CreateObject(), *p = tv_rt_presence_json(&who, 0, NULL);
    cJSON *s = cJSON_Duplicate(t->strings, 1), *n = cJSON_Duplicate(t->numerics, 1);
    if (!u || !p || !s || !n ||
        (t->party_id[0] && !cJSON_AddStringToObject(u, "party_id", t->party_id))) {
        cJSON_Delete(u), cJSON_Delete(p), cJSON_Delete(s), cJSON_Delete(n);
        return NULL;
    }
    cJSON_AddItemToObject(u, "presence", p);
    cJSON_AddItemToObject(u, "string_properties", s);
    cJSON_AddItemToObject(u, "numeric_properties", n);
    return u;
}

/* Appends every player of g's tickets to users, in ticket order. 0 or TV_ENOMEM. */
static int add_users(cJSON *users, const tv_mm_group_t *g)
{
    for (size_t i = 0; i < g->n; i++)
        for (int k = 0; k < g->t[i]->count; k++) {
            cJSON *u = user_json(g->t[i], k);
            if (!u || !cJSON_AddItemToArray(users, u)) {
                cJSON_Delete(u);
                return TV_ENOMEM;
            }
        }
    return TV_OK;
}

/* Sends each player its matchmaker_matched: body holds users (every player, in ticket order)
 * and token or match_id; ticket (the player's ticket: its party's for a party member) and self
 * are set per player. */
static void send_each(tv_mm_t *mm, const tv_mm_group_t *g, cJSON *body)
{
    cJSON *users = cJSON_GetObjectItemCaseSensitive(body, "users");
    int u = 0;
    for (size_t i = 0; i < g->n; i++)
        for (int k = 0; k < g->t[i]->count; k++, u++) {
            tv_mm_member_t scratch;
            const tv_mm_member_t *m = tv_mm_ticket_member(g->t[i], k, &scratch);
            cJSON_DeleteItemFromObjectCaseSensitive(body, "ticket");
            cJSON_DeleteItemFromObjectCaseSensitive(body, "self");
            cJSON *self = cJSON_Duplicate(cJSON_GetArrayItem(users, u), 1);
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
                tv_rt_send(mm->rt, m->session_id, text, strlen(text));
            cJSON_free(text);
        }
}

/* A history entry: {time, kind, tickets, users: [{ticket, user_id, session_id, username,
 * string_properties, numeric_properties}]} plus match_id and authoritative for a group.
 * NULL on no memory (the entry is then missing: the history is best effort). */
static cJSON *history_entry(const char *kind, const tv_mm_ticket_t *const *t, size_t n,
                            const char *match_id, int authoritative)
{
    char when[32];
    tv_time_rfc3339(tv_now_s(), when);
    cJSON *e = cJSON_CreateObject(), *ids = cJSON_CreateArray(), *users = cJSON_CreateArray();
    if (!e || !ids || !users) {
        cJSON_Delete(e), cJSON_Delete(ids), cJSON_Delete(users);
        return NULL;
    }
    cJSON_AddItemToObject(e, "tickets", ids);
    cJSON_AddItemToObject(e, "users", users);
    int ok = cJSON_AddStringToObject(e, "time", when) && cJSON_AddStringToObject(e, "kind", kind);
    for (size_t i = 0; ok && i < n; i++)
        ok = cJSON_AddItemToArray(ids, cJSON_CreateString(t[i]->id));
    for (size_t i = 0; ok && i < n; i++)
        for (int k = 0; ok && k < t[i]->count; k++) {
            tv_mm_member_t scratch;
            const tv_mm_member_t *m = tv_mm_ticket_member(t[i], k, &scratch);
            cJSON *u = cJSON_CreateObject();
            if (!u || !cJSON_AddItemToArray(users, u)) {
                cJSON_Delete(u);
                ok = 0;
                break;
            }
            cJSON *s = cJSON_Duplicate(t[i]->strings, 1), *p = cJSON_Duplicate(t[i]->numerics, 1);
            if (!s || !p) {
                cJSON_Delete(s), cJSON_Delete(p);
                ok = 0;
                break;
            }
            ok = cJSON_AddStringToObject(u, "ticket", t[i]->id) &&
                 cJSON_AddStringToObject(u, "user_id", m->user_id) &&
                 cJSON_AddStringToObject(u, "session_id", m->session_id) &&
                 cJSON_AddStringToObject(u, "username", m->username) &&
                 (!t[i]->party_id[0] || cJSON_AddStringToObject(u, "party_id", t[i]->party_id));
            cJSON_AddItemToObject(u, "string_properties", s);
            cJSON_AddItemToObject(u, "numeric_properties", p);
        }
    if (ok && match_id)
        ok = cJSON_AddStringToObject(e, "match_id", match_id) &&
             cJSON_AddBoolToObject(e, "authoritative", authoritative);
    if (!ok) {
        cJSON_Delete(e);
        return NULL;
    }
    return e;
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
    if (users && add_users(users, g) != TV_OK)
        users = NULL;
    char *match_id = users ? hooked_match(mm, users) : NULL, *token = NULL;
    char mid[38] = "";
    int ok = users != NULL;
    if (ok && match_id) {
        ok = cJSON_AddStringToObject(body, "match_id", match_id) != NULL;
    } else if (ok) {
        char uuid[37];
        tv_uuid_v4(uuid);
        snprintf(mid, sizeof mid, "%s.", uuid);
        ok = tv_token_match_encode(mm->token_key, mid, tv_now_s() + MATCH_TOKEN_TTL_S,
                                   &token) == TV_OK &&
             cJSON_AddStringToObject(body, "token", token);
    }
    if (ok) { /* recorded first: whoever hears of the group finds it in the history */
        const tv_mm_ticket_t *const *t = (const tv_mm_ticket_t *const *)g->t;
        tv_mm_history_push(&mm->history, history_entry("matched", t, g->n,
                                                       match_id ? match_id : mid, !!match_id));
        send_each(mm, g, body);
    } else
        tv_log_error("matchmaker", "no memory for a matched group of %zu", g->n);
    free(match_id);
    free(token);
    cJSON_Delete(body);
}

/* An expired ticket's players hear matchmaker_matched with only themselves (the ticket's
 * players) in users and neither token nor match_id: what a nakama-js client can observe
 * (onmatchmakermatched), unlike an error envelope without cid, which it drops. */
static void deliver_expired(tv_mm_t *mm, const tv_mm_ticket_t *t)
{
    tv_mm_group_t g = {(tv_mm_ticket_t **)&t, 1};
    cJSON *body = cJSON_CreateObject(), *users = cJSON_AddArrayToObject(body, "users");
    tv_mm_history_push(&mm->history, history_entry("expired", &t, 1, NULL, 0)); /* first, too */
    if (users && add_users(users, &g) == TV_OK)
        send_each(mm, &g, body);
    cJSON_Delete(body);
}

static void run_pass(tv_mm_t *mm)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    tv_mm_result_t r;
    pthread_rwlock_wrlock(&mm->pool_lock);
    int rc = tv_mm_pool_pass(&mm->pool, &r);
    pthread_rwlock_unlock(&mm->pool_lock);
    if (rc != TV_OK) {
        tv_log_error("matchmaker", "no memory for a pass of %zu tickets", mm->pool.n);
        tv_mm_result_free(&r);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    int64_t matched = 0; /* tickets */
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
    /* stopping: module calls still queued are answered now (their callers own the ops); the
     * socket ops stay for tv_mm_free */
    op_t **pp = &mm->head;
    mm->tail = NULL;
    while (*pp) {
        op_t *op = *pp;
        if (op->wait) {
            *pp = op->next;
            op->wait->rc = TV_EUNAVAIL;
            op->wait->done = 1;
            mm->queued--;
        } else {
            mm->tail = op;
            pp = &op->next;
        }
    }
    pthread_cond_broadcast(&mm->done_cv);
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
    if (pthread_cond_init(&mm->done_cv, NULL)) {
        pthread_cond_destroy(&mm->cv);
        return TV_ENOMEM;
    }
    if (pthread_rwlock_init(&mm->pool_lock, NULL)) {
        pthread_cond_destroy(&mm->cv);
        pthread_cond_destroy(&mm->done_cv);
        return TV_ENOMEM;
    }
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
    if (tv_mm_history_init(&mm->history, TV_MM_HISTORY_MAX) != TV_OK) {
        free(mm->rating_property), free(mm->token_key), free(mm);
        return TV_ENOMEM;
    }
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
    tv_mm_history_free(&mm->history);
    if (mm->sync_ready) {
        pthread_cond_destroy(&mm->cv);
        pthread_cond_destroy(&mm->done_cv);
        pthread_rwlock_destroy(&mm->pool_lock);
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

/* ---- party tickets: from server/party, on socket threads (queued, never waiting) ------------ */

int tv_mm_party_add(tv_mm_t *mm, tv_mm_ticket_t *t, tv_rt_later_t *later)
{
    op_t *op = mm && t->party_id[0] ? calloc(1, sizeof *op) : NULL;
    if (!op) {
        tv_mm_ticket_free(t);
        tv_rt_later_error(later, TV_RT_ERR_RUNTIME_EXCEPTION, "Matchmaker is unavailable");
        return TV_EUNAVAIL;
    }
    op->kind = OP_PARTY_ADD;
    op->ticket = t;
    op->later = later;
    memcpy(op->party_id, t->party_id, sizeof op->party_id);
    if (enqueue(mm, op, 1) != TV_OK) {
        tv_rt_later_error(op->later, TV_RT_ERR_RUNTIME_EXCEPTION, "Matchmaker is busy");
        op->later = NULL;
        op_free(op);
        return TV_EUNAVAIL;
    }
    return TV_OK;
}

static op_t *party_op(op_kind_t kind, const char *party_id, const char *ticket_id)
{
    op_t *op = calloc(1, sizeof *op);
    if (!op || strlen(party_id) >= sizeof op->party_id ||
        (ticket_id && strlen(ticket_id) >= sizeof op->ticket_id)) {
        free(op);
        return NULL;
    }
    op->kind = kind;
    memcpy(op->party_id, party_id, strlen(party_id) + 1);
    if (ticket_id)
        memcpy(op->ticket_id, ticket_id, strlen(ticket_id) + 1);
    return op;
}

int tv_mm_party_remove(tv_mm_t *mm, const char *party_id, const char *ticket_id,
                       tv_rt_later_t *later)
{
    op_t *op = mm ? party_op(OP_PARTY_REMOVE, party_id, ticket_id) : NULL;
    if (!op) {
        tv_rt_later_error(later, TV_RT_ERR_RUNTIME_EXCEPTION, "Matchmaker is unavailable");
        return TV_EUNAVAIL;
    }
    op->later = later;
    if (enqueue(mm, op, 0) != TV_OK) {
        tv_rt_later_error(op->later, TV_RT_ERR_RUNTIME_EXCEPTION, "Matchmaker is stopping");
        op->later = NULL;
        op_free(op);
        return TV_EUNAVAIL;
    }
    return TV_OK;
}

void tv_mm_party_drop(tv_mm_t *mm, const char *party_id)
{
    op_t *op = mm ? party_op(OP_PARTY_DROP, party_id, NULL) : NULL;
    if (!op) {
        if (mm)
            tv_log_error("matchmaker", "no memory to drop the tickets of party %s", party_id);
        return;
    }
    if (enqueue(mm, op, 0) != TV_OK)
        free(op); /* stopping: the pool goes whole */
}

/* ---- module calls and console listings: any thread but the socket threads ------------------ */

/* Queues op for the matcher and waits until it is applied; on the matcher thread itself (a
 * module's matchmaker_matched hook calling back) applies it at once. Returns the op's code.
 * The caller owns op afterwards in every case. */
static int run_module_op(tv_mm_t *mm, op_t *op)
{
    waiter_t w = {0, TV_EUNAVAIL};
    op->wait = &w;
    if (mm->started && pthread_equal(pthread_self(), mm->thread)) {
        apply_module_op(mm, op);
        return w.rc;
    }
    if (enqueue(mm, op, 1) != TV_OK)
        return TV_EUNAVAIL;
    pthread_mutex_lock(&mm->mu);
    while (!w.done)
        pthread_cond_wait(&mm->done_cv, &mm->mu);
    pthread_mutex_unlock(&mm->mu);
    return w.rc;
}

int tv_mm_add(tv_mm_t *mm, const char *session_id, const cJSON *body, char ticket_id[37],
              const char **why)
{
    *why = NULL;
    ticket_id[0] = '\0';
    if (!mm)
        return TV_EUNAVAIL;
    if (!session_id || !tv_uuid_valid(session_id))
        return *why = "Invalid session id", TV_EINVAL;
    tv_rt_identity_t who;
    if (tv_rt_session_get(mm->rt, session_id, &who) != TV_OK)
        return *why = "No such session", TV_ENOTFOUND;
    op_t op = {.kind = OP_ADD};
    int rc = tv_mm_ticket_from_json(body, who.session_id, who.user_id, who.username,
                                    mm->rating_property, &op.ticket, why);
    if (rc != TV_OK)
        return rc;
    memcpy(op.session_id, who.session_id, sizeof op.session_id);
    memcpy(ticket_id, op.ticket->id, 37);
    rc = run_module_op(mm, &op);
    tv_mm_ticket_free(op.ticket); /* NULL when the pool took it */
    if (rc != TV_OK)
        ticket_id[0] = '\0';
    if (rc == TV_EBUSY)
        *why = "Too many matchmaker tickets";
    else if (rc == TV_ENOTFOUND)
        *why = "No such session";
    else if (rc == TV_EUNAVAIL)
        *why = "Matchmaker is busy or stopping";
    return rc;
}

int tv_mm_remove_ticket(tv_mm_t *mm, const char *ticket_id)
{
    if (!mm)
        return TV_EUNAVAIL;
    if (!ticket_id || !*ticket_id || strlen(ticket_id) >= 37)
        return TV_EINVAL;
    op_t op = {.kind = OP_REMOVE};
    memcpy(op.ticket_id, ticket_id, strlen(ticket_id) + 1);
    return run_module_op(mm, &op);
}

int tv_mm_list(tv_mm_t *mm, const char *user_id, const char *session_id, size_t limit,
               cJSON **out, size_t *total)
{
    *out = NULL;
    if (total)
        *total = 0;
    if (!mm)
        return TV_EUNAVAIL;
    pthread_rwlock_rdlock(&mm->pool_lock);
    *out = tv_mm_pool_list(&mm->pool, user_id, session_id, limit, total);
    pthread_rwlock_unlock(&mm->pool_lock);
    return *out ? TV_OK : TV_ENOMEM;
}

int tv_mm_history(tv_mm_t *mm, size_t limit, cJSON **out, uint64_t *total)
{
    *out = NULL;
    if (total)
        *total = 0;
    if (!mm)
        return TV_EUNAVAIL;
    if (total)
        *total = tv_mm_history_pushed(&mm->history);
    *out = tv_mm_history_list(&mm->history, limit);
    return *out ? TV_OK : TV_ENOMEM;
}
