/* Authoritative matches: the registry of running instances (id -> match), their queues (join
 * attempts, leaves, input), the tick that drains the queues into the module's callbacks on a
 * scheduler thread, the dispatcher entries of the host table, and the listing with its label
 * query subset. Socket threads only queue: every module callback runs on the scheduler. */
#include "authoritative.h"
#include "joined.h"
#include "match.h"
#include "modules.h"
#include "query.h"
#include "rt.h"
#include "rt/idmap.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ID_MAX (TV_UUID_LEN + 1 + sizeof TV_AMATCH_NODE) /* "<uuid>.<node>" + NUL */

/* A presence the match owns; pub points into the strings. */
typedef struct apres {
    tv_mod_presence_t pub;
    char user_id[37];
    char session_id[37];
    char username[129];
    int64_t gone_ms;      /* held after a disconnect: leaves at this unix ms (0 = connected);
                             written by the tick thread under mu */
} apres_t;

enum { REQ_JOIN, REQ_LEAVE };

/* A join attempt or a leave, queued from a socket thread (or a kick) for the next tick. */
typedef struct req {
    struct req *next;
    int kind;
    apres_t p;
    char *cid;            /* join: the request's cid (NULL when it had none) */
    tv_mod_kv_t *meta;    /* join: metadata, strings owned */
    size_t nmeta;
} req_t;

/* One input message; the data bytes follow the struct. */
typedef struct msg {
    tv_mod_match_message_t pub;
    apres_t from;
    unsigned char data[];
} msg_t;

/* A signal (match_signal), shared by the caller waiting for its answer and the match that
 * runs it: two references, the last to let go frees it. */
enum { SIG_QUEUED, SIG_RUNNING, SIG_DONE, SIG_GONE /* the caller gave up */ };
typedef struct asig {
    struct asig *next;       /* in the match's queue, under the match's mu */
    pthread_mutex_t mu;      /* guards what follows */
    pthread_cond_t cv;       /* st became SIG_DONE */
    int refs;
    int st;
    int code;                /* SIG_DONE: a gRPC code */
    char *result;            /* SIG_DONE with code 0: malloc'd, NUL-terminated */
    size_t result_len;
    size_t len;
    char data[];             /* len bytes + NUL */
} asig_t;

typedef struct amatch amatch_t;

struct tv_mod_dispatcher {
    amatch_t *m;
};

struct amatch {
    tv_amatch_t *a;
    char id[ID_MAX];
    tv_mod_match_t *ref;                 /* keeps the module's code loaded */
    const tv_mod_match_handler_t *h;
    tv_module_t *mod;
    char *handler_name;
    void *state;                         /* only the tick thread touches it */
    int tick_rate;
    int64_t loops;
    int64_t created_ms;
    int reconnect_grace;                 /* seconds a dropped presence is held (0 = none) */
    struct tv_mod_dispatcher disp;
    /* tick figures for the console: written by the tick thread, read by anyone */
    atomic_llong ticks, tick_last_us, tick_max_us, tick_sum_us, overruns;
    /* its handler's series (tavern_amatch_*{handler}), and the overrun log's rate limit
     * (tick thread only) */
    tv_metric_t *m_matches, *m_tick, *m_overruns;
    int64_t overruns_told, overrun_told_ms;

    pthread_mutex_t mu;                  /* guards what socket threads and listing read: */
    char *label;                         /*   written by the tick thread under mu */
    apres_t **pres;                      /*   members, written by the tick thread under mu */
    size_t npres, cappres;
    req_t *reqs, *reqs_tail;             /*   queued joins and leaves */
    int nreqs;
    msg_t *msgs[TV_AMATCH_INPUT_QUEUE];    /*   queued input */
    size_t nmsgs;
    asig_t *sigs, *sigs_tail;            /*   queued signals */
    int nsigs;
    int terminate, grace;                /*   shutdown asked */
    int stopped;                         /*   ... by the console (tv_amatch_stop) */
    int ended;                           /*   the match ended: refuse everything */
};

struct tv_amatch {
    tv_rt_t *rt;
    tv_mod_registry_t *modules;
    tv_sched_t *sched;
    pthread_rwlock_t lock;               /* guards map and stopping */
    tv_rt_idmap_t map;                   /* id -> amatch_t */
    tv_joined_t *joined;                 /* session id -> ids of matches it is in or joining */
    int stopping;
    atomic_llong matches, presences, created, inputs, dropped;
    int signal_timeout_ms;               /* match_signal's wait (tests shorten it) */
};

/* The instance the host table's match_create reaches (one server per process). */
static _Atomic(tv_amatch_t *) g_auth;

/* The match whose tick runs on this thread (NULL outside ticks): match_signal refuses to wait
 * there. */
static _Thread_local amatch_t *tls_match;

/* ---- small helpers ------------------------------------------------------------------------ */

/* Copies at most cap - 1 bytes of src: the precision tells the compiler the cut is meant
 * (-O3's -Wformat-truncation otherwise fails the release build). */
static void copy_cut(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%.*s", (int)cap - 1, src ? src : "");
}

static void pres_set(apres_t *p, const char *user_id, const char *session_id,
                     const char *username, int reason)
{
    copy_cut(p->user_id, sizeof p->user_id, user_id);
    copy_cut(p->session_id, sizeof p->session_id, session_id);
    copy_cut(p->username, sizeof p->username, username);
    p->pub.size = sizeof p->pub;
    p->pub.user_id = p->user_id;
    p->pub.session_id = p->session_id;
    p->pub.username = p->username;
    p->pub.node = TV_AMATCH_NODE;
    p->pub.reason = reason;
}

static cJSON *pres_json(const apres_t *p)
{
    cJSON *o = cJSON_CreateObject();
    if (o && (!cJSON_AddStringToObject(o, "user_id", p->user_id) ||
              !cJSON_AddStringToObject(o, "session_id", p->session_id) ||
              !cJSON_AddStringToObject(o, "username", p->username))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static void req_free(req_t *r)
{
    if (!r)
        return;
    free(r->cid);
    for (size_t i = 0; i < r->nmeta; i++) {
        free((char *)r->meta[i].key);
        free((char *)r->meta[i].value);
    }
    free(r->meta);
    free(r);
}

/* Index of the member with session_id, or -1. Caller holds mu or is the tick thread. */
static long member_of(const amatch_t *m, const char *session_id)
{
    for (size_t i = 0; i < m->npres; i++)
        if (strcmp(m->pres[i]->session_id, session_id) == 0)
            return (long)i;
    return -1;
}

/* Index of the member of user_id held after a disconnect (reconnect grace), or -1. Tick
 * thread. */
static long held_of(const amatch_t *m, const char *user_id)
{
    for (size_t i = 0; i < m->npres; i++)
        if (m->pres[i]->gone_ms && strcmp(m->pres[i]->user_id, user_id) == 0)
            return (long)i;
    return -1;
}

static void ctx_fill(amatch_t *m, tv_mod_match_ctx_t *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->size = sizeof *ctx;
    ctx->module = m->mod;
    ctx->dispatcher = &m->disp;
    ctx->match_id = m->id;
    ctx->node = TV_AMATCH_NODE;
    ctx->label = m->label ? m->label : "";
    ctx->tick_rate = m->tick_rate;
    ctx->tick = m->loops;
}

/* Finds a running match and returns it with mu held, or NULL. */
static amatch_t *find_locked(tv_amatch_t *a, const char *id)
{
    pthread_rwlock_rdlock(&a->lock);
    amatch_t *m = tv_rt_idmap_get(&a->map, id);
    if (m) {
        pthread_mutex_lock(&m->mu);
        if (m->ended) {
            pthread_mutex_unlock(&m->mu);
            m = NULL;
        }
    }
    pthread_rwlock_unlock(&a->lock);
    /* The match cannot be freed while mu is held: done takes the write lock and mu. */
    return m;
}

/* Appends r to m's queue (mu held). TV_EBUSY when full of joins. A leave is always taken: it
 * is bounded by the members and queued joins, and dropping one would leave a ghost member. */
static int enqueue(amatch_t *m, req_t *r)
{
    if (r->kind == REQ_JOIN && m->nreqs >= TV_AMATCH_CALL_QUEUE)
        return TV_EBUSY;
    r->next = NULL;
    if (m->reqs_tail)
        m->reqs_tail->next = r;
    else
        m->reqs = r;
    m->reqs_tail = r;
    m->nreqs++;
    return TV_OK;
}

/* ---- pushes ------------------------------------------------------------------------------- */

/* Sends text to every member. */
static void send_all(amatch_t *m, const char *text, size_t len)
{
    const char *inline_ids[32], **ids = inline_ids;
    if (!m->npres)
        return;
    if (m->npres > 32 && !(ids = malloc(m->npres * sizeof *ids)))
        return;
    size_t k = 0;
    for (size_t i = 0; i < m->npres; i++)
        if (!m->pres[i]->gone_ms) /* held after a disconnect: nobody to hear it */
            ids[k++] = m->pres[i]->session_id;
    if (k)
        tv_rt_send_many(m->a->rt, ids, k, text, len);
    if (ids != inline_ids)
        free(ids);
}

/* match_presence_event {match_id, joins | leaves: [p]} to every member. */
static void presence_event(amatch_t *m, const apres_t *p, int join)
{
    cJSON *ev = cJSON_CreateObject(), *arr = NULL;
    if (ev && cJSON_AddStringToObject(ev, "match_id", m->id) &&
        (arr = cJSON_AddArrayToObject(ev, join ? "joins" : "leaves"))) {
        cJSON *pj = pres_json(p);
        if (pj)
            cJSON_AddItemToArray(arr, pj);
    }
    char *text = tv_rt_envelope_text(NULL, "match_presence_event", ev);
    if (text) {
        send_all(m, text, strlen(text));
        cJSON_free(text);
    }
}

/* ---- signals ------------------------------------------------------------------------------ */

static void sig_release(asig_t *s)
{
    pthread_mutex_lock(&s->mu);
    int last = --s->refs == 0;
    pthread_mutex_unlock(&s->mu);
    if (!last)
        return;
    free(s->result);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* The match's side is done with s: answers code with result (taken; freed when the caller
 * gave up) and lets go of it. */
static void sig_finish(asig_t *s, int code, char *result, size_t len)
{
    pthread_mutex_lock(&s->mu);
    if (s->st != SIG_GONE) {
        s->st = SIG_DONE;
        s->code = code;
        s->result = result;
        s->result_len = len;
        result = NULL;
        pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    free(result);
    sig_release(s);
}

/* Runs the signal callback for s (tick thread) unless its caller gave up. Returns 0, or -1
 * when the state went NULL (the answer is sent first). */
static int run_signal(amatch_t *m, asig_t *s)
{
    pthread_mutex_lock(&s->mu);
    int go = s->st == SIG_QUEUED;
    if (go)
        s->st = SIG_RUNNING;
    pthread_mutex_unlock(&s->mu);
    if (!go) {
        sig_release(s);
        return 0;
    }
    tv_mod_reply_t r = {0};
    r.size = sizeof r;
    if (m->h->signal) {
        tv_mod_match_ctx_t ctx;
        ctx_fill(m, &ctx);
        m->state = m->h->signal(&ctx, m->state, s->data, s->len, &r);
    }
    free(r.message);
    if (!r.data)
        r.len = 0;
    char *res = malloc(r.len + 1);
    if (res) {
        if (r.len)
            memcpy(res, r.data, r.len);
        res[r.len] = 0;
    }
    free(r.data);
    sig_finish(s, res ? TV_GRPC_OK : TV_GRPC_INTERNAL, res, res ? r.len : 0);
    return m->state ? 0 : -1;
}

int tv_amatch_signal(tv_amatch_t *a, const char *match_id, const char *data, size_t len,
                     char **result, size_t *result_len)
{
    if (result)
        *result = NULL;
    if (result_len)
        *result_len = 0;
    if (!a)
        return TV_GRPC_UNAVAILABLE;
    if (!match_id || (len && !data))
        return TV_GRPC_INVALID_ARGUMENT;
    if (tls_match)
        return TV_GRPC_FAILED_PRECONDITION;
    asig_t *s = calloc(1, sizeof *s + len + 1);
    if (!s)
        return TV_GRPC_INTERNAL;
    tv_cond_init_monotonic(&s->cv);
    pthread_mutex_init(&s->mu, NULL);
    s->refs = 2;
    s->st = SIG_QUEUED;
    s->len = len;
    if (len)
        memcpy(s->data, data, len);

    amatch_t *m = find_locked(a, match_id);
    int code = !m ? TV_GRPC_NOT_FOUND
               : m->nsigs >= TV_AMATCH_SIGNAL_QUEUE ? TV_GRPC_RESOURCE_EXHAUSTED : TV_GRPC_OK;
    if (code == TV_GRPC_OK) {
        if (m->sigs_tail)
            m->sigs_tail->next = s;
        else
            m->sigs = s;
        m->sigs_tail = s;
        m->nsigs++;
    }
    if (m)
        pthread_mutex_unlock(&m->mu);
    if (code != TV_GRPC_OK) {
        s->refs = 1;
        sig_release(s);
        return code;
    }

    int timeout = a->signal_timeout_ms > 0 ? a->signal_timeout_ms : TV_AMATCH_SIGNAL_TIMEOUT_MS;
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += timeout / 1000;
    dl.tv_nsec += (long)(timeout % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (s->st != SIG_DONE)
        if (pthread_cond_timedwait(&s->cv, &s->mu, &dl) == ETIMEDOUT)
            break;
    if (s->st == SIG_DONE) {
        code = s->code;
        if (code == TV_GRPC_OK) {
            if (result_len)
                *result_len = s->result_len;
            if (result) {
                *result = s->result;
                s->result = NULL;
            }
        }
    } else {
        s->st = SIG_GONE; /* a queued signal is skipped; a running one is answered to nobody */
        code = TV_GRPC_DEADLINE_EXCEEDED;
    }
    pthread_mutex_unlock(&s->mu);
    sig_release(s);
    return code;
}

/* ---- the tick ------------------------------------------------------------------------------ */

static void drop_presences(amatch_t *m)
{
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->npres; i++) {
        tv_joined_remove(m->a->joined, m->pres[i]->session_id, m->id);
        free(m->pres[i]);
    }
    atomic_fetch_sub(&m->a->presences, (long long)m->npres);
    m->npres = 0;
    m->ended = 1;
    pthread_mutex_unlock(&m->mu);
}

/* The match ended (NULL state, or terminate done): presences drop silently, listing forgets
 * it at once; the scheduler then calls done, which frees it. */
static int end_match(amatch_t *m, const char *why)
{
    tv_log_info("match", "authoritative match %s (%s) ended: %s", m->id, m->handler_name, why);
    m->state = NULL;
    drop_presences(m);
    return TV_SCHED_STOP;
}

/* A join attempt: join_attempt, then the member is added, answered (`match`), announced, and
 * join runs. A rejoin (the user of a presence held after a disconnect, from a new socket)
 * skips join_attempt and the announcement: the held presence takes the new session, the
 * answer says "rejoined": true, and join runs again with reason 2. Returns 0, or -1 when the
 * state went NULL. */
static int run_join(amatch_t *m, req_t *r)
{
    tv_mod_match_ctx_t ctx;
    tv_rt_t *rt = m->a->rt;
    long at = member_of(m, r->p.session_id);
    long held = at < 0 ? held_of(m, r->p.user_id) : -1;
    int64_t was_gone = 0;
    char old_sid[sizeof r->p.session_id];

    if (at < 0 && held < 0 && m->h->join_attempt) {
        tv_mod_join_result_t jr = {sizeof jr, 1, NULL};
        ctx_fill(m, &ctx);
        r->p.pub.reason = 1;
        m->state = m->h->join_attempt(&ctx, m->state, &r->p.pub, r->meta, r->nmeta, &jr);
        if (!m->state) {
            tv_rt_reply_error(rt, r->p.session_id, r->cid, TV_RT_ERR_MATCH_NOT_FOUND,
                              "Match not found");
            return -1;
        }
        if (!jr.allow) {
            tv_rt_reply_error(rt, r->p.session_id, r->cid, TV_RT_ERR_MATCH_JOIN_REJECTED,
                              jr.reason && *jr.reason ? jr.reason : "Match join rejected");
            return 0;
        }
    }
    apres_t *p = NULL;
    if (held >= 0) {
        p = m->pres[held];
        was_gone = p->gone_ms;
        memcpy(old_sid, p->session_id, sizeof old_sid);
        pthread_mutex_lock(&m->mu);
        memcpy(p->session_id, r->p.session_id, sizeof p->session_id);
        memcpy(p->username, r->p.username, sizeof p->username);
        p->gone_ms = 0;
        pthread_mutex_unlock(&m->mu);
    } else if (at < 0) {
        if (!(p = malloc(sizeof *p))) {
            tv_rt_reply_error(rt, r->p.session_id, r->cid, TV_RT_ERR_RUNTIME_EXCEPTION,
                              "out of memory");
            return 0;
        }
        *p = r->p;
        pres_set(p, r->p.user_id, r->p.session_id, r->p.username, 1);
        pthread_mutex_lock(&m->mu);
        if (m->npres == m->cappres) {
            size_t cap = m->cappres ? 2 * m->cappres : 8;
            apres_t **n = realloc(m->pres, cap * sizeof *n);
            if (!n) {
                pthread_mutex_unlock(&m->mu);
                free(p);
                tv_rt_reply_error(rt, r->p.session_id, r->cid, TV_RT_ERR_RUNTIME_EXCEPTION,
                                  "out of memory");
                return 0;
            }
            m->pres = n;
            m->cappres = cap;
        }
        m->pres[m->npres++] = p;
        pthread_mutex_unlock(&m->mu);
        atomic_fetch_add(&m->a->presences, 1);
    } else {
        p = m->pres[at]; /* joined already: answered again, nothing announced */
    }

    /* match {match_id, authoritative, label, size, presences (the others), self} */
    cJSON *body = cJSON_CreateObject(), *others = NULL;
    int ok = body && cJSON_AddStringToObject(body, "match_id", m->id) &&
             cJSON_AddTrueToObject(body, "authoritative") &&
             (!m->label || cJSON_AddStringToObject(body, "label", m->label)) &&
             cJSON_AddNumberToObject(body, "size", (double)m->npres) &&
             (others = cJSON_AddArrayToObject(body, "presences")) &&
             (held < 0 || cJSON_AddTrueToObject(body, "rejoined"));
    for (size_t i = 0; ok && i < m->npres; i++) {
        if (m->pres[i] == p)
            continue;
        cJSON *pj = pres_json(m->pres[i]);
        ok = pj != NULL;
        if (pj)
            cJSON_AddItemToArray(others, pj);
    }
    cJSON *self = ok ? pres_json(p) : NULL;
    if (self)
        cJSON_AddItemToObject(body, "self", self);
    int rc = self ? tv_rt_reply(rt, p->session_id, r->cid, "match", body) : TV_ENOMEM;
    if (!self)
        cJSON_Delete(body);
    if (at >= 0)
        return 0;
    if (held >= 0 && (rc == TV_ENOTFOUND || rc == TV_ENOMEM)) {
        /* the new socket is gone too: held again, under the first deadline */
        pthread_mutex_lock(&m->mu);
        memcpy(p->session_id, old_sid, sizeof p->session_id);
        p->gone_ms = was_gone;
        pthread_mutex_unlock(&m->mu);
        return 0;
    }
    if (held >= 0) {
        if (m->h->join) {
            const tv_mod_presence_t *one[1] = {&p->pub};
            p->pub.reason = 2; /* a rejoin: the module resyncs this presence */
            ctx_fill(m, &ctx);
            m->state = m->h->join(&ctx, m->state, one, 1);
            if (!m->state)
                return -1;
        }
        return 0;
    }
    if (rc == TV_ENOTFOUND || rc == TV_ENOMEM) {
        /* the socket closed before it could hear it (or no memory): not a member after all */
        pthread_mutex_lock(&m->mu);
        long i = member_of(m, p->session_id);
        if (i >= 0)
            m->pres[i] = m->pres[--m->npres];
        pthread_mutex_unlock(&m->mu);
        atomic_fetch_sub(&m->a->presences, 1);
        free(p);
        return 0;
    }
    presence_event(m, p, 1);
    if (m->h->join) {
        const tv_mod_presence_t *one[1] = {&p->pub};
        ctx_fill(m, &ctx);
        m->state = m->h->join(&ctx, m->state, one, 1);
        if (!m->state)
            return -1;
    }
    return 0;
}

/* The member with session_id goes (reason 3 leave or kick, 4 disconnect), the others hear
 * it, leave runs. Returns 0, or -1 when the state went NULL. */
static int leave_now(amatch_t *m, const char *session_id, int reason)
{
    pthread_mutex_lock(&m->mu);
    long i = member_of(m, session_id);
    apres_t *p = NULL;
    if (i >= 0) {
        p = m->pres[i];
        memmove(&m->pres[i], &m->pres[i + 1], (m->npres - (size_t)i - 1) * sizeof *m->pres);
        m->npres--;
    }
    pthread_mutex_unlock(&m->mu);
    if (!p)
        return 0;
    tv_joined_remove(m->a->joined, session_id, m->id);
    atomic_fetch_sub(&m->a->presences, 1);
    p->pub.reason = reason;
    presence_event(m, p, 0);
    int rc = 0;
    if (m->h->leave) {
        tv_mod_match_ctx_t ctx;
        const tv_mod_presence_t *one[1] = {&p->pub};
        ctx_fill(m, &ctx);
        m->state = m->h->leave(&ctx, m->state, one, 1);
        rc = m->state ? 0 : -1;
    }
    free(p);
    return rc;
}

/* A queued leave. A disconnect while the match has a reconnect grace does not leave: the
 * presence is held (silent, still a member) until its deadline or a rejoin. */
static int run_leave(amatch_t *m, req_t *r)
{
    if (r->p.pub.reason == 4 && m->reconnect_grace > 0) {
        pthread_mutex_lock(&m->mu);
        long i = member_of(m, r->p.session_id);
        int held = i >= 0 && !m->pres[i]->gone_ms;
        if (held)
            m->pres[i]->gone_ms = tv_now_ms() + 1000LL * m->reconnect_grace;
        pthread_mutex_unlock(&m->mu);
        if (held)
            return 0;
    }
    return leave_now(m, r->p.session_id, r->p.pub.reason);
}

/* Held presences whose deadline passed leave now (reason 4). Returns 0, or -1 when the
 * state went NULL. */
static int expire_held(amatch_t *m)
{
    int64_t now = tv_now_ms();
    for (;;) {
        char sid[sizeof m->pres[0]->session_id];
        size_t i = 0;
        while (i < m->npres && !(m->pres[i]->gone_ms && m->pres[i]->gone_ms <= now))
            i++;
        if (i == m->npres)
            return 0;
        memcpy(sid, m->pres[i]->session_id, sizeof sid);
        if (leave_now(m, sid, 4) < 0)
            return -1;
    }
}

/* A join attempt is over: the index keeps the session only if it became a member. */
static void forget_unless_member(amatch_t *m, const char *session_id)
{
    pthread_mutex_lock(&m->mu);
    int in = !m->ended && member_of(m, session_id) >= 0;
    pthread_mutex_unlock(&m->mu);
    if (!in)
        tv_joined_remove(m->a->joined, session_id, m->id);
}

/* A stopped match's last word: every connected member hears all members leave (itself
 * included) in one match_presence_event, so clients learn the match is over. */
static void goodbye(amatch_t *m)
{
    cJSON *ev = cJSON_CreateObject(), *arr = NULL;
    int ok = ev && cJSON_AddStringToObject(ev, "match_id", m->id) &&
             (arr = cJSON_AddArrayToObject(ev, "leaves"));
    for (size_t i = 0; ok && i < m->npres; i++) {
        cJSON *pj = pres_json(m->pres[i]);
        ok = pj != NULL;
        if (pj)
            cJSON_AddItemToArray(arr, pj);
    }
    char *text = ok ? tv_rt_envelope_text(NULL, "match_presence_event", ev) : NULL;
    if (!ok)
        cJSON_Delete(ev);
    if (text) {
        send_all(m, text, strlen(text));
        cJSON_free(text);
    }
}

static int tick_run(amatch_t *m, int64_t sched_tick)
{
    msg_t *msgs[TV_AMATCH_INPUT_QUEUE];
    (void)sched_tick;

    pthread_mutex_lock(&m->mu);
    if (m->ended) {
        pthread_mutex_unlock(&m->mu);
        return TV_SCHED_STOP;
    }
    req_t *reqs = m->reqs;
    m->reqs = m->reqs_tail = NULL;
    m->nreqs = 0;
    asig_t *sigs = m->sigs;
    m->sigs = m->sigs_tail = NULL;
    m->nsigs = 0;
    size_t n = m->nmsgs;
    memcpy(msgs, m->msgs, n * sizeof *msgs);
    m->nmsgs = 0;
    int terminate = m->terminate, grace = m->grace, stopped = m->stopped;
    pthread_mutex_unlock(&m->mu);

    int dead = 0;
    while (reqs) {
        req_t *r = reqs;
        reqs = r->next;
        if (!dead)
            dead = (r->kind == REQ_JOIN ? run_join(m, r) : run_leave(m, r)) < 0;
        else if (r->kind == REQ_JOIN)
            tv_rt_reply_error(m->a->rt, r->p.session_id, r->cid, TV_RT_ERR_MATCH_NOT_FOUND,
                              "Match not found");
        if (r->kind == REQ_JOIN)
            forget_unless_member(m, r->p.session_id);
        req_free(r);
    }
    if (!dead)
        dead = expire_held(m) < 0;
    while (sigs) { /* before the loop, in the order they came */
        asig_t *s = sigs;
        sigs = s->next;
        if (!dead)
            dead = run_signal(m, s) < 0;
        else
            sig_finish(s, TV_GRPC_NOT_FOUND, NULL, 0);
    }
    if (!dead && terminate) {
        if (m->h->terminate) {
            tv_mod_match_ctx_t ctx;
            ctx_fill(m, &ctx);
            void *st = m->h->terminate(&ctx, m->state, grace);
            (void)st; /* the match stops either way; a non-NULL state is the module's to free
                         in terminate, as Nakama discards it too */
        }
        for (size_t i = 0; i < n; i++)
            free(msgs[i]);
        if (stopped)
            goodbye(m);
        return end_match(m, stopped ? "stopped from the console" : "server shutdown");
    }
    if (!dead) {
        const tv_mod_match_message_t *pub[TV_AMATCH_INPUT_QUEUE];
        for (size_t i = 0; i < n; i++)
            pub[i] = &msgs[i]->pub;
        tv_mod_match_ctx_t ctx;
        ctx_fill(m, &ctx);
        m->state = m->h->loop(&ctx, m->state, pub, n);
        m->loops++;
        dead = !m->state;
    }
    for (size_t i = 0; i < n; i++)
        free(msgs[i]);
    return dead ? end_match(m, "the handler returned no state") : TV_SCHED_CONTINUE;
}

/* One overrun line per match at most every OVERRUN_LOG_MS (the first at once), counting the
 * ones in between: a runaway match cannot flood the log. */
#define OVERRUN_LOG_MS 10000

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A tick's figures: the console's (atomics), the handler's series, and the overrun line. */
static void tick_observe(amatch_t *m, int64_t dur_ns)
{
    if (dur_ns < 0)
        dur_ns = 0;
    int64_t us = dur_ns / 1000;
    atomic_fetch_add(&m->ticks, 1);
    atomic_store(&m->tick_last_us, us);
    atomic_fetch_add(&m->tick_sum_us, us);
    if (us > atomic_load(&m->tick_max_us))
        atomic_store(&m->tick_max_us, us); /* only this match's tick writes it */
    tv_metric_observe_ns(m->m_tick, (uint64_t)dur_ns);
    int64_t budget_ns = 1000000000LL / (m->tick_rate > 0 ? m->tick_rate : 1);
    if (dur_ns <= budget_ns)
        return;
    tv_metric_inc(m->m_overruns);
    int64_t overruns = atomic_fetch_add(&m->overruns, 1) + 1;
    int64_t now = tv_mono_ms();
    if (m->overruns_told && now - m->overrun_told_ms < OVERRUN_LOG_MS)
        return;
    tv_log_warn("match", "tick overrun: match %s (%s) tick %lld took %.3f ms of its %.3f ms "
                "budget; %lld overruns in all, %lld since the last line", m->id, m->handler_name,
                (long long)m->loops, (double)dur_ns / 1e6, (double)budget_ns / 1e6,
                (long long)overruns, (long long)(overruns - m->overruns_told));
    m->overruns_told = overruns;
    m->overrun_told_ms = now;
}

static int tick(void *ud, int64_t sched_tick)
{
    amatch_t *m = ud, *prev = tls_match;
    tls_match = m;
    int64_t t0 = mono_ns();
    int rc = tick_run(m, sched_tick);
    tick_observe(m, mono_ns() - t0); /* m lives until done(), after this returns */
    tls_match = prev;
    return rc;
}

static void match_free(amatch_t *m)
{
    while (m->reqs) {
        req_t *r = m->reqs;
        m->reqs = r->next;
        if (r->kind == REQ_JOIN) { /* queued before the match ended: answer it */
            tv_joined_remove(m->a->joined, r->p.session_id, m->id);
            tv_rt_reply_error(m->a->rt, r->p.session_id, r->cid, TV_RT_ERR_MATCH_NOT_FOUND,
                              "Match not found");
        }
        req_free(r);
    }
    while (m->sigs) { /* queued before the match ended */
        asig_t *s = m->sigs;
        m->sigs = s->next;
        sig_finish(s, TV_GRPC_NOT_FOUND, NULL, 0);
    }
    for (size_t i = 0; i < m->nmsgs; i++)
        free(m->msgs[i]);
    for (size_t i = 0; i < m->npres; i++)
        free(m->pres[i]);
    free(m->pres);
    free(m->label);
    free(m->handler_name);
    tv_mod_match_release(m->ref);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* The scheduler is done with the match: unlist it and free it. */
static void done(void *ud)
{
    amatch_t *m = ud;
    tv_amatch_t *a = m->a;
    pthread_rwlock_wrlock(&a->lock);
    tv_rt_idmap_del(&a->map, m->id);
    pthread_rwlock_unlock(&a->lock);
    /* nobody can find it now, and whoever found it before released mu before we got the
     * write lock */
    pthread_mutex_lock(&m->mu);
    atomic_fetch_sub(&a->presences, (long long)m->npres);
    pthread_mutex_unlock(&m->mu);
    atomic_fetch_sub(&a->matches, 1);
    tv_metric_add(m->m_matches, -1);
    match_free(m);
}

/* ---- creating -------------------------------------------------------------------------- */

/* Tick durations, bucketed for budgets from 120 Hz (8.3 ms) to 1 Hz. */
static const double tick_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.0083,
                                     0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};

/* The match's handler series, looked up once per match (handler names are the modules'
 * registrations: a bounded set, capped by the registry). */
static void handler_series(amatch_t *m)
{
    const char *v[] = {m->handler_name};
    m->m_matches = tv_metrics_series(
        tv_metrics_family(TV_METRIC_GAUGE, "tavern_amatch_matches",
                          "Authoritative matches running, by match handler.", "handler", NULL,
                          0), v);
    m->m_tick = tv_metrics_series(
        tv_metrics_family(TV_METRIC_HISTOGRAM, "tavern_amatch_tick_duration_seconds",
                          "Time an authoritative match's tick took (queued joins, leaves, "
                          "signals and the loop), by match handler.", "handler", tick_bounds,
                          sizeof tick_bounds / sizeof tick_bounds[0]), v);
    m->m_overruns = tv_metrics_series(
        tv_metrics_family(TV_METRIC_COUNTER, "tavern_amatch_tick_overruns_total",
                          "Authoritative ticks that ran past their budget (1/tick rate), by "
                          "match handler.", "handler", NULL, 0), v);
}

int tv_amatch_create(tv_amatch_t *a, const char *name, const char *params, char **match_id)
{
    tv_mod_match_t *ref = NULL;
    amatch_t *m = NULL;
    int code = TV_GRPC_INTERNAL;

    *match_id = NULL;
    if (!a || !a->sched)
        return TV_GRPC_UNAVAILABLE;
    if (!name || !*name)
        return TV_GRPC_INVALID_ARGUMENT;
    int rc = tv_mod_match_acquire(a->modules, name, &ref);
    if (rc == TV_ENOTFOUND)
        return TV_GRPC_NOT_FOUND;
    if (rc != TV_OK)
        return TV_GRPC_INTERNAL;
    if (!(m = calloc(1, sizeof *m)))
        goto fail;
    pthread_mutex_init(&m->mu, NULL);
    m->a = a;
    m->ref = ref;
    m->h = tv_mod_match_handler(ref);
    m->mod = tv_mod_match_module(ref);
    m->disp.m = m;
    m->created_ms = tv_now_ms();
    m->tick_rate = 10;
    if (!(m->handler_name = strdup(name)))
        goto fail;
    handler_series(m);
    char uuid[TV_UUID_LEN + 1];
    tv_uuid_v4(uuid);
    snprintf(m->id, sizeof m->id, "%s.%s", uuid, TV_AMATCH_NODE);

    /* init, on this thread: nobody else can reach the match yet */
    tv_mod_match_init_t in = {sizeof in, 10, NULL};
    tv_mod_match_ctx_t ctx;
    ctx_fill(m, &ctx);
    const char *p = params && *params ? params : "{}";
    m->state = m->h->init(&ctx, p, strlen(p), &in);
    if (!m->state) {
        code = TV_GRPC_INVALID_ARGUMENT;
        goto fail;
    }
    if (in.tick_rate < TV_SCHED_MIN_HZ || in.tick_rate > TV_SCHED_MAX_HZ ||
        (in.label && strlen(in.label) > TV_AMATCH_LABEL_MAX)) {
        tv_log_warn("match", "%s: init gave tick rate %d (1-%d) or a label over %d bytes: the "
                    "match is refused (its state is leaked)", name, in.tick_rate,
                    TV_SCHED_MAX_HZ, TV_AMATCH_LABEL_MAX);
        code = TV_GRPC_INVALID_ARGUMENT;
        goto fail;
    }
    m->tick_rate = in.tick_rate;
    if (in.label && !(m->label = strdup(in.label)))
        goto fail; /* the state leaks: the ABI has no way to hand it back */
    if (!(*match_id = strdup(m->id)))
        goto fail;

    pthread_rwlock_wrlock(&a->lock);
    if (a->stopping) {
        pthread_rwlock_unlock(&a->lock);
        code = TV_GRPC_UNAVAILABLE;
        goto fail;
    }
    if (tv_rt_idmap_put(&a->map, m->id, m) != TV_OK) {
        pthread_rwlock_unlock(&a->lock);
        goto fail;
    }
    atomic_fetch_add(&a->matches, 1);
    /* under the lock: shutdown cannot free the scheduler between the check and the add */
    if (!tv_sched_add(a->sched, m->tick_rate, tick, done, m)) {
        tv_rt_idmap_del(&a->map, m->id);
        atomic_fetch_sub(&a->matches, 1);
        pthread_rwlock_unlock(&a->lock);
        goto fail;
    }
    tv_metric_inc(m->m_matches); /* before the unlock: done() cannot run before this */
    pthread_rwlock_unlock(&a->lock);
    atomic_fetch_add(&a->created, 1);
    return TV_GRPC_OK;
fail:
    free(*match_id);
    *match_id = NULL;
    if (m)
        match_free(m); /* releases ref */
    else
        tv_mod_match_release(ref);
    return code;
}

/* ---- the registry's hooks (socket threads: queue and return) ------------------------------- */

static int hook_join(void *ud, const tv_rt_msg_t *msg, const char *match_id, const cJSON *meta)
{
    tv_amatch_t *a = ud;
    req_t *r = calloc(1, sizeof *r);
    int rc = TV_ENOMEM;

    if (!r || (msg->cid && !(r->cid = strdup(msg->cid))))
        goto fail;
    r->kind = REQ_JOIN;
    pres_set(&r->p, msg->who->user_id, msg->who->session_id, msg->who->username, 1);
    int nmeta = meta ? cJSON_GetArraySize(meta) : 0;
    if (nmeta > 0 && !(r->meta = calloc((size_t)nmeta, sizeof *r->meta)))
        goto fail;
    for (const cJSON *kv = meta ? meta->child : NULL; kv; kv = kv->next) {
        if (!cJSON_IsString(kv) || !kv->string)
            continue;
        tv_mod_kv_t *e = &r->meta[r->nmeta];
        e->key = strdup(kv->string);
        e->value = strdup(kv->valuestring);
        r->nmeta++;
        if (!e->key || !e->value)
            goto fail;
    }
    amatch_t *m = find_locked(a, match_id);
    if (!m) {
        req_free(r);
        tv_rt_reply_error(msg->rt, msg->who->session_id, msg->cid, TV_RT_ERR_MATCH_NOT_FOUND,
                          "Match not found");
        return TV_OK;
    }
    /* noted before it is queued, so a close racing with this join finds it */
    int noted = tv_joined_add(a->joined, msg->who->session_id, m->id);
    rc = noted < 0 ? noted : enqueue(m, r);
    if (rc != TV_OK && noted > 0)
        tv_joined_remove(a->joined, msg->who->session_id, m->id);
    pthread_mutex_unlock(&m->mu);
    if (rc == TV_ENOMEM) {
        req_free(r);
        return rc;
    }
    if (rc != TV_OK) {
        req_free(r);
        tv_rt_reply_error(msg->rt, msg->who->session_id, msg->cid,
                          TV_RT_ERR_MATCH_JOIN_REJECTED, "Match is busy, try again");
    }
    return TV_OK;
fail:
    req_free(r);
    return rc;
}

static void queue_leave(tv_amatch_t *a, amatch_t *m, const char *user_id, const char *session_id,
                        const char *username, int reason)
{
    (void)a;
    req_t *r = calloc(1, sizeof *r);
    if (!r)
        return;
    r->kind = REQ_LEAVE;
    pres_set(&r->p, user_id, session_id, username, reason);
    if (enqueue(m, r) != TV_OK)
        req_free(r);
}

static void hook_leave(void *ud, const tv_rt_identity_t *who, const char *match_id)
{
    tv_amatch_t *a = ud;
    amatch_t *m = find_locked(a, match_id);
    if (!m)
        return;
    /* the index entry goes when the leave has run (leave_now) */
    queue_leave(a, m, who->user_id, who->session_id, who->username, 3);
    pthread_mutex_unlock(&m->mu);
}

static void hook_data(void *ud, const tv_rt_identity_t *who, const char *match_id,
                      int64_t op_code, const unsigned char *data, size_t len,
                      const char *const *targets, size_t n, int reliable)
{
    tv_amatch_t *a = ud;
    (void)targets; /* the match decides who hears what */
    (void)n;
    amatch_t *m = find_locked(a, match_id);
    if (!m) {
        atomic_fetch_add(&a->dropped, 1);
        return;
    }
    msg_t *g = NULL;
    if (member_of(m, who->session_id) < 0 || m->nmsgs >= TV_AMATCH_INPUT_QUEUE ||
        !(g = malloc(sizeof *g + len + 1))) {
        pthread_mutex_unlock(&m->mu);
        atomic_fetch_add(&a->dropped, 1);
        return;
    }
    pres_set(&g->from, who->user_id, who->session_id, who->username, 0);
    if (len)
        memcpy(g->data, data, len);
    g->data[len] = 0;
    g->pub.size = sizeof g->pub;
    g->pub.presence = &g->from.pub;
    g->pub.op_code = op_code;
    g->pub.data = g->data;
    g->pub.len = len;
    g->pub.reliable = reliable;
    g->pub.receive_time_ms = tv_now_ms();
    m->msgs[m->nmsgs++] = g;
    pthread_mutex_unlock(&m->mu);
    atomic_fetch_add(&a->inputs, 1);
}

/* A closed socket leaves every match it is in or asked to join (the queued join runs first,
 * then this leave): the ones the index names, not a search of every match. */
static void on_close(void *ud, const tv_rt_identity_t *who)
{
    tv_amatch_t *a = ud;
    tv_joined_list_t *l = tv_joined_take(a->joined, who->session_id);
    for (size_t i = 0; l && i < l->n; i++) {
        amatch_t *m = find_locked(a, l->ids[i]);
        if (!m)
            continue;
        int in = member_of(m, who->session_id) >= 0;
        for (req_t *r = m->reqs; !in && r; r = r->next)
            in = r->kind == REQ_JOIN && strcmp(r->p.session_id, who->session_id) == 0;
        if (in)
            queue_leave(a, m, who->user_id, who->session_id, who->username, 4);
        pthread_mutex_unlock(&m->mu);
    }
    tv_joined_list_free(l);
}

/* ---- listing: exact label, or a query over the label JSON ---------------------------------- */

/* -1 when the label fails q; otherwise its score (should terms matched). */
static int query_score(const tv_query_t *q, const char *label)
{
    cJSON *j = label ? cJSON_Parse(label) : NULL;
    int score = tv_query_score(q, j, label);
    cJSON_Delete(j);
    return score;
}

typedef struct hit {
    cJSON *obj;
    int score;
    int64_t created;
} hit_t;

static int hit_cmp(const void *x, const void *y)
{
    const hit_t *a = x, *b = y;
    if (a->score != b->score)
        return b->score - a->score;
    return a->created < b->created ? 1 : a->created > b->created ? -1 : 0;
}

static int hook_list(void *ud, const tv_match_filter_t *f, cJSON *out)
{
    tv_amatch_t *a = ud;
    tv_query_t q = {0};
    hit_t *hits = NULL;
    size_t nh = 0, cap = 0;
    int rc = TV_OK, have = cJSON_GetArraySize(out);

    if (f->query && *f->query && (rc = tv_query_parse(f->query, "label.", &q)) != TV_OK)
        return rc;
    pthread_rwlock_rdlock(&a->lock);
    size_t pos = 0;
    amatch_t *m;
    while (rc == TV_OK && (m = tv_rt_idmap_next(&a->map, &pos))) {
        pthread_mutex_lock(&m->mu);
        int score = 0, size = (int)m->npres;
        if (m->ended || (f->min_size >= 0 && size < f->min_size) ||
            (f->max_size >= 0 && size > f->max_size))
            score = -1;
        else if (f->query && *f->query) /* a query beats a label */
            score = query_score(&q, m->label);
        else if (f->label)
            score = m->label && strcmp(m->label, f->label) == 0 ? 0 : -1;
        cJSON *o = NULL;
        if (score >= 0) {
            o = cJSON_CreateObject();
            if (!o || !cJSON_AddStringToObject(o, "match_id", m->id) ||
                !cJSON_AddTrueToObject(o, "authoritative") ||
                !cJSON_AddStringToObject(o, "label", m->label ? m->label : "") ||
                !cJSON_AddNumberToObject(o, "size", size) ||
                !cJSON_AddNumberToObject(o, "tick_rate", m->tick_rate) ||
                !cJSON_AddStringToObject(o, "handler_name", m->handler_name))
                rc = TV_ENOMEM;
        }
        int64_t created = m->created_ms;
        pthread_mutex_unlock(&m->mu);
        if (o && rc == TV_OK && nh == cap) {
            cap = cap ? 2 * cap : 16;
            hit_t *nhits = realloc(hits, cap * sizeof *nhits);
            if (!nhits)
                rc = TV_ENOMEM;
            else
                hits = nhits;
        }
        if (rc != TV_OK) {
            cJSON_Delete(o);
            break;
        }
        if (o)
            hits[nh++] = (hit_t){o, score, created};
    }
    pthread_rwlock_unlock(&a->lock);
    tv_query_free(&q);
    if (nh)
        qsort(hits, nh, sizeof *hits, hit_cmp);
    int added = 0;
    for (size_t i = 0; i < nh; i++) {
        if (rc == TV_OK && have + added < f->limit) {
            cJSON_AddItemToArray(out, hits[i].obj);
            added++;
        } else {
            cJSON_Delete(hits[i].obj);
        }
    }
    free(hits);
    return rc == TV_OK ? added : rc;
}

/* ---- the dispatcher (host table entries; the match's own tick thread) ------------------- */

static int d_broadcast(tv_mod_dispatcher_t *d, int64_t op_code, const void *data, size_t len,
                       const tv_mod_presence_t *const *to, size_t nto,
                       const tv_mod_presence_t *sender, int reliable)
{
    if (!d || !d->m || (len && !data))
        return TV_GRPC_INVALID_ARGUMENT;
    amatch_t *m = d->m;
    tv_rt_buf_t b = {0};
    char num[24];
    tv_rt_buf_lit(&b, "{\"match_data\":{\"match_id\":");
    tv_rt_buf_str(&b, m->id);
    if (sender) {
        tv_rt_buf_lit(&b, ",\"presence\":{\"user_id\":");
        tv_rt_buf_str(&b, sender->user_id ? sender->user_id : "");
        tv_rt_buf_lit(&b, ",\"session_id\":");
        tv_rt_buf_str(&b, sender->session_id ? sender->session_id : "");
        tv_rt_buf_lit(&b, ",\"username\":");
        tv_rt_buf_str(&b, sender->username ? sender->username : "");
        tv_rt_buf_lit(&b, "}");
    }
    snprintf(num, sizeof num, "%lld", (long long)op_code);
    tv_rt_buf_lit(&b, ",\"op_code\":");
    tv_rt_buf_str(&b, num);
    if (len) {
        size_t blen = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
        char *enc = malloc(blen);
        if (!enc) {
            tv_rt_buf_free(&b);
            return TV_GRPC_INTERNAL;
        }
        sodium_bin2base64(enc, blen, data, len, sodium_base64_VARIANT_ORIGINAL);
        tv_rt_buf_lit(&b, ",\"data\":\"");
        tv_rt_buf_lit(&b, enc);
        tv_rt_buf_lit(&b, "\"");
        free(enc);
    }
    if (reliable)
        tv_rt_buf_lit(&b, ",\"reliable\":true");
    tv_rt_buf_lit(&b, "}}");
    if (b.oom) {
        tv_rt_buf_free(&b);
        return TV_GRPC_INTERNAL;
    }
    if (!to) {
        send_all(m, b.p, b.len);
    } else {
        const char *inline_ids[32], **ids = inline_ids;
        size_t k = 0;
        if (nto > 32 && !(ids = malloc(nto * sizeof *ids))) {
            tv_rt_buf_free(&b);
            return TV_GRPC_INTERNAL;
        }
        for (size_t i = 0; i < nto; i++)
            if (to[i] && to[i]->session_id) {
                long at = member_of(m, to[i]->session_id);
                if (at >= 0 && !m->pres[at]->gone_ms) /* a held presence hears nothing */
                    ids[k++] = to[i]->session_id;
            }
        if (k)
            tv_rt_send_many(m->a->rt, ids, k, b.p, b.len);
        if (ids != inline_ids)
            free(ids);
    }
    tv_rt_buf_free(&b);
    return TV_GRPC_OK;
}

static int d_kick(tv_mod_dispatcher_t *d, const tv_mod_presence_t *const *ps, size_t n)
{
    if (!d || !d->m || (n && !ps))
        return TV_GRPC_INVALID_ARGUMENT;
    amatch_t *m = d->m;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < n; i++) {
        long at = ps[i] && ps[i]->session_id ? member_of(m, ps[i]->session_id) : -1;
        if (at >= 0)
            queue_leave(m->a, m, m->pres[at]->user_id, m->pres[at]->session_id,
                        m->pres[at]->username, 3);
    }
    pthread_mutex_unlock(&m->mu);
    return TV_GRPC_OK;
}

static int d_label_update(tv_mod_dispatcher_t *d, const char *label)
{
    if (!d || !d->m)
        return TV_GRPC_INVALID_ARGUMENT;
    if (label && strlen(label) > TV_AMATCH_LABEL_MAX)
        return TV_GRPC_INVALID_ARGUMENT;
    char *copy = label ? strdup(label) : NULL;
    if (label && !copy)
        return TV_GRPC_INTERNAL;
    amatch_t *m = d->m;
    pthread_mutex_lock(&m->mu);
    char *old = m->label;
    m->label = copy;
    pthread_mutex_unlock(&m->mu);
    free(old);
    return TV_GRPC_OK;
}

static int d_set_reconnect_grace(tv_mod_dispatcher_t *d, int seconds)
{
    if (!d || !d->m || seconds < 0 || seconds > TV_AMATCH_RECONNECT_MAX)
        return TV_GRPC_INVALID_ARGUMENT;
    d->m->reconnect_grace = seconds; /* only the match's own callbacks write or read it */
    return TV_GRPC_OK;
}

static int h_match_create(tv_module_t *mod, const char *name, const char *params,
                          char **match_id)
{
    (void)mod;
    if (!match_id)
        return TV_GRPC_INVALID_ARGUMENT;
    return tv_amatch_create(atomic_load(&g_auth), name, params, match_id);
}

static int h_match_signal(tv_module_t *mod, const char *match_id, const char *data, size_t len,
                          char **result, size_t *result_len)
{
    (void)mod;
    return tv_amatch_signal(atomic_load(&g_auth), match_id, data, len, result, result_len);
}

static const tv_amatch_host_ops_t host_ops = {h_match_create, d_broadcast, d_kick,
                                            d_label_update, d_set_reconnect_grace,
                                            h_match_signal};

/* ---- the room ----------------------------------------------------------------------------- */

int tv_amatch_new(tv_rt_t *rt, tv_match_t *matches, tv_mod_registry_t *modules, int threads,
                tv_amatch_t **out)
{
    tv_amatch_t *a = calloc(1, sizeof *a);
    int rc = TV_ENOMEM;

    *out = NULL;
    if (!a)
        return TV_ENOMEM;
    pthread_rwlock_init(&a->lock, NULL);
    if (!(a->joined = tv_joined_new())) {
        pthread_rwlock_destroy(&a->lock);
        free(a);
        return TV_ENOMEM;
    }
    a->rt = rt;
    a->modules = modules;
    a->signal_timeout_ms = TV_AMATCH_SIGNAL_TIMEOUT_MS;
    if (!(a->sched = tv_sched_new(threads > 0 ? threads : 2)))
        goto fail;
    tv_rt_listener_t l = {NULL, on_close, a};
    if (rt && (rc = tv_rt_add_listener(rt, &l)) != TV_OK)
        goto fail;
    tv_match_authoritative_t hooks = {sizeof hooks, a, hook_join, hook_leave, hook_data,
                                      hook_list};
    if (matches && (rc = tv_match_set_authoritative(matches, &hooks)) != TV_OK)
        goto fail;
    atomic_store(&g_auth, a);
    tv_mod_host_set_match_ops(&host_ops);
    *out = a;
    return TV_OK;
fail:
    /* a listener already added keeps a pointer to a: keep it alive, stopped */
    *out = a;
    tv_sched_free(a->sched);
    a->sched = NULL;
    a->stopping = 1;
    return rc;
}

void tv_amatch_shutdown(tv_amatch_t *a, int grace_s)
{
    if (!a)
        return;
    pthread_rwlock_wrlock(&a->lock);
    a->stopping = 1;
    size_t pos = 0;
    amatch_t *m;
    while ((m = tv_rt_idmap_next(&a->map, &pos))) {
        pthread_mutex_lock(&m->mu);
        m->terminate = 1;
        m->grace = grace_s;
        pthread_mutex_unlock(&m->mu);
    }
    pthread_rwlock_unlock(&a->lock);
    /* every match runs terminate at its next tick (at most 1 s away) */
    int64_t end = tv_now_ms() + 1000LL * (grace_s > 0 ? grace_s : 0) + 2000;
    while (atomic_load(&a->matches) > 0 && tv_now_ms() < end) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&a->matches) > 0)
        tv_log_warn("match", "%lld authoritative matches did not end in time: stopped",
                    (long long)atomic_load(&a->matches));
    pthread_rwlock_wrlock(&a->lock);
    tv_sched_t *s = a->sched;
    a->sched = NULL;
    pthread_rwlock_unlock(&a->lock);
    tv_sched_free(s); /* done runs for the matches left, without terminate */
}

void tv_amatch_free(tv_amatch_t *a)
{
    if (!a)
        return;
    if (a->sched)
        tv_amatch_shutdown(a, 0);
    tv_amatch_t *cur = a;
    if (atomic_compare_exchange_strong(&g_auth, &cur, NULL))
        tv_mod_host_set_match_ops(NULL);
    tv_rt_idmap_free(&a->map);
    tv_joined_free(a->joined);
    pthread_rwlock_destroy(&a->lock);
    free(a);
}

void tv_amatch_stats(tv_amatch_t *a, tv_amatch_stats_t *out)
{
    memset(out, 0, sizeof *out);
    if (!a)
        return;
    out->matches = atomic_load(&a->matches);
    out->presences = atomic_load(&a->presences);
    out->created = atomic_load(&a->created);
    out->inputs = atomic_load(&a->inputs);
    out->inputs_dropped = atomic_load(&a->dropped);
    pthread_rwlock_rdlock(&a->lock);
    if (a->sched)
        tv_sched_stats(a->sched, &out->sched);
    pthread_rwlock_unlock(&a->lock);
}

/* ---- the console --------------------------------------------------------------------------- */

/* A match as the console shows it (mu held): id, handler, label, size, tick rate, presences,
 * create time; with figures, its tick counts and durations too. NULL on no memory. */
static cJSON *console_json(amatch_t *m, int figures)
{
    cJSON *o = cJSON_CreateObject(), *ps = cJSON_CreateArray();
    int ok = o && ps && cJSON_AddStringToObject(o, "match_id", m->id) &&
             cJSON_AddTrueToObject(o, "authoritative") &&
             cJSON_AddStringToObject(o, "handler_name", m->handler_name);
    for (size_t i = 0; ok && i < m->npres; i++) {
        cJSON *pj = pres_json(m->pres[i]);
        ok = pj != NULL;
        if (pj)
            cJSON_AddItemToArray(ps, pj);
    }
    if (!ok) {
        cJSON_Delete(ps);
        cJSON_Delete(o);
        return NULL;
    }
    tv_json_add_str(o, "label", m->label);
    tv_json_add_int(o, "size", (int64_t)m->npres);
    tv_json_add_int(o, "tick_rate", m->tick_rate);
    tv_json_add_list(o, "presences", ps);
    tv_json_add_time(o, "create_time", m->created_ms / 1000);
    if (!figures)
        return o;
    int64_t ticks = atomic_load(&m->ticks);
    tv_json_add_str(o, "module", tv_mod_match_module_name(m->ref));
    tv_json_add_int(o, "ticks", ticks);
    tv_json_add_int(o, "tick_last_us", atomic_load(&m->tick_last_us));
    tv_json_add_int(o, "tick_max_us", atomic_load(&m->tick_max_us));
    tv_json_add_int(o, "tick_avg_us", ticks ? atomic_load(&m->tick_sum_us) / ticks : 0);
    tv_json_add_int(o, "overruns", atomic_load(&m->overruns));
    if (m->stopped)
        tv_json_add_bool(o, "stopping", 1);
    return o;
}

static int by_created(const void *x, const void *y)
{
    const hit_t *a = x, *b = y;
    return a->created < b->created ? -1 : a->created > b->created;
}

int tv_amatch_console_list(tv_amatch_t *a, int limit, cJSON *out)
{
    hit_t *hits = NULL;
    size_t nh = 0, cap = 0;
    int rc = TV_OK;
    if (!a)
        return 0;
    pthread_rwlock_rdlock(&a->lock);
    size_t pos = 0;
    amatch_t *m;
    while (rc == TV_OK && (m = tv_rt_idmap_next(&a->map, &pos))) {
        pthread_mutex_lock(&m->mu);
        cJSON *o = m->ended ? NULL : console_json(m, 0);
        int64_t created = m->created_ms;
        int skip = m->ended;
        pthread_mutex_unlock(&m->mu);
        if (skip)
            continue;
        if (!o)
            rc = TV_ENOMEM;
        if (rc == TV_OK && nh == cap) {
            cap = cap ? 2 * cap : 16;
            hit_t *nhits = realloc(hits, cap * sizeof *nhits);
            if (!nhits)
                rc = TV_ENOMEM;
            else
                hits = nhits;
        }
        if (rc != TV_OK)
            cJSON_Delete(o);
        else
            hits[nh++] = (hit_t){o, 0, created};
    }
    pthread_rwlock_unlock(&a->lock);
    if (nh)
        qsort(hits, nh, sizeof *hits, by_created);
    int added = 0;
    for (size_t i = 0; i < nh; i++) {
        if (rc == TV_OK && cJSON_GetArraySize(out) < limit) {
            cJSON_AddItemToArray(out, hits[i].obj);
            added++;
        } else {
            cJSON_Delete(hits[i].obj);
        }
    }
    free(hits);
    return rc == TV_OK ? added : rc;
}

int tv_amatch_console_get(tv_amatch_t *a, const char *match_id, cJSON **out)
{
    *out = NULL;
    amatch_t *m = a ? find_locked(a, match_id) : NULL;
    if (!m)
        return TV_ENOTFOUND;
    *out = console_json(m, 1);
    pthread_mutex_unlock(&m->mu);
    return *out ? TV_OK : TV_ENOMEM;
}

int tv_amatch_stop(tv_amatch_t *a, const char *match_id, int wait_ms)
{
    amatch_t *m = a ? find_locked(a, match_id) : NULL;
    if (!m)
        return TV_ENOTFOUND;
    m->terminate = 1; /* grace stays 0 (or a shutdown's): the match ends after terminate */
    m->stopped = 1;
    pthread_mutex_unlock(&m->mu);
    /* Its next tick (at most one period away) runs terminate and ends it. Poll: the worker
     * waits, the tick thread never does. */
    int64_t end = tv_mono_ms() + wait_ms;
    while ((m = find_locked(a, match_id)) != NULL) {
        pthread_mutex_unlock(&m->mu);
        if (tv_mono_ms() >= end)
            return TV_EBUSY;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return TV_OK;
}
