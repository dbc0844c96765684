/* Groups over REST (see group.h). Each change runs in one transaction that begins by reading
 * the group's row FOR UPDATE on PostgreSQL (READ COMMITTED would otherwise let two joins both
 * see room, or two superadmins both leave); SQLite's BEGIN IMMEDIATE already lets one writer
 * in. A refusal (permission, a full group, the last superadmin) rolls the whole call back:
 * an add or kick of many users is all or nothing. Each change to the group's roster (its
 * members and bans; join requests come and go unannounced) stores Nakama's group event message
 * in the group channel's history in the same transaction; after the commit it is told to the
 * channel's members on this node, then notifications go out and leavers leave the channel (so
 * a kicked or banned user hears of it, unless the channel had messages waiting). Statuses and
 * messages are Nakama's (api_group.go, core_group.go). */
#include "group.h"
#include "account.h"
#include "app.h"
#include "chat.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "notification.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GROUP_COLS "g.id, g.creator_id, g.name, g.description, g.lang_tag, g.metadata, " \
                   "g.avatar_url, g.is_open, g.edge_count, g.max_count, g.create_time, "  \
                   "g.update_time"
#define GROUP_NCOLS 12
#define NIL_UUID "00000000-0000-0000-0000-000000000000"

static const char NOT_FOUND[] = "Group not found.";
static const char FULL[] = "Group is full.";
static const char NO_UPDATE[] = "Group not found or you're not allowed to update.";
static const char NO_DELETE[] = "Group not found or you're not allowed to delete.";
/* add, kick, promote, demote, ban: an unknown group or a caller without the rights (404) */
#define NO_RIGHTS "Group not found or permission denied"

/* ---- shared pieces ------------------------------------------------------------------------- */

/* A refusal decided inside a transaction: its TV_E* code and message. */
typedef struct {
    int err;
    const char *why;
} refusal_t;

static int refuse(refusal_t *r, int err, const char *why)
{
    r->err = err;
    r->why = why;
    return err;
}

/* Answers a transaction's outcome: a refusal, a taken name, a database error or nothing. */
static int answer_failure(tv_http_req_t *req, int rc, const refusal_t *r)
{
    if (!rc)
        return 0;
    if (r->why)
        tv_http_error(req, r->err, r->why);
    else if (rc == TV_ECONFLICT)
        tv_http_error(req, TV_ECONFLICT, "Group name is in use.");
    else
        tv_http_db_error(req, rc);
    return -1;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static cJSON *group_json(tv_db_stmt_t *st, int k)
{
    cJSON *g = cJSON_CreateObject();
    tv_json_add_str(g, "id", tv_db_column_text(st, k));
    tv_json_add_str(g, "creator_id", tv_db_column_text(st, k + 1));
    tv_json_add_str(g, "name", tv_db_column_text(st, k + 2));
    tv_json_add_str(g, "description", tv_db_column_text(st, k + 3));
    tv_json_add_str(g, "lang_tag", tv_db_column_text(st, k + 4));
    tv_json_add_str(g, "metadata", tv_db_column_text(st, k + 5));
    tv_json_add_str(g, "avatar_url", tv_db_column_text(st, k + 6));
    /* a BoolValue: there even when false */
    cJSON_AddBoolToObject(g, "open", tv_db_column_int64(st, k + 7) != 0);
    tv_json_add_int(g, "edge_count", tv_db_column_int64(st, k + 8));
    tv_json_add_int(g, "max_count", tv_db_column_int64(st, k + 9));
    tv_json_add_time(g, "create_time", tv_db_column_int64(st, k + 10));
    tv_json_add_time(g, "update_time", tv_db_column_int64(st, k + 11));
    return g;
}

/* The {id} of the route as a lower-case UUID; answers 400 itself and returns -1 when bad. */
static int path_id(tv_http_req_t *req, char out[37], const char *what)
{
    const char *id = tv_http_param(req, 0);
    if (!id || strlen(id) != 36 || !tv_uuid_valid(id)) {
        tv_http_error(req, TV_EINVAL, what);
        return -1;
    }
    memcpy(out, id, 37);
    tv_uuid_lower(out);
    return 0;
}

typedef struct {
    char name[TV_GROUP_NAME_MAX + 1];
    int open;
    int64_t edge_count, max_count;
} group_row_t;

/* Reads the group's row, locking it on PostgreSQL until the transaction ends. TV_OK,
 * TV_ENOTFOUND or a database error. */
static int lock_group(tv_db_conn_t *c, tv_db_t *db, const char *gid, group_row_t *g)
{
    int pg = strcmp(tv_db_engine(db), "postgres") == 0;
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(c, pg ? "SELECT name, is_open, edge_count, max_count FROM user_group "
                                   "WHERE id = $1 FOR UPDATE"
                                 : "SELECT name, is_open, edge_count, max_count FROM user_group "
                                   "WHERE id = $1", &st);
    if (rc)
        return rc;
    tv_db_bind_text(st, 1, gid);
    rc = tv_db_step(st);
    if (rc == TV_DB_ROW) {
        snprintf(g->name, sizeof g->name, "%s", tv_db_column_text(st, 0));
        g->open = tv_db_column_int64(st, 1) != 0;
        g->edge_count = tv_db_column_int64(st, 2);
        g->max_count = tv_db_column_int64(st, 3);
        rc = TV_OK;
    } else if (rc == TV_DB_DONE) {
        rc = TV_ENOTFOUND;
    }
    tv_db_reset(st);
    return rc;
}

/* The state of uid in gid into *state (TV_GROUP_NONE when absent). */
static int member_state(tv_db_conn_t *c, const char *gid, const char *uid, int *state)
{
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(c, "SELECT state FROM group_member WHERE group_id = $1 AND "
                              "user_id = $2", &st);
    if (rc)
        return rc;
    tv_db_bind_text(st, 1, gid);
    tv_db_bind_text(st, 2, uid);
    rc = tv_db_step(st);
    *state = rc == TV_DB_ROW ? (int)tv_db_column_int64(st, 0) : TV_GROUP_NONE;
    tv_db_reset(st);
    return rc == TV_DB_ROW || rc == TV_DB_DONE ? TV_OK : rc;
}

/* A count of one query with text arguments into *n. */
static int count_of(tv_db_conn_t *c, const char *sql, const char *a, const char *b, int64_t *n)
{
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(c, sql, &st);
    if (rc)
        return rc;
    tv_db_bind_text(st, 1, a);
    if (b)
        tv_db_bind_text(st, 2, b);
    rc = tv_db_step(st);
    *n = rc == TV_DB_ROW ? tv_db_column_int64(st, 0) : 0;
    tv_db_reset(st);
    return rc == TV_DB_ROW || rc == TV_DB_DONE ? TV_OK : rc;
}

/* Moves uid in gid from state from to state to (TV_GROUP_NONE: no row), keeping edge_count
 * within max_count: a member more in a full group is refused (r). */
static int member_set(tv_db_conn_t *c, const char *gid, const char *uid, int from, int to,
                      refusal_t *r)
{
    if (from == to)
        return TV_OK;
    int delta = tv_group_counts(to) - tv_group_counts(from), rc;
    if (delta) {
        int64_t changed = 0;
        const char *args[] = {gid};
        rc = tv_db_execp(c, delta > 0 ? "UPDATE user_group SET edge_count = edge_count + 1 "
                                        "WHERE id = $1 AND edge_count < max_count"
                                      : "UPDATE user_group SET edge_count = edge_count - 1 "
                                        "WHERE id = $1",
                         1, args, &changed);
        if (rc != TV_DB_DONE)
            return rc;
        if (!changed)
            return refuse(r, TV_EINVAL, FULL);
    }
    if (to == TV_GROUP_NONE) {
        const char *args[] = {gid, uid};
        rc = tv_db_execp(c, "DELETE FROM group_member WHERE group_id = $1 AND user_id = $2", 2,
                         args, NULL);
    } else {
        char state[24], pos[24], t[24];
        tv_i64_str(state, to);
        tv_i64_str(pos, now_us());
        tv_i64_str(t, tv_now_s());
        const char *args[] = {gid, uid, state, pos, t};
        rc = tv_db_execp(c, "INSERT INTO group_member (group_id, user_id, state, position, "
                            "update_time) VALUES ($1, $2, CAST($3 AS SMALLINT), CAST($4 AS "
                            "BIGINT), CAST($5 AS BIGINT)) ON CONFLICT (group_id, user_id) DO "
                            "UPDATE SET state = excluded.state, position = excluded.position, "
                            "update_time = excluded.update_time", 5, args, NULL);
    }
    return rc == TV_DB_DONE ? TV_OK : rc;
}

/* Reads a decimal query value in [lo, hi]; absent keeps *out. -1 when malformed. */
static int int_arg(tv_http_req_t *req, const char *name, long lo, long hi, int64_t *out)
{
    const char *v = tv_http_query(req, name, NULL);
    if (!v)
        return 0;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi)
        return -1;
    *out = n;
    return 0;
}

/* Tells the chat room: uid (NULL: everyone) is out of the group's channel on this node. */
static void chat_drop(tv_app_t *app, const char *gid, const char *uid)
{
    if (app->chat)
        tv_chat_group_drop(app->chat, gid, uid);
}

/* Events tell the group's roster: its members and its bans. */
static int on_roster(int state)
{
    return tv_group_counts(state) || state == TV_GROUP_BANNED;
}

/* Stores the event code about uid into *ev, inside the change's transaction. */
static int event_write(tv_db_conn_t *c, const char *gid, const char *uid, int code,
                       tv_chat_group_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->code = code;
    memcpy(ev->group_id, gid, sizeof ev->group_id);
    memcpy(ev->user_id, uid, sizeof ev->user_id);
    return tv_chat_group_event_write(c, ev);
}

/* Tells the group channel's members on this node of a committed event. */
static void event_tell(tv_app_t *app, const tv_chat_group_event_t *ev)
{
    if (app->chat)
        tv_chat_group_event(app->chat, ev);
}

static void notify(tv_app_t *app, const char *to, int code, const char *subject,
                   const char *key, const char *value, const char *gid, const char *sender)
{
    char content[400];
    if (!app->notify)
        return;
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "group_id", gid);
    cJSON_AddStringToObject(c, key, value);
    if (!cJSON_PrintPreallocated(c, content, sizeof content, 0))
        snprintf(content, sizeof content, "{}");
    cJSON_Delete(c);
    tv_notify_msg_t m = {to, subject, content, code, sender, 1, 1};
    const char *why = NULL;
    int rc = tv_notify_send(app->notify, &m, NULL, &why);
    if (rc)
        tv_log_warn("group", "notification %d to %s not sent: %s", code, to,
                    why ? why : tv_error_name(rc));
}

/* ---- create and update --------------------------------------------------------------------- */

static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

typedef struct {
    const char *name, *description, *lang_tag, *avatar_url; /* NULL: absent */
    int open, open_set;
    int64_t max_count;
} fields_t;

/* A text field: absent, or a string of at most max bytes of UTF-8. */
static const char *text_field(const cJSON *body, const char *snake, const char *camel,
                              size_t max, const char **out, const char *bad)
{
    if (tv_json_get_str(body, snake, camel, out) != TV_OK ||
        (*out && (strlen(*out) > max || !tv_utf8_valid(*out))))
        return bad;
    return NULL;
}

/* Reads a create (create = 1) or update body; the 400 message, or NULL. */
static const char *fields_read(const cJSON *body, int create, fields_t *f)
{
    const char *bad;
    memset(f, 0, sizeof *f);
    if ((bad = text_field(body, "name", NULL, TV_GROUP_NAME_MAX, &f->name,
                          "Group name must be 1-128 bytes of UTF-8.")))
        return bad;
    if ((create && !f->name) || (f->name && (!*f->name || has_control(f->name))))
        return "Group name must be 1-128 bytes of UTF-8, without control characters.";
    if ((bad = text_field(body, "description", NULL, TV_GROUP_DESCRIPTION_MAX, &f->description,
                          "Group description must be at most 1024 bytes of UTF-8.")) ||
        (bad = text_field(body, "lang_tag", "langTag", TV_GROUP_LANG_MAX, &f->lang_tag,
                          "Group lang_tag must be at most 18 bytes.")) ||
        (bad = text_field(body, "avatar_url", "avatarUrl", TV_GROUP_AVATAR_MAX, &f->avatar_url,
                          "Group avatar_url must be at most 512 bytes of UTF-8.")))
        return bad;
    if (tv_json_get_bool(body, "open", NULL, &f->open, &f->open_set) != TV_OK)
        return "Group open must be true or false.";
    if (!create)
        return NULL;
    const cJSON *mc = tv_json_get(body, "max_count", "maxCount");
    f->max_count = TV_GROUP_MAX_COUNT_DEFAULT;
    if (mc) {
        double v = cJSON_IsNumber(mc) ? mc->valuedouble
                   : cJSON_IsString(mc) && *mc->valuestring ? strtod(mc->valuestring, NULL)
                                                            : -1;
        if (v != (double)(int64_t)v || v < 0 || v > TV_GROUP_MAX_COUNT_CAP)
            return "Group max_count must be an integer between 1 and 10000.";
        if (v > 0)
            f->max_count = (int64_t)v;
    }
    return NULL;
}

typedef struct {
    const fields_t *f;
    const char *me;
    char id[37];
    cJSON *group; /* out */
} create_t;

static int create_tx(tv_db_conn_t *c, void *ctx)
{
    create_t *p = ctx;
    char t[24], mc[24], open[2] = {p->f->open ? '1' : '0', 0};
    tv_i64_str(t, tv_now_s());
    tv_i64_str(mc, p->f->max_count);
    cJSON_Delete(p->group);
    p->group = NULL;
    const char *args[] = {p->id, p->me, p->f->name,
                          p->f->description ? p->f->description : "",
                          p->f->lang_tag && *p->f->lang_tag ? p->f->lang_tag : "en",
                          p->f->avatar_url ? p->f->avatar_url : "", open, mc, t};
    int rc = tv_db_execp(c, "INSERT INTO user_group (id, creator_id, name, description, lang_tag, "
                            "metadata, avatar_url, is_open, edge_count, max_count, create_time, "
                            "update_time) VALUES ($1, $2, $3, $4, $5, '{}', $6, CAST($7 AS "
                            "SMALLINT), 0, CAST($8 AS INTEGER), CAST($9 AS BIGINT), CAST($9 AS "
                            "BIGINT))", 9, args, NULL);
    if (rc != TV_DB_DONE)
        return rc;
    refusal_t r = {0};
    if ((rc = member_set(c, p->id, p->me, TV_GROUP_NONE, TV_GROUP_SUPERADMIN, &r)))
        return rc;
    tv_db_stmt_t *st;
    if ((rc = tv_db_prepare(c, "SELECT " GROUP_COLS " FROM user_group g WHERE g.id = $1", &st)))
        return rc;
    tv_db_bind_text(st, 1, p->id);
    rc = tv_db_step(st);
    if (rc == TV_DB_ROW)
        p->group = group_json(st, 0);
    tv_db_reset(st);
    return rc == TV_DB_ROW ? TV_OK : rc == TV_DB_DONE ? TV_EINTERNAL : rc;
}

void tv_group_create(tv_http_req_t *req, void *a)
{
    tv_app_t *app = a;
    cJSON *body = tv_http_body_json(req);
    fields_t f;
    const char *bad;
    if (!body)
        return;
    if ((bad = fields_read(body, 1, &f))) {
        tv_http_error(req, TV_EINVAL, bad);
        return;
    }
    create_t p = {&f, tv_http_claims(req)->uid, "", NULL};
    tv_uuid_v4(p.id);
    refusal_t r = {0};
    int rc = tv_db_tx(app->db, create_tx, &p);
    if (answer_failure(req, rc, &r)) {
        cJSON_Delete(p.group);
        return;
    }
    tv_http_reply_json(req, p.group);
}

typedef struct {
    tv_db_t *db;
    const fields_t *f;
    const char *gid, *me;
    refusal_t r;
} update_t;

static int update_tx(tv_db_conn_t *c, void *ctx)
{
    update_t *p = ctx;
    group_row_t g;
    int mine, rc;
    p->r.why = NULL;
    if ((rc = lock_group(c, p->db, p->gid, &g)) == TV_ENOTFOUND)
        return refuse(&p->r, TV_ENOTFOUND, NO_UPDATE);
    if (rc || (rc = member_state(c, p->gid, p->me, &mine)))
        return rc;
    if (mine != TV_GROUP_SUPERADMIN && mine != TV_GROUP_ADMIN)
        return refuse(&p->r, TV_ENOTFOUND, NO_UPDATE);
    char t[24], open[2] = {p->f->open ? '1' : '0', 0};
    tv_i64_str(t, tv_now_s());
    const char *args[] = {p->gid, p->f->name, p->f->description,
                          p->f->lang_tag && *p->f->lang_tag ? p->f->lang_tag : NULL,
                          p->f->avatar_url, p->f->open_set ? open : NULL, t};
    rc = tv_db_execp(c, "UPDATE user_group SET name = COALESCE($2, name), description = "
                        "COALESCE($3, description), lang_tag = COALESCE($4, lang_tag), "
                        "avatar_url = COALESCE($5, avatar_url), is_open = COALESCE(CAST($6 AS "
                        "SMALLINT), is_open), update_time = CAST($7 AS BIGINT) WHERE id = $1",
                     7, args, NULL);
    return rc == TV_DB_DONE ? TV_OK : rc;
}

void tv_group_update(tv_http_req_t *req, void *a)
{
    tv_app_t *app = a;
    char gid[37];
    fields_t f;
    const char *bad;
    if (path_id(req, gid, "Invalid group ID."))
        return;
    cJSON *body = tv_http_body_json(req);
    if (!body)
        return;
    if ((bad = fields_read(body, 0, &f))) {
        tv_http_error(req, TV_EINVAL, bad);
        return;
    }
    if (!f.name && !f.description && !f.lang_tag && !f.avatar_url && !f.open_set) {
        tv_http_error(req, TV_EINVAL, "Specify at least one field to update.");
        return;
    }
    update_t p = {app->db, &f, gid, tv_http_claims(req)->uid, {0}};
    int rc = tv_db_tx(app->db, update_tx, &p);
    if (rc == TV_ECONFLICT && !p.r.why) /* a taken name: 409 at create, 400 here (Nakama) */
        tv_http_error(req, TV_EINVAL, "Group name is in use.");
    else if (!answer_failure(req, rc, &p.r))
        tv_http_reply_json(req, NULL);
}

/* ---- delete, join, leave ------------------------------------------------------------------- */

typedef struct {
    tv_db_t *db;
    const char *gid, *me;
    refusal_t r;
    group_row_t g;
    int was;          /* the caller's state before */
    int now;          /* and after */
    int has_ev;       /* ev holds the join's or leave's event */
    tv_chat_group_event_t ev;
    /* join requests: the admins to tell */
    char admins[TV_GROUP_TARGETS_MAX][37];
    size_t nadmins;
} self_t;

/* The caller's own change of a group named by the path: its state, or NULL once answered. */
static self_t *self_new(tv_http_req_t *req, tv_app_t *app, char gid[37])
{
    if (path_id(req, gid, "Invalid group ID."))
        return NULL;
    self_t *p = calloc(1, sizeof *p);
    if (!p) {
        tv_http_db_error(req, TV_ENOMEM);
        return NULL;
    }
    *p = (self_t){.db = app->db, .gid = gid, .me = tv_http_claims(req)->uid};
    return p;
}

static int delete_tx(tv_db_conn_t *c, void *ctx)
{
    self_t *p = ctx;
    int rc;
    p->r.why = NULL;
    if ((rc = lock_group(c, p->db, p->gid, &p->g)) == TV_ENOTFOUND)
        return refuse(&p->r, TV_EINVAL, NO_DELETE);
    if (rc || (rc = member_state(c, p->gid, p->me, &p->was)))
        return rc;
    if (p->was != TV_GROUP_SUPERADMIN)
        return refuse(&p->r, TV_EINVAL, NO_DELETE);
    char channel[48];
    snprintf(channel, sizeof channel, "3.%s..", p->gid);
    const char *args[] = {p->gid}, *chan[] = {channel};
    if ((rc = tv_db_execp(c, "DELETE FROM group_member WHERE group_id = $1", 1, args, NULL)) !=
            TV_DB_DONE ||
        (rc = tv_db_execp(c, "DELETE FROM user_group WHERE id = $1", 1, args, NULL)) !=
            TV_DB_DONE ||
        (rc = tv_db_execp(c, "DELETE FROM channel_message WHERE channel_id = $1", 1, chan,
                          NULL)) != TV_DB_DONE)
        return rc;
    return TV_OK;
}

void tv_group_delete(tv_http_req_t *req, void *a)
{
    tv_app_t *app = a;
    char gid[37];
    self_t *p = self_new(req, app, gid);
    if (!p)
        return;
    int rc = tv_db_tx(app->db, delete_tx, p);
    if (!answer_failure(req, rc, &p->r)) {
        chat_drop(app, gid, NULL);
        tv_http_reply_json(req, NULL);
    }
    free(p);
}

/* The group's superadmins and admins (at most TV_GROUP_TARGETS_MAX), for a join request. */
static int list_admins(tv_db_conn_t *c, self_t *p)
{
    tv_db_stmt_t *st;
    int rc = tv_db_prepare(c, "SELECT user_id FROM group_member WHERE group_id = $1 AND state "
                              "< 2 ORDER BY state, position LIMIT 100", &st);
    if (rc)
        return rc;
    tv_db_bind_text(st, 1, p->gid);
    p->nadmins = 0;
    while ((rc = tv_db_step(st)) == TV_DB_ROW && p->nadmins < TV_GROUP_TARGETS_MAX)
        snprintf(p->admins[p->nadmins++], 37, "%s", tv_db_column_text(st, 0));
    tv_db_reset(st);
    return rc == TV_DB_ROW || rc == TV_DB_DONE ? TV_OK : rc;
}

static int join_tx(tv_db_conn_t *c, void *ctx)
{
    self_t *p = ctx;
    int rc;
    p->r.why = NULL;
    p->nadmins = 0;
    p->has_ev = 0;
    if ((rc = lock_group(c, p->db, p->gid, &p->g)) == TV_ENOTFOUND)
        return refuse(&p->r, TV_ENOTFOUND, NOT_FOUND);
    if (rc || (rc = member_state(c, p->gid, p->me, &p->was)))
        return rc;
    p->now = p->was;
    if (p->was == TV_GROUP_BANNED)
        return refuse(&p->r, TV_EPERM, "User is banned from this group.");
    if (p->was != TV_GROUP_NONE)
        return TV_OK; /* a member already, or a request already waiting */
    p->now = p->g.open ? TV_GROUP_MEMBER : TV_GROUP_JOIN_REQUEST;
    if ((rc = member_set(c, p->gid, p->me, p->was, p->now, &p->r)))
        return rc;
    if (p->now == TV_GROUP_JOIN_REQUEST)
        return list_admins(c, p);
    p->has_ev = 1;
    return event_write(c, p->gid, p->me, TV_CHAT_GROUP_JOIN, &p->ev);
}

void tv_group_join(tv_http_req_t *req, void *a)
{
    tv_app_t *app = a;
    char gid[37];
    self_t *p = self_new(req, app, gid);
    if (!p)
        return;
    const tv_token_claims_t *me = tv_http_claims(req);
    int rc = tv_db_tx(app->db, join_tx, p);
    if (!answer_failure(req, rc, &p->r)) {
        char subject[200];
        if (p->has_ev)
            event_tell(app, &p->ev);
        snprintf(subject, sizeof subject, "User %s wants to join your group", me->usn);
        for (size_t i = 0; i < p->nadmins; i++)
            notify(app, p->admins[i], -5, subject, "username", me->usn, gid, me->uid);
        tv_http_reply_json(req, NULL);
    }
    free(p);
}

static int leave_tx(tv_db_conn_t *c, void *ctx)
{
    self_t *p = ctx;
    int rc;
    p->r.why = NULL;
    p->has_ev = 0;
    if ((rc = lock_group(c, p->db, p->gid, &p->g)) == TV_ENOTFOUND)
        return refuse(&p->r, TV_ENOTFOUND, NOT_FOUND);
    if (rc || (rc = member_state(c, p->gid, p->me, &p->was)))
        return rc;
    p->now = p->was;
    if (p->was == TV_GROUP_NONE || p->was == TV_GROUP_BANNED)
        return TV_OK; /* nothing to leave; a ban outlives a leave */
    if (p->was == TV_GROUP_SUPERADMIN) {
        int64_t n;
        if ((rc = count_of(c, "SELECT COUNT(*) FROM group_member WHERE group_id = $1 AND state "
                              "= 0", p->gid, NULL, &n)))
            return rc;
        if (n <= 1)
            return refuse(&p->r, TV_EINVAL,
                          "Cannot leave group when you are the last superadmin.");
    }
    p->now = TV_GROUP_NONE;
    if ((rc = member_set(c, p->gid, p->me, p->was, p->now, &p->r)))
        return rc;
    p->has_ev = on_roster(p->was); /* a withdrawn request goes unannounced */
    return p->has_ev ? event_write(c, p->gid, p->me, TV_CHAT_GROUP_LEAVE, &p->ev) : TV_OK;
}

void tv_group_leave(tv_http_req_t *req, void *a)
{
    tv_app_t *app = a;
    char gid[37];
    self_t *p = self_new(req, app, gid);
    if (!p)
        return;
    int rc = tv_db_tx(app->db, leave_tx, p);
    if (!answer_failure(req, rc, &p->r)) {
        if (p->has_ev)
            event_tell(app, &p->ev);
        if (tv_group_counts(p->was))
            chat_drop(app, gid, p->me);
        tv_http_reply_json(req, NULL);
    }
    free(p);
}

/* ---- add, kick, promote, demote, ban ------------------------------------------------------- */

typedef struct {
    tv_db_t *db;
    tv_group_op_t op;
    const char *gid, *me;
    char ids[TV_GROUP_TARGETS_MAX][37];
    size_t n, asked;
    const char *bad;
    refusal_t r;
    group_row_t g;
    unsigned char added[TV_GROUP_TARGETS_MAX];   /* became members: notified (add) */
    unsigned char dropped[TV_GROUP_TARGETS_MAX]; /* stopped being members: out of the chat */
    tv_chat_group_event_t ev[TV_GROUP_TARGETS_MAX]; /* the roster's changes, in order */
    size_t nev;
} ops_t;

static int by_id(const char *v, void *ud)
{
    ops_t *p = ud;
    char id[37];
    if (++p->asked > TV_GROUP_TARGETS_MAX) {
        p->bad = "Too many user IDs: at most 100.";
        return 1;
    }
    if (strlen(v) != 36 || !tv_uuid_valid(v)) {
        p->bad = "User ID must be a valid ID.";
        return 1;
    }
    memcpy(id, v, sizeof id);
    tv_uuid_lower(id);
    if (strcmp(id, p->me) == 0 && p->op != TV_GROUP_OP_ADD) {
        p->bad = "Cannot kick, ban, promote or demote yourself.";
        return 1;
    }
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->ids[i], id) == 0)
            return 0;
    memcpy(p->ids[p->n++], id, sizeof id);
    return 0;
}

/* Why an admin may not act on a user: Nakama's message, and the reason after it. */
static const char *op_refusal(tv_group_op_t op)
{
    switch (op) {
    case TV_GROUP_OP_KICK:
        return NO_RIGHTS ": admins cannot kick other admins or superadmins.";
    case TV_GROUP_OP_PROMOTE:
        return NO_RIGHTS ": only a superadmin may promote an admin to superadmin.";
    case TV_GROUP_OP_DEMOTE:
        return NO_RIGHTS ": admins cannot demote other admins or superadmins.";
    case TV_GROUP_OP_BAN:
        return NO_RIGHTS ": admins cannot ban other admins or superadmins.";
    case TV_GROUP_OP_ADD:
        break;
    }
    return NO_RIGHTS ".";
}

/* The event code of an operation. */
static int op_event(tv_group_op_t op)
{
    switch (op) {
    case TV_GROUP_OP_ADD:
        return TV_CHAT_GROUP_ADD;
    case TV_GROUP_OP_KICK:
        return TV_CHAT_GROUP_KICK;
    case TV_GROUP_OP_PROMOTE:
        return TV_CHAT_GROUP_PROMOTE;
    case TV_GROUP_OP_DEMOTE:
        return TV_CHAT_GROUP_DEMOTE;
    case TV_GROUP_OP_BAN:
        break;
    }
    return TV_CHAT_GROUP_BAN;
}

static int ops_tx(tv_db_conn_t *c, void *ctx)
{
    ops_t *p = ctx;
    int mine, rc;
    p->r.why = NULL;
    memset(p->added, 0, sizeof p->added);
    memset(p->dropped, 0, sizeof p->dropped);
    p->nev = 0;
    if ((rc = lock_group(c, p->db, p->gid, &p->g)) == TV_ENOTFOUND)
        return refuse(&p->r, TV_ENOTFOUND, NO_RIGHTS ".");
    if (rc || (rc = member_state(c, p->gid, p->me, &mine)))
        return rc;
    if (mine != TV_GROUP_SUPERADMIN && mine != TV_GROUP_ADMIN)
        return refuse(&p->r, TV_ENOTFOUND, NO_RIGHTS ".");
    for (size_t i = 0; i < p->n; i++) {
        int was, to;
        if ((rc = member_state(c, p->gid, p->ids[i], &was)))
            return rc;
        if (tv_group_rule(p->op, mine, was, &to) != TV_OK)
            return refuse(&p->r, TV_ENOTFOUND, op_refusal(p->op));
        if (to == was)
            continue;
        if (was == TV_GROUP_NONE) { /* an add or a ban of a user not in the group yet */
            int64_t n;
            if ((rc = count_of(c, "SELECT COUNT(*) FROM users WHERE id = $1", p->ids[i], NULL,
                               &n)))
                return rc;
            if (!n && p->op == TV_GROUP_OP_ADD) /* the whole add rolls back (Nakama) */
                return refuse(&p->r, TV_EINVAL, "One or more users not found.");
            if (!n)
                continue; /* a ban skips unknown users */
        }
        if ((rc = member_set(c, p->gid, p->ids[i], was, to, &p->r)))
            return rc;
        p->added[i] = p->op == TV_GROUP_OP_ADD && !tv_group_counts(was);
        p->dropped[i] = tv_group_counts(was) && !tv_group_counts(to);
        if ((on_roster(was) || on_roster(to)) &&
            (rc = event_write(c, p->gid, p->ids[i], op_event(p->op), &p->ev[p->nev++])))
            return rc;
    }
    return TV_OK;
}

static void ops(tv_http_req_t *req, tv_app_t *app, tv_group_op_t op)
{
    char gid[37];
    if (path_id(req, gid, "Invalid group ID."))
        return;
    ops_t *p = calloc(1, sizeof *p);
    if (!p) {
        tv_http_db_error(req, TV_ENOMEM);
        return;
    }
    const tv_token_claims_t *me = tv_http_claims(req);
    p->db = app->db;
    p->op = op;
    p->gid = gid;
    p->me = me->uid;
    tv_http_query_each(req, "user_ids", "userIds", by_id, p);
    if (!p->bad && !p->n) { /* nothing to do (Nakama) */
        tv_http_reply_json(req, NULL);
        free(p);
        return;
    }
    if (p->bad) {
        tv_http_error(req, TV_EINVAL, p->bad);
        free(p);
        return;
    }
    int rc = tv_db_tx(app->db, ops_tx, p);
    if (!answer_failure(req, rc, &p->r)) {
        char subject[200];
        snprintf(subject, sizeof subject, "You've been added to group %s", p->g.name);
        for (size_t i = 0; i < p->nev; i++)
            event_tell(app, &p->ev[i]);
        for (size_t i = 0; i < p->n; i++) {
            if (p->added[i])
                notify(app, p->ids[i], -4, subject, "name", p->g.name, gid, me->uid);
            if (p->dropped[i])
                chat_drop(app, gid, p->ids[i]);
        }
        tv_http_reply_json(req, NULL);
    }
    free(p);
}

void tv_group_add(tv_http_req_t *req, void *app)
{
    ops(req, app, TV_GROUP_OP_ADD);
}

void tv_group_kick(tv_http_req_t *req, void *app)
{
    ops(req, app, TV_GROUP_OP_KICK);
}

void tv_group_promote(tv_http_req_t *req, void *app)
{
    ops(req, app, TV_GROUP_OP_PROMOTE);
}

void tv_group_demote(tv_http_req_t *req, void *app)
{
    ops(req, app, TV_GROUP_OP_DEMOTE);
}

void tv_group_ban(tv_http_req_t *req, void *app)
{
    ops(req, app, TV_GROUP_OP_BAN);
}

/* ---- listings ------------------------------------------------------------------------------ */

void tv_group_list(tv_http_req_t *req, void *a)
{
    tv_app_t *app = a;
    const char *name = tv_http_query(req, "name", NULL), *lang = tv_http_query(req, "lang_tag",
                                                                               "langTag");
    const char *cur = tv_http_query(req, "cursor", NULL), *open_q = tv_http_query(req, "open", NULL);
    int64_t members = -1, open = -1;
    size_t pbytes = 0, pchars = 0;
    int limit, o;
    if (tv_http_query_limit(req, TV_GROUP_LIST_MAX, TV_GROUP_LIST_MAX, &limit))
        return;
    if (name && *name && tv_group_name_filter(name, &pbytes, &pchars) != TV_OK) {
        tv_http_error(req, TV_EINVAL, "Invalid name filter: 1-128 bytes, an exact name or a "
                                      "prefix followed by a single trailing %.");
        return;
    }
    if (lang && strlen(lang) > TV_GROUP_LANG_MAX) {
        tv_http_error(req, TV_EINVAL, "Invalid lang_tag filter: at most 18 bytes.");
        return;
    }
    if (int_arg(req, "members", 1, TV_GROUP_MAX_COUNT_CAP, &members)) {
        tv_http_error(req, TV_EINVAL, "Invalid members filter: an integer from 1 to 10000.");
        return;
    }
    if (open_q && *open_q) {
        if (tv_parse_bool(open_q, &o) != TV_OK) {
            tv_http_error(req, TV_EINVAL, "Invalid open filter: true or false.");
            return;
        }
        open = o;
    }
    char scope[400], after[TV_GROUP_CURSOR_PAYLOAD + 1] = "", prefix[TV_GROUP_NAME_MAX + 2] = "";
    unsigned char key[32];
    snprintf(scope, sizeof scope, "groups\n%s\n%s\n%lld\n%lld", name ? name : "",
             lang ? lang : "", (long long)members, (long long)open);
    tv_group_cursor_key(app->session_key, key);
    if (cur && *cur && tv_group_cursor_decode(key, scope, cur, after) != TV_OK) {
        tv_http_error(req, TV_EINVAL, "Malformed cursor was used.");
        return;
    }
    if (name && *name)
        snprintf(prefix, sizeof prefix, "%.*s", (int)(pchars ? pbytes : strlen(name)), name);
    tv_db_conn_t *c;
    tv_db_stmt_t *st;
    int rc = tv_db_acquire(app->db, &c);
    if (rc) {
        tv_http_db_error(req, rc);
        return;
    }
    rc = tv_db_prepare(c, "SELECT " GROUP_COLS " FROM user_group g WHERE "
                          "(CAST($1 AS INTEGER) = 0 OR (CAST($1 AS INTEGER) = 1 AND g.name = $2) "
                          "OR (CAST($1 AS INTEGER) = 2 AND substr(g.name, 1, CAST($3 AS INTEGER)) "
                          "= $2)) AND (CAST($4 AS TEXT) = '' OR g.lang_tag = $4) AND "
                          "(CAST($5 AS INTEGER) < 0 OR g.edge_count <= CAST($5 AS INTEGER)) AND "
                          "(CAST($6 AS INTEGER) < 0 OR g.is_open = CAST($6 AS INTEGER)) AND "
                          "g.name > $7 ORDER BY g.name LIMIT $8", &st);
    cJSON *groups = cJSON_CreateArray();
    char last[TV_GROUP_NAME_MAX + 1] = "";
    int more = 0;
    if (!rc) {
        tv_db_bind_int64(st, 1, !*prefix ? 0 : pchars ? 2 : 1);
        tv_db_bind_text(st, 2, prefix);
        tv_db_bind_int64(st, 3, (int64_t)pchars);
        tv_db_bind_text(st, 4, lang ? lang : "");
        tv_db_bind_int64(st, 5, members);
        tv_db_bind_int64(st, 6, open);
        tv_db_bind_text(st, 7, after);
        tv_db_bind_int64(st, 8, limit + 1);
        int n = 0;
        while ((rc = tv_db_step(st)) == TV_DB_ROW) {
            if (n++ == limit) {
                more = 1;
                continue;
            }
            cJSON_AddItemToArray(groups, group_json(st, 0));
            snprintf(last, sizeof last, "%s", tv_db_column_text(st, 2));
        }
        tv_db_reset(st);
    }
    tv_db_release(app->db, c);
    if (rc != TV_DB_DONE) {
        cJSON_Delete(groups);
        tv_http_db_error(req, rc);
        return;
    }
    cJSON *out = cJSON_CreateObject();
    tv_json_add_list(out, "groups", groups);
    if (more) {
        char text[TV_GROUP_CURSOR_TEXT];
        tv_group_cursor_encode(key, scope, last, text);
        tv_json_add_str(out, "cursor", text);
    }
    tv_http_reply_json(req, out);
}

/* One member listing: a group's users, or a user's groups. */
typedef struct {
    int of_group;          /* 1: GET /v2/group/{id}/user, 0: GET /v2/user/{id}/group */
    const char *sql;       /* $1 the id, $2 state filter, $3-$5 after, $6 limit */
    const char *list_name; /* group_users / user_groups */
    const char *item_name; /* user / group */
    int ncols;             /* the item's columns before state, position, other id */
} listing_t;

static const listing_t GROUP_USERS = {
    1,
    "SELECT " TV_ACCOUNT_USER_COLS ", m.state, m.position, m.user_id FROM group_member m JOIN "
    "users u ON u.id = m.user_id WHERE m.group_id = $1 AND (CAST($2 AS INTEGER) < 0 OR m.state "
    "= CAST($2 AS INTEGER)) AND (m.state > CAST($3 AS INTEGER) OR (m.state = CAST($3 AS INTEGER) "
    "AND (m.position > CAST($4 AS BIGINT) OR (m.position = CAST($4 AS BIGINT) AND m.user_id > "
    "$5)))) ORDER BY m.state, m.position, m.user_id LIMIT $6",
    "group_users", "user", TV_ACCOUNT_USER_NCOLS};

static const listing_t USER_GROUPS = {
    0,
    "SELECT " GROUP_COLS ", m.state, m.position, m.group_id FROM group_member m JOIN "
    "user_group g ON g.id = m.group_id WHERE m.user_id = $1 AND (CAST($2 AS INTEGER) < 0 OR "
    "m.state = CAST($2 AS INTEGER)) AND (m.state > CAST($3 AS INTEGER) OR (m.state = CAST($3 AS "
    "INTEGER) AND (m.position > CAST($4 AS BIGINT) OR (m.position = CAST($4 AS BIGINT) AND "
    "m.group_id > $5)))) ORDER BY m.state, m.position, m.group_id LIMIT $6",
    "user_groups", "group", GROUP_NCOLS};

static void member_list(tv_http_req_t *req, tv_app_t *app, const listing_t *l)
{
    char id[37], scope[128], payload[TV_GROUP_CURSOR_PAYLOAD + 1];
    int64_t state = -1, from_state = -1, from_pos = -1;
    char from_id[37] = NIL_UUID;
    const char *cur = tv_http_query(req, "cursor", NULL);
    unsigned char key[32];
    int limit;
    if (path_id(req, id, l->of_group ? "Invalid group ID." : "Invalid user ID."))
        return;
    if (tv_http_query_limit(req, TV_GROUP_LIST_MAX, TV_GROUP_LIST_MAX, &limit))
        return;
    if (int_arg(req, "state", 0, 4, &state)) {
        tv_http_error(req, TV_EINVAL, "Invalid state - state must be between 0 and 4.");
        return;
    }
    snprintf(scope, sizeof scope, "%s\n%s\n%lld", l->list_name, id, (long long)state);
    tv_group_cursor_key(app->session_key, key);
    if (cur && *cur) {
        long long s, p;
        int used = 0;
        if (tv_group_cursor_decode(key, scope, cur, payload) != TV_OK ||
            sscanf(payload, "%lld:%lld:%n", &s, &p, &used) != 2 || !tv_uuid_valid(payload + used)) {
            tv_http_error(req, TV_EINVAL, "Malformed cursor was used.");
            return;
        }
        from_state = s;
        from_pos = p;
        snprintf(from_id, sizeof from_id, "%s", payload + used);
    }
    tv_db_conn_t *c;
    tv_db_stmt_t *st;
    int rc = tv_db_acquire(app->db, &c);
    if (rc) {
        tv_http_db_error(req, rc);
        return;
    }
    int64_t exists = 1;
    if (l->of_group)
        rc = count_of(c, "SELECT COUNT(*) FROM user_group WHERE id = $1", id, NULL, &exists);
    if (!rc && !exists) {
        tv_db_release(app->db, c);
        tv_http_error(req, TV_ENOTFOUND, NOT_FOUND);
        return;
    }
    cJSON *list = cJSON_CreateArray();
    long long last_state = 0, last_pos = 0;
    char last_id[37] = "";
    int more = 0;
    if (!rc && !(rc = tv_db_prepare(c, l->sql, &st))) {
        tv_db_bind_text(st, 1, id);
        tv_db_bind_int64(st, 2, state);
        tv_db_bind_int64(st, 3, from_state);
        tv_db_bind_int64(st, 4, from_pos);
        tv_db_bind_text(st, 5, from_id);
        tv_db_bind_int64(st, 6, limit + 1);
        int n = 0;
        while ((rc = tv_db_step(st)) == TV_DB_ROW) {
            if (n++ == limit) {
                more = 1;
                continue;
            }
            const int k = l->ncols;
            cJSON *item = cJSON_CreateObject();
            cJSON_AddItemToObject(item, l->item_name,
                                  l->of_group ? tv_account_user_json(st) : group_json(st, 0));
            /* an Int32Value: there even when 0 */
            cJSON_AddNumberToObject(item, "state", (double)tv_db_column_int64(st, k));
            cJSON_AddItemToArray(list, item);
            last_state = tv_db_column_int64(st, k);
            last_pos = tv_db_column_int64(st, k + 1);
            snprintf(last_id, sizeof last_id, "%s", tv_db_column_text(st, k + 2));
        }
        tv_db_reset(st);
    }
    tv_db_release(app->db, c);
    if (rc != TV_DB_DONE && rc != TV_OK) {
        cJSON_Delete(list);
        tv_http_db_error(req, rc);
        return;
    }
    cJSON *out = cJSON_CreateObject();
    tv_json_add_list(out, l->list_name, list);
    if (more) {
        char text[TV_GROUP_CURSOR_TEXT];
        snprintf(payload, sizeof payload, "%lld:%lld:%s", last_state, last_pos, last_id);
        tv_group_cursor_encode(key, scope, payload, text);
        tv_json_add_str(out, "cursor", text);
    }
    tv_http_reply_json(req, out);
}

void tv_group_users(tv_http_req_t *req, void *app)
{
    member_list(req, app, &GROUP_USERS);
}

void tv_group_user_groups(tv_http_req_t *req, void *app)
{
    member_list(req, app, &USER_GROUPS);
}
