/* The protobuf codec of the realtime layer: Nakama's binary Envelope (api/proto/realtime.proto)
 * converted to and from the JSON envelope object the rest of the realtime code works on, so
 * handlers and pushes never know which format a session speaks. Both directions follow
 * protojson with proto names, as Nakama's JSON format does: int64 as decimal strings, bytes as
 * standard base64, wrappers as bare values, Timestamps as RFC 3339 strings, maps as objects,
 * zero values left out. */
#ifndef TV_RT_PBCODEC_H
#define TV_RT_PBCODEC_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* The member a decoded envelope gets when its message is a field this schema does not know:
 * no handler has that name, so the session hears "Unrecognized message." as for JSON. */
#define TV_RT_PB_UNKNOWN "?"

/* Decodes one protobuf Envelope into a new JSON envelope object (cJSON_Delete), the object
 * cJSON_Parse makes of the same envelope in JSON. NULL when the bytes are not an Envelope
 * (malformed, a string that is not UTF-8) or on no memory: the caller answers as for text
 * that is not JSON. */
cJSON *tv_rt_pb_to_json(const void *data, size_t len);

/* Encodes a JSON envelope object as protobuf bytes, malloc'd into *out (free). With strict,
 * a member the schema lacks is an error (the tests' check that the schema covers every
 * message); otherwise it is skipped. A value of the wrong type is always an error. Returns 0,
 * TV_EINVAL (why, when not NULL, names the member: 160 bytes) or TV_ENOMEM. */
int tv_rt_pb_from_json(const cJSON *env, int strict, uint8_t **out, size_t *len, char *why);

/* As tv_rt_pb_from_json (not strict) from JSON text. */
int tv_rt_pb_from_text(const char *json, size_t json_len, uint8_t **out, size_t *len);

#endif
