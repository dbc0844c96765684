/* The module host table's stream entries (module.h, ABI 1.8: stream_user_join, _leave, _list,
 * stream_count, stream_send, stream_close): a module's stream is a channel of the chat room's
 * membership index (kind TV_CHAT_STREAM, presence.c), so joins, leaves, the coalesced presence
 * events and a closing socket's leave are chat's own. Installed by the server once chat runs. */
#include "chat_internal.h"
#include "error.h"
#include "json.h"
#include "util.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <tavern/module.h>

static _Atomic(tv_chat_t *) host_chat;

static int grpc_of(int rc)
{
    switch (rc) {
    case TV_OK: return TV_GRPC_OK;
    case TV_EINVAL: return TV_GRPC_INVALID_ARGUMENT;
    case TV_ENOTFOUND: return TV_GRPC_NOT_FOUND;
    case TV_EBUSY: return TV_GRPC_RESOURCE_EXHAUSTED;
    case TV_EUNAVAIL: return TV_GRPC_UNAVAILABLE;
    default: return TV_GRPC_INTERNAL;
    }
}

/* The chat room and the stream's ref, or a gRPC code with *why. */
static int prepare(const tv_mod_stream_t *st, tv_chat_ref_t *ref, tv_chat_t **c,
                   const char **why)
{
    *why = NULL;
    if (!(*c = atomic_load(&host_chat)))
        return TV_GRPC_UNAVAILABLE;
    if (!st || st->size < offsetof(tv_mod_stream_t, label) + sizeof st->label) {
        *why = "no stream, or a tv_mod_stream_t without its size";
        return TV_GRPC_INVALID_ARGUMENT;
    }
    return grpc_of(tv_chat_ref_stream(st->mode, st->subject, st->subcontext, st->label, ref,
                                      why));
}

static int host_join(const tv_mod_stream_t *st, const char *user_id, const char *session_id,
                     int hidden, int persistence, int *is_new, const char **why)
{
    tv_chat_ref_t ref;
    tv_chat_t *c;
    int rc = prepare(st, &ref, &c, why), fresh = 0;
    if (!rc && (rc = grpc_of(tv_chat_stream_join(c, &ref, user_id, session_id, persistence != 0,
                                                 hidden != 0, &fresh))) != TV_GRPC_OK)
        *why = rc == TV_GRPC_NOT_FOUND ? "no such open session of that user on this node"
             : rc == TV_GRPC_RESOURCE_EXHAUSTED ? "the session is in 64 streams already"
                                                 : "out of memory";
    if (is_new)
        *is_new = fresh;
    return rc;
}

static int host_leave(const tv_mod_stream_t *st, const char *user_id, const char *session_id,
                      const char **why)
{
    tv_chat_ref_t ref;
    tv_chat_t *c;
    int rc = prepare(st, &ref, &c, why);
    if (rc)
        return rc;
    if (!session_id || strlen(session_id) != 36)
        return TV_GRPC_OK; /* never a member */
    tv_rt_identity_t who;
    if (user_id && *user_id &&
        (tv_rt_session_get(c->rt, session_id, &who) != TV_OK || strcmp(who.user_id, user_id)))
        return TV_GRPC_OK; /* a closed socket has left already */
    tv_chat_leave(c, session_id, &ref);
    return TV_GRPC_OK;
}

static int host_list(const tv_mod_stream_t *st, int include_hidden, int include_not_hidden,
                     char **presences_json, int64_t *count, const char **why)
{
    tv_chat_ref_t ref;
    tv_chat_t *c;
    int rc = prepare(st, &ref, &c, why);
    if (rc)
        return rc;
    size_t n = 0;
    cJSON *list = tv_chat_stream_list(c, &ref, include_hidden, include_not_hidden, &n);
    if (!list)
        return TV_GRPC_INTERNAL;
    if (count)
        *count = (int64_t)n;
    if (presences_json && !(*presences_json = cJSON_PrintUnformatted(list)))
        rc = TV_GRPC_INTERNAL;
    cJSON_Delete(list);
    return rc;
}

/* stream_data {stream, sender, data, reliable} into b. */
static void data_text(tv_rt_buf_t *b, const tv_chat_ref_t *ref, const tv_mod_presence_t *sender,
                      const char *data, size_t len, int reliable)
{
    tv_rt_buf_lit(b, "{\"stream_data\":{");
    tv_chat_stream_buf(b, ref);
    if (sender) { /* empty members left out, as protojson does */
        const char *keys[3] = {"user_id", "session_id", "username"};
        const char *vals[3] = {sender->user_id, sender->session_id, sender->username};
        int listed = 0;
        tv_rt_buf_lit(b, ",\"sender\":{");
        for (int i = 0; i < 3; i++) {
            if (!vals[i] || !*vals[i])
                continue;
            tv_rt_buf_lit(b, listed++ ? ",\"" : "\"");
            tv_rt_buf_lit(b, keys[i]);
            tv_rt_buf_lit(b, "\":");
            tv_rt_buf_str(b, vals[i]);
        }
        tv_rt_buf_lit(b, "}");
    }
    if (len) {
        tv_rt_buf_lit(b, ",\"data\":");
        tv_rt_buf_str(b, data); /* NUL-terminated copy, checked by the caller */
    }
    if (reliable)
        tv_rt_buf_lit(b, ",\"reliable\":true");
    tv_rt_buf_lit(b, "}}");
}

static int host_send(const tv_mod_stream_t *st, const char *data, size_t len,
                     const tv_mod_presence_t *const *to, size_t nto,
                     const tv_mod_presence_t *sender, int reliable, const char **why)
{
    tv_chat_ref_t ref;
    tv_chat_t *c;
    int rc = prepare(st, &ref, &c, why);
    if (rc)
        return rc;
    if ((!data && len) || len > TV_CHAT_STREAM_DATA_MAX || (to == NULL && nto)) {
        *why = "data must be at most 3072 bytes (and not NULL with a length)";
        return TV_GRPC_INVALID_ARGUMENT;
    }
    char *copy = malloc(len + 1);
    const char **sids = nto ? calloc(nto, sizeof *sids) : NULL;
    tv_rt_buf_t b = {0};
    if (!copy || (nto && !sids)) {
        rc = TV_GRPC_INTERNAL;
        goto done;
    }
    if (len)
        memcpy(copy, data, len);
    copy[len] = 0;
    if (strlen(copy) != len || !tv_utf8_valid(copy)) {
        *why = "data must be UTF-8 text without NUL bytes";
        rc = TV_GRPC_INVALID_ARGUMENT;
        goto done;
    }
    size_t k = 0;
    for (size_t i = 0; i < nto; i++)
        if (to[i] && to[i]->session_id)
            sids[k++] = to[i]->session_id;
    /* a sender named by its session alone gets the session's user, when it is open here */
    tv_rt_identity_t who;
    tv_mod_presence_t filled;
    if (sender && sender->session_id && (!sender->user_id || !*sender->user_id) &&
        tv_rt_session_get(c->rt, sender->session_id, &who) == TV_OK) {
        filled = *sender;
        filled.user_id = who.user_id;
        filled.username = who.username;
        sender = &filled;
    }
    data_text(&b, &ref, sender, copy, len, reliable);
    if (b.oom) {
        rc = TV_GRPC_INTERNAL;
        goto done;
    }
    if (nto && !k)
        goto done; /* listed nobody */
    int reached = tv_chat_stream_send(c, &ref, b.p, b.len, nto ? sids : NULL, k);
    if (reached < 0)
        rc = grpc_of(reached);
done:
    tv_rt_buf_free(&b);
    free(sids);
    free(copy);
    return rc;
}

static int host_close(const tv_mod_stream_t *st, const char **why)
{
    tv_chat_ref_t ref;
    tv_chat_t *c;
    int rc = prepare(st, &ref, &c, why);
    if (!rc)
        tv_chat_stream_close(c, &ref);
    return rc;
}

static const tv_chat_stream_ops_t ops = {host_join, host_leave, host_list, host_send,
                                         host_close};

void tv_chat_stream_host_install(tv_chat_t *c)
{
    atomic_store(&host_chat, c);
    tv_mod_host_set_stream_ops(&ops);
}

void tv_chat_stream_host_uninstall(void)
{
    tv_mod_host_set_stream_ops(NULL);
    atomic_store(&host_chat, NULL);
}
