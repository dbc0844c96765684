/* The console's storage browser (console port, console token): collections with their object
 * counts, a listing across owners filtered by collection, owner and key prefix, and one
 * object read, written and deleted as the server (permissions do not apply to admins; the
 * version still guards a write or delete). Each runs on a worker; app is a tv_app_t with its
 * storage member set. */
#ifndef TV_STORAGE_STORAGE_CONSOLE_H
#define TV_STORAGE_STORAGE_CONSOLE_H

#include "http.h"

#define TV_STORAGE_CONSOLE_LIST_MAX 1000  /* browse and collections limit: 1..1000 */
#define TV_STORAGE_CONSOLE_LIST_DEFAULT 100

/* GET /v2/console/storage/collections ?limit&cursor -> {collections: [{name, count}], cursor} */
void tv_storage_console_collections(tv_http_req_t *req, void *app);
/* GET /v2/console/storage ?collection&user_id&key_prefix&limit&cursor -> {objects, cursor} */
void tv_storage_console_list(tv_http_req_t *req, void *app);
/* GET, PUT and DELETE /v2/console/storage/{collection}/{key}/{user_id} */
void tv_storage_console_get(tv_http_req_t *req, void *app);
void tv_storage_console_put(tv_http_req_t *req, void *app);
void tv_storage_console_delete(tv_http_req_t *req, void *app);

#endif
