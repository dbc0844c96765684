/* The console's economy routes: a user's wallet and inventory, ledger and receipts; grants
 * and revokes with a reason; refunds of a receipt. The admin named in the ledger is the
 * console token's user. Run on the worker pool like every handler. */
#include "admin_api.h"
#include "shop_api.h"
#include "admin.h"
#include "app.h"
#include "error.h"
#include "json.h"
#include "util.h"
#include "tavern/module.h"

#include <stdio.h>
#include <string.h>

static struct tv_db *db_of(void *app)
{
    return ((tv_app_t *)app)->db;
}

/* The {user_id} of the path when it is an account; otherwise answers 400 or 404 and
 * returns NULL. */
static const char *known_user(tv_http_req_t *req, void *app)
{
    const char *uid = tv_http_param(req, 0);
    if (!uid || !tv_uuid_valid(uid)) {
        tv_http_error(req, TV_EINVAL, "Invalid user id: not a UUID.");
        return NULL;
    }
    int rc = tv_econ_user_exists(db_of(app), uid);
    if (rc == 1)
        return uid;
    if (rc == 0)
        tv_http_error(req, TV_ENOTFOUND, "User not found.");
    else
        tv_http_db_error(req, rc);
    return NULL;
}

void tv_econ_console_view(tv_http_req_t *req, void *app)
{
    cJSON *out = NULL;
    tv_wallet_err_t err;
    int rc = tv_econ_view(db_of(app), tv_http_param(req, 0), &out, &err);
    if (rc)
        tv_econ_http_error(req, rc, &err);
    else
        tv_http_reply_json(req, out);
}

void tv_econ_console_ledger(tv_http_req_t *req, void *app)
{
    int limit;
    const char *uid = known_user(req, app);
    if (!uid || tv_http_query_limit(req, 10, TV_WALLET_LEDGER_LIST_MAX, &limit))
        return;
    cJSON *out = NULL;
    tv_wallet_err_t err;
    int rc = tv_wallet_ledger_list(db_of(app), uid, limit, tv_http_query(req, "cursor", NULL),
                                   &out, &err);
    if (rc == TV_EINVAL)
        tv_http_error(req, rc, "Invalid cursor.");
    else if (rc)
        tv_http_db_error(req, rc);
    else
        tv_http_reply_json(req, out);
}

void tv_econ_console_receipts(tv_http_req_t *req, void *app)
{
    int limit;
    const char *uid = known_user(req, app);
    if (!uid || tv_http_query_limit(req, 10, TV_ECON_RECEIPT_LIST_MAX, &limit))
        return;
    cJSON *out = NULL;
    tv_wallet_err_t err;
    int rc = tv_econ_receipts(db_of(app), uid, limit, tv_http_query(req, "cursor", NULL), &out,
                              &err);
    if (rc)
        tv_econ_http_error(req, rc, &err);
    else
        tv_http_reply_json(req, out);
}

static void grant_or_revoke(tv_http_req_t *req, void *app, int revoke)
{
    cJSON *b = tv_http_body_json(req);
    if (!b)
        return;
    const char *uid = tv_http_param(req, 0);
    if (!uid || !tv_uuid_valid(uid)) {
        tv_http_error(req, TV_EINVAL, "Invalid user id: not a UUID.");
        return;
    }
    tv_econ_change_t c;
    tv_wallet_err_t err;
    cJSON *out = NULL;
    int rc = tv_econ_change_parse(b, revoke, &c, &err);
    if (rc == TV_OK)
        rc = tv_econ_apply(db_of(app), uid, &c, tv_http_claims(req)->usn, &out, &err);
    if (rc)
        tv_econ_http_error(req, rc, &err);
    else
        tv_http_reply_json(req, out);
}

void tv_econ_console_grant(tv_http_req_t *req, void *app)
{
    grant_or_revoke(req, app, 0);
}

void tv_econ_console_revoke(tv_http_req_t *req, void *app)
{
    grant_or_revoke(req, app, 1);
}

/* Reads {"reason", "force"} (no other members): TV_OK, or TV_EINVAL with err->msg. */
static int refund_body(const cJSON *b, const char **reason, int *force, tv_wallet_err_t *err)
{
    memset(err, 0, sizeof *err);
    err->why = TV_WALLET_EBAD;
    for (const cJSON *m = b->child; m; m = m->next)
        if (strcmp(m->string, "reason") && strcmp(m->string, "force")) {
            snprintf(err->msg, sizeof err->msg, "unknown field %.64s: reason and force only",
                     m->string);
            return TV_EINVAL;
        }
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(b, "reason");
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(b, "force");
    if (f && !cJSON_IsNull(f) && !cJSON_IsBool(f)) {
        snprintf(err->msg, sizeof err->msg, "force must be true or false");
        return TV_EINVAL;
    }
    *reason = cJSON_IsString(r) ? r->valuestring : NULL; /* tv_econ_refund checks it */
    *force = cJSON_IsTrue(f);
    return TV_OK;
}

void tv_econ_console_refund(tv_http_req_t *req, void *app)
{
    cJSON *b = tv_http_body_json(req);
    if (!b)
        return;
    const char *reason = NULL;
    int force = 0;
    tv_wallet_err_t err;
    cJSON *out = NULL;
    int rc = refund_body(b, &reason, &force, &err);
    if (rc == TV_OK)
        rc = tv_econ_refund(((tv_app_t *)app)->shop, tv_http_param(req, 0), reason,
                            tv_http_claims(req)->usn, force, &out, &err);
    if (rc)
        tv_econ_http_error(req, rc, &err);
    else
        tv_http_reply_json(req, out);
}
