/* Relayed matches: a striped registry of matches and their presences, the index of which
 * matches each session is in, and the realtime handlers. Replies and events are queued while
 * the match's stripe is held, so every member sees one order: a joiner's `match` reply comes
 * before any event or data of the match. */
#include "match.h"
#include "joined.h"
#include "rt/idmap.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <sodium.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define STRIPES 64
#define INLINE_TARGETS 32 /* recipients listed on the stack before falling back to malloc */

typedef struct presence {
    char user_id[37];
    char session_id[37];
    char username[129];
} presence_t;

typedef struct relayed {
    char id[37];          /* lower-case UUID: the map key */
    int64_t created_ms;   /* unix ms, for the console */
    presence_t *members;  /* in join order */
    size_t n, cap;
} relayed_t;

/* The relayed matches one session is in, so a closing socket leaves them all. */
typedef struct stripe {
    pthread_mutex_t lock;
    tv_rt_idmap_t map;
} stripe_t;

struct tv_match {
    tv_rt_t *rt;
    stripe_t matches[STRIPES];  /* match uuid -> relayed_t */
    tv_joined_t *joined;        /* session id -> relayed match uuids */
    tv_match_authoritative_t auth;
    tv_match_token_fn token_fn;
    void *token_ud;
    atomic_int count;
};

/* A parsed match id: "<uuid>.<node>", node empty for a relayed match. */
typedef struct match_ref {
    char uuid[37];        /* lower-case */
    const char *node;     /* borrowed from the id text */
} match_ref_t;

enum join_mode {
    JOIN_EXISTING,  /* match_join{match_id}: the match must have members */
    JOIN_OR_MAKE,   /* match_join{token}: matchmade, made by its first joiner */
    CREATE_RANDOM,  /* match_create{} */
    CREATE_NAMED,   /* match_create{name}: others with the name land in the same match */
};

static stripe_t *stripe_of(stripe_t *stripes, const char *id)
{
    unsigned h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return &stripes[h % STRIPES];
}

static int parse_match_id(const char *s, match_ref_t *out)
{
    const char *dot = s ? strchr(s, '.') : NULL;
    if (!dot || dot - s != 36)
        return TV_EINVAL;
    memcpy(out->uuid, s, 36);
    out->uuid[36] = 0;
    if (!tv_uuid_valid(out->uuid))
        return TV_EINVAL;
    tv_uuid_lower(out->uuid);
    out->node = dot + 1;
    return TV_OK;
}

int tv_match_uuid_v5_dns(const char *name, char out[37])
{
    static const unsigned char dns[16] = {0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
                                          0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(name);
    unsigned char *in = malloc(sizeof dns + n), md[20];

    if (!in)
        return TV_ENOMEM;
    memcpy(in, dns, sizeof dns);
    memcpy(in + sizeof dns, name, n);
    lws_SHA1(in, sizeof dns + n, md); /* libwebsockets' SHA-1: already linked, and libsodium has none */
    free(in);
    md[6] = (unsigned char)((md[6] & 0x0f) | 0x50);
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[md[i] >> 4];
        *p++ = hex[md[i] & 15];
    }
    *p = 0;
    return TV_OK;
}

/* ---- matches and members (callers hold the match's stripe) -------------------------------- */

static relayed_t *relayed_make(tv_match_t *m, stripe_t *st, const char *uuid)
{
    relayed_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    memcpy(r->id, uuid, sizeof r->id);
    r->created_ms = tv_now_ms();
    if (tv_rt_idmap_put(&st->map, r->id, r) != TV_OK) {
        free(r);
        return NULL;
    }
    atomic_fetch_add(&m->count, 1);
    return r;
}

static void relayed_drop(tv_match_t *m, stripe_t *st, relayed_t *r)
{
    tv_rt_idmap_del(&st->map, r->id);
    atomic_fetch_sub(&m->count, 1);
    free(r->members);
    free(r);
}

static int member_index(const relayed_t *r, const char *sid)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->members[i].session_id, sid) == 0)
            return (int)i;
    return -1;
}

static int member_add(relayed_t *r, const tv_rt_identity_t *who)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 4;
        presence_t *p = realloc(r->members, cap * sizeof *p);
        if (!p)
            return TV_ENOMEM;
        r->members = p;
        r->cap = cap;
    }
    presence_t *p = &r->members[r->n++];
    memcpy(p->user_id, who->user_id, sizeof p->user_id);
    memcpy(p->session_id, who->session_id, sizeof p->session_id);
    memcpy(p->username, who->username, sizeof p->username);
    return TV_OK;
}

/* ---- what goes over the wire ------------------------------------------------------------- */

static void buf_presence(tv_rt_buf_t *b, const char *user_id, const char *session_id,
                         const char *username)
{
    tv_rt_buf_lit(b, "{\"user_id\":");
    tv_rt_buf_str(b, user_id);
    tv_rt_buf_lit(b, ",\"session_id\":");
    tv_rt_buf_str(b, session_id);
    tv_rt_buf_lit(b, ",\"username\":");
    tv_rt_buf_str(b, username);
    tv_rt_buf_lit(b, "}");
}

/* Sends {"match_presence_event":{"match_id":"<uuid>.","joins"|"leaves":[p]}} to every member
 * of r. Caller holds the stripe. */
static void send_presence_event(tv_match_t *m, const relayed_t *r, const char *kind,
                                const presence_t *p)
{
    const char *inline_ids[INLINE_TARGETS], **ids = inline_ids;
    tv_rt_buf_t b = {0};

    if (!r->n)
        return;
    if (r->n > INLINE_TARGETS && !(ids = malloc(r->n * sizeof *ids)))
        return;
    tv_rt_buf_lit(&b, "{\"match_presence_event\":{\"match_id\":\"");
    tv_rt_buf_lit(&b, r->id);
    tv_rt_buf_lit(&b, ".\",\"");
    tv_rt_buf_lit(&b, kind);
    tv_rt_buf_lit(&b, "\":[");
    buf_presence(&b, p->user_id, p->session_id, p->username);
    tv_rt_buf_lit(&b, "]}}");
    for (size_t i = 0; i < r->n; i++)
        ids[i] = r->members[i].session_id;
    if (!b.oom)
        tv_rt_send_many(m->rt, ids, r->n, b.p, b.len);
    tv_rt_buf_free(&b);
    if (ids != inline_ids)
        free(ids);
}

static cJSON *presence_json(const presence_t *p)
{
    tv_rt_identity_t who = {0};
    memcpy(who.user_id, p->user_id, sizeof who.user_id);
    memcpy(who.session_id, p->session_id, sizeof who.session_id);
    memcpy(who.username, p->username, sizeof who.username);
    return tv_rt_presence_json(&who, 0, NULL);
}

/* The body of a `match` reply for a relayed match. Presences are the others when the caller
 * just joined (skip = its session id), everyone otherwise (skip NULL). size < 0 means "as many
 * as listed", Nakama's size for joins. NULL on no memory. */
static cJSON *match_body(const char *match_id, const relayed_t *r, int list, const char *skip,
                         int size, const tv_rt_identity_t *self)
{
    cJSON *body = cJSON_CreateObject(), *ps = cJSON_CreateArray();
    int listed = 0;

    if (!body || !ps || !cJSON_AddStringToObject(body, "match_id", match_id))
        goto fail;
    for (size_t i = 0; list && i < r->n; i++) {
        if (skip && strcmp(r->members[i].session_id, skip) == 0)
            continue;
        cJSON *p = presence_json(&r->members[i]);
        if (!p)
            goto fail;
        cJSON_AddItemToArray(ps, p);
        listed++;
    }
    tv_json_add_int(body, "size", size < 0 ? listed : size);
    if (listed) {
        cJSON_AddItemToObject(body, "presences", ps);
        ps = NULL;
    }
    cJSON *me = tv_rt_presence_json(self, 0, NULL);
    if (!me)
        goto fail;
    cJSON_AddItemToObject(body, "self", me);
    cJSON_Delete(ps);
    return body;
fail:
    cJSON_Delete(ps);
    cJSON_Delete(body);
    return NULL;
}

/* ---- join and leave ---------------------------------------------------------------------- */

/* Puts the sender in relayed match uuid as mode says, answers `match` (its id written as
 * echo_id), then tells every member, the joiner included. Returns as a handler does. */
static int relayed_join(tv_match_t *m, const tv_rt_msg_t *msg, const char *uuid,
                        const char *echo_id, enum join_mode mode)
{
    const tv_rt_identity_t *me = msg->who;
    stripe_t *st = stripe_of(m->matches, uuid);
    int noted = tv_joined_add(m->joined, me->session_id, uuid), rc = TV_OK, is_new = 0;

    if (noted < 0)
        return noted;
    pthread_mutex_lock(&st->lock);
    relayed_t *r = tv_rt_idmap_get(&st->map, uuid);
    if (!r && mode == JOIN_EXISTING) {
        pthread_mutex_unlock(&st->lock);
        if (noted)
            tv_joined_remove(m->joined, me->session_id, uuid);
        tv_rt_reply_error(msg->rt, me->session_id, msg->cid, TV_RT_ERR_MATCH_NOT_FOUND,
                          "Match not found");
        return TV_OK;
    }
    if (!r && !(r = relayed_make(m, st, uuid))) {
        rc = TV_ENOMEM;
        goto fail;
    }
    is_new = member_index(r, me->session_id) < 0;
    if (is_new && member_add(r, me) != TV_OK) {
        rc = TV_ENOMEM;
        goto fail;
    }
    const char *skip = is_new ? me->session_id : NULL;
    cJSON *body = mode == CREATE_RANDOM ? match_body(echo_id, r, 0, NULL, 1, me)
                  : mode == CREATE_NAMED ? match_body(echo_id, r, 1, skip, (int)r->n, me)
                                         : match_body(echo_id, r, 1, skip, -1, me);
    if (!body) {
        rc = TV_ENOMEM;
        goto fail_member;
    }
    tv_rt_reply(msg->rt, me->session_id, msg->cid, "match", body);
    if (is_new)
        send_presence_event(m, r, "joins", &r->members[r->n - 1]);
    pthread_mutex_unlock(&st->lock);
    return TV_OK;
fail_member:
    if (is_new)
        r->n--;
fail:
    if (r && r->n == 0)
        relayed_drop(m, st, r);
    pthread_mutex_unlock(&st->lock);
    if (noted)
        tv_joined_remove(m->joined, me->session_id, uuid);
    return rc;
}

/* Takes session sid out of match uuid, if it is there, and tells the others; the match goes
 * when it is empty. */
static void relayed_leave(tv_match_t *m, const char *sid, const char *uuid)
{
    stripe_t *st = stripe_of(m->matches, uuid);

    pthread_mutex_lock(&st->lock);
    relayed_t *r = tv_rt_idmap_get(&st->map, uuid);
    int i = r ? member_index(r, sid) : -1;
    if (i >= 0) {
        presence_t gone = r->members[i];
        memmove(&r->members[i], &r->members[i + 1], (r->n - (size_t)i - 1) * sizeof gone);
        r->n--;
        if (r->n == 0)
            relayed_drop(m, st, r);
        else
            send_presence_event(m, r, "leaves", &gone);
    }
    pthread_mutex_unlock(&st->lock);
}

/* The close listener: a closed socket leaves every relayed match it was in. */
static void on_session_close(void *ud, const tv_rt_identity_t *who)
{
    tv_match_t *m = ud;
    tv_joined_list_t *l = tv_joined_take(m->joined, who->session_id);
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        relayed_leave(m, who->session_id, l->ids[i]);
    tv_joined_list_free(l);
}

/* ---- the handlers ------------------------------------------------------------------------ */

/* match_create{name?} -> match {match_id, size, self} (+ presences when a named match already
 * had members). */
static int on_create(void *ud, const tv_rt_msg_t *msg)
{
    tv_match_t *m = ud;
    const char *name;
    char uuid[37], id[38];

    if (tv_json_get_str(msg->body, "name", NULL, &name) != TV_OK)
        return TV_EINVAL;
    if (name && *name) {
        if (tv_match_uuid_v5_dns(name, uuid) != TV_OK)
            return TV_ENOMEM;
    } else {
        tv_uuid_v4(uuid);
    }
    snprintf(id, sizeof id, "%s.", uuid);
    return relayed_join(m, msg, uuid, id, name && *name ? CREATE_NAMED : CREATE_RANDOM);
}

static int reply_bad_input(const tv_rt_msg_t *msg, const char *message)
{
    tv_rt_reply_error(msg->rt, msg->who->session_id, msg->cid, TV_RT_ERR_BAD_INPUT, message);
    return TV_OK;
}

/* Joins by id, relayed or authoritative. The match id text is echoed as received. */
static int join_id(tv_match_t *m, const tv_rt_msg_t *msg, const char *id, const cJSON *meta,
                   enum join_mode mode, const char *invalid)
{
    match_ref_t ref;
    if (parse_match_id(id, &ref) != TV_OK)
        return reply_bad_input(msg, invalid);
    if (!*ref.node)
        return relayed_join(m, msg, ref.uuid, id, mode);
    if (m->auth.join)
        return m->auth.join(m->auth.ud, msg, id, meta);
    tv_rt_reply_error(msg->rt, msg->who->session_id, msg->cid, TV_RT_ERR_MATCH_NOT_FOUND,
                      "Match not found");
    return TV_OK;
}

/* match_join{match_id | token, metadata} -> match {match_id, authoritative, label, size,
 * presences (the others), self}. */
static int on_join(void *ud, const tv_rt_msg_t *msg)
{
    tv_match_t *m = ud;
    const char *id, *token;
    const cJSON *meta;
    char mid[256];

    if (tv_json_get_str(msg->body, "match_id", "matchId", &id) != TV_OK ||
        tv_json_get_str(msg->body, "token", NULL, &token) != TV_OK ||
        tv_json_get_str_map(msg->body, "metadata", NULL, &meta) != TV_OK)
        return TV_EINVAL;
    if (id && token)
        return TV_EINVAL; /* both arms of a oneof: protojson refuses the envelope */
    if (id)
        return join_id(m, msg, id, meta, JOIN_EXISTING, "Invalid match ID");
    if (!token)
        return reply_bad_input(msg, "No match ID or token found");
    if (!m->token_fn || m->token_fn(m->token_ud, token, mid, sizeof mid) != TV_OK)
        return reply_bad_input(msg, "Invalid match token");
    return join_id(m, msg, mid, meta, JOIN_OR_MAKE, "Invalid match token");
}

/* match_leave{match_id} -> {cid}, whether or not the sender was in the match. */
static int on_leave(void *ud, const tv_rt_msg_t *msg)
{
    tv_match_t *m = ud;
    const char *id;
    match_ref_t ref;

    if (tv_json_get_str(msg->body, "match_id", "matchId", &id) != TV_OK)
        return TV_EINVAL;
    if (parse_match_id(id, &ref) != TV_OK)
        return reply_bad_input(msg, "Invalid match ID");
    if (!*ref.node) {
        relayed_leave(m, msg->who->session_id, ref.uuid);
        tv_joined_remove(m->joined, msg->who->session_id, ref.uuid);
    } else if (m->auth.leave) {
        m->auth.leave(m->auth.ud, msg->who, id);
    }
    tv_rt_reply(msg->rt, msg->who->session_id, msg->cid, NULL, NULL);
    return TV_OK;
}

/* ---- match data -------------------------------------------------------------------------- */

/* One match_data_send, decoded. */
typedef struct data_msg {
    const char *id;          /* as received: echoed in match_data */
    match_ref_t ref;
    int64_t op_code;
    const char *data;        /* standard padded base64, or NULL when empty */
    char *data_owned;        /* data re-encoded from another base64 form */
    char (*targets)[37];     /* listed session ids, lower-case */
    size_t ntargets;
    int reliable;
    int drop;                /* well-formed but to be dropped (a bad target id) */
} data_msg_t;

static void data_msg_free(data_msg_t *d)
{
    free(d->data_owned);
    free(d->targets);
}

/* presences: the targets, by session id. A target whose ids are not UUIDs drops the whole
 * message, as Nakama does. */
static int parse_targets(const cJSON *body, data_msg_t *d)
{
    const cJSON *v = tv_json_get(body, "presences", NULL), *p;
    int n;

    if (!v)
        return TV_OK;
    if (!cJSON_IsArray(v))
        return TV_EINVAL;
    if (!(n = cJSON_GetArraySize(v)))
        return TV_OK;
    if (!(d->targets = malloc((size_t)n * sizeof *d->targets)))
        return TV_ENOMEM;
    cJSON_ArrayForEach(p, v) {
        const char *uid, *sid;
        if (!cJSON_IsObject(p) || tv_json_get_str(p, "user_id", "userId", &uid) != TV_OK ||
            tv_json_get_str(p, "session_id", "sessionId", &sid) != TV_OK)
            return TV_EINVAL;
        if (!tv_uuid_valid(uid) || !tv_uuid_valid(sid)) {
            d->drop = 1;
            continue;
        }
        memcpy(d->targets[d->ntargets], sid, 37);
        tv_uuid_lower(d->targets[d->ntargets++]);
    }
    return TV_OK;
}

static int parse_data(const cJSON *body, data_msg_t *d)
{
    const char *data;
    const cJSON *rel = tv_json_get(body, "reliable", NULL);
    int rc;

    if (tv_json_get_str(body, "match_id", "matchId", &d->id) != TV_OK ||
        tv_json_int64(tv_json_get(body, "op_code", "opCode"), &d->op_code) != TV_OK ||
        tv_json_get_str(body, "data", NULL, &data) != TV_OK || (rel && !cJSON_IsBool(rel)))
        return TV_EINVAL;
    d->reliable = cJSON_IsTrue(rel);
    if (data && (rc = tv_json_bytes_b64(data, &d->data, &d->data_owned)) != TV_OK)
        return rc;
    return parse_targets(body, d);
}

/* {"match_data":{match_id, presence (the sender), op_code (string), data, reliable}}. */
static void data_text(tv_rt_buf_t *b, const data_msg_t *d, const tv_rt_identity_t *from)
{
    char op[24];
    tv_rt_buf_lit(b, "{\"match_data\":{\"match_id\":");
    tv_rt_buf_str(b, d->id);
    tv_rt_buf_lit(b, ",\"presence\":");
    buf_presence(b, from->user_id, from->session_id, from->username);
    if (d->op_code) {
        tv_rt_buf_lit(b, ",\"op_code\":\"");
        tv_rt_buf_lit(b, tv_i64_str(op, d->op_code));
        tv_rt_buf_lit(b, "\"");
    }
    if (d->data) {
        tv_rt_buf_lit(b, ",\"data\":\"");
        tv_rt_buf_lit(b, d->data);
        tv_rt_buf_lit(b, "\"");
    }
    tv_rt_buf_lit(b, d->reliable ? ",\"reliable\":true}}" : "}}");
}

static int targeted(const data_msg_t *d, const char *sid)
{
    for (size_t i = 0; i < d->ntargets; i++)
        if (strcmp(d->targets[i], sid) == 0)
            return 1;
    return 0;
}

/* Relays to the other members, or to the listed ones (the sender too, if listed). Data from
 * a session that is not a member is dropped. The text is made once for all recipients. */
static void relay(tv_match_t *m, const data_msg_t *d, const tv_rt_identity_t *from)
{
    stripe_t *st = stripe_of(m->matches, d->ref.uuid);
    const char *inline_ids[INLINE_TARGETS], **ids = inline_ids;
    tv_rt_buf_t b = {0};
    size_t k = 0;
    int member = 0;

    data_text(&b, d, from);
    pthread_mutex_lock(&st->lock);
    relayed_t *r = b.oom ? NULL : tv_rt_idmap_get(&st->map, d->ref.uuid);
    if (r && r->n > INLINE_TARGETS && !(ids = malloc(r->n * sizeof *ids)))
        r = NULL;
    for (size_t i = 0; r && i < r->n; i++) {
        const char *sid = r->members[i].session_id;
        int self = strcmp(sid, from->session_id) == 0;
        member |= self;
        if (d->ntargets ? targeted(d, sid) : !self)
            ids[k++] = sid;
    }
    if (member && k)
        tv_rt_send_many(m->rt, ids, k, b.p, b.len);
    pthread_mutex_unlock(&st->lock);
    if (ids != inline_ids)
        free(ids);
    tv_rt_buf_free(&b);
}

/* Hands data for an authoritative match to its hook, decoded. */
static int to_authoritative(tv_match_t *m, const data_msg_t *d, const tv_rt_identity_t *from)
{
    const char *inline_ids[INLINE_TARGETS], **ids = inline_ids;
    unsigned char *bin = NULL;
    size_t len = 0;
    int rc = TV_OK;

    if (!m->auth.data)
        return TV_OK;
    if (d->data && (rc = tv_json_b64_decode(d->data, &bin, &len)) != TV_OK)
        return rc;
    if (d->ntargets > INLINE_TARGETS && !(ids = malloc(d->ntargets * sizeof *ids))) {
        free(bin);
        return TV_ENOMEM;
    }
    for (size_t i = 0; i < d->ntargets; i++)
        ids[i] = d->targets[i];
    m->auth.data(m->auth.ud, from, d->id, d->op_code, bin, len, ids, d->ntargets, d->reliable);
    if (ids != inline_ids)
        free(ids);
    free(bin);
    return TV_OK;
}

/* match_data_send{match_id, op_code, data, presences, reliable}: no reply. A bad match id gets
 * error 3 without a cid (Nakama answers so even though the request has none). */
static int on_data(void *ud, const tv_rt_msg_t *msg)
{
    tv_match_t *m = ud;
    data_msg_t d = {0};
    int rc = parse_data(msg->body, &d);

    if (rc == TV_OK && parse_match_id(d.id, &d.ref) != TV_OK)
        tv_rt_reply_error(msg->rt, msg->who->session_id, NULL, TV_RT_ERR_BAD_INPUT,
                          "Invalid match ID");
    else if (rc == TV_OK && !d.drop && *d.ref.node)
        rc = to_authoritative(m, &d, msg->who);
    else if (rc == TV_OK && !d.drop)
        relay(m, &d, msg->who);
    data_msg_free(&d);
    return rc;
}

/* ---- the registry ------------------------------------------------------------------------ */

int tv_match_new(tv_rt_t *rt, tv_match_t **out)
{
    tv_match_t *m = calloc(1, sizeof *m);
    int rc;

    *out = NULL;
    if (!m)
        return TV_ENOMEM;
    m->rt = rt;
    if (!(m->joined = tv_joined_new())) {
        free(m);
        return TV_ENOMEM;
    }
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&m->matches[i].lock, NULL);
    tv_rt_listener_t l = {NULL, on_session_close, m};
    if ((rc = tv_rt_register(rt, "match_create", on_create, m)) != TV_OK ||
        (rc = tv_rt_register(rt, "match_join", on_join, m)) != TV_OK ||
        (rc = tv_rt_register(rt, "match_leave", on_leave, m)) != TV_OK ||
        (rc = tv_rt_register(rt, "match_data_send", on_data, m)) != TV_OK ||
        (rc = tv_rt_add_listener(rt, &l)) != TV_OK) {
        /* rt keeps pointers to m in its tables: it cannot be freed before rt stops */
        tv_log_error("match", "cannot register the match messages: %s", tv_error_name(rc));
        *out = m;
        return rc;
    }
    *out = m;
    return TV_OK;
}

void tv_match_free(tv_match_t *m)
{
    if (!m)
        return;
    for (int i = 0; i < STRIPES; i++) {
        void *v;
        size_t pos = 0;
        while ((v = tv_rt_idmap_next(&m->matches[i].map, &pos))) {
            relayed_t *r = v;
            free(r->members);
            free(r);
        }
        tv_rt_idmap_free(&m->matches[i].map);
        pthread_mutex_destroy(&m->matches[i].lock);
    }
    tv_joined_free(m->joined);
    free(m);
}

int tv_match_count(tv_match_t *m)
{
    return atomic_load(&m->count);
}

int tv_match_set_authoritative(tv_match_t *m, const tv_match_authoritative_t *a)
{
    if (!a || a->size < offsetof(tv_match_authoritative_t, join) ||
        a->size > sizeof *a)
        return TV_EINVAL;
    memset(&m->auth, 0, sizeof m->auth);
    memcpy(&m->auth, a, a->size);
    return TV_OK;
}

void tv_match_set_token_check(tv_match_t *m, tv_match_token_fn fn, void *ud)
{
    m->token_fn = fn;
    m->token_ud = ud;
}

int tv_match_list_authoritative(tv_match_t *m, const tv_match_filter_t *f, cJSON *out)
{
    if (!m->auth.list || f->authoritative == 0)
        return 0;
    return m->auth.list(m->auth.ud, f, out);
}

int tv_match_list_relayed(tv_match_t *m, const tv_match_filter_t *f, cJSON *out)
{
    int have = cJSON_GetArraySize(out), added = 0;
    char id[38];

    if (f->authoritative == 1 || f->label || f->query)
        return 0;
    for (int i = 0; i < STRIPES && have + added < f->limit; i++) {
        stripe_t *st = &m->matches[i];
        size_t pos = 0;
        relayed_t *r;
        pthread_mutex_lock(&st->lock);
        while (have + added < f->limit && (r = tv_rt_idmap_next(&st->map, &pos))) {
            if ((f->min_size >= 0 && (int)r->n < f->min_size) ||
                (f->max_size >= 0 && (int)r->n > f->max_size))
                continue;
            cJSON *o = cJSON_CreateObject();
            snprintf(id, sizeof id, "%s.", r->id);
            if (!o || !cJSON_AddStringToObject(o, "match_id", id) ||
                !cJSON_AddNumberToObject(o, "size", (double)r->n)) {
                cJSON_Delete(o);
                pthread_mutex_unlock(&st->lock);
                return TV_ENOMEM;
            }
            cJSON_AddItemToArray(out, o);
            added++;
        }
        pthread_mutex_unlock(&st->lock);
    }
    return added;
}

/* ---- the console ------------------------------------------------------------------------- */

/* {match_id, size, presences, create_time} of r (stripe held). NULL on no memory. */
static cJSON *console_json(const relayed_t *r)
{
    char id[38];
    snprintf(id, sizeof id, "%s.", r->id);
    cJSON *o = cJSON_CreateObject(), *ps = cJSON_CreateArray();
    int ok = o && ps && cJSON_AddStringToObject(o, "match_id", id);
    for (size_t i = 0; ok && i < r->n; i++) {
        cJSON *p = presence_json(&r->members[i]);
        ok = p != NULL;
        if (p)
            cJSON_AddItemToArray(ps, p);
    }
    if (!ok) {
        cJSON_Delete(ps);
        cJSON_Delete(o);
        return NULL;
    }
    tv_json_add_int(o, "size", (int64_t)r->n);
    tv_json_add_list(o, "presences", ps);
    tv_json_add_time(o, "create_time", r->created_ms / 1000);
    return o;
}

int tv_match_console_relayed(tv_match_t *m, int limit, cJSON *out)
{
    int added = 0;
    for (int i = 0; i < STRIPES && cJSON_GetArraySize(out) < limit; i++) {
        stripe_t *st = &m->matches[i];
        size_t pos = 0;
        relayed_t *r;
        pthread_mutex_lock(&st->lock);
        while (cJSON_GetArraySize(out) < limit && (r = tv_rt_idmap_next(&st->map, &pos))) {
            cJSON *o = console_json(r);
            if (!o) {
                pthread_mutex_unlock(&st->lock);
                return TV_ENOMEM;
            }
            cJSON_AddItemToArray(out, o);
            added++;
        }
        pthread_mutex_unlock(&st->lock);
    }
    return added;
}

int tv_match_console_relayed_get(tv_match_t *m, const char *uuid, cJSON **out)
{
    stripe_t *st = stripe_of(m->matches, uuid);
    *out = NULL;
    pthread_mutex_lock(&st->lock);
    relayed_t *r = tv_rt_idmap_get(&st->map, uuid);
    if (r)
        *out = console_json(r);
    pthread_mutex_unlock(&st->lock);
    return !r ? TV_ENOTFOUND : *out ? TV_OK : TV_ENOMEM;
}

int tv_match_console_relayed_stop(tv_match_t *m, const char *uuid)
{
    stripe_t *st = stripe_of(m->matches, uuid);
    const char *inline_ids[INLINE_TARGETS], **ids = inline_ids;
    tv_rt_buf_t b = {0};

    pthread_mutex_lock(&st->lock);
    relayed_t *r = tv_rt_idmap_get(&st->map, uuid);
    if (!r) {
        pthread_mutex_unlock(&st->lock);
        return TV_ENOTFOUND;
    }
    /* Everyone hears every member leave, themselves included: the match is over for them. */
    tv_rt_buf_lit(&b, "{\"match_presence_event\":{\"match_id\":\"");
    tv_rt_buf_lit(&b, r->id);
    tv_rt_buf_lit(&b, ".\",\"leaves\":[");
    for (size_t i = 0; i < r->n; i++) {
        if (i)
            tv_rt_buf_lit(&b, ",");
        buf_presence(&b, r->members[i].user_id, r->members[i].session_id,
                     r->members[i].username);
    }
    tv_rt_buf_lit(&b, "]}}");
    if (r->n > INLINE_TARGETS && !(ids = malloc(r->n * sizeof *ids)))
        ids = NULL; /* no memory to tell them: the match still ends */
    for (size_t i = 0; ids && i < r->n; i++)
        ids[i] = r->members[i].session_id;
    if (ids && r->n && !b.oom)
        tv_rt_send_many(m->rt, ids, r->n, b.p, b.len);
    for (size_t i = 0; i < r->n; i++)
        tv_joined_remove(m->joined, r->members[i].session_id, r->id);
    tv_log_info("match", "relayed match %s. stopped from the console (%zu members)", r->id, r->n);
    relayed_drop(m, st, r);
    pthread_mutex_unlock(&st->lock);
    tv_rt_buf_free(&b);
    if (ids != inline_ids)
        free(ids);
    return TV_OK;
}
