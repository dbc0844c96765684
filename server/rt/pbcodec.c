/* The protobuf codec: protobuf-c messages converted to and from cJSON by walking the generated
 * descriptors, so every message of api/proto is covered by one set of rules (protojson's, with
 * proto names) and a field added to the .proto needs no code here. */
#include "rt/pbcodec.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "realtime.pb-c.h"

#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_DEPTH 16 /* Nakama's messages nest 4 deep; anything deeper is not ours */

/* ---- well-known types -------------------------------------------------------------------- */

static int is_timestamp(const ProtobufCMessageDescriptor *d)
{
    return strcmp(d->name, "google.protobuf.Timestamp") == 0;
}

/* A wrapper message (google.protobuf.*Value): JSON is its bare `value`. */
static int is_wrapper(const ProtobufCMessageDescriptor *d)
{
    return strncmp(d->name, "google.protobuf.", 16) == 0 && d->n_fields == 1 &&
           strcmp(d->fields[0].name, "value") == 0;
}

/* A map's entry message: protoc makes one named <Field>Entry with key = 1 and value = 2. */
static int is_map_entry(const ProtobufCFieldDescriptor *f)
{
    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
        return 0;
    const ProtobufCMessageDescriptor *d = f->descriptor;
    size_t n = strlen(d->short_name);
    return n > 5 && strcmp(d->short_name + n - 5, "Entry") == 0 && d->n_fields == 2 &&
           d->fields[0].id == 1 && strcmp(d->fields[0].name, "key") == 0 &&
           d->fields[0].type == PROTOBUF_C_TYPE_STRING && d->fields[1].id == 2;
}

/* RFC 3339 as protojson writes it: no fraction, or 3, 6 or 9 digits; always Z. */
static void time_format(int64_t seconds, int32_t nanos, char out[40])
{
    struct tm tm;
    time_t t = (time_t)seconds;
    gmtime_r(&t, &tm);
    int n = snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (nanos > 0 && nanos < 1000000000) {
        if (nanos % 1000000 == 0)
            n += snprintf(out + n, (size_t)(40 - n), ".%03d", nanos / 1000000);
        else if (nanos % 1000 == 0)
            n += snprintf(out + n, (size_t)(40 - n), ".%06d", nanos / 1000);
        else
            n += snprintf(out + n, (size_t)(40 - n), ".%09d", nanos);
    }
    snprintf(out + n, (size_t)(40 - n), "Z");
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm)". Returns 0 or -1. */
static int time_parse(const char *s, int64_t *seconds, int32_t *nanos)
{
    int y, mo, d, h, mi, se, oh = 0, om = 0;
    if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
        s[7] != '-' || digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
        digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
        digits(s + 17, 2, &se))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    const char *p = s + 19;
    int32_t ns = 0;
    if (*p == '.') {
        int nd = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, nd++)
            if (nd < 9)
                ns = ns * 10 + (*p - '0');
        if (nd == 0)
            return -1;
        for (; nd < 9; nd++)
            ns *= 10;
    }
    int sign = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                    .tm_min = mi, .tm_sec = se};
    *seconds = (int64_t)timegm(&tm) - sign * (oh * 3600 + om * 60);
    *nanos = ns;
    return 0;
}

/* ---- protobuf -> JSON -------------------------------------------------------------------- */

static int utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p, n;
        if (c < 0x80) {
            p++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
        } else {
            return 0;
        }
        unsigned cp = c & (0x3f >> n);
        for (unsigned i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
        p += n + 1;
    }
    return 1;
}

static cJSON *msg_to_json(const ProtobufCMessage *m, int depth);

/* The JSON of one value of field f stored at p; NULL on no memory or a bad string. */
static cJSON *value_to_json(const ProtobufCFieldDescriptor *f, const void *p, int depth)
{
    char num[32];
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM: /* Nakama's JSON writes enum numbers */
        return cJSON_CreateNumber(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return cJSON_CreateNumber(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(num, sizeof num, "%lld", (long long)*(const int64_t *)p);
        return cJSON_CreateString(num);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(num, sizeof num, "%llu", (unsigned long long)*(const uint64_t *)p);
        return cJSON_CreateString(num);
    case PROTOBUF_C_TYPE_FLOAT:
        return cJSON_CreateNumber(*(const float *)p);
    case PROTOBUF_C_TYPE_DOUBLE:
        return cJSON_CreateNumber(*(const double *)p);
    case PROTOBUF_C_TYPE_BOOL:
        return cJSON_CreateBool(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        return utf8_ok(s ? s : "") ? cJSON_CreateString(s ? s : "") : NULL;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        size_t n = sodium_base64_encoded_len(b->len, sodium_base64_VARIANT_ORIGINAL);
        char *t = malloc(n);
        if (!t)
            return NULL;
        sodium_bin2base64(t, n, b->data, b->len, sodium_base64_VARIANT_ORIGINAL);
        cJSON *j = cJSON_CreateString(t);
        free(t);
        return j;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        return msg_to_json(*(ProtobufCMessage *const *)p, depth + 1);
    }
    return NULL;
}

/* Whether a proto3 singular scalar holds its zero value (protojson leaves it out). */
static int scalar_is_zero(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return *(const uint64_t *)p == 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *)p == 0;
    case PROTOBUF_C_TYPE_FLOAT:
        return *(const float *)p == 0;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        return !s || !*s;
    }
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)p)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(ProtobufCMessage *const *)p == NULL;
    default: /* the 32-bit kinds and bool */
        return *(const uint32_t *)p == 0;
    }
}

static size_t elem_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    default:
        return 4;
    }
}

/* A repeated field: an array, or an object for a map. NULL on failure. */
static cJSON *repeated_to_json(const ProtobufCFieldDescriptor *f, const ProtobufCMessage *m,
                               size_t n, int depth)
{
    const char *arr = *(char *const *)((const char *)m + f->offset);
    int map = is_map_entry(f);
    cJSON *out = map ? cJSON_CreateObject() : cJSON_CreateArray();
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const void *p = arr + i * elem_size(f);
        if (map) {
            const ProtobufCMessage *e = *(ProtobufCMessage *const *)p;
            const ProtobufCMessageDescriptor *ed = e->descriptor;
            const char *key = *(char *const *)((const char *)e + ed->fields[0].offset);
            cJSON *v = value_to_json(&ed->fields[1], (const char *)e + ed->fields[1].offset,
                                     depth + 1);
            if (!v || !utf8_ok(key)) {
                cJSON_Delete(v);
                goto fail;
            }
            cJSON_DeleteItemFromObjectCaseSensitive(out, key); /* the last one wins */
            cJSON_AddItemToObject(out, key, v);
        } else {
            cJSON *v = value_to_json(f, p, depth);
            if (!v)
                goto fail;
            cJSON_AddItemToArray(out, v);
        }
    }
    return out;
fail:
    cJSON_Delete(out);
    return NULL;
}

static cJSON *msg_to_json(const ProtobufCMessage *m, int depth)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    char t[40];

    if (depth > MAX_DEPTH)
        return NULL;
    if (is_timestamp(d)) {
        const Google__Protobuf__Timestamp *ts = (const Google__Protobuf__Timestamp *)m;
        time_format(ts->seconds, ts->nanos, t);
        return cJSON_CreateString(t);
    }
    if (is_wrapper(d)) /* the bare value, zero or not */
        return value_to_json(&d->fields[0], (const char *)m + d->fields[0].offset, depth);
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const void *p = (const char *)m + f->offset;
        cJSON *v;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
            if (!n)
                continue;
            v = repeated_to_json(f, m, n, depth);
        } else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (*(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id)
                continue;
            v = value_to_json(f, p, depth);
        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_MESSAGE &&
                   f->type != PROTOBUF_C_TYPE_STRING) {
            if (!*(const protobuf_c_boolean *)((const char *)m + f->quantifier_offset))
                continue;
            v = value_to_json(f, p, depth);
        } else {
            if (scalar_is_zero(f, p))
                continue;
            v = value_to_json(f, p, depth);
        }
        if (!v) {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToObject(o, f->name, v);
    }
    return o;
}

cJSON *tv_rt_pb_to_json(const void *data, size_t len)
{
    Nakama__Realtime__Envelope *env =
        nakama__realtime__envelope__unpack(NULL, len, (const uint8_t *)data);
    if (!env)
        return NULL;
    cJSON *o = msg_to_json(&env->base, 0);
    /* a message this schema does not know: the JSON path names it, and so do we */
    if (o && env->message_case == NAKAMA__REALTIME__ENVELOPE__MESSAGE__NOT_SET &&
        env->base.n_unknown_fields && !cJSON_AddObjectToObject(o, TV_RT_PB_UNKNOWN)) {
        cJSON_Delete(o);
        o = NULL;
    }
    nakama__realtime__envelope__free_unpacked(env, NULL);
    return o;
}

/* ---- JSON -> protobuf -------------------------------------------------------------------- */

typedef struct enc {
    int strict;
    char *why; /* 160 bytes, or NULL */
} enc_t;

static int bad(enc_t *e, const char *what, const char *name)
{
    if (e->why)
        snprintf(e->why, 160, "%s: %s", name, what);
    return TV_EINVAL;
}

static int json_int(const cJSON *v, double lo, double hi, int64_t *out)
{
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!(d >= lo && d <= hi) || floor(d) != d)
            return -1;
        *out = (int64_t)d;
        return 0;
    }
    if (!cJSON_IsString(v) || !*v->valuestring)
        return -1;
    char *end;
    errno = 0;
    long long x = strtoll(v->valuestring, &end, 10);
    if (errno || *end || (double)x < lo || (double)x > hi)
        return -1;
    *out = x;
    return 0;
}

static int json_uint64(const cJSON *v, uint64_t *out)
{
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!(d >= 0 && d <= 1.8e19) || floor(d) != d)
            return -1;
        *out = (uint64_t)d;
        return 0;
    }
    if (!cJSON_IsString(v) || !*v->valuestring || *v->valuestring == '-')
        return -1;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v->valuestring, &end, 10);
    if (errno || *end)
        return -1;
    *out = x;
    return 0;
}

static int msg_from_json(enc_t *e, const ProtobufCMessageDescriptor *d, const cJSON *j,
                         ProtobufCMessage **out, int depth);

/* Base64 in any of protojson's accepted forms into b. 0, -1 bad text, TV_ENOMEM. */
static int bytes_from_json(const char *s, ProtobufCBinaryData *b)
{
    unsigned char *data;
    size_t len;
    int rc = tv_json_b64_decode(s, &data, &len);
    if (rc != TV_OK)
        return rc == TV_EINVAL ? -1 : rc;
    b->data = data;
    b->len = len;
    return 0;
}

/* Stores the JSON value v of field f at p (an element or the field itself). */
static int value_from_json(enc_t *e, const ProtobufCFieldDescriptor *f, const cJSON *v,
                           void *p, int depth)
{
    int64_t i;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        if (json_int(v, -2147483648.0, 2147483647.0, &i))
            return bad(e, "not an int32", f->name);
        *(int32_t *)p = (int32_t)i;
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (json_int(v, 0, 4294967295.0, &i))
            return bad(e, "not a uint32", f->name);
        *(uint32_t *)p = (uint32_t)i;
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (json_int(v, -9223372036854775808.0, 9223372036854775807.0, &i))
            return bad(e, "not an int64", f->name);
        *(int64_t *)p = i;
        return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (json_uint64(v, (uint64_t *)p))
            return bad(e, "not a uint64", f->name);
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: {
        double x;
        if (cJSON_IsNumber(v))
            x = v->valuedouble;
        else if (cJSON_IsString(v) && strcmp(v->valuestring, "NaN") == 0)
            x = NAN;
        else if (cJSON_IsString(v) && strcmp(v->valuestring, "Infinity") == 0)
            x = INFINITY;
        else if (cJSON_IsString(v) && strcmp(v->valuestring, "-Infinity") == 0)
            x = -INFINITY;
        else
            return bad(e, "not a number", f->name);
        if (f->type == PROTOBUF_C_TYPE_FLOAT)
            *(float *)p = (float)x;
        else
            *(double *)p = x;
        return 0;
    }
    case PROTOBUF_C_TYPE_BOOL:
        if (!cJSON_IsBool(v))
            return bad(e, "not a bool", f->name);
        *(protobuf_c_boolean *)p = cJSON_IsTrue(v);
        return 0;
    case PROTOBUF_C_TYPE_STRING: {
        if (!cJSON_IsString(v))
            return bad(e, "not a string", f->name);
        char *s = strdup(v->valuestring);
        if (!s)
            return TV_ENOMEM;
        *(char **)p = s;
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        if (!cJSON_IsString(v))
            return bad(e, "not base64", f->name);
        int rc = bytes_from_json(v->valuestring, p);
        return rc == -1 ? bad(e, "not base64", f->name) : rc;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        return msg_from_json(e, f->descriptor, v, (ProtobufCMessage **)p, depth + 1);
    }
    return bad(e, "unknown type", f->name);
}

/* A new, initialised message of descriptor d, or NULL. */
static ProtobufCMessage *msg_new(const ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *m = calloc(1, d->sizeof_message);
    if (m)
        d->message_init(m);
    return m;
}

static int repeated_from_json(enc_t *e, const ProtobufCFieldDescriptor *f, const cJSON *v,
                              ProtobufCMessage *m, int depth)
{
    int map = is_map_entry(f);
    if (map ? !cJSON_IsObject(v) : !cJSON_IsArray(v))
        return bad(e, map ? "not an object" : "not an array", f->name);
    size_t n = (size_t)cJSON_GetArraySize(v);
    size_t *count = (size_t *)((char *)m + f->quantifier_offset);
    char **arr = (char **)((char *)m + f->offset);
    if (!n)
        return 0;
    if (!(*arr = calloc(n, elem_size(f))))
        return TV_ENOMEM;
    const cJSON *it = v->child;
    for (size_t i = 0; i < n; i++, it = it->next) {
        void *p = *arr + i * elem_size(f);
        int rc;
        if (map) {
            const ProtobufCMessageDescriptor *ed = f->descriptor;
            ProtobufCMessage *entry = msg_new(ed);
            if (!entry)
                return TV_ENOMEM;
            *(ProtobufCMessage **)p = entry;
            *count = i + 1;
            char *key = strdup(it->string);
            if (!key)
                return TV_ENOMEM;
            *(char **)((char *)entry + ed->fields[0].offset) = key;
            rc = value_from_json(e, &ed->fields[1], it, (char *)entry + ed->fields[1].offset,
                                 depth + 1);
        } else {
            rc = value_from_json(e, f, it, p, depth);
            *count = i + 1;
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int fields_from_json(enc_t *e, const ProtobufCMessageDescriptor *d, const cJSON *j,
                            ProtobufCMessage *m, int depth)
{
    for (const cJSON *it = j->child; it; it = it->next) {
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(d, it->string);
        if (!f) {
            if (e->strict)
                return bad(e, "no such field", it->string);
            continue;
        }
        if (cJSON_IsNull(it))
            continue; /* protojson: null is the default value */
        void *p = (char *)m + f->offset;
        int rc;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            if (*(size_t *)((char *)m + f->quantifier_offset))
                return bad(e, "given twice", f->name);
            rc = repeated_from_json(e, f, it, m, depth);
        } else {
            uint32_t *which = f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF
                                  ? (uint32_t *)((char *)m + f->quantifier_offset) : NULL;
            if (which && *which)
                return bad(e, "another member of its oneof is set", f->name);
            if (f->type == PROTOBUF_C_TYPE_MESSAGE && *(ProtobufCMessage **)p)
                return bad(e, "given twice", f->name);
            /* the case first: free_unpacked frees a oneof member only when its case is set,
             * and a member that fails half-way must still be freed */
            if (which)
                *which = f->id;
            rc = value_from_json(e, f, it, p, depth);
            if (rc == 0 && !which && f->label == PROTOBUF_C_LABEL_OPTIONAL &&
                     f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING)
                *(protobuf_c_boolean *)((char *)m + f->quantifier_offset) = 1;
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int msg_from_json(enc_t *e, const ProtobufCMessageDescriptor *d, const cJSON *j,
                         ProtobufCMessage **out, int depth)
{
    int rc;
    if (depth > MAX_DEPTH)
        return bad(e, "nested too deep", d->short_name);
    ProtobufCMessage *m = msg_new(d);
    if (!m)
        return TV_ENOMEM;
    *out = m; /* the caller's free_unpacked frees it, whole or not */
    if (is_timestamp(d)) {
        Google__Protobuf__Timestamp *ts = (Google__Protobuf__Timestamp *)m;
        if (!cJSON_IsString(j) || time_parse(j->valuestring, &ts->seconds, &ts->nanos))
            return bad(e, "not an RFC 3339 time", d->short_name);
        return 0;
    }
    if (is_wrapper(d))
        return value_from_json(e, &d->fields[0], j, (char *)m + d->fields[0].offset, depth);
    if (!cJSON_IsObject(j))
        return bad(e, "not an object", d->short_name);
    rc = fields_from_json(e, d, j, m, depth);
    return rc;
}

int tv_rt_pb_from_json(const cJSON *env, int strict, uint8_t **out, size_t *len, char *why)
{
    enc_t e = {strict, why};
    ProtobufCMessage *m = NULL;
    *out = NULL;
    *len = 0;
    if (why)
        *why = 0;
    int rc = msg_from_json(&e, &nakama__realtime__envelope__descriptor, env, &m, 0);
    if (rc == 0) {
        size_t n = protobuf_c_message_get_packed_size(m);
        *out = malloc(n ? n : 1);
        if (*out) {
            *len = protobuf_c_message_pack(m, *out);
        } else {
            rc = TV_ENOMEM;
        }
    }
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

int tv_rt_pb_from_text(const char *json, size_t json_len, uint8_t **out, size_t *len)
{
    cJSON *env = cJSON_ParseWithLength(json, json_len);
    if (!env) {
        *out = NULL;
        *len = 0;
        return TV_EINVAL; /* or no memory: either way nothing to send */
    }
    /* strict first, so a member the schema lacks is seen in the log rather than lost unseen */
    char why[160];
    int rc = tv_rt_pb_from_json(env, 1, out, len, why);
    if (rc == TV_EINVAL) {
        tv_log_warn("rt", "protobuf encoding left out what the schema lacks (%s)", why);
        rc = tv_rt_pb_from_json(env, 0, out, len, NULL);
    }
    cJSON_Delete(env);
    return rc;
}
