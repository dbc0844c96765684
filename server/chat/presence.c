/* The membership index (see chat.h): channels with their member sessions, striped by channel
 * id, and each session's channels, striped by session id, so a closing socket leaves exactly
 * those. A join answers under its channel's stripe lock, so every member sees one order: a
 * joiner's `channel` reply before any event or message of the channel after it. Presence
 * events are coalesced per channel (pres_add, tv_chat_presence_flush): a burst of joins costs
 * each member a few events, not one per join, so it cannot overflow their 64-message queues.
 * channel_add and channel_remove are the whole of a membership change: a sync between nodes
 * would call them for other nodes' sessions (without the session side, which is local). */
#include "chat_internal.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "workers.h"

#include <stdio.h>

#include <stdlib.h>
#include <string.h>

#define INLINE_TARGETS 64 /* recipients listed on the stack before falling back to malloc */

/* The channels one session is in. */
typedef struct chat_sess {
    char session_id[37]; /* the map key */
    char (*ids)[TV_CHAT_ID_MAX];
    size_t n, cap;
    size_t nstreams;     /* of the n, module streams (each kind has its own limit) */
} chat_sess_t;

static chat_stripe_t *stripe_of(chat_stripe_t *stripes, const char *id)
{
    unsigned h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return &stripes[h % TV_CHAT_STRIPES];
}

void tv_chat_index_init(tv_chat_t *c)
{
    for (int i = 0; i < TV_CHAT_STRIPES; i++) {
        pthread_mutex_init(&c->sessions[i].lock, NULL);
        pthread_mutex_init(&c->channels[i].lock, NULL);
    }
}

static void channel_free(chat_channel_t *ch, void (*op_free)(chat_op_t *))
{
    for (size_t i = 0; i < ch->n; i++)
        free(ch->members[i]);
    while (ch->qhead) {
        chat_op_t *op = ch->qhead;
        ch->qhead = op->next;
        op_free(op);
    }
    tv_rt_idmap_free(&ch->by_session);
    free(ch->members);
    free(ch->pend);
    free(ch);
}

void tv_chat_index_free(tv_chat_t *c, void (*op_free)(chat_op_t *))
{
    for (int i = 0; i < TV_CHAT_STRIPES; i++) {
        size_t pos = 0;
        void *v;
        while ((v = tv_rt_idmap_next(&c->channels[i].map, &pos)))
            channel_free(v, op_free);
        pos = 0;
        while ((v = tv_rt_idmap_next(&c->sessions[i].map, &pos))) {
            chat_sess_t *s = v;
            free(s->ids);
            free(s);
        }
        tv_rt_idmap_free(&c->channels[i].map);
        tv_rt_idmap_free(&c->sessions[i].map);
        pthread_mutex_destroy(&c->channels[i].lock);
        pthread_mutex_destroy(&c->sessions[i].lock);
    }
}

/* ---- sessions (their stripe held) --------------------------------------------------------- */

static chat_sess_t *sess_get(chat_stripe_t *st, const char *sid, int make)
{
    chat_sess_t *s = tv_rt_idmap_get(&st->map, sid);
    if (s || !make)
        return s;
    if (!(s = calloc(1, sizeof *s)))
        return NULL;
    memcpy(s->session_id, sid, sizeof s->session_id);
    if (tv_rt_idmap_put(&st->map, s->session_id, s) != TV_OK) {
        free(s);
        return NULL;
    }
    return s;
}

static void sess_maybe_free(chat_stripe_t *st, chat_sess_t *s)
{
    if (!s || s->n)
        return;
    tv_rt_idmap_del(&st->map, s->session_id);
    free(s->ids);
    free(s);
}

static int sess_find(const chat_sess_t *s, const char *id)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (strcmp(s->ids[i], id) == 0)
            return (int)i;
    return -1;
}

static int sess_add(chat_sess_t *s, const char *id)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        char(*grown)[TV_CHAT_ID_MAX] = realloc(s->ids, cap * sizeof *grown);
        if (!grown)
            return TV_ENOMEM;
        s->ids = grown;
        s->cap = cap;
    }
    snprintf(s->ids[s->n++], TV_CHAT_ID_MAX, "%s", id);
    s->nstreams += (size_t)tv_chat_id_is_stream(id);
    return TV_OK;
}

static void sess_del(chat_sess_t *s, const char *id)
{
    int i = sess_find(s, id);
    if (i < 0)
        return;
    s->nstreams -= (size_t)tv_chat_id_is_stream(id);
    memcpy(s->ids[i], s->ids[--s->n], TV_CHAT_ID_MAX);
}

/* ---- channels (their stripe held) --------------------------------------------------------- */

chat_stripe_t *tv_chat_channel_stripe(tv_chat_t *c, const char *channel_id)
{
    return stripe_of(c->channels, channel_id);
}

chat_channel_t *tv_chat_channel_get(chat_stripe_t *st, const char *channel_id)
{
    return tv_rt_idmap_get(&st->map, channel_id);
}

chat_member_t *tv_chat_member_get(chat_channel_t *ch, const char *sid)
{
    return tv_rt_idmap_get(&ch->by_session, sid);
}

static chat_channel_t *channel_make(tv_chat_t *c, chat_stripe_t *st, const tv_chat_ref_t *ref)
{
    chat_channel_t *ch = calloc(1, sizeof *ch);
    if (!ch)
        return NULL;
    ch->ref = *ref;
    ch->chat = c;
    if (tv_rt_idmap_put(&st->map, ch->ref.id, ch) != TV_OK) {
        free(ch);
        return NULL;
    }
    return ch;
}

void tv_chat_channel_release(chat_stripe_t *st, chat_channel_t *ch)
{
    if (ch->n || ch->busy || ch->qhead)
        return;
    /* a queued flush job releases it when it runs; presence events still out (at members
     * that have left, their sockets yet to take them) queue one when the last is taken */
    unsigned s = atomic_load(&ch->pres_state);
    while (s >= CHAT_PRES_OUT || (s & CHAT_PRES_SCHED)) {
        if ((s & (CHAT_PRES_SCHED | CHAT_PRES_WANT)) ||
            atomic_compare_exchange_weak(&ch->pres_state, &s, s | CHAT_PRES_WANT))
            return;
    }
    tv_rt_idmap_del(&st->map, ch->ref.id);
    tv_rt_idmap_free(&ch->by_session);
    free(ch->members);
    free(ch->pend); /* nobody is left to tell */
    free(ch);
}

/* tv_chat_channel_send with rt's done callback (see tv_rt_send_many_done): TV_OK when done
 * will be called, else an error (nothing queued, or nobody to tell). */
static int channel_send_done(tv_chat_t *c, const chat_channel_t *ch, const char *text,
                             size_t len, void (*done)(void *), void *arg)
{
    const char *inline_ids[INLINE_TARGETS], **ids = inline_ids;
    if (!ch->n)
        return TV_ENOTFOUND;
    if (ch->n > INLINE_TARGETS && !(ids = malloc(ch->n * sizeof *ids))) {
        tv_log_warn("chat", "out of memory: a push to channel %s was lost", ch->ref.id);
        return TV_ENOMEM;
    }
    for (size_t i = 0; i < ch->n; i++)
        ids[i] = ch->members[i]->session_id;
    int rc = tv_rt_send_many_done(c->rt, ids, ch->n, text, len, done, arg);
    if (ids != inline_ids)
        free(ids);
    return rc < 0 ? rc : TV_OK;
}

void tv_chat_channel_send(tv_chat_t *c, const chat_channel_t *ch, const char *text, size_t len)
{
    channel_send_done(c, ch, text, len, NULL, NULL);
}

/* ---- presences on the wire ---------------------------------------------------------------- */

static cJSON *member_json(const chat_member_t *m)
{
    tv_rt_identity_t who = {0};
    memcpy(who.user_id, m->user_id, sizeof who.user_id);
    memcpy(who.session_id, m->session_id, sizeof who.session_id);
    memcpy(who.username, m->username, sizeof who.username);
    return tv_rt_presence_json(&who, m->persistence, NULL);
}

static void pres_of(chat_pres_t *p, const chat_member_t *m, int leave)
{
    p->leave = leave;
    p->persistence = m->persistence;
    memcpy(p->session_id, m->session_id, sizeof p->session_id);
    memcpy(p->user_id, m->user_id, sizeof p->user_id);
    memcpy(p->username, m->username, sizeof p->username);
}

static cJSON *pres_json(const chat_pres_t *p)
{
    tv_rt_identity_t who = {0};
    memcpy(who.user_id, p->user_id, sizeof who.user_id);
    memcpy(who.session_id, p->session_id, sizeof who.session_id);
    memcpy(who.username, p->username, sizeof who.username);
    return tv_rt_presence_json(&who, p->persistence, NULL);
}

/* channel_presence_event {channel_id, joins, leaves, room_name | group_id | user_id_one +
 * user_id_two} of ps[0..n) into b (an empty list is left out, as protojson does). */
static void pres_text(const chat_channel_t *ch, const chat_pres_t *ps, size_t n, tv_rt_buf_t *b)
{
    int stream = ch->ref.kind == TV_CHAT_STREAM;
    if (stream) { /* stream_presence_event {stream, joins, leaves} */
        tv_rt_buf_lit(b, "{\"stream_presence_event\":{");
        tv_chat_stream_buf(b, &ch->ref);
    } else {
        tv_rt_buf_lit(b, "{\"channel_presence_event\":{\"channel_id\":");
        tv_rt_buf_str(b, ch->ref.id);
    }
    for (int leave = 0; leave < 2; leave++) {
        int listed = 0;
        for (size_t i = 0; i < n; i++) {
            const chat_pres_t *p = &ps[i];
            if (p->leave != leave)
                continue;
            if (!listed++)
                tv_rt_buf_lit(b, leave ? ",\"leaves\":[" : ",\"joins\":[");
            else
                tv_rt_buf_lit(b, ",");
            tv_rt_buf_lit(b, "{\"user_id\":");
            tv_rt_buf_str(b, p->user_id);
            tv_rt_buf_lit(b, ",\"session_id\":");
            tv_rt_buf_str(b, p->session_id);
            tv_rt_buf_lit(b, ",\"username\":");
            tv_rt_buf_str(b, p->username);
            if (p->persistence)
                tv_rt_buf_lit(b, ",\"persistence\":true");
            tv_rt_buf_lit(b, "}");
        }
        if (listed)
            tv_rt_buf_lit(b, "]");
    }
    tv_chat_ref_buf(b, &ch->ref);
    tv_rt_buf_lit(b, "}}");
}

static void pres_run(void *arg);

void tv_chat_stream_buf(tv_rt_buf_t *b, const tv_chat_ref_t *r)
{
    char mode[8];
    snprintf(mode, sizeof mode, "%d", r->mode);
    tv_rt_buf_lit(b, "\"stream\":{\"mode\":");
    tv_rt_buf_lit(b, mode);
    if (r->one[0]) {
        tv_rt_buf_lit(b, ",\"subject\":");
        tv_rt_buf_str(b, r->one);
    }
    if (r->two[0]) {
        tv_rt_buf_lit(b, ",\"subcontext\":");
        tv_rt_buf_str(b, r->two);
    }
    if (r->room[0]) {
        tv_rt_buf_lit(b, ",\"label\":");
        tv_rt_buf_str(b, r->room);
    }
    tv_rt_buf_lit(b, "}");
}

/* rt's callback (tv_rt_send_many_done) for a presence event of ch, once it has left every
 * member's queue: the last event out queues the flush of what piled up meanwhile (WANT). Runs
 * on any thread, maybe under rt's locks or ch's stripe: atomics and a submit only. */
static void pres_done(void *arg)
{
    chat_channel_t *ch = arg;
    unsigned s = atomic_load(&ch->pres_state), n;
    int run;
    do {
        n = s - CHAT_PRES_OUT;
        run = n < CHAT_PRES_OUT && (n & CHAT_PRES_WANT) && !(n & CHAT_PRES_SCHED);
        if (run)
            n = (n & ~CHAT_PRES_WANT) | CHAT_PRES_SCHED;
    } while (!atomic_compare_exchange_weak(&ch->pres_state, &s, n));
    /* from here on ch may be gone unless SCHED was set */
    if (!run || tv_workers_submit(ch->chat->workers, pres_run, ch) == TV_OK)
        return;
    /* refused (the pool is full or stopping): wanted still, the channel's next join, leave or
     * message tells them; at shutdown they are dropped with the channel */
    s = atomic_load(&ch->pres_state);
    while (!atomic_compare_exchange_weak(&ch->pres_state, &s,
                                         (s & ~CHAT_PRES_SCHED) | CHAT_PRES_WANT))
        ;
}

/* Tells ps[0..n) to every member of ch (to_sid NULL) or to session to_sid alone, in events of
 * at most TV_CHAT_PRESENCE_EVENT_MAX presences, in order (stripe held). An event to the
 * members counts as out until every member's socket has taken it (pres_done). */
static void pres_send(tv_chat_t *c, chat_channel_t *ch, const chat_pres_t *ps, size_t n,
                      const char *to_sid)
{
    for (size_t at = 0; at < n; at += TV_CHAT_PRESENCE_EVENT_MAX) {
        size_t k = n - at < TV_CHAT_PRESENCE_EVENT_MAX ? n - at : TV_CHAT_PRESENCE_EVENT_MAX;
        tv_rt_buf_t b = {0};
        pres_text(ch, ps + at, k, &b);
        if (b.oom) {
            tv_log_warn("chat", "out of memory: a presence event of %s was lost", ch->ref.id);
        } else if (to_sid) {
            tv_rt_send(c->rt, to_sid, b.p, b.len);
        } else {
            atomic_fetch_add(&ch->pres_state, CHAT_PRES_OUT);
            if (channel_send_done(c, ch, b.p, b.len, pres_done, ch) != TV_OK)
                pres_done(ch); /* nothing queued: not out */
        }
        tv_rt_buf_free(&b);
    }
}

void tv_chat_presence_flush(tv_chat_t *c, chat_channel_t *ch)
{
    if (!ch->npend)
        return;
    pres_send(c, ch, ch->pend, ch->npend, NULL);
    for (size_t i = 0; i < ch->npend; i++) {
        chat_member_t *m = ch->pend[i].leave ? NULL : tv_chat_member_get(ch, ch->pend[i].session_id);
        if (m)
            m->pend_join = 0;
    }
    /* the buffer goes too: an idle room keeps nothing, and a burst grows it again in a few
     * steps */
    free(ch->pend);
    ch->pend = NULL;
    ch->npend = ch->pend_cap = ch->pend_leaves = 0;
    atomic_fetch_and(&ch->pres_state, ~CHAT_PRES_WANT); /* nothing waits now */
}

/* Sees that ch's pending entries will be told (stripe held, ch->npend > 0): a flush job is
 * queued already, or events are out and the last one taken queues it (WANT); else the job is
 * queued now, and when the pool refuses it (full, or stopping) they are told at once. */
static void pres_kick(tv_chat_t *c, chat_channel_t *ch)
{
    unsigned s = atomic_load(&ch->pres_state);
    for (;;) {
        if (s & CHAT_PRES_SCHED)
            return;
        if (s >= CHAT_PRES_OUT) {
            if ((s & CHAT_PRES_WANT) ||
                atomic_compare_exchange_weak(&ch->pres_state, &s, s | CHAT_PRES_WANT))
                return;
            continue;
        }
        /* none out, and none can go out meanwhile (only under the stripe) */
        if (atomic_compare_exchange_weak(&ch->pres_state, &s,
                                         (s & ~CHAT_PRES_WANT) | CHAT_PRES_SCHED))
            break;
    }
    if (tv_workers_submit(c->workers, pres_run, ch) == TV_OK)
        return;
    atomic_fetch_and(&ch->pres_state, ~CHAT_PRES_SCHED);
    tv_chat_presence_flush(c, ch);
}

/* The pool's turn at ch's pending presences: all of them, however many piled up meanwhile;
 * if events of an earlier flush are still out (a message's push told some since), it waits
 * for them instead. */
static void pres_run(void *arg)
{
    chat_channel_t *ch = arg;
    tv_chat_t *c = ch->chat;
    chat_stripe_t *st = stripe_of(c->channels, ch->ref.id);
    pthread_mutex_lock(&st->lock);
    atomic_fetch_and(&ch->pres_state, ~CHAT_PRES_SCHED);
    if (ch->npend) {
        if (atomic_load(&ch->pres_state) < CHAT_PRES_OUT)
            tv_chat_presence_flush(c, ch);
        else
            pres_kick(c, ch);
    }
    tv_chat_channel_release(st, ch);
    pthread_mutex_unlock(&st->lock);
}

/* Where the pending leave (leave 1) or join of session sid is in ch->pend, or -1. */
static long pres_find(const chat_channel_t *ch, const char *sid, int leave)
{
    if (leave && !ch->pend_leaves)
        return -1;
    for (size_t i = ch->npend; i-- > 0;)
        if (ch->pend[i].leave == leave && strcmp(ch->pend[i].session_id, sid) == 0)
            return (long)i;
    return -1;
}

/* Takes entry i out of ch->pend, keeping the others' order. */
static void pres_cancel(chat_channel_t *ch, long i)
{
    ch->pend_leaves -= (size_t)ch->pend[i].leave;
    memmove(&ch->pend[i], &ch->pend[i + 1], (ch->npend - (size_t)i - 1) * sizeof *ch->pend);
    ch->npend--;
}

/* Queues p for ch's members (stripe held), to be told by pres_kick's flush with whatever
 * else piles up until then; a full channel (TV_CHAT_PRESENCE_PENDING_MAX) tells what waits
 * first, and with no memory p is told at once. 1 when p is pending, 0 when told. */
static int pres_add(tv_chat_t *c, chat_channel_t *ch, const chat_pres_t *p)
{
    if (ch->npend >= TV_CHAT_PRESENCE_PENDING_MAX)
        tv_chat_presence_flush(c, ch);
    if (ch->npend == ch->pend_cap) {
        size_t cap = ch->pend_cap ? ch->pend_cap * 2 : 8;
        chat_pres_t *grown = realloc(ch->pend, cap * sizeof *grown);
        if (!grown) {
            tv_chat_presence_flush(c, ch);
            pres_send(c, ch, p, 1, NULL);
            return 0;
        }
        ch->pend = grown;
        ch->pend_cap = cap;
    }
    ch->pend[ch->npend++] = *p;
    ch->pend_leaves += (size_t)p->leave;
    pres_kick(c, ch);
    return ch->npend > 0;
}

/* The `channel` reply: the visible members (not self when it just joined, as Nakama), self,
 * and what the channel is. The members are those the others have been told of: a pending join
 * is not listed yet and a pending leave still is, for the joiner hears the pending events too.
 * NULL on no memory. */
static cJSON *channel_body(const chat_channel_t *ch, const chat_member_t *self, int is_new)
{
    cJSON *body = cJSON_CreateObject(), *list = cJSON_CreateArray(), *me = member_json(self);
    if (!body || !list || !me)
        goto fail;
    for (size_t i = 0; i < ch->n; i++) {
        const chat_member_t *m = ch->members[i];
        if (m->hidden || m->pend_join || (is_new && m == self))
            continue;
        cJSON *p = member_json(m);
        if (!p)
            goto fail;
        cJSON_AddItemToArray(list, p);
    }
    for (size_t i = 0; ch->pend_leaves && i < ch->npend; i++) {
        const chat_pres_t *p = &ch->pend[i];
        if (!p->leave || strcmp(p->session_id, self->session_id) == 0)
            continue;
        cJSON *o = pres_json(p);
        if (!o)
            goto fail;
        cJSON_AddItemToArray(list, o);
    }

    cJSON_AddStringToObject(body, "id", ch->ref.id);
    tv_json_add_list(body, "presences", list);
    cJSON_AddItemToObject(body, "self", me);
    tv_chat_ref_json(body, &ch->ref);
    return body;
fail:
    cJSON_Delete(body);
    cJSON_Delete(list);
    cJSON_Delete(me);
    return NULL;
}

/* Adds who to ch. The new member, or NULL on no memory. */
static chat_member_t *channel_add(chat_channel_t *ch, const tv_rt_identity_t *who,
                                  int persistence, int hidden)
{
    if (ch->n == ch->cap) {
        size_t cap = ch->cap ? ch->cap * 2 : 4;
        chat_member_t **grown = realloc(ch->members, cap * sizeof *grown);
        if (!grown)
            return NULL;
        ch->members = grown;
        ch->cap = cap;
    }
    chat_member_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    memcpy(m->session_id, who->session_id, sizeof m->session_id);
    memcpy(m->user_id, who->user_id, sizeof m->user_id);
    memcpy(m->username, who->username, sizeof m->username);
    m->persistence = persistence;
    m->hidden = hidden;
    m->index = ch->n;
    if (tv_rt_idmap_put(&ch->by_session, m->session_id, m) != TV_OK) {
        free(m);
        return NULL;
    }
    ch->members[ch->n++] = m;
    return m;
}

/* Takes m out of ch (it is freed). */
static void channel_unlink(chat_channel_t *ch, chat_member_t *m)
{
    tv_rt_idmap_del(&ch->by_session, m->session_id);
    ch->members[m->index] = ch->members[--ch->n];
    ch->members[m->index]->index = m->index;
    free(m);
}

/* Takes session sid out of ch and has the others told of a visible leave; ch goes when it is
 * empty and idle. A leave whose join is still untold cancels it: the others hear nothing. */
static void channel_remove(tv_chat_t *c, chat_stripe_t *st, chat_channel_t *ch, const char *sid,
                           int silent)
{
    chat_member_t *m = tv_chat_member_get(ch, sid);
    if (!m)
        return;
    chat_pres_t gone;
    long i;
    int hidden = m->hidden, untold = m->pend_join;
    pres_of(&gone, m, 1);
    channel_unlink(ch, m);
    if (untold && (i = pres_find(ch, sid, 0)) >= 0)
        pres_cancel(ch, i);
    else if (!hidden && !silent)
        pres_add(c, ch, &gone);
    tv_chat_channel_release(st, ch);
}

/* Visible members of ch whose user is not uid. */
static int others_visible(const chat_channel_t *ch, const char *uid)
{
    int k = 0;
    for (size_t i = 0; i < ch->n; i++)
        k += !ch->members[i]->hidden && strcmp(ch->members[i]->user_id, uid) != 0;
    return k;
}

/* ---- joins and leaves --------------------------------------------------------------------- */

/* The channel part of a join, under the channel's stripe: answers later and has the join
 * told. A new visible join of a session whose leave is still untold, with the same presence,
 * cancels the leave: the others never hear either, and the joiner alone hears its own join. */
static int join_channel(tv_chat_t *c, const tv_chat_ref_t *ref, const tv_rt_identity_t *who,
                        int persistence, int hidden, tv_rt_later_t *later, chat_joined_t *out)
{
    chat_stripe_t *st = stripe_of(c->channels, ref->id);
    pthread_mutex_lock(&st->lock);
    chat_channel_t *ch = tv_chat_channel_get(st, ref->id);
    if (!ch && !(ch = channel_make(c, st, ref))) {
        pthread_mutex_unlock(&st->lock);
        return TV_ENOMEM;
    }
    chat_member_t *m = tv_chat_member_get(ch, who->session_id);
    long untold_leave = m ? -1 : pres_find(ch, who->session_id, 1);
    int rejoin = 0; /* cancels its untold leave */
    if (untold_leave >= 0) {
        const chat_pres_t *l = &ch->pend[untold_leave];
        rejoin = !hidden && l->persistence == persistence &&
                 strcmp(l->user_id, who->user_id) == 0 && strcmp(l->username, who->username) == 0;
        /* else the others hear the leave now, before the joiner is a member to hear it too */
        if (!rejoin)
            tv_chat_presence_flush(c, ch);
    }
    out->is_new = !m;
    if (!m && !(m = channel_add(ch, who, persistence, hidden))) {
        tv_chat_channel_release(st, ch);
        pthread_mutex_unlock(&st->lock);
        return TV_ENOMEM;
    }
    out->others_visible = others_visible(ch, who->user_id);
    cJSON *body = later ? channel_body(ch, m, out->is_new) : NULL;
    if (later && !body) {
        if (out->is_new)
            channel_unlink(ch, m);
        tv_chat_channel_release(st, ch);
        pthread_mutex_unlock(&st->lock);
        return TV_ENOMEM;
    }
    if (later) /* a stream join answers nobody */
        tv_rt_later_reply(later, "channel", body);
    if (out->is_new && !hidden) {
        chat_pres_t p;
        pres_of(&p, m, 0);
        if (rejoin) {
            pres_cancel(ch, pres_find(ch, who->session_id, 1));
            pres_send(c, ch, &p, 1, who->session_id);
        } else {
            m->pend_join = pres_add(c, ch, &p);
        }
    }
    pthread_mutex_unlock(&st->lock);
    return TV_OK;
}

int tv_chat_join(tv_chat_t *c, const tv_chat_ref_t *ref, const tv_rt_identity_t *who,
                 int persistence, int hidden, tv_rt_later_t *later, chat_joined_t *out)
{
    chat_stripe_t *ss = stripe_of(c->sessions, who->session_id);
    tv_rt_identity_t alive;
    int rc = TV_OK;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&ss->lock);
    /* a socket gone meanwhile (a join that waited on SQL) has had its close: joining for it
     * would leave a member nobody removes */
    if (tv_rt_session_get(c->rt, who->session_id, &alive) != TV_OK) {
        pthread_mutex_unlock(&ss->lock);
        tv_rt_later_free(later);
        return TV_ENOTFOUND;
    }
    chat_sess_t *s = sess_get(ss, who->session_id, 0);
    int listed = sess_find(s, ref->id) >= 0;
    if (!listed && s && s->n - s->nstreams >= TV_CHAT_SESSION_CHANNELS) {
        pthread_mutex_unlock(&ss->lock);
        tv_rt_later_error(later, TV_RT_ERR_BAD_INPUT,
                          "Too many channels: a socket may be in at most 128.");
        return TV_EBUSY;
    }
    if (!listed && (!(s = sess_get(ss, who->session_id, 1)) || sess_add(s, ref->id) != TV_OK))
        rc = TV_ENOMEM;
    if (!rc && (rc = join_channel(c, ref, who, persistence, hidden, later, out)) != TV_OK &&
        !listed)
        sess_del(s, ref->id);
    sess_maybe_free(ss, s);
    pthread_mutex_unlock(&ss->lock);
    if (rc)
        tv_rt_later_error(later, TV_RT_ERR_RUNTIME_EXCEPTION, "Error joining channel");
    return rc;
}

void tv_chat_leave(tv_chat_t *c, const char *sid, const tv_chat_ref_t *ref)
{
    chat_stripe_t *ss = stripe_of(c->sessions, sid), *st = stripe_of(c->channels, ref->id);
    pthread_mutex_lock(&ss->lock);
    chat_sess_t *s = sess_get(ss, sid, 0);
    if (sess_find(s, ref->id) >= 0) {
        sess_del(s, ref->id);
        sess_maybe_free(ss, s);
        pthread_mutex_lock(&st->lock);
        chat_channel_t *ch = tv_chat_channel_get(st, ref->id);
        if (ch)
            channel_remove(c, st, ch, sid, 0);
        pthread_mutex_unlock(&st->lock);
    }
    pthread_mutex_unlock(&ss->lock);
}

void tv_chat_leave_all(tv_chat_t *c, const char *sid)
{
    chat_stripe_t *ss = stripe_of(c->sessions, sid);
    pthread_mutex_lock(&ss->lock);
    chat_sess_t *s = tv_rt_idmap_del(&ss->map, sid);
    for (size_t i = 0; s && i < s->n; i++) {
        chat_stripe_t *st = stripe_of(c->channels, s->ids[i]);
        pthread_mutex_lock(&st->lock);
        chat_channel_t *ch = tv_chat_channel_get(st, s->ids[i]);
        if (ch)
            channel_remove(c, st, ch, sid, 0);
        pthread_mutex_unlock(&st->lock);
    }
    pthread_mutex_unlock(&ss->lock);
    if (s) {
        free(s->ids);
        free(s);
    }
}

size_t tv_chat_members(tv_chat_t *c, const char *channel_id)
{
    chat_stripe_t *st = stripe_of(c->channels, channel_id);
    pthread_mutex_lock(&st->lock);
    chat_channel_t *ch = tv_chat_channel_get(st, channel_id);
    size_t n = ch ? ch->n : 0;
    pthread_mutex_unlock(&st->lock);
    return n;
}

void tv_chat_group_drop(tv_chat_t *c, const char *group_id, const char *user_id)
{
    tv_chat_ref_t ref;
    char (*sids)[37] = NULL;
    size_t n = 0;
    tv_chat_ref_group(group_id, &ref);
    atomic_fetch_add(&c->group_drops, 1); /* before the scan: see group_run in chat.c */
    chat_stripe_t *st = stripe_of(c->channels, ref.id);
    /* the sessions first, under the channel's stripe; then each leaves as channel_leave does
     * (the session stripe comes first in the lock order) */
    pthread_mutex_lock(&st->lock);
    chat_channel_t *ch = tv_chat_channel_get(st, ref.id);
    if (ch && ch->n && (sids = malloc(ch->n * sizeof *sids)) != NULL)
        for (size_t i = 0; i < ch->n; i++)
            if (!user_id || strcmp(ch->members[i]->user_id, user_id) == 0)
                memcpy(sids[n++], ch->members[i]->session_id, 37);
    if (ch && ch->n && !sids)
        tv_log_warn("chat", "out of memory: members of %s not removed", ref.id);
    pthread_mutex_unlock(&st->lock);
    for (size_t i = 0; i < n; i++)
        tv_chat_leave(c, sids[i], &ref);
    free(sids);
}

/* ---- streams ------------------------------------------------------------------------------ */

int tv_chat_stream_join(tv_chat_t *c, const tv_chat_ref_t *ref, const char *uid,
                        const char *sid, int persistence, int hidden, int *is_new)
{
    tv_rt_identity_t who;
    *is_new = 0;
    if (!sid || strlen(sid) >= sizeof who.session_id)
        return TV_ENOTFOUND;
    chat_stripe_t *ss = stripe_of(c->sessions, sid);
    pthread_mutex_lock(&ss->lock);
    /* under the session's stripe, as a chat join: a closed socket's leave_all has run or
     * will find this entry */
    if (tv_rt_session_get(c->rt, sid, &who) != TV_OK || (uid && *uid && strcmp(uid, who.user_id))) {
        pthread_mutex_unlock(&ss->lock);
        return TV_ENOTFOUND;
    }
    chat_sess_t *s = sess_get(ss, sid, 0);
    int listed = sess_find(s, ref->id) >= 0, rc = TV_OK;
    if (!listed && s && s->nstreams >= TV_CHAT_SESSION_STREAMS) {
        pthread_mutex_unlock(&ss->lock);
        return TV_EBUSY;
    }
    if (!listed && (!(s = sess_get(ss, sid, 1)) || sess_add(s, ref->id) != TV_OK))
        rc = TV_ENOMEM;
    chat_joined_t out = {0};
    if (!rc && (rc = join_channel(c, ref, &who, persistence, hidden, NULL, &out)) != TV_OK &&
        !listed)
        sess_del(s, ref->id);
    sess_maybe_free(ss, s);
    pthread_mutex_unlock(&ss->lock);
    *is_new = !rc && out.is_new;
    return rc;
}

int tv_chat_stream_send(tv_chat_t *c, const tv_chat_ref_t *ref, const char *text, size_t len,
                        const char *const *sids, size_t nsids)
{
    const char *inline_ids[INLINE_TARGETS], **ids = inline_ids;
    chat_stripe_t *st = stripe_of(c->channels, ref->id);
    int reached = 0;
    pthread_mutex_lock(&st->lock);
    chat_channel_t *ch = tv_chat_channel_get(st, ref->id);
    size_t cap = !ch ? 0 : sids ? nsids : ch->n, k = 0;
    if (cap > INLINE_TARGETS && !(ids = malloc(cap * sizeof *ids))) {
        pthread_mutex_unlock(&st->lock);
        return TV_ENOMEM;
    }
    for (size_t i = 0; i < cap; i++) {
        const chat_member_t *m = sids ? tv_chat_member_get(ch, sids[i]) : ch->members[i];
        if (m)
            ids[k++] = m->session_id;
    }
    if (k) {
        tv_chat_presence_flush(c, ch); /* earlier joins and leaves come first */
        reached = tv_rt_send_many(c->rt, ids, k, text, len);
    }
    pthread_mutex_unlock(&st->lock);
    if (ids != inline_ids)
        free(ids);
    return reached;
}

cJSON *tv_chat_stream_list(tv_chat_t *c, const tv_chat_ref_t *ref, int hidden, int visible,
                           size_t *n)
{
    cJSON *list = cJSON_CreateArray();
    chat_stripe_t *st = stripe_of(c->channels, ref->id);
    pthread_mutex_lock(&st->lock);
    chat_channel_t *ch = tv_chat_channel_get(st, ref->id);
    if (n)
        *n = ch ? ch->n : 0;
    for (size_t i = 0; list && ch && i < ch->n; i++) {
        const chat_member_t *m = ch->members[i];
        if (m->hidden ? !hidden : !visible)
            continue;
        cJSON *p = member_json(m);
        if (!p || (m->hidden && !cJSON_AddTrueToObject(p, "hidden"))) {
            cJSON_Delete(p);
            cJSON_Delete(list);
            list = NULL;
            break;
        }
        cJSON_AddItemToArray(list, p);
    }
    pthread_mutex_unlock(&st->lock);
    return list;
}

void tv_chat_stream_close(tv_chat_t *c, const tv_chat_ref_t *ref)
{
    char (*sids)[37] = NULL;
    size_t n = 0;
    chat_stripe_t *st = stripe_of(c->channels, ref->id);
    /* the sessions first, under the channel's stripe; then each goes as a leave does (the
     * session stripe comes first in the lock order), silently */
    pthread_mutex_lock(&st->lock);
    chat_channel_t *ch = tv_chat_channel_get(st, ref->id);
    if (ch && ch->n && (sids = malloc(ch->n * sizeof *sids)) != NULL)
        for (size_t i = 0; i < ch->n; i++)
            memcpy(sids[n++], ch->members[i]->session_id, 37);
    if (ch && ch->n && !sids)
        tv_log_warn("chat", "out of memory: stream %s not closed", ref->id);
    pthread_mutex_unlock(&st->lock);
    for (size_t i = 0; i < n; i++) {
        chat_stripe_t *ss = stripe_of(c->sessions, sids[i]);
        pthread_mutex_lock(&ss->lock);
        chat_sess_t *s = sess_get(ss, sids[i], 0);
        if (sess_find(s, ref->id) >= 0) {
            sess_del(s, ref->id);
            sess_maybe_free(ss, s);
            pthread_mutex_lock(&st->lock);
            if ((ch = tv_chat_channel_get(st, ref->id)) != NULL)
                channel_remove(c, st, ch, sids[i], 1);
            pthread_mutex_unlock(&st->lock);
        }
        pthread_mutex_unlock(&ss->lock);
    }
    free(sids);
}
