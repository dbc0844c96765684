/* arena: an authoritative movement game, and the template for real-time matches. The server
 * owns every position; clients only send where they want to go.
 *
 *   RPC "create_match"  payload {} (or {"max_players":N}, 1-16, and/or {"reconnect_grace":S},
 *                       0-300 seconds, default 10) -> {"match_id":"<uuid>.tavern"}
 *   match handler "arena", 20 ticks a second, label {"mode":"arena","players":N,"max":M}
 *
 * Client -> server, op_code 1 (input): a direction, either 2 bytes (int8 dx, int8 dy, each
 * -100..100, meaning -1.0..1.0) or JSON text {"dx":-1..1,"dy":-1..1}. The newest input of a
 * tick wins. Validation, all server side:
 *   - a component outside -1..1 (or unreadable payload, or another op code) is dropped and
 *     counted in that player's "invalid";
 *   - at most 30 inputs a second per player (a one-second window): the rest are dropped and
 *     counted in "limited";
 *   - the speed is clamped: the direction is scaled to length <= 1, and a player moves at most
 *     SPEED units a second inside a WORLD x WORLD square.
 * Server -> clients, op_code 2 every tick while someone is in: JSON
 *   {"tick":T,"players":[{"user_id":..,"session_id":..,"x":..,"y":..,"invalid":N,"limited":N}]}
 * Server -> one client, op_code 3 when it joins or rejoins: the full state, JSON
 *   {"tick":T,"rejoined":true|false,"players":[...as above...]}
 * Reconnects: the match asks for a reconnect grace (10 s unless the params say otherwise). A
 * player whose socket drops keeps its place (and position) that long; the same user joining
 * again from a new socket is rejoined (no join attempt, no presence events) and gets op 3.
 * The match ends itself after 60 s without players (and at server shutdown).
 *
 * Build it outside the tree with: cc -shared -fPIC -O2 -I<tavern>/api arena.c -o arena.so -lm
 * (nothing else: a module links nothing from the server). */
#include <tavern/module.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_RATE 20
#define MAX_PLAYERS 16
#define WORLD 1000.0
#define SPEED 200.0          /* units a second */
#define INPUTS_PER_SEC 30
#define EMPTY_TICKS (60 * TICK_RATE)
#define OP_INPUT 1
#define OP_STATE 2
#define OP_SYNC 3
#define RECONNECT_GRACE 10   /* seconds, unless the params say otherwise */

static const tv_host_api_t *host;
static tv_module_t *self;

typedef struct player {
    char user_id[37];
    char session_id[37];
    double x, y, dx, dy;
    int64_t window;          /* the second (tick / TICK_RATE) inputs are counted in */
    int inputs;              /* inputs in that second */
    int64_t invalid, limited;
} player_t;

typedef struct arena {
    player_t p[MAX_PLAYERS];
    int n, max;
    int64_t empty_ticks;
    char label[96];
} arena_t;

static void set_label(const tv_mod_match_ctx_t *ctx, arena_t *a)
{
    snprintf(a->label, sizeof a->label, "{\"mode\":\"arena\",\"players\":%d,\"max\":%d}", a->n,
             a->max);
    if (ctx)
        host->label_update(ctx->dispatcher, a->label);
}

static player_t *find(arena_t *a, const char *session_id)
{
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->p[i].session_id, session_id) == 0)
            return &a->p[i];
    return NULL;
}

/* Reads the number after "key": in a JSON text, or returns 0. */
static int json_num(const char *s, size_t len, const char *key, double *out)
{
    char pat[32];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *k = NULL;
    for (size_t i = 0; i + strlen(pat) <= len; i++)
        if (memcmp(s + i, pat, strlen(pat)) == 0) {
            k = s + i + strlen(pat);
            break;
        }
    if (!k)
        return 0;
    while (k < s + len && (*k == ' ' || *k == ':'))
        k++;
    char *end;
    *out = strtod(k, &end);
    return end != k && end <= s + len;
}

/* Decodes an input into dx, dy; 0 when it is malformed or out of range. */
static int decode(const tv_mod_match_message_t *m, double *dx, double *dy)
{
    if (m->op_code != OP_INPUT)
        return 0;
    const unsigned char *d = m->data;
    if (m->len == 2 && d[0] != '{') {
        int8_t x = (int8_t)d[0], y = (int8_t)d[1];
        if (x < -100 || x > 100 || y < -100 || y > 100)
            return 0;
        *dx = x / 100.0;
        *dy = y / 100.0;
        return 1;
    }
    /* data is NUL-terminated by the server past len, but only len bytes are the message */
    if (!json_num(m->data, m->len, "dx", dx) || !json_num(m->data, m->len, "dy", dy))
        return 0;
    return isfinite(*dx) && isfinite(*dy) && fabs(*dx) <= 1.0 && fabs(*dy) <= 1.0;
}

static void *arena_init(const tv_mod_match_ctx_t *ctx, const char *params, size_t len,
                        tv_mod_match_init_t *out)
{
    arena_t *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    double max = MAX_PLAYERS;
    if (json_num(params, len, "max_players", &max) && (max < 1 || max > MAX_PLAYERS)) {
        free(a);
        return NULL; /* refuses the match: the RPC answers an error */
    }
    a->max = (int)max;
    double grace = RECONNECT_GRACE;
    if (json_num(params, len, "reconnect_grace", &grace) && (grace < 0 || grace > 300)) {
        free(a);
        return NULL;
    }
    /* an older server without the entry: players leave on disconnect, as in Nakama */
    if (TV_HOST_HAS(host, match_set_reconnect_grace) &&
        host->match_set_reconnect_grace(ctx->dispatcher, (int)grace) != 0) {
        free(a);
        return NULL;
    }
    set_label(NULL, a);
    out->tick_rate = TICK_RATE;
    out->label = a->label;
    return a;
}

static void *arena_join_attempt(const tv_mod_match_ctx_t *ctx, void *state,
                                const tv_mod_presence_t *p, const tv_mod_kv_t *meta,
                                size_t nmeta, tv_mod_join_result_t *out)
{
    (void)ctx, (void)p, (void)meta, (void)nmeta;
    arena_t *a = state;
    if (a->n >= a->max) {
        out->allow = 0;
        out->reason = "Arena is full";
    }
    return a;
}

/* Writes {"tick":T,"rejoined":..,"players":[...]} (rejoined < 0: left out) into buf; returns
 * its length. */
static int state_json(const arena_t *a, int64_t tick, int rejoined, char *buf, size_t size)
{
    int w = snprintf(buf, size, "{\"tick\":%lld,%s\"players\":[", (long long)tick,
                     rejoined < 0 ? "" : rejoined ? "\"rejoined\":true," : "\"rejoined\":false,");
    for (int i = 0; i < a->n; i++) {
        const player_t *p = &a->p[i];
        w += snprintf(buf + w, size - (size_t)w,
                      "%s{\"user_id\":\"%s\",\"session_id\":\"%s\",\"x\":%.2f,\"y\":%.2f,"
                      "\"invalid\":%lld,\"limited\":%lld}",
                      i ? "," : "", p->user_id, p->session_id, p->x, p->y,
                      (long long)p->invalid, (long long)p->limited);
    }
    w += snprintf(buf + w, size - (size_t)w, "]}");
    return w;
}

static player_t *find_user(arena_t *a, const char *user_id)
{
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->p[i].user_id, user_id) == 0)
            return &a->p[i];
    return NULL;
}

static void *arena_join(const tv_mod_match_ctx_t *ctx, void *state,
                        const tv_mod_presence_t *const *ps, size_t n)
{
    arena_t *a = state;
    for (size_t i = 0; i < n; i++) {
        /* reason 2: a rejoin after a disconnect; the player keeps its place under a new
         * session */
        player_t *p = ps[i]->reason == 2 ? find_user(a, ps[i]->user_id) : NULL;
        int rejoined = p != NULL;
        if (!p) {
            if (a->n >= MAX_PLAYERS)
                continue;
            p = &a->p[a->n++];
            memset(p, 0, sizeof *p);
            snprintf(p->user_id, sizeof p->user_id, "%s", ps[i]->user_id);
            p->x = WORLD / 2;
            p->y = WORLD / 2;
        }
        snprintf(p->session_id, sizeof p->session_id, "%s", ps[i]->session_id);
        p->dx = p->dy = 0; /* whatever it held before dropping, it stands still now */
        char buf[64 + MAX_PLAYERS * 200];
        int w = state_json(a, ctx->tick, rejoined, buf, sizeof buf);
        const tv_mod_presence_t *to[1] = {ps[i]};
        host->broadcast(ctx->dispatcher, OP_SYNC, buf, (size_t)w, to, 1, NULL, 1);
    }
    set_label(ctx, a);
    return a;
}

static void *arena_leave(const tv_mod_match_ctx_t *ctx, void *state,
                         const tv_mod_presence_t *const *ps, size_t n)
{
    arena_t *a = state;
    for (size_t i = 0; i < n; i++) {
        player_t *p = find(a, ps[i]->session_id);
        if (p)
            *p = a->p[--a->n];
    }
    set_label(ctx, a);
    return a;
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void *arena_loop(const tv_mod_match_ctx_t *ctx, void *state,
                        const tv_mod_match_message_t *const *msgs, size_t n)
{
    arena_t *a = state;
    int64_t second = ctx->tick / TICK_RATE;

    for (size_t i = 0; i < n; i++) {
        player_t *p = find(a, msgs[i]->presence->session_id);
        double dx, dy;
        if (!p)
            continue;
        if (p->window != second) {
            p->window = second;
            p->inputs = 0;
        }
        if (++p->inputs > INPUTS_PER_SEC) {
            p->limited++;
            continue;
        }
        if (!decode(msgs[i], &dx, &dy)) {
            p->invalid++;
            continue;
        }
        double len = sqrt(dx * dx + dy * dy);
        if (len > 1.0) { /* the speed clamp: diagonal input is no faster */
            dx /= len;
            dy /= len;
        }
        p->dx = dx;
        p->dy = dy;
    }

    if (a->n == 0) {
        if (++a->empty_ticks >= EMPTY_TICKS) {
            free(a);
            return NULL; /* ends the match */
        }
        return a;
    }
    a->empty_ticks = 0;

    for (int i = 0; i < a->n; i++) {
        player_t *p = &a->p[i];
        p->x = clampd(p->x + p->dx * SPEED / TICK_RATE, 0, WORLD);
        p->y = clampd(p->y + p->dy * SPEED / TICK_RATE, 0, WORLD);
    }
    char buf[64 + MAX_PLAYERS * 200];
    int w = state_json(a, ctx->tick, -1, buf, sizeof buf);
    host->broadcast(ctx->dispatcher, OP_STATE, buf, (size_t)w, NULL, 0, NULL, 0);
    return a;
}

static void *arena_terminate(const tv_mod_match_ctx_t *ctx, void *state, int grace)
{
    (void)ctx, (void)grace;
    free(state);
    return NULL;
}

static const tv_mod_match_handler_t arena_handler = {
    .size = sizeof(tv_mod_match_handler_t),
    .init = arena_init,
    .join_attempt = arena_join_attempt,
    .join = arena_join,
    .leave = arena_leave,
    .loop = arena_loop,
    .terminate = arena_terminate,
};

/* RPC create_match: the payload is passed to init as the match's params. */
static int create_match(const tv_mod_ctx_t *ctx, const char *payload, size_t len,
                        tv_mod_reply_t *out)
{
    (void)ctx;
    char *id = NULL;
    int rc = host->match_create(self, "arena", len ? payload : "{}", &id);
    if (rc)
        return host->fail(out, rc, "cannot create an arena match (code %d)", rc);
    char buf[128];
    int n = snprintf(buf, sizeof buf, "{\"match_id\":\"%s\"}", id);
    host->free(id);
    return host->reply(out, buf, (size_t)n);
}

TV_MODULE("arena", "1.0.0");

int tavern_module_init(const tv_host_api_t *api, tv_module_t *mod)
{
    host = api;
    self = mod;
    if (!TV_HOST_HAS(api, label_update)) {
        api->log(mod, TV_MOD_LOG_ERROR, "this server has no authoritative matches");
        return TV_GRPC_UNIMPLEMENTED;
    }
    int rc = api->register_match(mod, "arena", &arena_handler);
    if (rc == 0)
        rc = api->register_rpc(mod, "create_match", create_match);
    return rc;
}
