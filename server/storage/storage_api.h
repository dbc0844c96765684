/* REST handlers for storage objects: PUT /v2/storage (write), POST /v2/storage (read),
 * PUT /v2/storage/delete and GET /v2/storage/{collection}[/{user_id}] (list). app is a
 * tv_app_t with its storage member set. */
#ifndef TV_STORAGE_STORAGE_API_H
#define TV_STORAGE_STORAGE_API_H

#include "http.h"

void tv_storage_api_write(tv_http_req_t *req, void *app);
void tv_storage_api_read(tv_http_req_t *req, void *app);
void tv_storage_api_delete(tv_http_req_t *req, void *app);
void tv_storage_api_list(tv_http_req_t *req, void *app);

#endif
