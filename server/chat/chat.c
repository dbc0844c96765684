/* The chat room's realtime side (see chat.h): channel_join and channel_leave, and
 * channel_message_send / _update / _remove through each channel's write queue. The queue is
 * what keeps one order per channel: the history's order is the order every member hears, so
 * while a worker writes a batch, later messages (unstored ones too) wait behind it. With
 * nothing queued, an unstored message goes out at once from the socket's thread. */
#include "chat_internal.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "notification.h"
#include "util.h"
#include "workers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_MAX 1024       /* ops waiting in one channel */
#define MEMBER_INFLIGHT 64   /* ops one member may have waiting: one sender cannot fill a room */
/* Ops written in one transaction. Each op pushes its message to every member and acks its
 * sender, so a batch of one sender's ops puts twice its size into that sender's 64-message
 * outgoing queue at once (rt.c, overflow disconnects): 16 leave half of it free. */
#define BATCH_MAX 16

static const char BUSY[] = "Server is busy, try again.";

static int reply_bad_input(const tv_rt_msg_t *msg, const char *message)
{
    tv_rt_reply_error(msg->rt, msg->who->session_id, msg->cid, TV_RT_ERR_BAD_INPUT, message);
    return TV_OK;
}

/* ---- channel_join ------------------------------------------------------------------------- */

/* ChannelJoin.type: a number or the enum's name, as protojson reads it. TV_OK or TV_EINVAL. */
static int read_type(const cJSON *body, int *type)
{
    static const char *const names[] = {"TYPE_UNSPECIFIED", "ROOM", "DIRECT_MESSAGE", "GROUP"};
    const cJSON *t = tv_json_get(body, "type", NULL);
    *type = 0;
    if (!t)
        return TV_OK;
    if (cJSON_IsNumber(t)) {
        if (t->valuedouble != (double)(int)t->valuedouble)
            return TV_EINVAL;
        *type = (int)t->valuedouble;
        return TV_OK;
    }
    for (int i = 0; cJSON_IsString(t) && i < 4; i++)
        if (strcmp(t->valuestring, names[i]) == 0) {
            *type = i;
            return TV_OK;
        }
    return TV_EINVAL;
}

/* A direct-message join, resolved on a worker: the other user must exist, and neither may
 * have blocked the other. */
typedef struct dm_job {
    tv_chat_t *c;
    tv_rt_later_t *later;
    tv_rt_identity_t who;
    tv_chat_ref_t ref;
    char other[37];
    int persistence, hidden;
} dm_job_t;

/* *allowed = the other user exists and no block stands between the two. */
static int dm_allowed(dm_job_t *j, int *allowed)
{
    tv_db_conn_t *conn;
    tv_db_stmt_t *st;
    int rc = tv_db_acquire(j->c->db, &conn);
    *allowed = 0;
    if (rc)
        return rc;
    rc = tv_db_prepare(conn, "SELECT (SELECT COUNT(*) FROM user_edge WHERE state = 3 AND "
                             "((source_id = $1 AND destination_id = $2) OR (source_id = $2 AND "
                             "destination_id = $1))) FROM users WHERE id = $2", &st);
    if (!rc) {
        tv_db_bind_text(st, 1, j->who.user_id);
        tv_db_bind_text(st, 2, j->other);
        rc = tv_db_step(st);
        if (rc == TV_DB_ROW)
            *allowed = tv_db_column_int64(st, 0) == 0;
        rc = rc == TV_DB_ROW || rc == TV_DB_DONE ? TV_OK : rc;
        tv_db_reset(st);
    }
    tv_db_release(j->c->db, conn);
    return rc;
}

/* Nakama's "wants to chat": a persistent system notification (code -1) to the other user,
 * sent when a session newly joins and the other user is not visibly there. */
static void dm_notify(dm_job_t *j)
{
    char subject[200], content[300];
    if (!j->c->notify)
        return;
    snprintf(subject, sizeof subject, "%s wants to chat", j->who.username);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "username", j->who.username);
    if (!o || !cJSON_PrintPreallocated(o, content, sizeof content, 0))
        snprintf(content, sizeof content, "{}");
    cJSON_Delete(o);
    tv_notify_msg_t m = {j->other, subject, content, -1, j->who.user_id, 1, 1};
    const char *why = NULL;
    int rc = tv_notify_send(j->c->notify, &m, NULL, &why);
    if (rc)
        tv_log_warn("chat", "direct message notification to %s not sent: %s", j->other,
                    why ? why : tv_error_name(rc));
}

static void dm_run(void *arg)
{
    dm_job_t *j = arg;
    int allowed;
    int rc = dm_allowed(j, &allowed);
    if (rc) {
        tv_log_warn("chat", "channel_join: user look-up failed: %s", tv_error_name(rc));
        tv_rt_later_error(j->later, TV_RT_ERR_RUNTIME_EXCEPTION, "Failed to look up user ID");
    } else if (!allowed) { /* unknown or blocked: Nakama does not tell which */
        tv_rt_later_error(j->later, TV_RT_ERR_BAD_INPUT, "User ID not found");
    } else {
        chat_joined_t joined;
        if (tv_chat_join(j->c, &j->ref, &j->who, j->persistence, j->hidden, j->later,
                         &joined) == TV_OK &&
            joined.is_new && !joined.others_visible)
            dm_notify(j);
    }
    free(j);
}

static int join_dm(tv_chat_t *c, const tv_rt_msg_t *msg, const char *target, int persistence,
                   int hidden)
{
    static const char invalid[] = "Invalid user ID in direct message join";
    char other[37];
    if (strlen(target) != 36 || !tv_uuid_valid(target))
        return reply_bad_input(msg, invalid);
    memcpy(other, target, sizeof other);
    tv_uuid_lower(other);
    if (strcmp(other, "00000000-0000-0000-0000-000000000000") == 0)
        return reply_bad_input(msg, invalid);
    if (strcmp(other, msg->who->user_id) == 0)
        return reply_bad_input(msg, "Cannot open direct message channel with self");
    dm_job_t *j = calloc(1, sizeof *j);
    if (!j || !(j->later = tv_rt_later(msg))) {
        free(j);
        return TV_ENOMEM;
    }
    j->c = c;
    j->who = *msg->who;
    memcpy(j->other, other, sizeof j->other);
    tv_chat_ref_dm(msg->who->user_id, other, &j->ref);
    j->persistence = persistence;
    j->hidden = hidden;
    if (tv_workers_submit(c->workers, dm_run, j) != TV_OK) {
        tv_rt_later_error(j->later, TV_RT_ERR_RUNTIME_EXCEPTION, BUSY);
        free(j);
    }
    return TV_OK;
}

/* A group channel join, resolved on a worker: only the group's members (states 0-2) may. */
typedef struct group_job {
    tv_chat_t *c;
    tv_rt_later_t *later;
    tv_rt_identity_t who;
    tv_chat_ref_t ref;
    int persistence, hidden;
} group_job_t;

/* A kick that commits after the membership check drops the group's members before or after
 * the join lands. After: the drop finds the joiner. Before: group_drops moved since the
 * check, so the membership is read again and a joiner who is no longer a member leaves. */
static void group_run(void *arg)
{
    group_job_t *j = arg;
    int member;
    uint_fast64_t drops = atomic_load(&j->c->group_drops);
    int rc = tv_chat_group_member(j->c->db, j->ref.one, j->who.user_id, &member);
    if (rc) {
        tv_log_warn("chat", "channel_join: group member look-up failed: %s", tv_error_name(rc));
        tv_rt_later_error(j->later, TV_RT_ERR_RUNTIME_EXCEPTION, "Error joining channel");
    } else if (!member) { /* unknown group or not a member: Nakama does not tell which */
        tv_rt_later_error(j->later, TV_RT_ERR_BAD_INPUT, "Group not found or not a member");
    } else {
        chat_joined_t joined;
        tv_chat_join(j->c, &j->ref, &j->who, j->persistence, j->hidden, j->later, &joined);
        if (atomic_load(&j->c->group_drops) != drops &&
            tv_chat_group_member(j->c->db, j->ref.one, j->who.user_id, &member) == TV_OK &&
            !member)
            tv_chat_leave(j->c, j->who.session_id, &j->ref);
    }
    free(j);
}

static int join_group(tv_chat_t *c, const tv_rt_msg_t *msg, const char *target, int persistence,
                      int hidden)
{
    if (strlen(target) != 36 || !tv_uuid_valid(target))
        return reply_bad_input(msg, "Invalid group ID in group channel join");
    group_job_t *j = calloc(1, sizeof *j);
    if (!j || !(j->later = tv_rt_later(msg))) {
        free(j);
        return TV_ENOMEM;
    }
    j->c = c;
    j->who = *msg->who;
    tv_chat_ref_group(target, &j->ref);
    j->persistence = persistence;
    j->hidden = hidden;
    if (tv_workers_submit(c->workers, group_run, j) != TV_OK) {
        tv_rt_later_error(j->later, TV_RT_ERR_RUNTIME_EXCEPTION, BUSY);
        free(j);
    }
    return TV_OK;
}

/* channel_join {target, type, persistence, hidden} -> channel {id, presences, self, ...}. */
static int on_join(void *ud, const tv_rt_msg_t *msg)
{
    tv_chat_t *c = ud;
    const char *target, *why;
    int type, persistence = 1, hidden = 0, set;
    if (tv_json_get_str(msg->body, "target", NULL, &target) != TV_OK ||
        read_type(msg->body, &type) != TV_OK ||
        tv_json_get_bool(msg->body, "persistence", NULL, &persistence, &set) != TV_OK ||
        tv_json_get_bool(msg->body, "hidden", NULL, &hidden, &set) != TV_OK)
        return TV_EINVAL;
    if (!target || !*target)
        return reply_bad_input(msg, "Invalid channel target");
    switch (type) {
    case 0: /* unspecified: a room, as in Nakama */
    case 1: {
        tv_chat_ref_t ref;
        chat_joined_t joined;
        if (tv_chat_ref_room(target, &ref, &why) != TV_OK)
            return reply_bad_input(msg, why);
        tv_rt_later_t *later = tv_rt_later(msg);
        if (!later)
            return TV_ENOMEM;
        tv_chat_join(c, &ref, msg->who, persistence, hidden, later, &joined);
        return TV_OK;
    }
    case 2:
        return join_dm(c, msg, target, persistence, hidden);
    case 3:
        return join_group(c, msg, target, persistence, hidden);
    default:
        return reply_bad_input(msg, "Unrecognized channel type");
    }
}

/* channel_leave {channel_id} -> {cid}, whether or not the socket was in the channel. */
static int on_leave(void *ud, const tv_rt_msg_t *msg)
{
    tv_chat_t *c = ud;
    const char *id;
    tv_chat_ref_t ref;
    if (tv_json_get_str(msg->body, "channel_id", "channelId", &id) != TV_OK)
        return TV_EINVAL;
    if (tv_chat_ref_parse(id, &ref) != TV_OK)
        return reply_bad_input(msg, "Invalid channel identifier");
    tv_chat_leave(c, msg->who->session_id, &ref);
    tv_rt_reply(msg->rt, msg->who->session_id, msg->cid, NULL, NULL);
    return TV_OK;
}

/* ---- messages: what goes out -------------------------------------------------------------- */

static void op_free(chat_op_t *op)
{
    if (!op)
        return;
    if (op->later)
        tv_rt_later_free(op->later);
    free(op->content);
    free(op);
}

static int op_code(const chat_op_t *op)
{
    switch (op->kind) {
    case CHAT_OP_SEND:
        return 0;
    case CHAT_OP_UPDATE:
        return 1;
    case CHAT_OP_REMOVE:
        return 2;
    case CHAT_OP_EVENT:
        break;
    }
    return op->code;
}

/* A send is stored as its member asked; updates and removes only ever touch stored messages;
 * an event was stored by its group's transaction. */
static int op_persistent(const chat_op_t *op)
{
    return op->store || op->kind == CHAT_OP_EVENT;
}

static const char *op_content(const chat_op_t *op)
{
    return op->content ? op->content : "{}"; /* a remove's or an event's */
}

/* The channel_message push every member gets. */
static void message_text(const tv_chat_ref_t *ref, const chat_op_t *op, tv_rt_buf_t *b)
{
    char code[8], created[32], updated[32];
    snprintf(code, sizeof code, "%d", op_code(op));
    tv_time_rfc3339(op->create_ms / 1000, created);
    tv_time_rfc3339(op->update_ms / 1000, updated);
    tv_rt_buf_lit(b, "{\"channel_message\":{\"channel_id\":");
    tv_rt_buf_str(b, ref->id);
    tv_rt_buf_lit(b, ",\"message_id\":");
    tv_rt_buf_str(b, op->message_id);
    tv_rt_buf_lit(b, ",\"code\":"); /* an Int32Value: there even when 0 */
    tv_rt_buf_lit(b, code);
    tv_rt_buf_lit(b, ",\"sender_id\":");
    tv_rt_buf_str(b, op->sender_id);
    tv_rt_buf_lit(b, ",\"username\":");
    tv_rt_buf_str(b, op->username);
    tv_rt_buf_lit(b, ",\"content\":");
    tv_rt_buf_str(b, op_content(op));
    tv_rt_buf_lit(b, ",\"create_time\":");
    tv_rt_buf_str(b, created);
    tv_rt_buf_lit(b, ",\"update_time\":");
    tv_rt_buf_str(b, updated);
    tv_rt_buf_lit(b, op_persistent(op) ? ",\"persistent\":true" : ",\"persistent\":false");
    tv_chat_ref_buf(b, ref);
    tv_rt_buf_lit(b, "}}");
}

/* The sender's channel_message_ack. NULL on no memory. */
static cJSON *ack_json(const tv_chat_ref_t *ref, const chat_op_t *op)
{
    char created[32], updated[32];
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    tv_time_rfc3339(op->create_ms / 1000, created);
    tv_time_rfc3339(op->update_ms / 1000, updated);
    cJSON_AddStringToObject(o, "channel_id", ref->id);
    cJSON_AddStringToObject(o, "message_id", op->message_id);
    cJSON_AddNumberToObject(o, "code", op_code(op));
    cJSON_AddStringToObject(o, "username", op->username);
    cJSON_AddStringToObject(o, "create_time", created);
    cJSON_AddStringToObject(o, "update_time", updated);
    cJSON_AddBoolToObject(o, "persistent", op_persistent(op));
    tv_chat_ref_json(o, ref);
    return o;
}

/* Answers an op whose write failed (or an update/remove that found nothing) and frees it. */
static void fail_op(chat_op_t *op, int db_error)
{
    static const char *const lost[] = {"Could not persist message to channel history",
                                       "Could not persist message update to channel history",
                                       "Could not persist message remove to channel history"};
    if (db_error)
        tv_rt_later_error(op->later, TV_RT_ERR_RUNTIME_EXCEPTION, lost[op_code(op)]);
    else
        tv_rt_later_error(op->later, TV_RT_ERR_BAD_INPUT,
                          op->kind == CHAT_OP_UPDATE
                              ? "Could not find message to update in channel history"
                              : "Could not find message to remove in channel history");
    op->later = NULL;
    op_free(op);
}

/* Tells the channel's members (after its pending presence events: a join that came before
 * the message is heard before it), then acks the sender, then frees op (stripe held). */
static void finish(tv_chat_t *c, chat_channel_t *ch, chat_op_t *op)
{
    tv_rt_buf_t b = {0};
    tv_chat_presence_flush(c, ch);
    message_text(&ch->ref, op, &b);
    if (b.oom) {
        tv_rt_buf_free(&b);
        if (op->later)
            tv_rt_later_error(op->later, TV_RT_ERR_RUNTIME_EXCEPTION, "Out of memory");
        else
            tv_log_warn("chat", "out of memory: an event of %s was not told", ch->ref.id);
        op->later = NULL;
        op_free(op);
        return;
    }
    tv_chat_channel_send(c, ch, b.p, b.len);
    tv_rt_buf_free(&b);
    if (!op->later) { /* an event: nobody to answer */
        op_free(op);
        return;
    }
    cJSON *ack = ack_json(&ch->ref, op);
    if (ack)
        tv_rt_later_reply(op->later, "channel_message_ack", ack);
    else
        tv_rt_later_error(op->later, TV_RT_ERR_RUNTIME_EXCEPTION, "Out of memory");
    op->later = NULL;
    op_free(op);
}

/* ---- the write queue ---------------------------------------------------------------------- */

/* Ends the wait of one of op's member's ops (it may have left meanwhile). */
static void member_done(chat_channel_t *ch, const chat_op_t *op)
{
    chat_member_t *m = tv_chat_member_get(ch, op->session_id);
    if (m && m->inflight > 0)
        m->inflight--;
}

static int any_store(chat_op_t **ops, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ops[i]->store)
            return 1;
    return 0;
}

/* A worker's turn at a channel's queue: one batch written in one transaction, then told in
 * order. It comes back for the next batch through the pool, behind other channels' turns; the
 * channel stays (busy) until its queue is empty. */
static void drain(void *arg)
{
    chat_channel_t *ch = arg;
    tv_chat_t *c = ch->chat;
    chat_stripe_t *st = tv_chat_channel_stripe(c, ch->ref.id);
    for (;;) {
        chat_op_t *batch[BATCH_MAX];
        size_t n = 0;
        pthread_mutex_lock(&st->lock);
        while (n < BATCH_MAX && ch->qhead) {
            batch[n++] = ch->qhead;
            ch->qhead = ch->qhead->next;
        }
        if (!ch->qhead)
            ch->qtail = NULL;
        ch->qlen -= n;
        pthread_mutex_unlock(&st->lock);

        int rc = any_store(batch, n) ? tv_chat_history_write(c->db, &ch->ref, batch, n) : TV_OK;
        if (rc)
            tv_log_warn("chat", "writing %zu messages of %s failed: %s", n, ch->ref.id,
                        tv_error_name(rc));
        pthread_mutex_lock(&st->lock);
        for (size_t i = 0; i < n; i++) {
            chat_op_t *op = batch[i];
            member_done(ch, op);
            if (op->store && rc)
                fail_op(op, 1);
            else if ((op->kind == CHAT_OP_UPDATE || op->kind == CHAT_OP_REMOVE) && !op->found)
                fail_op(op, 0);
            else
                finish(c, ch, op);
        }
        if (!ch->qhead) {
            ch->busy = 0;
            tv_chat_channel_release(st, ch);
            pthread_mutex_unlock(&st->lock);
            return;
        }
        pthread_mutex_unlock(&st->lock);
        int sub = tv_workers_submit(c->workers, drain, ch);
        if (sub == TV_OK)
            return;
        /* the pool is full or stopping: go on here, the queue must not be stranded (and while
         * stopping, no new writes join it, so this ends) */
        if (sub == TV_EUNAVAIL)
            atomic_store(&c->stopping, 1);
    }
}

/* Puts op into its channel as the member of the sending socket: sent at once when it needs no
 * write and nothing waits ahead of it, else queued behind the channel's other ops. Answers the
 * refusals itself. Takes op. */
static int enqueue(tv_chat_t *c, const tv_rt_msg_t *msg, const tv_chat_ref_t *ref,
                   chat_op_t *op, const char *not_member)
{
    chat_stripe_t *st = tv_chat_channel_stripe(c, ref->id);
    pthread_mutex_lock(&st->lock);
    chat_channel_t *ch = tv_chat_channel_get(st, ref->id);
    chat_member_t *m = ch ? tv_chat_member_get(ch, msg->who->session_id) : NULL;
    const char *refused = NULL;
    int code = TV_RT_ERR_BAD_INPUT;
    if (!m) {
        refused = not_member;
    } else {
        op->store = op->kind != CHAT_OP_SEND || m->persistence;
        if (!op->store && !ch->busy) {
            finish(c, ch, op);
            pthread_mutex_unlock(&st->lock);
            return TV_OK;
        }
        if (ch->qlen >= QUEUE_MAX || m->inflight >= MEMBER_INFLIGHT ||
            atomic_load(&c->stopping)) {
            refused = BUSY;
            code = TV_RT_ERR_RUNTIME_EXCEPTION;
        }
    }
    if (refused) {
        pthread_mutex_unlock(&st->lock);
        tv_rt_later_error(op->later, code, refused);
        op->later = NULL;
        op_free(op);
        return TV_OK;
    }
    if (ch->qtail)
        ch->qtail->next = op;
    else
        ch->qhead = op;
    ch->qtail = op;
    ch->qlen++;
    m->inflight++;
    if (!ch->busy) { /* an idle channel's queue was empty: op is alone in it */
        ch->busy = 1;
        int sub = tv_workers_submit(c->workers, drain, ch);
        if (sub != TV_OK) {
            if (sub == TV_EUNAVAIL)
                atomic_store(&c->stopping, 1);
            ch->busy = 0;
            ch->qhead = ch->qtail = NULL;
            ch->qlen = 0;
            m->inflight--;
            pthread_mutex_unlock(&st->lock);
            tv_rt_later_error(op->later, TV_RT_ERR_RUNTIME_EXCEPTION, BUSY);
            op->later = NULL;
            op_free(op);
            return TV_OK;
        }
    }
    pthread_mutex_unlock(&st->lock);
    return TV_OK;
}

/* ---- channel_message_send / _update / _remove --------------------------------------------- */

static chat_op_t *op_new(const tv_rt_msg_t *msg, chat_op_kind_t kind)
{
    chat_op_t *op = calloc(1, sizeof *op);
    if (!op || !(op->later = tv_rt_later(msg))) {
        free(op);
        return NULL;
    }
    op->kind = kind;
    memcpy(op->session_id, msg->who->session_id, sizeof op->session_id);
    memcpy(op->sender_id, msg->who->user_id, sizeof op->sender_id);
    memcpy(op->username, msg->who->username, sizeof op->username);
    op->update_ms = tv_now_ms();
    return op;
}

/* Reads {channel_id, message_id?, content?} of a message request, answering BAD_INPUT itself
 * (then *ref->id is left empty). TV_EINVAL for a field of the wrong type. */
static int read_message(const tv_rt_msg_t *msg, int with_id, int with_content,
                        tv_chat_ref_t *ref, char message_id[37], const char **content)
{
    const char *channel_id, *mid = NULL, *why;
    memset(ref, 0, sizeof *ref);
    *content = NULL;
    if (tv_json_get_str(msg->body, "channel_id", "channelId", &channel_id) != TV_OK ||
        (with_id && tv_json_get_str(msg->body, "message_id", "messageId", &mid) != TV_OK) ||
        (with_content && tv_json_get_str(msg->body, "content", NULL, content) != TV_OK))
        return TV_EINVAL;
    if (with_id) {
        if (!mid || strlen(mid) != 36 || !tv_uuid_valid(mid))
            return reply_bad_input(msg, "Invalid message identifier");
        memcpy(message_id, mid, 37);
        tv_uuid_lower(message_id);
    }
    if (tv_chat_ref_parse(channel_id, ref) != TV_OK) {
        ref->id[0] = 0;
        return reply_bad_input(msg, "Invalid channel identifier");
    }
    if (with_content && (why = tv_chat_content_check(*content)) != NULL) {
        ref->id[0] = 0;
        return reply_bad_input(msg, why);
    }
    return TV_OK;
}

/* One handler for the three: what differs is the fields read and the op made. */
static int on_message(tv_chat_t *c, const tv_rt_msg_t *msg, chat_op_kind_t kind,
                      const char *not_member)
{
    tv_chat_ref_t ref;
    char message_id[37] = "";
    const char *content;
    int rc = read_message(msg, kind != CHAT_OP_SEND, kind != CHAT_OP_REMOVE, &ref, message_id,
                          &content);
    if (rc || !ref.id[0])
        return rc;
    chat_op_t *op = op_new(msg, kind);
    if (!op || (content && !(op->content = strdup(content)))) {
        op_free(op);
        return TV_ENOMEM;
    }
    if (kind == CHAT_OP_SEND) { /* a time-ordered id: the history's order within a millisecond */
        op->create_ms = op->update_ms;
        tv_uuid_v7(op->create_ms, op->message_id);
    } else {
        memcpy(op->message_id, message_id, sizeof op->message_id);
    }
    return enqueue(c, msg, &ref, op, not_member);
}

static int on_send(void *ud, const tv_rt_msg_t *msg)
{
    return on_message(ud, msg, CHAT_OP_SEND, "Must join channel before sending messages");
}

static int on_update(void *ud, const tv_rt_msg_t *msg)
{
    return on_message(ud, msg, CHAT_OP_UPDATE, "Must join channel before updating messages");
}

static int on_remove(void *ud, const tv_rt_msg_t *msg)
{
    return on_message(ud, msg, CHAT_OP_REMOVE, "Must join channel before removing messages");
}

/* ---- group events ------------------------------------------------------------------------ */

void tv_chat_group_event(tv_chat_t *c, const tv_chat_group_event_t *ev)
{
    tv_chat_ref_t ref;
    tv_chat_ref_group(ev->group_id, &ref);
    chat_stripe_t *st = tv_chat_channel_stripe(c, ref.id);
    pthread_mutex_lock(&st->lock);
    chat_channel_t *ch = tv_chat_channel_get(st, ref.id);
    if (!ch) { /* nobody in the channel on this node */
        pthread_mutex_unlock(&st->lock);
        return;
    }
    chat_op_t *op = calloc(1, sizeof *op);
    if (!op) {
        pthread_mutex_unlock(&st->lock);
        tv_log_warn("chat", "out of memory: an event of %s was not told", ref.id);
        return;
    }
    op->kind = CHAT_OP_EVENT;
    op->code = ev->code;
    memcpy(op->message_id, ev->message_id, sizeof op->message_id);
    memcpy(op->sender_id, ev->user_id, sizeof op->sender_id);
    memcpy(op->username, ev->username, sizeof op->username);
    op->create_ms = op->update_ms = ev->create_ms;
    if (!ch->busy) {
        finish(c, ch, op);
    } else {
        /* behind the queued messages, as they will be heard; past QUEUE_MAX too: the event is
         * stored already and the group calls that make events are few */
        if (ch->qtail)
            ch->qtail->next = op;
        else
            ch->qhead = op;
        ch->qtail = op;
        ch->qlen++;
    }
    pthread_mutex_unlock(&st->lock);
}

/* ---- sockets and the room ----------------------------------------------------------------- */

static void on_close(void *ud, const tv_rt_identity_t *who)
{
    tv_chat_leave_all(ud, who->session_id);
}

int tv_chat_new(tv_rt_t *rt, tv_db_t *db, tv_workers_t *workers, tv_notify_t *notify,
                tv_chat_t **out)
{
    tv_chat_t *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c)
        return TV_ENOMEM;
    c->rt = rt;
    c->db = db;
    c->workers = workers;
    c->notify = notify;
    tv_chat_index_init(c);
    *out = c;
    tv_rt_listener_t l = {NULL, on_close, c};
    int rc;
    if ((rc = tv_rt_register(rt, "channel_join", on_join, c)) != TV_OK ||
        (rc = tv_rt_register(rt, "channel_leave", on_leave, c)) != TV_OK ||
        (rc = tv_rt_register(rt, "channel_message_send", on_send, c)) != TV_OK ||
        (rc = tv_rt_register(rt, "channel_message_update", on_update, c)) != TV_OK ||
        (rc = tv_rt_register(rt, "channel_message_remove", on_remove, c)) != TV_OK ||
        (rc = tv_rt_add_listener(rt, &l)) != TV_OK)
        tv_log_error("chat", "cannot register the channel messages: %s", tv_error_name(rc));
    return rc;
}

void tv_chat_free(tv_chat_t *c)
{
    if (!c)
        return;
    tv_chat_index_free(c, op_free);
    free(c);
}
