/* Unit tests of the pure pieces of the HTTP side: request-head classification, route
 * matching, protojson-style JSON helpers, UTF-8 validation and the error table. */
#include "acceptor.h"
#include "check.h"
#include "error.h"
#include "http_internal.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

static int classify(const char *head)
{
    return tv_acceptor_classify(head, strlen(head), 8192);
}

static void test_classify(void)
{
    CHECK(classify("GET /ws?token=x HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n") == 1);
    CHECK(classify("GET /ws HTTP/1.1\r\nupgrade: WebSocket\r\nConnection: Upgrade\r\n\r\n") == 1);
    CHECK(classify("GET /ws HTTP/1.1\r\nHost: a\r\n\r\n") == 0);      /* no upgrade: REST */
    CHECK(classify("GET /ws?token=x HTTP/1.1\r\nHost: a\r\n") == -1); /* head not complete */
    CHECK(classify("GET /wsx HTTP/1.1\r\nUpgrade: websocket\r\n\r\n") == 0);
    CHECK(classify("POST /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n") == 0);
    CHECK(classify("GET /v2/account HTTP/1.1\r\n") == 0); /* decided on the first line */
    CHECK(classify("GET /v2/acc") == -1);
    CHECK(classify("\x16\x03\x01 binary junk\n") == 0);   /* junk: libmicrohttpd answers */
    char big[100];
    memset(big, 'a', sizeof big);
    CHECK(tv_acceptor_classify(big, sizeof big, sizeof big) == 0); /* full buffer, no line */
}

static const tv_http_route_t routes[] = {
    {"GET", "/v2/account", TV_HTTP_AUTH_SESSION, NULL},
    {"PUT", "/v2/account", TV_HTTP_AUTH_SESSION, NULL},
    {"GET", "/v2/user/{id}/group", TV_HTTP_AUTH_SESSION, NULL},
    {"GET", "/v2/storage/{c}/{u}", TV_HTTP_AUTH_SESSION, NULL},
    {NULL, NULL, 0, NULL},
};

static const tv_http_route_t *find(const char *method, const char *path, tv_http_req_t *req)
{
    memset(req, 0, sizeof *req);
    req->method = (char *)method;
    req->path = (char *)path;
    return tv_http_route_find(routes, req);
}

static void free_params(tv_http_req_t *req)
{
    for (int i = 0; i < TV_HTTP_MAX_PARAMS; i++)
        free(req->params[i]);
}

static void test_routes(void)
{
    tv_http_req_t req;
    CHECK(find("GET", "/v2/account", &req) == &routes[0]);
    CHECK(find("PUT", "/v2/account", &req) == &routes[1]);
    CHECK(find("DELETE", "/v2/account", &req) == NULL && req.method_mismatch);
    CHECK(find("GET", "/v2/accounts", &req) == NULL && !req.method_mismatch);
    CHECK(find("GET", "/v2/user/abc/group", &req) == &routes[2]);
    CHECK(req.params[0] && strcmp(req.params[0], "abc") == 0);
    free_params(&req);
    CHECK(find("GET", "/v2/user//group", &req) == NULL); /* empty segment */
    CHECK(find("GET", "/v2/storage/coll/owner", &req) == &routes[3]);
    CHECK(strcmp(req.params[0], "coll") == 0 && strcmp(req.params[1], "owner") == 0);
    free_params(&req);
    CHECK(find("GET", "/v2/storage/coll/owner/extra", &req) == NULL);
}

static void test_json(void)
{
    cJSON *in = cJSON_Parse("{\"display_name\":\"a\",\"langTag\":\"fr\",\"n\":1,\"vars\":"
                            "{\"k\":\"v\"},\"bad\":{\"k\":1},\"nul\":null,\"b\":\"true\"}");
    const char *s;
    CHECK(tv_json_get_str(in, "display_name", "displayName", &s) == TV_OK && strcmp(s, "a") == 0);
    CHECK(tv_json_get_str(in, "lang_tag", "langTag", &s) == TV_OK && strcmp(s, "fr") == 0);
    CHECK(tv_json_get_str(in, "n", NULL, &s) == TV_EINVAL);
    CHECK(tv_json_get_str(in, "nul", NULL, &s) == TV_OK && s == NULL);
    CHECK(tv_json_get_str(in, "absent", NULL, &s) == TV_OK && s == NULL);
    const cJSON *m;
    CHECK(tv_json_get_str_map(in, "vars", NULL, &m) == TV_OK && m);
    CHECK(tv_json_get_str_map(in, "bad", NULL, &m) == TV_EINVAL);
    int b = 0, set = 0;
    CHECK(tv_json_get_bool(in, "b", NULL, &b, &set) == TV_OK && b && set);
    cJSON_Delete(in);

    cJSON *out = cJSON_CreateObject();
    tv_json_add_str(out, "empty", "");
    tv_json_add_bool(out, "f", 0);
    tv_json_add_int(out, "zero", 0);
    tv_json_add_int64(out, "score", 9007199254740993LL);
    tv_json_add_time(out, "t", 1714557600);
    char *txt = cJSON_PrintUnformatted(out);
    CHECK(strcmp(txt, "{\"score\":\"9007199254740993\",\"t\":\"2024-05-01T10:00:00Z\"}") == 0);
    free(txt);
    cJSON_Delete(out);
}

static void test_utf8_and_errors(void)
{
    CHECK(tv_utf8_valid("plain ascii"));
    CHECK(tv_utf8_valid("caf\xc3\xa9 \xf0\x9f\x8e\xae"));
    CHECK(!tv_utf8_valid("\xc3"));          /* truncated */
    CHECK(!tv_utf8_valid("\xc0\xaf"));      /* overlong */
    CHECK(!tv_utf8_valid("\xed\xa0\x80"));  /* surrogate */
    CHECK(!tv_utf8_valid("\xff"));
    CHECK(tv_error_http(TV_EINVAL) == 400 && tv_error_grpc(TV_EINVAL) == 3);
    CHECK(tv_error_http(TV_EUNAUTH) == 401 && tv_error_grpc(TV_EUNAUTH) == 16);
    CHECK(tv_error_http(TV_EPERM) == 403 && tv_error_http(TV_ENOTFOUND) == 404);
    CHECK(tv_error_http(TV_ECONFLICT) == 409 && tv_error_http(TV_EBUSY) == 429);
    CHECK(tv_error_http(TV_EUNIMPL) == 501 && tv_error_http(TV_EUNAVAIL) == 503);
    CHECK(tv_error_grpc_to_http(4) == 504 && tv_error_grpc_to_http(1) == 499);
}

int main(void)
{
    test_classify();
    test_routes();
    test_json();
    test_utf8_and_errors();
    return check_summary();
}
