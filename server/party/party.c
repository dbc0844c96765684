/* The party service: the party_* messages on /ws, the registry of this node's parties and of
 * the parties each session is in, and every push (party, party_presence_event, party_leader,
 * party_join_request, party_data, party_close). One mutex guards the registry; changes and
 * their pushes happen under it (pushes only queue: tv_rt_send never waits), so every member
 * hears a party's events in the order they happened. Party tickets go to the matchmaker's
 * queue under it too, so a drop queued by a later change always follows the add. */
#include "party.h"
#include "error.h"
#include "idmap.h"
#include "json.h"
#include "log.h"
#include "matchmaker.h"
#include "rt.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The parties one session is in or asks to join. */
typedef struct sess {
    char sid[37];
    char ids[TV_PARTY_PER_SESSION][TV_PARTY_ID_MAX];
    size_t n;
} sess_t;

struct tv_party_svc {
    tv_rt_t *rt;
    tv_mm_t *mm;
    char node[24];           /* fits "<uuid>.<node>" in TV_PARTY_ID_MAX */
    char *rating_property;  /* owned copy */
    pthread_mutex_t mu;
    tv_rt_idmap_t parties;  /* party id ("<lower-case uuid>.<node>") -> tv_party_t, under mu */
    tv_rt_idmap_t sessions; /* session id -> sess_t, under mu */
};

/* ---- the session index ----------------------------------------------------------------- */

static int sess_has(const sess_t *s, const char *party_id)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (strcmp(s->ids[i], party_id) == 0)
            return 1;
    return 0;
}

/* Records that sid is in (or asks to join) party_id. TV_EBUSY past TV_PARTY_PER_SESSION. */
static int sess_add(tv_party_svc_t *svc, const char *sid, const char *party_id)
{
    sess_t *s = tv_rt_idmap_get(&svc->sessions, sid);
    if (sess_has(s, party_id))
        return TV_OK;
    if (!s) {
        if (!(s = calloc(1, sizeof *s)))
            return TV_ENOMEM;
        memcpy(s->sid, sid, sizeof s->sid);
        if (tv_rt_idmap_put(&svc->sessions, s->sid, s) != TV_OK) {
            free(s);
            return TV_ENOMEM;
        }
    }
    if (s->n == TV_PARTY_PER_SESSION)
        return TV_EBUSY;
    memcpy(s->ids[s->n++], party_id, TV_PARTY_ID_MAX);
    return TV_OK;
}

static void sess_del(tv_party_svc_t *svc, const char *sid, const char *party_id)
{
    sess_t *s = tv_rt_idmap_get(&svc->sessions, sid);
    for (size_t i = 0; s && i < s->n; i++)
        if (strcmp(s->ids[i], party_id) == 0) {
            memmove(s->ids[i], s->ids[i + 1], (s->n - i - 1) * sizeof s->ids[0]);
            s->n--;
            break;
        }
    if (s && !s->n)
        free(tv_rt_idmap_del(&svc->sessions, sid));
}

/* Whether sid may take one more party. */
static int sess_full(tv_party_svc_t *svc, const char *sid)
{
    sess_t *s = tv_rt_idmap_get(&svc->sessions, sid);
    return s && s->n >= TV_PARTY_PER_SESSION;
}

/* ---- envelopes -------------------------------------------------------------------------- */

static cJSON *member_json(const tv_party_member_t *m)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "user_id", m->user_id) ||
        !cJSON_AddStringToObject(o, "session_id", m->session_id) ||
        !cJSON_AddStringToObject(o, "username", m->username)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *members_json(const tv_party_member_t *arr, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++) {
        cJSON *m = member_json(&arr[i]);
        if (!m || !cJSON_AddItemToArray(a, m)) {
            cJSON_Delete(m);
            cJSON_Delete(a);
            a = NULL;
        }
    }
    return a;
}

/* party {party_id, open, hidden, max_size, self, leader, presences, label}, as protojson
 * writes it (false and empty left out). NULL on no memory. */
static cJSON *party_json(const tv_party_t *p, const tv_party_member_t *self)
{
    cJSON *o = cJSON_CreateObject(), *s = member_json(self);
    cJSON *l = member_json(&p->members[p->leader]), *ps = members_json(p->members, p->n);
    if (!o || !s || !l || !ps || !cJSON_AddStringToObject(o, "party_id", p->id)) {
        cJSON_Delete(o), cJSON_Delete(s), cJSON_Delete(l), cJSON_Delete(ps);
        return NULL;
    }
    tv_json_add_bool(o, "open", p->open);
    tv_json_add_bool(o, "hidden", p->hidden);
    tv_json_add_int(o, "max_size", p->max_size);
    cJSON_AddItemToObject(o, "self", s);
    cJSON_AddItemToObject(o, "leader", l);
    cJSON_AddItemToObject(o, "presences", ps);
    tv_json_add_str(o, "label", p->label);
    return o;
}

/* Sends {key: body} (body taken) to the party's members, but skip (may be NULL). */
static void to_members(tv_party_svc_t *svc, const tv_party_t *p, const char *skip,
                       const char *key, cJSON *body)
{
    char *text = body ? tv_rt_envelope_text(NULL, key, body) : NULL;
    const char **ids = text ? malloc(p->n * sizeof *ids) : NULL;
    size_t k = 0;
    for (size_t i = 0; ids && i < p->n; i++)
        if (!skip || strcmp(p->members[i].session_id, skip) != 0)
            ids[k++] = p->members[i].session_id;
    if (ids && k)
        tv_rt_send_many(svc->rt, ids, k, text, strlen(text));
    else if (!ids)
        tv_log_error("party", "no memory for a %s of party %s", key, p->id);
    free(ids);
    cJSON_free(text);
}

static void to_one(tv_party_svc_t *svc, const char *sid, const char *key, cJSON *body)
{
    char *text = body ? tv_rt_envelope_text(NULL, key, body) : NULL;
    if (text)
        tv_rt_send(svc->rt, sid, text, strlen(text));
    else
        tv_log_error("party", "no memory for a %s", key);
    cJSON_free(text);
}

/* {party_id, presence} for party_leader / {party_id} for party_close. */
static cJSON *id_body(const tv_party_t *p, const char *key, const tv_party_member_t *m)
{
    cJSON *o = cJSON_CreateObject(), *pr = m ? member_json(m) : NULL;
    if (!o || (m && !pr) || !cJSON_AddStringToObject(o, "party_id", p->id)) {
        cJSON_Delete(o), cJSON_Delete(pr);
        return NULL;
    }
    if (pr)
        cJSON_AddItemToObject(o, key, pr);
    return o;
}

/* party_presence_event {party_id, joins | leaves: [m]} to the members (the joiner too: every
 * member hears every join, as Nakama's tracker tells a stream). */
static void presence_event(tv_party_svc_t *svc, const tv_party_t *p, const char *kind,
                           const tv_party_member_t *m)
{
    cJSON *o = id_body(p, "presence", NULL), *a = members_json(m, 1);
    if (!o || !a) {
        cJSON_Delete(o), cJSON_Delete(a);
        o = NULL;
    } else {
        cJSON_AddItemToObject(o, kind, a);
    }
    to_members(svc, p, NULL, "party_presence_event", o);
}

/* ---- the registry ----------------------------------------------------------------------- */

/* Ends p: out of the registry and every index, its tickets out of the matchmaker. */
static void end_party(tv_party_svc_t *svc, tv_party_t *p)
{
    tv_rt_idmap_del(&svc->parties, p->id);
    for (size_t i = 0; i < p->n; i++)
        sess_del(svc, p->members[i].session_id, p->id);
    for (size_t i = 0; i < p->nreq; i++)
        sess_del(svc, p->requests[i].session_id, p->id);
    tv_mm_party_drop(svc->mm, p->id);
    tv_party_free(p);
}

/* The members changed: the party's tickets no longer stand for it (as Nakama). */
static void changed(tv_party_svc_t *svc, const tv_party_t *p)
{
    tv_mm_party_drop(svc->mm, p->id);
}

/* sid leaves p (a member, or a join request withdrawn). */
static void leave_locked(tv_party_svc_t *svc, tv_party_t *p, const char *sid)
{
    tv_party_member_t gone;
    int new_leader;
    tv_party_left_t left = tv_party_leave(p, sid, &gone, &new_leader);
    if (left == TV_PARTY_LEFT_NONE)
        return;
    sess_del(svc, sid, p->id);
    if (left == TV_PARTY_LEFT_REQUEST)
        return;
    if (!p->n) {
        end_party(svc, p); /* the last member left */
        return;
    }
    presence_event(svc, p, "leaves", &gone);
    if (new_leader)
        to_members(svc, p, NULL, "party_leader",
                   id_body(p, "presence", &p->members[p->leader]));
    changed(svc, p);
}

/* ---- request parsing -------------------------------------------------------------------- */

/* What a handler found: the party (under mu), or an error already answered / to close on. */
typedef enum { FOUND, ANSWERED, MALFORMED } lookup_t;

static void fail(const tv_rt_msg_t *msg, int code, const char *message)
{
    tv_rt_reply_error(msg->rt, msg->who->session_id, msg->cid, code, message);
}

/* The party named by the body's party_id, with mu held when FOUND. An id that is not
 * "<uuid>.<node>" is error 3; a party not alive on this node is error 4. */
static lookup_t find_party(tv_party_svc_t *svc, const tv_rt_msg_t *msg, tv_party_t **out)
{
    const char *id;
    if (tv_json_get_str(msg->body, "party_id", "partyId", &id) != TV_OK)
        return MALFORMED;
    const char *dot = id ? strchr(id, '.') : NULL;
    char uuid[37];
    if (!dot || dot - id != 36) {
        fail(msg, TV_RT_ERR_BAD_INPUT, "Invalid party ID");
        return ANSWERED;
    }
    memcpy(uuid, id, 36);
    uuid[36] = '\0';
    if (!tv_uuid_valid(uuid)) {
        fail(msg, TV_RT_ERR_BAD_INPUT, "Invalid party ID");
        return ANSWERED;
    }
    tv_uuid_lower(uuid);
    char key[TV_PARTY_ID_MAX];
    int fits = snprintf(key, sizeof key, "%s%s", uuid, dot) < (int)sizeof key;
    pthread_mutex_lock(&svc->mu);
    tv_party_t *p = fits ? tv_rt_idmap_get(&svc->parties, key) : NULL;
    if (!p) {
        pthread_mutex_unlock(&svc->mu);
        fail(msg, TV_RT_ERR_MATCH_NOT_FOUND, "Party not found");
        return ANSWERED;
    }
    *out = p;
    return FOUND;
}

/* The body's presence {user_id, session_id, username}: all three required (error 3). */
static lookup_t get_presence(const tv_rt_msg_t *msg, tv_party_member_t *m)
{
    const cJSON *p = tv_json_get(msg->body, "presence", NULL);
    const char *uid = NULL, *sid = NULL, *name = NULL;
    if (p && (!cJSON_IsObject(p) || tv_json_get_str(p, "user_id", "userId", &uid) != TV_OK ||
              tv_json_get_str(p, "session_id", "sessionId", &sid) != TV_OK ||
              tv_json_get_str(p, "username", NULL, &name) != TV_OK))
        return MALFORMED;
    if (!uid || !sid || !name || !*uid || !*sid || !*name || strlen(uid) >= sizeof m->user_id ||
        strlen(sid) >= sizeof m->session_id || strlen(name) >= sizeof m->username) {
        fail(msg, TV_RT_ERR_BAD_INPUT, "Invalid presence");
        return ANSWERED;
    }
    memset(m, 0, sizeof *m);
    memcpy(m->user_id, uid, strlen(uid) + 1);
    memcpy(m->session_id, sid, strlen(sid) + 1);
    memcpy(m->username, name, strlen(name) + 1);
    tv_uuid_lower(m->user_id);
    tv_uuid_lower(m->session_id);
    return FOUND;
}

static void self_member(const tv_rt_msg_t *msg, tv_party_member_t *m)
{
    memset(m, 0, sizeof *m);
    memcpy(m->user_id, msg->who->user_id, sizeof m->user_id);
    memcpy(m->session_id, msg->who->session_id, sizeof m->session_id);
    memcpy(m->username, msg->who->username, sizeof m->username);
}

/* "<prefix>: <why>" as error 3 (Nakama's wording). */
static void fail_why(const tv_rt_msg_t *msg, const char *prefix, const char *why)
{
    char text[160];
    snprintf(text, sizeof text, "%s: %s", prefix, why);
    fail(msg, TV_RT_ERR_BAD_INPUT, text);
}

/* ---- handlers (socket threads; never waiting but for mu) -------------------------------- */

/* party_create {open, max_size, label, hidden} -> party {...}; the creator leads. */
static int on_create(void *ud, const tv_rt_msg_t *msg)
{
    tv_party_svc_t *svc = ud;
    int open = 0, hidden = 0, set;
    const char *label;
    const cJSON *ms = tv_json_get(msg->body, "max_size", "maxSize");
    if (tv_json_get_bool(msg->body, "open", NULL, &open, &set) != TV_OK ||
        tv_json_get_bool(msg->body, "hidden", NULL, &hidden, &set) != TV_OK ||
        tv_json_get_str(msg->body, "label", NULL, &label) != TV_OK || (ms && !cJSON_IsNumber(ms)))
        return TV_EINVAL;
    double max_size = ms ? ms->valuedouble : 0;
    if (!(max_size >= 1 && max_size <= TV_PARTY_MAX_SIZE) || max_size != (int)max_size) {
        fail(msg, TV_RT_ERR_BAD_INPUT, "Invalid party max size, must be 1-256");
        return TV_OK;
    }
    if (label && (strlen(label) > TV_PARTY_LABEL_MAX || !tv_utf8_valid(label))) {
        fail(msg, TV_RT_ERR_BAD_INPUT, "Invalid party label, at most 256 bytes of UTF-8");
        return TV_OK;
    }
    char uuid[37], id[TV_PARTY_ID_MAX];
    tv_uuid_v4(uuid);
    snprintf(id, sizeof id, "%s.%s", uuid, svc->node);
    tv_party_member_t me;
    self_member(msg, &me);
    tv_party_t *p = tv_party_new(id, open, hidden, (int)max_size, label, &me);
    if (!p)
        return TV_ENOMEM;
    int rc = TV_OK;
    pthread_mutex_lock(&svc->mu);
    if (sess_full(svc, me.session_id)) {
        fail(msg, TV_RT_ERR_BAD_INPUT, "Too many parties (at most 16 a session)");
        tv_party_free(p);
    } else {
        rc = tv_rt_idmap_put(&svc->parties, p->id, p);
        if (rc == TV_OK)
            rc = sess_add(svc, me.session_id, p->id);
        if (rc == TV_OK) {
            tv_rt_reply(msg->rt, me.session_id, msg->cid, "party", party_json(p, &me));
            presence_event(svc, p, "joins", &me);
        } else {
            tv_rt_idmap_del(&svc->parties, p->id);
            tv_party_free(p);
        }
    }
    pthread_mutex_unlock(&svc->mu);
    return rc;
}

/* party_join {party_id} -> {cid}. Open: a member at once (`party` to the joiner, then the
 * join to every member); closed: a join request the leader hears as party_join_request. */
static int on_join(void *ud, const tv_rt_msg_t *msg)
{
    tv_party_svc_t *svc = ud;
    tv_party_t *p;
    lookup_t l = find_party(svc, msg, &p);
    if (l != FOUND)
        return l == MALFORMED ? TV_EINVAL : TV_OK;
    tv_party_member_t me;
    self_member(msg, &me);
    tv_party_join_t out = TV_PARTY_UNCHANGED;
    const char *why = NULL;
    /* the session's index first: a join it cannot record is refused whole */
    int rc = TV_OK, added = 0;
    if (!sess_has(tv_rt_idmap_get(&svc->sessions, me.session_id), p->id)) {
        rc = sess_add(svc, me.session_id, p->id);
        if (rc == TV_EBUSY)
            why = "too many parties (at most 16 a session)";
        added = rc == TV_OK;
    }
    if (rc == TV_OK)
        rc = tv_party_join(p, &me, &out, &why);
    if (added && rc != TV_OK)
        sess_del(svc, me.session_id, p->id); /* recorded above, but the party refused */
    if (rc == TV_OK && out == TV_PARTY_JOINED) {
        to_one(svc, me.session_id, "party", party_json(p, &me));
        presence_event(svc, p, "joins", &me);
        changed(svc, p);
    } else if (rc == TV_OK && out == TV_PARTY_REQUESTED) {
        cJSON *o = id_body(p, NULL, NULL), *a = members_json(&me, 1);
        if (o && a)
            cJSON_AddItemToObject(o, "presences", a);
        else
            cJSON_Delete(a), cJSON_Delete(o), o = NULL;
        to_one(svc, p->members[p->leader].session_id, "party_join_request", o);
    }
    if (rc == TV_OK)
        tv_rt_reply(msg->rt, me.session_id, msg->cid, NULL, NULL);
    else if (why)
        fail_why(msg, "Error joining party", why);
    pthread_mutex_unlock(&svc->mu);
    return rc == TV_ENOMEM ? rc : TV_OK;
}

/* party_leave {party_id} -> {cid}: a member leaves (the oldest takes over from a leaving
 * leader; the last one ends the party), a join request is withdrawn; anyone else: no change. */
static int on_leave(void *ud, const tv_rt_msg_t *msg)
{
    tv_party_svc_t *svc = ud;
    tv_party_t *p;
    lookup_t l = find_party(svc, msg, &p);
    if (l != FOUND)
        return l == MALFORMED ? TV_EINVAL : TV_OK;
    leave_locked(svc, p, msg->who->session_id);
    tv_rt_reply(msg->rt, msg->who->session_id, msg->cid, NULL, NULL);
    pthread_mutex_unlock(&svc->mu);
    return TV_OK;
}

typedef enum { ACT_PROMOTE, ACT_ACCEPT, ACT_REMOVE } act_t;

/* party_promote / party_accept / party_remove {party_id, presence} -> {cid}: the leader's. */
static int on_act(tv_party_svc_t *svc, const tv_rt_msg_t *msg, act_t act)
{
    static const char *const prefix[] = {"Error promoting new party leader",
                                         "Error accepting party join request",
                                         "Error removing party member or join request"};
    tv_party_member_t target;
    lookup_t l = get_presence(msg, &target);
    tv_party_t *p;
    if (l == FOUND)
        l = find_party(svc, msg, &p);
    if (l != FOUND)
        return l == MALFORMED ? TV_EINVAL : TV_OK;
    const char *why = NULL, *by = msg->who->session_id;
    int was_member = 0, rc;
    int mi = tv_party_find(p->members, p->n, target.session_id);
    tv_party_member_t stored = mi >= 0 ? p->members[mi] : target; /* as the others know it */
    if (act == ACT_PROMOTE)
        rc = tv_party_promote(p, by, &target, &why);
    else if (act == ACT_ACCEPT)
        rc = tv_party_accept(p, by, &target, &why);
    else
        rc = tv_party_remove(p, by, &target, &was_member, &why);
    if (rc == TV_OK && act == ACT_PROMOTE) {
        to_members(svc, p, NULL, "party_leader", id_body(p, "presence", &p->members[p->leader]));
    } else if (rc == TV_OK && act == ACT_ACCEPT) {
        int i = tv_party_find(p->members, p->n, target.session_id);
        to_one(svc, target.session_id, "party", party_json(p, &p->members[i]));
        presence_event(svc, p, "joins", &p->members[i]);
        changed(svc, p);
    } else if (rc == TV_OK) {
        sess_del(svc, target.session_id, p->id);
        if (was_member) {
            presence_event(svc, p, "leaves", &stored);
            to_one(svc, target.session_id, "party_close", id_body(p, NULL, NULL));
            changed(svc, p);
        }
    }
    if (rc == TV_OK)
        tv_rt_reply(msg->rt, by, msg->cid, NULL, NULL);
    else
        fail_why(msg, prefix[act], why);
    pthread_mutex_unlock(&svc->mu);
    return TV_OK;
}

static int on_promote(void *ud, const tv_rt_msg_t *msg)
{
    return on_act(ud, msg, ACT_PROMOTE);
}

static int on_accept(void *ud, const tv_rt_msg_t *msg)
{
    return on_act(ud, msg, ACT_ACCEPT);
}

static int on_remove(void *ud, const tv_rt_msg_t *msg)
{
    return on_act(ud, msg, ACT_REMOVE);
}

/* party_close {party_id} -> {cid}: the leader's; every member hears party_close first. */
static int on_close_party(void *ud, const tv_rt_msg_t *msg)
{
    tv_party_svc_t *svc = ud;
    tv_party_t *p;
    lookup_t l = find_party(svc, msg, &p);
    if (l != FOUND)
        return l == MALFORMED ? TV_EINVAL : TV_OK;
    if (!tv_party_is_leader(p, msg->who->session_id)) {
        fail_why(msg, "Error closing party", "party leader only");
    } else {
        to_members(svc, p, NULL, "party_close", id_body(p, NULL, NULL));
        end_party(svc, p);
        tv_rt_reply(msg->rt, msg->who->session_id, msg->cid, NULL, NULL);
    }
    pthread_mutex_unlock(&svc->mu);
    return TV_OK;
}

/* party_join_request_list {party_id} -> party_join_request {party_id, presences}: the
 * leader's. */
static int on_request_list(void *ud, const tv_rt_msg_t *msg)
{
    tv_party_svc_t *svc = ud;
    tv_party_t *p;
    lookup_t l = find_party(svc, msg, &p);
    if (l != FOUND)
        return l == MALFORMED ? TV_EINVAL : TV_OK;
    int rc = TV_OK;
    if (!tv_party_is_leader(p, msg->who->session_id)) {
        fail_why(msg, "Error listing party join requests", "party leader only");
    } else {
        cJSON *o = id_body(p, NULL, NULL), *a = members_json(p->requests, p->nreq);
        if (o && a) {
            tv_json_add_list(o, "presences", a);
            tv_rt_reply(msg->rt, msg->who->session_id, msg->cid, "party_join_request", o);
        } else {
            cJSON_Delete(o), cJSON_Delete(a);
            rc = TV_ENOMEM;
        }
    }
    pthread_mutex_unlock(&svc->mu);
    return rc;
}

/* party_data_send {party_id, op_code, data} (no cid from nakama-js) -> party_data {party_id,
 * presence, op_code, data} to the other members; a sender that is no member gets error 3. */
static int on_data(void *ud, const tv_rt_msg_t *msg)
{
    tv_party_svc_t *svc = ud;
    const char *data, *b64;
    int64_t op;
    char *b64_owned;
    if (tv_json_int64(tv_json_get(msg->body, "op_code", "opCode"), &op) != TV_OK ||
        tv_json_get_str(msg->body, "data", NULL, &data) != TV_OK)
        return TV_EINVAL;
    int rc = tv_json_bytes_b64(data, &b64, &b64_owned);
    if (rc != TV_OK)
        return rc; /* not base64: a payload Nakama cannot read either */
    tv_party_t *p;
    lookup_t l = find_party(svc, msg, &p);
    if (l != FOUND) {
        free(b64_owned);
        return l == MALFORMED ? TV_EINVAL : TV_OK;
    }
    int i = tv_party_find(p->members, p->n, msg->who->session_id);
    if (i < 0) {
        fail_why(msg, "Error sending party data", "party member not found");
    } else if (p->n > 1) {
        char num[24];
        tv_rt_buf_t b = {0};
        tv_rt_buf_lit(&b, "{\"party_data\":{\"party_id\":");
        tv_rt_buf_str(&b, p->id);
        tv_rt_buf_lit(&b, ",\"presence\":{\"user_id\":");
        tv_rt_buf_str(&b, p->members[i].user_id);
        tv_rt_buf_lit(&b, ",\"session_id\":");
        tv_rt_buf_str(&b, p->members[i].session_id);
        tv_rt_buf_lit(&b, ",\"username\":");
        tv_rt_buf_str(&b, p->members[i].username);
        tv_rt_buf_lit(&b, "}");
        if (op) {
            snprintf(num, sizeof num, "%lld", (long long)op);
            tv_rt_buf_lit(&b, ",\"op_code\":\"");
            tv_rt_buf_lit(&b, num);
            tv_rt_buf_lit(&b, "\"");
        }
        if (b64) {
            tv_rt_buf_lit(&b, ",\"data\":\"");
            tv_rt_buf_lit(&b, b64);
            tv_rt_buf_lit(&b, "\"");
        }
        tv_rt_buf_lit(&b, "}}");
        const char **ids = b.oom ? NULL : malloc(p->n * sizeof *ids);
        size_t k = 0;
        for (size_t j = 0; ids && j < p->n; j++)
            if (j != (size_t)i)
                ids[k++] = p->members[j].session_id;
        if (ids)
            tv_rt_send_many(svc->rt, ids, k, b.p, b.len);
        else
            rc = TV_ENOMEM;
        free(ids);
        tv_rt_buf_free(&b);
    }
    pthread_mutex_unlock(&svc->mu);
    free(b64_owned);
    return rc;
}

/* party_matchmaker_add {party_id, min_count, max_count, query, string_properties,
 * numeric_properties, count_multiple} -> party_matchmaker_ticket {party_id, ticket} (the
 * matcher answers; the other members get the same pushed): the leader's, for the whole party
 * as one ticket. */
static int on_mm_add(void *ud, const tv_rt_msg_t *msg)
{
    tv_party_svc_t *svc = ud;
    tv_mm_ticket_t *t;
    const char *why;
    int rc = tv_mm_ticket_from_json(msg->body, msg->who->session_id, msg->who->user_id,
                                    msg->who->username, svc->rating_property, &t, &why);
    if (rc == TV_EINVAL) {
        fail(msg, TV_RT_ERR_BAD_INPUT, why);
        return TV_OK;
    }
    if (rc != TV_OK)
        return rc;
    tv_party_t *p;
    lookup_t l = find_party(svc, msg, &p);
    if (l != FOUND) {
        tv_mm_ticket_free(t);
        return l == MALFORMED ? TV_EINVAL : TV_OK;
    }
    tv_mm_member_t *m = NULL;
    if (!tv_party_is_leader(p, msg->who->session_id)) {
        fail_why(msg, "Error adding party to matchmaker", "party leader only");
    } else if (p->n > (size_t)t->max_count) {
        fail_why(msg, "Error adding party to matchmaker", "party size exceeds max count");
    } else if (!(m = malloc(p->n * sizeof *m))) {
        rc = TV_ENOMEM;
    } else {
        /* the leader first: it owns the ticket */
        size_t k = 0;
        for (size_t pass = 0; pass < 2; pass++)
            for (size_t i = 0; i < p->n; i++)
                if ((i == p->leader) == (pass == 0)) {
                    memcpy(m[k].session_id, p->members[i].session_id, 37);
                    memcpy(m[k].user_id, p->members[i].user_id, 37);
                    memcpy(m[k++].username, p->members[i].username, 129);
                }
        tv_rt_later_t *later = NULL;
        rc = tv_mm_ticket_set_party(t, p->id, m, p->n);
        if (rc == TV_OK && !(later = tv_rt_later(msg)))
            rc = TV_ENOMEM;
        if (rc == TV_OK) {
            tv_mm_party_add(svc->mm, t, later); /* takes both, answers on failure */
            t = NULL;
        }
    }
    pthread_mutex_unlock(&svc->mu);
    free(m);
    tv_mm_ticket_free(t);
    return rc;
}

/* party_matchmaker_remove {party_id, ticket} -> {cid}: the leader's. */
static int on_mm_remove(void *ud, const tv_rt_msg_t *msg)
{
    tv_party_svc_t *svc = ud;
    const char *ticket;
    if (tv_json_get_str(msg->body, "ticket", NULL, &ticket) != TV_OK)
        return TV_EINVAL;
    if (!ticket || !*ticket || strlen(ticket) > 36) {
        fail(msg, TV_RT_ERR_BAD_INPUT, "Invalid matchmaker ticket");
        return TV_OK;
    }
    tv_party_t *p;
    lookup_t l = find_party(svc, msg, &p);
    if (l != FOUND)
        return l == MALFORMED ? TV_EINVAL : TV_OK;
    int rc = TV_OK;
    if (!tv_party_is_leader(p, msg->who->session_id)) {
        fail_why(msg, "Error removing party from matchmaker", "party leader only");
    } else {
        tv_rt_later_t *later = tv_rt_later(msg);
        if (later)
            tv_mm_party_remove(svc->mm, p->id, ticket, later);
        else
            rc = TV_ENOMEM;
    }
    pthread_mutex_unlock(&svc->mu);
    return rc;
}

/* A closing socket leaves every party it is in and withdraws its join requests. */
static void on_session_close(void *ud, const tv_rt_identity_t *who)
{
    tv_party_svc_t *svc = ud;
    pthread_mutex_lock(&svc->mu);
    sess_t *s = tv_rt_idmap_get(&svc->sessions, who->session_id);
    while (s && s->n) {
        char id[TV_PARTY_ID_MAX];
        memcpy(id, s->ids[s->n - 1], sizeof id);
        tv_party_t *p = tv_rt_idmap_get(&svc->parties, id);
        if (p)
            leave_locked(svc, p, who->session_id); /* may free s when it was the last */
        else
            sess_del(svc, who->session_id, id);
        s = tv_rt_idmap_get(&svc->sessions, who->session_id);
    }
    pthread_mutex_unlock(&svc->mu);
}

/* ---- life cycle ------------------------------------------------------------------------- */

int tv_party_svc_new(tv_rt_t *rt, tv_mm_t *mm, const tv_party_opts_t *o, tv_party_svc_t **out)
{
    *out = NULL;
    if (!o->node || !*o->node || strlen(o->node) >= sizeof ((tv_party_svc_t *)0)->node)
        return TV_EINVAL;
    tv_party_svc_t *svc = calloc(1, sizeof *svc);
    if (!svc)
        return TV_ENOMEM;
    svc->rt = rt;
    svc->mm = mm;
    memcpy(svc->node, o->node, strlen(o->node) + 1);
    if (!(svc->rating_property = tv_strdup(o->rating_property ? o->rating_property : ""))) {
        free(svc);
        return TV_ENOMEM;
    }
    pthread_mutex_init(&svc->mu, NULL);
    static const struct {
        const char *name;
        tv_rt_handler_fn fn;
    } h[] = {
        {"party_create", on_create},       {"party_join", on_join},
        {"party_leave", on_leave},         {"party_promote", on_promote},
        {"party_accept", on_accept},       {"party_remove", on_remove},
        {"party_close", on_close_party},   {"party_join_request_list", on_request_list},
        {"party_data_send", on_data},      {"party_matchmaker_add", on_mm_add},
        {"party_matchmaker_remove", on_mm_remove},
    };
    int rc = TV_OK;
    for (size_t i = 0; rc == TV_OK && i < sizeof h / sizeof h[0]; i++)
        rc = tv_rt_register(rt, h[i].name, h[i].fn, svc);
    tv_rt_listener_t l = {NULL, on_session_close, svc};
    if (rc == TV_OK)
        rc = tv_rt_add_listener(rt, &l);
    if (rc != TV_OK) { /* only a failed start comes here: no socket is ever served */
        tv_party_svc_free(svc);
        return rc;
    }
    *out = svc;
    return TV_OK;
}

void tv_party_svc_free(tv_party_svc_t *svc)
{
    if (!svc)
        return;
    size_t pos = 0;
    void *v;
    while ((v = tv_rt_idmap_next(&svc->parties, &pos)))
        tv_party_free(v);
    pos = 0;
    while ((v = tv_rt_idmap_next(&svc->sessions, &pos)))
        free(v);
    tv_rt_idmap_free(&svc->parties);
    tv_rt_idmap_free(&svc->sessions);
    pthread_mutex_destroy(&svc->mu);
    free(svc->rating_property);
    free(svc);
}

size_t tv_party_count(tv_party_svc_t *svc)
{
    if (!svc)
        return 0;
    pthread_mutex_lock(&svc->mu);
    size_t n = svc->parties.n;
    pthread_mutex_unlock(&svc->mu);
    return n;
}
