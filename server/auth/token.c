/* Session, refresh and console tokens (HS256 JWT). Decoding is libjwt's. Encoding builds the
 * claims with cJSON and signs with libsodium's HMAC-SHA256, because libjwt serialises claims
 * with jansson, which cannot escape the characters nakama-js 2.8's atob drops from base64url
 * (see ../shared/spec/nakama-compat.md section 2). */
#include "token.h"
#include "error.h"

#include <cjson/cJSON.h>
#include <jwt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char jwt_header_b64[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"; /* HS256, JWT */

/* Appends the \uXXXX form of code point cp (with a surrogate pair above U+FFFF). */
static size_t put_escape(char *o, unsigned cp)
{
    if (cp < 0x10000)
        return (size_t)sprintf(o, "\\u%04x", cp);
    cp -= 0x10000;
    return (size_t)sprintf(o, "\\u%04x\\u%04x", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
}

/* Decodes one UTF-8 sequence at s (already valid: cJSON produced it from checked input). */
static unsigned utf8_next(const unsigned char *s, size_t *len)
{
    if (s[0] < 0xe0 && s[1]) {
        *len = 2;
        return ((s[0] & 0x1fu) << 6) | (s[1] & 0x3fu);
    }
    if (s[0] < 0xf0 && s[1] && s[2]) {
        *len = 3;
        return ((s[0] & 0x0fu) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu);
    }
    if (s[1] && s[2] && s[3]) {
        *len = 4;
        return ((s[0] & 0x07u) << 18) | ((s[1] & 0x3fu) << 12) | ((s[2] & 0x3fu) << 6) |
               (s[3] & 0x3fu);
    }
    *len = 1;
    return 0xfffd;
}

/* Escapes '>', '?', '~', DEL and every non-ASCII character: the only bytes whose low six bits
 * can encode to base64url's '-' or '_'. They can only occur inside JSON strings, where a
 * \u escape means the same. Returns a new string. */
static char *ascii_safe(const char *json)
{
    char *out = malloc(strlen(json) * 12 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)json; *p;) {
        size_t len = 1;
        if (*p >= 0x80)
            o += put_escape(out + o, utf8_next(p, &len));
        else if (*p == '>' || *p == '?' || *p == '~' || *p == 0x7f)
            o += put_escape(out + o, *p);
        else
            out[o++] = (char)*p;
        p += len;
    }
    out[o] = 0;
    return out;
}

static int add_vars(cJSON *claims, const char *vrs)
{
    if (!vrs || !*vrs || strcmp(vrs, "{}") == 0)
        return TV_OK;
    cJSON *v = cJSON_Parse(vrs);
    if (!cJSON_IsObject(v)) {
        cJSON_Delete(v);
        return TV_EINVAL;
    }
    for (cJSON *e = v->child; e; e = e->next)
        if (!cJSON_IsString(e)) {
            cJSON_Delete(v);
            return TV_EINVAL;
        }
    if (v->child)
        cJSON_AddItemToObject(claims, "vrs", v);
    else
        cJSON_Delete(v);
    return TV_OK;
}

static char *claims_json(const tv_token_claims_t *c, int *rc)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        *rc = TV_ENOMEM;
        return NULL;
    }
    if (c->tid[0])
        cJSON_AddStringToObject(o, "tid", c->tid);
    if (c->uid[0])
        cJSON_AddStringToObject(o, "uid", c->uid);
    if (c->usn[0])
        cJSON_AddStringToObject(o, "usn", c->usn);
    *rc = add_vars(o, c->vrs);
    cJSON_AddNumberToObject(o, "exp", (double)c->exp);
    cJSON_AddNumberToObject(o, "iat", (double)c->iat);
    char *s = *rc ? NULL : cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s && !*rc)
        *rc = TV_ENOMEM;
    return s;
}

static void b64url(const unsigned char *bin, size_t n, char *out, size_t outlen)
{
    sodium_bin2base64(out, outlen, bin, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* Signs the JSON text payload (ASCII) into a JWT; *out is owned by the caller. */
static int sign_payload(const char *key, const char *payload, char **out)
{
    size_t plen = strlen(payload);
    size_t b64len = sodium_base64_ENCODED_LEN(plen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    size_t total = sizeof jwt_header_b64 + b64len + 1 +
                   sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *jwt = malloc(total);
    if (!jwt)
        return TV_ENOMEM;
    size_t n = (size_t)sprintf(jwt, "%s.", jwt_header_b64);
    b64url((const unsigned char *)payload, plen, jwt + n, total - n);
    n += strlen(jwt + n);

    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)jwt, n);
    crypto_auth_hmacsha256_final(&st, mac);
    jwt[n++] = '.';
    b64url(mac, sizeof mac, jwt + n, total - n);
    *out = jwt;
    return TV_OK;
}

int tv_token_encode(const char *key, const tv_token_claims_t *c, char **out)
{
    int rc;
    char *raw = claims_json(c, &rc);
    if (!raw)
        return rc;
    char *payload = ascii_safe(raw);
    free(raw);
    if (!payload)
        return TV_ENOMEM;
    rc = sign_payload(key, payload, out);
    free(payload);
    return rc;
}

int tv_token_match_encode(const char *key, const char *match_id, int64_t exp, char **out)
{
    cJSON *o = cJSON_CreateObject();
    char *payload = NULL;
    if (o && cJSON_AddStringToObject(o, "mid", match_id) &&
        cJSON_AddNumberToObject(o, "exp", (double)exp))
        payload = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!payload)
        return TV_ENOMEM;
    int rc = sign_payload(key, payload, out); /* a match id is ASCII: nothing to escape */
    cJSON_free(payload);
    return rc;
}

static void copy_grant(jwt_t *j, const char *name, char *dst, size_t cap)
{
    const char *v = jwt_get_grant(j, name);
    dst[0] = 0;
    if (v && strlen(v) < cap)
        memcpy(dst, v, strlen(v) + 1);
}

int tv_token_decode(const char *key, const char *jwt, int64_t now, tv_token_claims_t *out)
{
    memset(out, 0, sizeof *out);
    if (!jwt || !*jwt || !key || !*key)
        return TV_EUNAUTH;
    jwt_t *j = NULL;
    /* Always pass the key: with none, libjwt 1.10 would accept alg "none". */
    if (jwt_decode(&j, jwt, (const unsigned char *)key, (int)strlen(key)) != 0 || !j)
        return TV_EUNAUTH;
    int rc = TV_EUNAUTH;
    if (jwt_get_alg(j) != JWT_ALG_HS256)
        goto done;
    out->exp = jwt_get_grant_int(j, "exp");
    out->iat = jwt_get_grant_int(j, "iat");
    if (out->exp <= now) /* absent exp reads as 0: refused too */
        goto done;
    copy_grant(j, "tid", out->tid, sizeof out->tid);
    copy_grant(j, "uid", out->uid, sizeof out->uid);
    copy_grant(j, "usn", out->usn, sizeof out->usn);
    out->vrs = jwt_get_grants_json(j, "vrs");
    rc = TV_OK;
done:
    jwt_free(j);
    return rc;
}

int tv_token_match_decode(const char *key, const char *jwt, int64_t now, char *match_id,
                          size_t size)
{
    if (!jwt || !*jwt || !key || !*key || !size)
        return TV_EUNAUTH;
    jwt_t *j = NULL;
    if (jwt_decode(&j, jwt, (const unsigned char *)key, (int)strlen(key)) != 0 || !j)
        return TV_EUNAUTH;
    int rc = TV_EUNAUTH;
    const char *mid = jwt_get_grant(j, "mid");
    if (jwt_get_alg(j) == JWT_ALG_HS256 && jwt_get_grant_int(j, "exp") > now && mid &&
        *mid && strlen(mid) < size) {
        memcpy(match_id, mid, strlen(mid) + 1);
        rc = TV_OK;
    }
    jwt_free(j);
    return rc;
}

void tv_token_claims_free(tv_token_claims_t *c)
{
    free(c->vrs);
    c->vrs = NULL;
}
