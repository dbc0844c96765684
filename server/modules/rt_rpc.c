/* The realtime `rpc` message: {"cid":..,"rpc":{"id":..,"payload":".."}} runs the module's RPC
 * on the worker pool (module code may be slow; the socket's service thread must not wait) and
 * answers {"cid":..,"rpc":{"id":..,"payload":..}} or an error envelope (6 not found,
 * 7 the function failed) from the worker. */
#include "modules.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "rt.h"
#include "workers.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define RPC_ID_MAX 128

typedef struct {
    tv_mod_registry_t *registry;
    tv_workers_t *workers;
} rt_rpc_t;

static rt_rpc_t rt_rpc_ctx; /* one per process: the handler's ud points here */

typedef struct {
    tv_mod_registry_t *registry;
    tv_rt_later_t *later;
    char id[RPC_ID_MAX + 1];
    char *payload;
    size_t len;
    tv_rt_identity_t who;
} rpc_job_t;

static void job_free(rpc_job_t *j)
{
    if (j->later)
        tv_rt_later_free(j->later);
    free(j->payload);
    free(j);
}

static void run_rpc(void *arg)
{
    rpc_job_t *j = arg;
    tv_mod_caller_t caller = {.user_id = j->who.user_id, .username = j->who.username,
                              .expiry = j->who.expires_at, .session_id = j->who.session_id};
    char *out = NULL, *message = NULL;
    size_t out_len = 0;
    int code = 0;
    int rc = tv_mod_rpc_call(j->registry, j->id, j->payload, j->len, &caller, &out, &out_len,
                             &code, &message);
    if (rc == TV_ENOTFOUND) {
        tv_rt_later_error(j->later, TV_RT_ERR_RUNTIME_FUNCTION_NOT_FOUND, "RPC function not found");
    } else if (rc != TV_OK || code != 0) {
        tv_rt_later_error(j->later, TV_RT_ERR_RUNTIME_FUNCTION_EXCEPTION,
                          message ? message : "Error calling the RPC function.");
    } else {
        cJSON *body = cJSON_CreateObject();
        cJSON_AddStringToObject(body, "id", j->id);
        tv_json_add_str(body, "payload", out);
        tv_rt_later_reply(j->later, "rpc", body);
    }
    j->later = NULL; /* answered (reply and error free it) */
    free(out);
    free(message);
    job_free(j);
}

/* Checks the message and builds the job; answers error 3 itself when the id is missing. */
static rpc_job_t *read_job(const tv_rt_msg_t *msg, int *rc)
{
    const char *id = NULL, *payload = NULL;
    *rc = TV_OK;
    if (tv_json_get_str(msg->body, "id", NULL, &id) ||
        tv_json_get_str(msg->body, "payload", NULL, &payload)) {
        *rc = TV_EINVAL; /* a field of the wrong type: rt closes the socket, as Nakama */
        return NULL;
    }
    if (!id || !*id || strlen(id) > RPC_ID_MAX) {
        tv_rt_reply_error(msg->rt, msg->who->session_id, msg->cid, TV_RT_ERR_BAD_INPUT,
                          "RPC ID must be set");
        return NULL;
    }
    rpc_job_t *j = calloc(1, sizeof *j);
    if (!j || !(j->payload = strdup(payload ? payload : ""))) {
        free(j);
        *rc = TV_ENOMEM;
        return NULL;
    }
    for (size_t i = 0; id[i]; i++)
        j->id[i] = (char)tolower((unsigned char)id[i]); /* ids are case-insensitive */
    j->len = strlen(j->payload);
    j->who = *msg->who;
    return j;
}

static int on_rpc(void *ud, const tv_rt_msg_t *msg)
{
    rt_rpc_t *ctx = ud;
    int rc;
    rpc_job_t *j = read_job(msg, &rc);
    if (!j)
        return rc;
    j->registry = ctx->registry;
    j->later = tv_rt_later(msg);
    if (!j->later) {
        job_free(j);
        return TV_ENOMEM;
    }
    rc = tv_workers_submit(ctx->workers, run_rpc, j);
    if (rc != TV_OK) {
        tv_rt_later_error(j->later, TV_RT_ERR_RUNTIME_EXCEPTION, "Server busy, try again.");
        j->later = NULL;
        job_free(j);
    }
    return TV_OK;
}

int tv_mod_rt_register(tv_rt_t *rt, tv_mod_registry_t *registry, tv_workers_t *workers)
{
    rt_rpc_ctx.registry = registry;
    rt_rpc_ctx.workers = workers;
    return tv_rt_register(rt, "rpc", on_rpc, &rt_rpc_ctx);
}
