/* Status presences and follows (see status.h). One mutex guards both maps: status changes and
 * follows are rare next to match traffic, and each operation is a few map look-ups plus one
 * queued push per follower. Pushes are queued (tv_rt_send_many never waits on a socket). */
#include "status.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "rt.h"
#include "rt/idmap.h"
#include "util.h"
#include "workers.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A visible session: its identity and status text. */
typedef struct st_pres {
    tv_rt_identity_t who;
    char *status;
} st_pres_t;

/* A user someone follows or who is visible: its visible sessions and its followers. */
typedef struct st_user {
    char user_id[37];          /* the map key */
    st_pres_t **pres;
    size_t npres, cappres;
    char (*fol)[37];           /* follower session ids */
    size_t nfol, capfol;
} st_user_t;

/* A session that is visible or follows someone. */
typedef struct st_sess {
    char session_id[37];       /* the map key */
    st_pres_t *tracked;        /* NULL when not visible */
    char (*follows)[37];       /* followed user ids */
    size_t n, cap;
} st_sess_t;

struct tv_status {
    tv_rt_t *rt;
    tv_db_t *db;
    tv_workers_t *workers;
    pthread_mutex_t mu;
    tv_rt_idmap_t users;       /* user id -> st_user_t */
    tv_rt_idmap_t sessions;    /* session id -> st_sess_t */
};

/* ---- small growable arrays of ids ---------------------------------------------------------- */

static int ids_find(char (*ids)[37], size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return (int)i;
    return -1;
}

/* Appends id unless present. TV_OK or TV_ENOMEM. */
static int ids_add(char (**ids)[37], size_t *n, size_t *cap, const char *id)
{
    if (ids_find(*ids, *n, id) >= 0)
        return TV_OK;
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 4;
        char(*grown)[37] = realloc(*ids, c * sizeof *grown);
        if (!grown)
            return TV_ENOMEM;
        *ids = grown;
        *cap = c;
    }
    memcpy((*ids)[(*n)++], id, 37);
    return TV_OK;
}

static void ids_del(char (*ids)[37], size_t *n, const char *id)
{
    int i = ids_find(ids, *n, id);
    if (i >= 0)
        memcpy(ids[i], ids[--*n], 37);
}

/* ---- the maps (mu held) -------------------------------------------------------------------- */

static st_user_t *user_get(tv_status_t *st, const char *uid, int make)
{
    st_user_t *u = tv_rt_idmap_get(&st->users, uid);
    if (u || !make)
        return u;
    if (!(u = calloc(1, sizeof *u)))
        return NULL;
    memcpy(u->user_id, uid, sizeof u->user_id);
    if (tv_rt_idmap_put(&st->users, u->user_id, u) != TV_OK) {
        free(u);
        return NULL;
    }
    return u;
}

static void user_maybe_free(tv_status_t *st, st_user_t *u)
{
    if (!u || u->npres || u->nfol)
        return;
    tv_rt_idmap_del(&st->users, u->user_id);
    free(u->pres);
    free(u->fol);
    free(u);
}

static st_sess_t *sess_get(tv_status_t *st, const char *sid, int make)
{
    st_sess_t *s = tv_rt_idmap_get(&st->sessions, sid);
    if (s || !make)
        return s;
    if (!(s = calloc(1, sizeof *s)))
        return NULL;
    memcpy(s->session_id, sid, sizeof s->session_id);
    if (tv_rt_idmap_put(&st->sessions, s->session_id, s) != TV_OK) {
        free(s);
        return NULL;
    }
    return s;
}

static void sess_maybe_free(tv_status_t *st, st_sess_t *s)
{
    if (!s || s->tracked || s->n)
        return;
    tv_rt_idmap_del(&st->sessions, s->session_id);
    free(s->follows);
    free(s);
}

/* ---- events -------------------------------------------------------------------------------- */

static cJSON *pres_json(const st_pres_t *p)
{
    return tv_rt_presence_json(&p->who, 0, p->status ? p->status : "");
}

/* Tells u's followers: status_presence_event {joins: [join], leaves: [leave]} (either NULL). */
static void notify(tv_status_t *st, const st_user_t *u, const st_pres_t *join,
                   const st_pres_t *leave)
{
    if (!u->nfol)
        return;
    cJSON *body = cJSON_CreateObject();
    cJSON *joins = join ? cJSON_AddArrayToObject(body, "joins") : NULL;
    cJSON *leaves = leave ? cJSON_AddArrayToObject(body, "leaves") : NULL;
    if (joins)
        cJSON_AddItemToArray(joins, pres_json(join));
    if (leaves)
        cJSON_AddItemToArray(leaves, pres_json(leave));
    char *text = tv_rt_envelope_text(NULL, "status_presence_event", body);
    const char **ids = malloc(u->nfol * sizeof *ids);
    if (text && ids) {
        for (size_t i = 0; i < u->nfol; i++)
            ids[i] = u->fol[i];
        tv_rt_send_many(st->rt, ids, u->nfol, text, strlen(text));
    } else {
        tv_log_warn("status", "out of memory: a status event for user %s was lost", u->user_id);
    }
    free(ids);
    cJSON_free(text);
}

/* Room for one more presence in u. TV_OK or TV_ENOMEM. */
static int pres_reserve(st_user_t *u)
{
    if (u->npres < u->cappres)
        return TV_OK;
    size_t c = u->cappres ? u->cappres * 2 : 2;
    st_pres_t **grown = realloc(u->pres, c * sizeof *grown);
    if (!grown)
        return TV_ENOMEM;
    u->pres = grown;
    u->cappres = c;
    return TV_OK;
}

/* Makes who visible with status text (copied), or changes its status: followers hear the
 * join (and the leave of the old status). TV_OK or TV_ENOMEM. */
static int track(tv_status_t *st, const tv_rt_identity_t *who, const char *status)
{
    char *text = strdup(status);
    if (!text)
        return TV_ENOMEM;
    st_sess_t *s = sess_get(st, who->session_id, 1);
    st_user_t *u = s ? user_get(st, who->user_id, 1) : NULL;
    if (!u) {
        free(text);
        sess_maybe_free(st, s);
        return TV_ENOMEM;
    }
    if (s->tracked) {
        st_pres_t old = *s->tracked;
        s->tracked->status = text;
        notify(st, u, s->tracked, &old);
        free(old.status);
        return TV_OK;
    }
    st_pres_t *p = calloc(1, sizeof *p);
    if (!p || pres_reserve(u) != TV_OK) {
        free(p);
        free(text);
        user_maybe_free(st, u);
        sess_maybe_free(st, s);
        return TV_ENOMEM;
    }
    p->who = *who;
    p->status = text;
    u->pres[u->npres++] = p;
    s->tracked = p;
    notify(st, u, p, NULL);
    return TV_OK;
}

/* Hides the session: followers hear the leave. */
static void untrack(tv_status_t *st, st_sess_t *s)
{
    if (!s || !s->tracked)
        return;
    st_pres_t *p = s->tracked;
    s->tracked = NULL;
    st_user_t *u = user_get(st, p->who.user_id, 0);
    if (u) {
        for (size_t i = 0; i < u->npres; i++)
            if (u->pres[i] == p) {
                u->pres[i] = u->pres[--u->npres];
                break;
            }
        notify(st, u, NULL, p);
        user_maybe_free(st, u);
    }
    free(p->status);
    free(p);
}

/* ---- follows (mu held) --------------------------------------------------------------------- */

static void unfollow_one(tv_status_t *st, st_sess_t *s, const char *uid)
{
    st_user_t *u = user_get(st, uid, 0);
    if (u) {
        ids_del(u->fol, &u->nfol, s->session_id);
        user_maybe_free(st, u);
    }
    ids_del(s->follows, &s->n, uid);
}

/* Session s follows uid; uid's visible sessions go into presences. TV_OK or TV_ENOMEM. */
static int follow_one(tv_status_t *st, st_sess_t *s, const char *uid, cJSON *presences)
{
    st_user_t *u = user_get(st, uid, 1);
    if (!u)
        return TV_ENOMEM;
    if (ids_add(&u->fol, &u->nfol, &u->capfol, s->session_id) != TV_OK ||
        ids_add(&s->follows, &s->n, &s->cap, uid) != TV_OK) {
        ids_del(u->fol, &u->nfol, s->session_id);
        user_maybe_free(st, u);
        return TV_ENOMEM;
    }
    for (size_t i = 0; i < u->npres; i++)
        cJSON_AddItemToArray(presences, pres_json(u->pres[i]));
    return TV_OK;
}

/* How many of ids[0..n) s does not follow yet. */
static size_t count_new(const st_sess_t *s, char (*ids)[37], size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += !s || ids_find(s->follows, s->n, ids[i]) < 0;
    return k;
}

/* ---- status_follow: ids and usernames resolved on a worker --------------------------------- */

typedef struct follow_job {
    tv_status_t *st;
    tv_rt_later_t *later;
    tv_rt_identity_t who;
    char (*ids)[37];           /* asked for, then the existing users to follow */
    size_t nids, capids;
    char **names;
    size_t nnames;
} follow_job_t;

static void job_free(follow_job_t *j)
{
    if (!j)
        return;
    if (j->later)
        tv_rt_later_free(j->later);
    for (size_t i = 0; i < j->nnames; i++)
        free(j->names[i]);
    free(j->names);
    free(j->ids);
    free(j);
}

/* The id of the user matched by sql with arg, into found (not the caller itself). */
static int lookup(tv_db_conn_t *c, const char *sql, const char *arg, follow_job_t *j,
                  char (**found)[37], size_t *n, size_t *cap)
{
    tv_db_stmt_t *stmt;
    int rc = tv_db_prepare(c, sql, &stmt);
    if (rc)
        return rc;
    rc = tv_db_bind_text(stmt, 1, arg);
    if (!rc && (rc = tv_db_step(stmt)) == TV_DB_ROW) {
        const char *id = tv_db_column_text(stmt, 0);
        rc = TV_OK;
        if (id && strlen(id) == 36 && strcmp(id, j->who.user_id) != 0) /* nobody follows self */
            rc = ids_add(found, n, cap, id);
    } else if (rc == TV_DB_DONE) {
        rc = TV_OK; /* no such user: skipped, as Nakama does */
    }
    tv_db_reset(stmt);
    return rc;
}

/* The users that exist among the ids and usernames asked for. */
static int resolve(follow_job_t *j, char (**found)[37], size_t *n)
{
    tv_db_conn_t *c;
    size_t cap = 0;
    int rc = tv_db_acquire(j->st->db, &c);
    if (rc)
        return rc;
    for (size_t i = 0; !rc && i < j->nids; i++)
        rc = lookup(c, "SELECT id FROM users WHERE id = $1", j->ids[i], j, found, n, &cap);
    for (size_t i = 0; !rc && i < j->nnames; i++)
        rc = lookup(c, "SELECT id FROM users WHERE username = $1", j->names[i], j, found, n, &cap);
    tv_db_release(j->st->db, c);
    return rc;
}

/* Adds the follows under mu and builds the `status` reply; NULL body with *code set when
 * refused. */
static cJSON *follow_apply(follow_job_t *j, char (*found)[37], size_t n, int *code,
                           const char **why)
{
    tv_status_t *st = j->st;
    cJSON *body = cJSON_CreateObject(), *presences = cJSON_CreateArray();
    tv_rt_identity_t alive;
    if (!body || !presences)
        goto oom;
    pthread_mutex_lock(&st->mu);
    /* a socket gone meanwhile has had its close: following for it would leak */
    if (tv_rt_session_get(st->rt, j->who.session_id, &alive) != TV_OK) {
        pthread_mutex_unlock(&st->mu);
        cJSON_Delete(body);
        cJSON_Delete(presences);
        *code = -1;
        return NULL;
    }
    st_sess_t *s = sess_get(st, j->who.session_id, 0);
    if ((s ? s->n : 0) + count_new(s, found, n) > TV_STATUS_FOLLOW_MAX) {
        pthread_mutex_unlock(&st->mu);
        cJSON_Delete(body);
        cJSON_Delete(presences);
        *code = TV_RT_ERR_BAD_INPUT;
        *why = "Too many followed users: at most 1000 per session.";
        return NULL;
    }
    int rc = n && !(s = sess_get(st, j->who.session_id, 1)) ? TV_ENOMEM : TV_OK;
    for (size_t i = 0; !rc && i < n; i++)
        rc = follow_one(st, s, found[i], presences);
    sess_maybe_free(st, s);
    pthread_mutex_unlock(&st->mu);
    if (rc)
        goto oom;
    tv_json_add_list(body, "presences", presences);
    return body;
oom:
    cJSON_Delete(body);
    cJSON_Delete(presences);
    *code = TV_RT_ERR_RUNTIME_EXCEPTION;
    *why = "Could not follow the users (out of memory).";
    return NULL;
}

static void follow_run(void *arg)
{
    follow_job_t *j = arg;
    char(*found)[37] = NULL;
    size_t n = 0;
    int code = 0;
    const char *why = NULL;
    int rc = resolve(j, &found, &n);
    cJSON *body = NULL;
    if (rc) {
        tv_log_warn("status", "status_follow: user look-up failed: %s", tv_error_name(rc));
        code = TV_RT_ERR_RUNTIME_EXCEPTION;
        why = "Could not look up the users to follow.";
    } else {
        body = follow_apply(j, found, n, &code, &why);
    }
    free(found);
    if (body)
        tv_rt_later_reply(j->later, "status", body);
    else if (code >= 0)
        tv_rt_later_error(j->later, code, why);
    else
        tv_rt_later_free(j->later);
    j->later = NULL;
    job_free(j);
}

/* Reads an optional array of strings. TV_OK with *arr (NULL when absent), TV_EINVAL for
 * another type (the socket closes, as for any payload Nakama cannot unmarshal). */
static int str_array(const cJSON *body, const char *snake, const char *camel, const cJSON **arr)
{
    const cJSON *a = tv_json_get(body, snake, camel);
    *arr = NULL;
    if (!a)
        return TV_OK;
    if (!cJSON_IsArray(a))
        return TV_EINVAL;
    for (const cJSON *it = a->child; it; it = it->next)
        if (!cJSON_IsString(it))
            return TV_EINVAL;
    *arr = a;
    return TV_OK;
}

/* Copies the requested ids (lower-cased) and usernames into j. 0, or a BAD_INPUT message. */
static const char *job_fill(follow_job_t *j, const cJSON *ids, const cJSON *names)
{
    size_t nids = (size_t)cJSON_GetArraySize(ids), nnames = (size_t)cJSON_GetArraySize(names);
    if (nids + nnames > TV_STATUS_FOLLOW_MAX)
        return "Too many users to follow: at most 1000 per request.";
    for (const cJSON *it = ids ? ids->child : NULL; it; it = it->next) {
        char id[37];
        if (!tv_uuid_valid(it->valuestring))
            return "Invalid user identifier";
        for (int i = 0; i < 37; i++)
            id[i] = (char)tolower((unsigned char)it->valuestring[i]);
        if (ids_add(&j->ids, &j->nids, &j->capids, id) != TV_OK)
            return "";
    }
    if (nnames && !(j->names = calloc(nnames, sizeof *j->names)))
        return "";
    for (const cJSON *it = names ? names->child : NULL; it; it = it->next) {
        if (!*it->valuestring || strlen(it->valuestring) > 128)
            return "Invalid username";
        if (!(j->names[j->nnames] = strdup(it->valuestring)))
            return "";
        j->nnames++;
    }
    return NULL;
}

static int on_follow(void *ud, const tv_rt_msg_t *msg)
{
    tv_status_t *st = ud;
    const cJSON *ids, *names;
    if (str_array(msg->body, "user_ids", "userIds", &ids) != TV_OK ||
        str_array(msg->body, "usernames", NULL, &names) != TV_OK)
        return TV_EINVAL;
    follow_job_t *j = calloc(1, sizeof *j);
    if (!j)
        return TV_ENOMEM;
    j->st = st;
    j->who = *msg->who;
    const char *bad = job_fill(j, ids, names);
    if (bad) {
        job_free(j);
        if (!*bad)
            return TV_ENOMEM;
        tv_rt_reply_error(msg->rt, msg->who->session_id, msg->cid, TV_RT_ERR_BAD_INPUT, bad);
        return TV_OK;
    }
    if (!j->nids && !j->nnames) {
        job_free(j);
        cJSON *empty = cJSON_CreateObject();
        if (!empty)
            return TV_ENOMEM;
        tv_rt_reply(msg->rt, msg->who->session_id, msg->cid, "status", empty);
        return TV_OK;
    }
    if (!(j->later = tv_rt_later(msg))) {
        job_free(j);
        return TV_ENOMEM;
    }
    if (tv_workers_submit(st->workers, follow_run, j) != TV_OK) {
        tv_rt_reply_error(msg->rt, msg->who->session_id, msg->cid, TV_RT_ERR_RUNTIME_EXCEPTION,
                          "Server is busy, try again.");
        job_free(j);
    }
    return TV_OK;
}

/* ---- status_unfollow, status_update -------------------------------------------------------- */

static int on_unfollow(void *ud, const tv_rt_msg_t *msg)
{
    tv_status_t *st = ud;
    const cJSON *ids;
    if (str_array(msg->body, "user_ids", "userIds", &ids) != TV_OK)
        return TV_EINVAL;
    for (const cJSON *it = ids ? ids->child : NULL; it; it = it->next) {
        if (!tv_uuid_valid(it->valuestring)) {
            tv_rt_reply_error(msg->rt, msg->who->session_id, msg->cid, TV_RT_ERR_BAD_INPUT,
                              "Invalid user identifier");
            return TV_OK;
        }
    }
    pthread_mutex_lock(&st->mu);
    st_sess_t *s = sess_get(st, msg->who->session_id, 0);
    for (const cJSON *it = ids ? ids->child : NULL; s && it; it = it->next) {
        char id[37];
        for (int i = 0; i < 37; i++)
            id[i] = (char)tolower((unsigned char)it->valuestring[i]);
        unfollow_one(st, s, id);
    }
    sess_maybe_free(st, s);
    pthread_mutex_unlock(&st->mu);
    tv_rt_reply(msg->rt, msg->who->session_id, msg->cid, NULL, NULL);
    return TV_OK;
}

/* status_update {status}: a status shows the session (or changes what it shows); no status
 * hides it, as Nakama's "appear offline". */
static int on_update(void *ud, const tv_rt_msg_t *msg)
{
    tv_status_t *st = ud;
    const char *status;
    if (tv_json_get_str(msg->body, "status", NULL, &status) != TV_OK)
        return TV_EINVAL;
    if (status && strlen(status) > TV_STATUS_TEXT_MAX) {
        tv_rt_reply_error(msg->rt, msg->who->session_id, msg->cid, TV_RT_ERR_BAD_INPUT,
                          "Status must be at most 2048 bytes.");
        return TV_OK;
    }
    int rc = TV_OK;
    pthread_mutex_lock(&st->mu);
    if (status) {
        rc = track(st, msg->who, status);
    } else {
        st_sess_t *s = sess_get(st, msg->who->session_id, 0);
        untrack(st, s);
        sess_maybe_free(st, s);
    }
    pthread_mutex_unlock(&st->mu);
    if (rc)
        return rc;
    tv_rt_reply(msg->rt, msg->who->session_id, msg->cid, NULL, NULL);
    return TV_OK;
}

/* ---- sockets ------------------------------------------------------------------------------- */

static void on_open(void *ud, const tv_rt_identity_t *who)
{
    tv_status_t *st = ud;
    if (!who->status)
        return;
    pthread_mutex_lock(&st->mu);
    if (track(st, who, "") != TV_OK)
        tv_log_warn("status", "out of memory: session %s is not shown online", who->session_id);
    pthread_mutex_unlock(&st->mu);
}

static void on_close(void *ud, const tv_rt_identity_t *who)
{
    tv_status_t *st = ud;
    pthread_mutex_lock(&st->mu);
    st_sess_t *s = sess_get(st, who->session_id, 0);
    if (s) {
        untrack(st, s);
        while (s->n)
            unfollow_one(st, s, s->follows[s->n - 1]);
        sess_maybe_free(st, s);
    }
    pthread_mutex_unlock(&st->mu);
}

/* ---- the room ------------------------------------------------------------------------------ */

int tv_status_new(tv_rt_t *rt, tv_db_t *db, tv_workers_t *workers, tv_status_t **out)
{
    tv_status_t *st = calloc(1, sizeof *st);
    *out = NULL;
    if (!st)
        return TV_ENOMEM;
    st->rt = rt;
    st->db = db;
    st->workers = workers;
    pthread_mutex_init(&st->mu, NULL);
    *out = st;
    tv_rt_listener_t l = {on_open, on_close, st};
    int rc;
    if ((rc = tv_rt_register(rt, "status_follow", on_follow, st)) != TV_OK ||
        (rc = tv_rt_register(rt, "status_unfollow", on_unfollow, st)) != TV_OK ||
        (rc = tv_rt_register(rt, "status_update", on_update, st)) != TV_OK ||
        (rc = tv_rt_add_listener(rt, &l)) != TV_OK)
        tv_log_error("status", "cannot register the status messages: %s", tv_error_name(rc));
    return rc;
}

void tv_status_free(tv_status_t *st)
{
    if (!st)
        return;
    size_t pos = 0;
    void *v;
    while ((v = tv_rt_idmap_next(&st->sessions, &pos))) {
        st_sess_t *s = v;
        if (s->tracked) {
            free(s->tracked->status);
            free(s->tracked);
        }
        free(s->follows);
        free(s);
    }
    pos = 0;
    while ((v = tv_rt_idmap_next(&st->users, &pos))) {
        st_user_t *u = v;
        free(u->pres);
        free(u->fol);
        free(u);
    }
    tv_rt_idmap_free(&st->sessions);
    tv_rt_idmap_free(&st->users);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

size_t tv_status_followers(tv_status_t *st, const char *user_id)
{
    pthread_mutex_lock(&st->mu);
    st_user_t *u = user_get(st, user_id, 0);
    size_t n = u ? u->nfol : 0;
    pthread_mutex_unlock(&st->mu);
    return n;
}
