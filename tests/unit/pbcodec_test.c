/* The realtime protobuf codec: every envelope message the server sends or accepts goes JSON ->
 * protobuf -> JSON and comes back equal; the wire form is checked where JSON and protobuf
 * differ (int64, bytes, wrappers, timestamps, maps); and truncated, flipped and random frames
 * are decoded without a crash (run it under ASan). */
#include "check.h"
#include "error.h"
#include "realtime.pb-c.h"
#include "rt/pbcodec.h"

#include <stdlib.h>
#include <string.h>

#define P1 "{'user_id':'8d7b3c1e-0e4f-4a55-9c1e-2b1d6f1a9e01','session_id':" \
           "'f0e1d2c3-b4a5-4968-8776-655443322110','username':'alice','persistence':true}"
#define P2 "{'user_id':'1a2b3c4d-0e4f-4a55-9c1e-2b1d6f1a9e02','session_id':" \
           "'0a1b2c3d-b4a5-4968-8776-655443322111','username':'bob','status':''}"
#define U1 "'8d7b3c1e-0e4f-4a55-9c1e-2b1d6f1a9e01'"

/* Envelopes in the JSON the server writes or a client sends (single quotes for double). */
static const char *const canonical[] = {
    /* the server's replies and pushes */
    "{'cid':'7'}",
    "{'cid':'1','pong':{}}",
    "{'cid':'2','channel':{'id':'2...lobby','presences':[" P2 "],'self':" P1 ","
    "'room_name':'lobby'}}",
    "{'cid':'3','channel':{'id':'3.5b0c..','self':" P1 ",'group_id':'5b0c'}}",
    "{'cid':'4','channel':{'id':'4.a.b.','self':" P1 ",'user_id_one':'a','user_id_two':'b'}}",
    "{'channel_message':{'channel_id':'2...lobby','message_id':'0190e0b0-1111-7222-8333-"
    "444455556666','code':0,'sender_id':" U1 ",'username':'alice','content':'{\\'a\\':1}',"
    "'create_time':'2024-05-01T10:00:00Z','update_time':'2024-05-01T10:00:00Z',"
    "'persistent':false,'room_name':'lobby'}}",
    "{'channel_message':{'channel_id':'3.g..','message_id':'m','code':5,'sender_id':" U1 ","
    "'username':'alice','content':'{}','create_time':'2024-05-01T10:00:00.123Z',"
    "'update_time':'2024-05-01T10:00:01.000456Z','persistent':true,'group_id':'g'}}",
    "{'cid':'5','channel_message_ack':{'channel_id':'4.a.b.','message_id':'m','code':1,"
    "'username':'alice','create_time':'2024-05-01T10:00:00Z','update_time':"
    "'2024-05-01T10:00:02.000000001Z','persistent':true,'user_id_one':'a','user_id_two':'b'}}",
    "{'channel_presence_event':{'channel_id':'2...lobby','joins':[" P1 "," P2 "],'leaves':["
    P2 "],'room_name':'lobby'}}",
    "{'cid':'6','error':{'code':3,'message':'Invalid room name'}}",
    "{'error':{'message':'Server is busy, try again.'}}",
    "{'cid':'8','error':{'code':5,'message':'rejected','context':{'reason':'full','a':'b'}}}",
    "{'cid':'9','match':{'match_id':'0190e0b0-1111-4222-8333-444455556666.','size':1,"
    "'self':" P1 "}}",
    "{'cid':'10','match':{'match_id':'x.nakama','authoritative':true,'label':'','size':3,"
    "'presences':[" P2 "],'self':" P1 "}}",
    "{'cid':'11','match':{'match_id':'x.nakama','authoritative':true,'label':'{\\'mode\\':1}',"
    "'size':2,'self':" P1 "}}",
    "{'match_data':{'match_id':'x.','presence':" P1 ",'op_code':'5','data':'AAEC/w==',"
    "'reliable':true}}",
    "{'match_data':{'match_id':'x.nakama','op_code':'-9007199254740993','data':'aGk='}}",
    "{'match_data':{'match_id':'x.'}}",
    "{'match_presence_event':{'match_id':'x.','joins':[" P1 "],'leaves':[" P2 "]}}",
    "{'matchmaker_matched':{'ticket':'t1','token':'eyJhbGciOi.x.y','users':[{'presence':" P1
    ",'string_properties':{'mode':'ctf','region':'eu'},'numeric_properties':{'rating':1500,"
    "'skill':12.5}},{'presence':" P2 ",'party_id':'p1'}],'self':{'presence':" P1 ","
    "'string_properties':{'mode':'ctf'}}}}",
    "{'matchmaker_matched':{'ticket':'t2','match_id':'m.nakama','users':[{'presence':" P1
    "}],'self':{'presence':" P1 "}}}",
    "{'matchmaker_matched':{'ticket':'t3','users':[{'presence':" P1 "}],'self':{'presence':"
    P1 "}}}",
    "{'cid':'12','matchmaker_ticket':{'ticket':'t1'}}",
    "{'notifications':{'notifications':[{'id':'n1','subject':'hello','content':'{\\'x\\':2}',"
    "'code':1,'sender_id':" U1 ",'create_time':'2024-05-01T10:00:00Z','persistent':true},"
    "{'id':'n2','subject':'s','content':'{}','code':-2,'create_time':'2024-05-01T10:00:00Z'}]}}",
    "{'cid':'13','rpc':{'id':'echo','payload':'{\\'hello\\':\\'world\\'}'}}",
    "{'cid':'14','status':{'presences':[{'user_id':'a','session_id':'b','username':'c',"
    "'status':'online'}]}}",
    "{'cid':'15','status':{}}",
    "{'status_presence_event':{'joins':[" P2 "],'leaves':[{'user_id':'a','session_id':'b',"
    "'username':'c','status':'away'}]}}",
    "{'stream_data':{'stream':{'mode':2,'label':'lobby'},'sender':" P1 ",'data':'text',"
    "'reliable':true}}",
    "{'stream_presence_event':{'stream':{'mode':4,'subject':'s','subcontext':'c'},'joins':["
    P1 "]}}",
    "{'cid':'16','party':{'party_id':'p.nakama','open':true,'max_size':4,'self':" P1 ","
    "'leader':" P1 ",'presences':[" P1 "," P2 "]}}",
    "{'party_presence_event':{'party_id':'p.nakama','joins':[" P2 "]}}",
    "{'party_data':{'party_id':'p.nakama','presence':" P1 ",'op_code':'3','data':'3q2+7w=='}}",
    "{'party_leader':{'party_id':'p.nakama','presence':" P2 "}}",
    "{'cid':'17','party_join_request':{'party_id':'p.nakama','presences':[" P2 "]}}",
    "{'cid':'18','party_matchmaker_ticket':{'party_id':'p.nakama','ticket':'t'}}",
    "{'party_close':{'party_id':'p.nakama'}}",
    /* what clients send */
    "{'cid':'1','ping':{}}",
    "{'pong':{}}",
    "{'cid':'2','channel_join':{'target':'lobby','type':1,'persistence':false,'hidden':true}}",
    "{'cid':'2','channel_join':{'target':" U1 ",'type':2,'persistence':true,'hidden':false}}",
    "{'cid':'3','channel_leave':{'channel_id':'2...lobby'}}",
    "{'cid':'4','channel_message_send':{'channel_id':'2...lobby','content':'{\\'m\\':\\'hi\\'}'}}",
    "{'cid':'5','channel_message_update':{'channel_id':'2...lobby','message_id':'m',"
    "'content':'{}'}}",
    "{'cid':'6','channel_message_remove':{'channel_id':'2...lobby','message_id':'m'}}",
    "{'cid':'7','match_create':{}}",
    "{'cid':'7','match_create':{'name':'my match'}}",
    "{'match_data_send':{'match_id':'x.','op_code':'7','data':'AQID','presences':[" P2 "],"
    "'reliable':true}}",
    "{'match_data_send':{'match_id':'x.','op_code':'1'}}",
    "{'cid':'8','match_join':{'match_id':'x.','metadata':{'k':'v'}}}",
    "{'cid':'8','match_join':{'token':'eyJ.x.y'}}",
    "{'cid':'8','match_join':{'match_id':''}}",
    "{'cid':'9','match_leave':{'match_id':'x.'}}",
    "{'cid':'10','matchmaker_add':{'min_count':2,'max_count':4,'query':'+properties.mode:ctf',"
    "'string_properties':{'mode':'ctf'},'numeric_properties':{'rating':1500.5},"
    "'count_multiple':2}}",
    "{'cid':'11','matchmaker_remove':{'ticket':'t1'}}",
    "{'cid':'12','rpc':{'id':'echo','payload':'\\'x\\'','http_key':'defaulthttpkey'}}",
    "{'cid':'13','status_follow':{'user_ids':[" U1 "],'usernames':['bob','carol']}}",
    "{'cid':'14','status_unfollow':{'user_ids':[" U1 "]}}",
    "{'cid':'15','status_update':{'status':'playing'}}",
    "{'cid':'15','status_update':{'status':''}}",
    "{'cid':'15','status_update':{}}",
    "{'cid':'16','party_create':{'open':true,'max_size':4}}",
    "{'cid':'17','party_join':{'party_id':'p.nakama'}}",
    "{'cid':'17','party_leave':{'party_id':'p.nakama'}}",
    "{'cid':'17','party_promote':{'party_id':'p.nakama','presence':" P2 "}}",
    "{'cid':'17','party_accept':{'party_id':'p.nakama','presence':" P2 "}}",
    "{'cid':'17','party_remove':{'party_id':'p.nakama','presence':" P2 "}}",
    "{'cid':'17','party_close':{'party_id':'p.nakama'}}",
    "{'cid':'17','party_join_request_list':{'party_id':'p.nakama'}}",
    "{'cid':'18','party_matchmaker_add':{'party_id':'p.nakama','min_count':2,'max_count':2,"
    "'query':'*','string_properties':{'a':'b'},'numeric_properties':{'n':1}}}",
    "{'cid':'19','party_matchmaker_remove':{'party_id':'p.nakama','ticket':'t'}}",
    "{'party_data_send':{'party_id':'p.nakama','op_code':'2','data':'AA=='}}",
};

/* Inputs protojson accepts in another spelling, and the canonical JSON they come back as. */
static const char *const normalised[][2] = {
    {"{'match_data_send':{'match_id':'x.','op_code':7,'data':'AQID'}}",
     "{'match_data_send':{'match_id':'x.','op_code':'7','data':'AQID'}}"},
    {"{'match_data_send':{'match_id':'x.','op_code':'0','data':'','reliable':false}}",
     "{'match_data_send':{'match_id':'x.'}}"},
    {"{'match_data_send':{'match_id':'x.','data':'-_8','presences':[]}}",
     "{'match_data_send':{'match_id':'x.','data':'+/8='}}"},
    {"{'cid':'','channel_join':{'target':'r','type':'1','hidden':null}}",
     "{'channel_join':{'target':'r','type':1}}"},
    {"{'channel_message':{'channel_id':'c','code':0,'create_time':'2024-05-01T12:00:00+02:00',"
     "'persistent':false}}",
     "{'channel_message':{'channel_id':'c','code':0,'create_time':'2024-05-01T10:00:00Z',"
     "'persistent':false}}"},
    {"{'cid':'1','error':{'code':0,'message':'x','context':{}}}",
     "{'cid':'1','error':{'message':'x'}}"},
};

/* Single quotes to double: a JSON text from the table's shorthand (caller frees). */
static char *dq(const char *s)
{
    char *t = strdup(s);
    for (char *p = t; *p; p++)
        if (*p == '\'')
            *p = '"';
    return t;
}

static cJSON *parse(const char *shorthand)
{
    char *t = dq(shorthand);
    cJSON *j = cJSON_Parse(t);
    free(t);
    return j;
}

/* JSON -> protobuf (strict) -> JSON; returns the decoded object (NULL on failure) and the
 * bytes in *bin (caller frees). */
static cJSON *through(const cJSON *in, uint8_t **bin, size_t *len)
{
    char why[160];
    if (tv_rt_pb_from_json(in, 1, bin, len, why) != TV_OK) {
        printf("     encode: %s\n", why);
        return NULL;
    }
    return tv_rt_pb_to_json(*bin, *len);
}

static int roundtrips(const char *shorthand, const char *expect)
{
    cJSON *in = parse(shorthand), *want = parse(expect ? expect : shorthand);
    uint8_t *bin = NULL;
    size_t len = 0;
    cJSON *out = in ? through(in, &bin, &len) : NULL;
    int ok = out && want && cJSON_Compare(out, want, 1);
    if (!ok) {
        char *a = out ? cJSON_PrintUnformatted(out) : NULL;
        printf("     got  %s\n     want %s\n", a ? a : "(null)", expect ? expect : shorthand);
        cJSON_free(a);
    }
    cJSON_Delete(in);
    cJSON_Delete(want);
    cJSON_Delete(out);
    free(bin);
    return ok;
}

static Nakama__Realtime__Envelope *wire(const char *shorthand, uint8_t **bin, size_t *len)
{
    cJSON *in = parse(shorthand);
    *bin = NULL;
    int rc = tv_rt_pb_from_json(in, 1, bin, len, NULL);
    cJSON_Delete(in);
    return rc == TV_OK ? nakama__realtime__envelope__unpack(NULL, *len, *bin) : NULL;
}

static void wire_checks(void)
{
    uint8_t *bin;
    size_t len;
    Nakama__Realtime__Envelope *e = wire(canonical[15], &bin, &len);
    CHECK_AS(e && e->message_case == NAKAMA__REALTIME__ENVELOPE__MESSAGE_MATCH_DATA &&
                 e->match_data->op_code == 5 && e->match_data->data.len == 4 &&
                 memcmp(e->match_data->data.data, "\x00\x01\x02\xff", 4) == 0 &&
                 e->match_data->reliable && e->match_data->presence &&
                 e->match_data->presence->persistence,
             "match_data: op_code a varint, data the raw bytes (base64 only in JSON)");
    nakama__realtime__envelope__free_unpacked(e, NULL);
    free(bin);

    e = wire(canonical[5], &bin, &len);
    CHECK_AS(e && e->channel_message && e->channel_message->code &&
                 e->channel_message->code->value == 0 && e->channel_message->persistent &&
                 !e->channel_message->persistent->value && e->channel_message->create_time &&
                 e->channel_message->create_time->seconds == 1714557600 &&
                 e->channel_message->create_time->nanos == 0,
             "channel_message: wrappers present at zero, create_time {seconds, nanos}");
    nakama__realtime__envelope__free_unpacked(e, NULL);
    free(bin);

    e = wire(canonical[6], &bin, &len);
    CHECK_AS(e && e->channel_message->create_time->nanos == 123000000 &&
                 e->channel_message->update_time->nanos == 456000,
             "fractions of a second become nanos");
    nakama__realtime__envelope__free_unpacked(e, NULL);
    free(bin);

    e = wire(canonical[10], &bin, &len);
    CHECK_AS(e && e->error && e->error->code == 0 && strcmp(e->error->message,
             "Server is busy, try again.") == 0 && strcmp(e->cid, "") == 0,
             "error code 0 (absent in JSON), a push without cid");
    nakama__realtime__envelope__free_unpacked(e, NULL);
    free(bin);

    e = wire(canonical[19], &bin, &len);
    int found = 0;
    if (e && e->matchmaker_matched && e->matchmaker_matched->n_users == 2) {
        Nakama__Realtime__MatchmakerMatched__MatchmakerUser *u = e->matchmaker_matched->users[0];
        for (size_t i = 0; i < u->n_numeric_properties; i++)
            found += strcmp(u->numeric_properties[i]->key, "skill") == 0 &&
                     u->numeric_properties[i]->value == 12.5;
        found += e->matchmaker_matched->id_case ==
                 NAKAMA__REALTIME__MATCHMAKER_MATCHED__ID_TOKEN;
    }
    CHECK_AS(found == 2, "matchmaker_matched: maps as entries, the token in its oneof");
    nakama__realtime__envelope__free_unpacked(e, NULL);
    free(bin);

    e = wire("{'cid':'8','match_join':{'match_id':''}}", &bin, &len);
    CHECK_AS(e && e->match_join->id_case == NAKAMA__REALTIME__MATCH_JOIN__ID_MATCH_ID,
             "an empty match_id in the oneof is still sent (and read back)");
    nakama__realtime__envelope__free_unpacked(e, NULL);
    free(bin);

    static const uint8_t ping[] = {0x0a, 0x01, '1', 0x82, 0x02, 0x00}; /* cid "1", ping {} */
    cJSON *j = tv_rt_pb_to_json(ping, sizeof ping);
    cJSON *want = parse("{'cid':'1','ping':{}}");
    CHECK_AS(j && cJSON_Compare(j, want, 1), "nakama-js' ping bytes read as the JSON ping");
    cJSON_Delete(j);
    cJSON_Delete(want);
}

static void refusals(void)
{
    uint8_t *bin;
    size_t len;
    char why[160];
    const char *bad[] = {
        "{'match_data_send':{'match_id':'x.','op_code':'seven'}}",
        "{'match_data_send':{'match_id':'x.','op_code':1.5}}",
        "{'match_data_send':{'match_id':'x.','data':'not base64!'}}",
        "{'channel_join':{'target':7}}",
        "{'channel_join':{'persistence':'yes'}}",
        "{'channel_message':{'create_time':'yesterday'}}",
        "{'match_join':{'match_id':'a','token':'b'}}",
        "{'status_follow':{'user_ids':'a'}}",
        "{'matchmaker_add':{'numeric_properties':{'a':'b'}}}",
        "{'cid':7}",
        "[]",
    };
    int refused = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *in = parse(bad[i]);
        int rc = tv_rt_pb_from_json(in, 0, &bin, &len, why);
        refused += rc == TV_EINVAL && bin == NULL;
        if (rc != TV_EINVAL)
            printf("     not refused: %s\n", bad[i]);
        free(bin);
        cJSON_Delete(in);
    }
    CHECK_AS(refused == (int)(sizeof bad / sizeof bad[0]), "values of the wrong type refused");

    cJSON *in = parse("{'cid':'1','match_leave':{'match_id':'x','extra':1},'later':{}}");
    CHECK_AS(tv_rt_pb_from_json(in, 1, &bin, &len, why) == TV_EINVAL &&
                 strstr(why, "no such field"), "strict: a member the schema lacks is named");
    CHECK_AS(tv_rt_pb_from_json(in, 0, &bin, &len, NULL) == TV_OK && len > 0,
             "lenient: the member is skipped");
    cJSON *back = tv_rt_pb_to_json(bin, len), *want = parse("{'cid':'1','match_leave':"
                                                            "{'match_id':'x'}}");
    CHECK(back && cJSON_Compare(back, want, 1));
    cJSON_Delete(back);
    cJSON_Delete(want);
    cJSON_Delete(in);
    free(bin);

    /* decoding: what the server must answer as bad input */
    static const uint8_t unknown[] = {0x0a, 0x01, '3', 0xba, 0x06, 0x00}; /* field 103 {} */
    cJSON *j = tv_rt_pb_to_json(unknown, sizeof unknown);
    CHECK_AS(j && cJSON_GetObjectItemCaseSensitive(j, TV_RT_PB_UNKNOWN) &&
                 cJSON_GetArraySize(j) == 2,
             "a message field the schema lacks becomes the unknown member (error 1)");
    cJSON_Delete(j);
    j = tv_rt_pb_to_json("", 0);
    CHECK_AS(j && cJSON_GetArraySize(j) == 0, "an empty frame is an envelope without message "
                                              "(error 2)");
    cJSON_Delete(j);
    static const uint8_t badutf8[] = {0x0a, 0x02, 0xc3, 0x28, 0x82, 0x02, 0x00};
    CHECK_AS(tv_rt_pb_to_json(badutf8, sizeof badutf8) == NULL, "a string that is not UTF-8 is "
                                                                "refused, as Go's proto does");
    static const uint8_t truncated[] = {0x0a, 0x05, '1'};
    CHECK_AS(tv_rt_pb_to_json(truncated, sizeof truncated) == NULL, "a truncated frame is "
                                                                    "refused");
    static const uint8_t wrongtype[] = {0x0d, 0x01, 0x02, 0x03, 0x04}; /* cid as fixed32 */
    CHECK_AS(tv_rt_pb_to_json(wrongtype, sizeof wrongtype) == NULL, "a field of the wrong wire "
                                                                    "type is refused");
}

/* Every prefix of every valid encoding, a thousand bit flips of each and random frames: each
 * decodes to an object or NULL, never a crash or a leak (ASan says). */
static void fuzz(void)
{
    unsigned seed = 12345;
    size_t decoded = 0, refused = 0;
    for (size_t i = 0; i < sizeof canonical / sizeof canonical[0]; i++) {
        cJSON *in = parse(canonical[i]);
        uint8_t *bin = NULL;
        size_t len = 0;
        tv_rt_pb_from_json(in, 1, &bin, &len, NULL);
        cJSON_Delete(in);
        uint8_t *copy = malloc(len + 1);
        for (size_t n = 0; n <= len; n++) { /* exact-size copies: ASan sees an overread */
            memcpy(copy, bin, n);
            cJSON *j = tv_rt_pb_to_json(copy, n);
            j ? decoded++ : refused++;
            cJSON_Delete(j);
        }
        for (int k = 0; k < 1000 && len; k++) {
            memcpy(copy, bin, len);
            seed = seed * 1103515245 + 12345;
            copy[(seed >> 8) % len] ^= (uint8_t)(1u << ((seed >> 4) % 8));
            cJSON *j = tv_rt_pb_to_json(copy, len);
            j ? decoded++ : refused++;
            cJSON_Delete(j);
        }
        free(copy);
        free(bin);
    }
    uint8_t junk[256];
    for (int k = 0; k < 20000; k++) {
        seed = seed * 1103515245 + 12345;
        size_t n = (seed >> 8) % sizeof junk;
        for (size_t b = 0; b < n; b++) {
            seed = seed * 1103515245 + 12345;
            junk[b] = (uint8_t)(seed >> 16);
        }
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, junk, n);
        cJSON *j = tv_rt_pb_to_json(copy, n);
        j ? decoded++ : refused++;
        cJSON_Delete(j);
        free(copy);
    }
    printf("     fuzz: %zu frames decoded, %zu refused\n", decoded, refused);
    CHECK_AS(decoded > 0 && refused > 0, "fuzzed frames decode or are refused, none crash");
}

int main(void)
{
    size_t n = sizeof canonical / sizeof canonical[0];
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        int r = roundtrips(canonical[i], NULL);
        ok += r;
        if (!r)
            printf("FAIL round trip: %s\n", canonical[i]);
    }
    printf("     %zu of %zu envelopes round-trip\n", ok, n);
    CHECK_AS(ok == n, "every envelope: JSON -> protobuf -> JSON is equal");

    /* every message of the schema appears in the table above */
    const ProtobufCMessageDescriptor *d = &nakama__realtime__envelope__descriptor;
    int covered = 1;
    for (unsigned f = 0; f < d->n_fields; f++) {
        if (!(d->fields[f].flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            continue;
        char key[80];
        snprintf(key, sizeof key, "'%s':", d->fields[f].name);
        int seen = 0;
        for (size_t i = 0; i < n && !seen; i++)
            seen = strstr(canonical[i], key) != NULL;
        if (!seen)
            printf("     not in the table: %s\n", d->fields[f].name);
        covered &= seen;
    }
    CHECK_AS(covered, "the table covers every message of the Envelope");

    size_t nn = sizeof normalised / sizeof normalised[0];
    ok = 0;
    for (size_t i = 0; i < nn; i++)
        ok += roundtrips(normalised[i][0], normalised[i][1]);
    CHECK_AS(ok == nn, "other spellings come back canonical (int64 numbers, zero values, "
                       "URL-safe base64, offsets)");
    wire_checks();
    refusals();
    fuzz();
    return check_summary();
}
