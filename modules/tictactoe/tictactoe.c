/* tictactoe: a turn-based authoritative match found through match listing.
 *
 *   RPC "create_tictactoe"  payload ignored -> {"match_id":"<uuid>.tavern"}
 *   RPC "tictactoe_state"   {"match_id":"<uuid>.tavern"} -> the game as op_code 2 carries it
 *     (below), read from the running match through host->match_signal; an unknown or ended
 *     match fails with code 5 (HTTP 404)
 *   match handler "tictactoe", 5 ticks a second, label {"mode":"tictactoe","open":1}
 *     (open becomes 0 once two players are in, 1 again if one leaves before the end), so
 *     clients find a game with GET /v2/match?query=+label.mode:tictactoe +label.open:1
 *     (or label={"mode":"tictactoe","open":1} exactly).
 *
 * The first player to join plays X and starts. Client -> server, op_code 1: a move, either one
 * byte (the cell 0-8) or JSON {"cell":N}. Server -> clients:
 *   op_code 2, after each join and each accepted move: JSON {"board":"X.O......",
 *     "turn":"<user id to play>"|"", "x":"<user id>", "o":"<user id>", "winner":""|"X"|"O"|"draw"}
 *   op_code 3, to the sender of a refused move only: {"error":"..."} (not your turn, a taken or
 *     bad cell, the game is over).
 * A finished game ends its match 5 s later; an empty one after 60 s. */
#include <tavern/module.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_RATE 5
#define OP_MOVE 1
#define OP_STATE 2
#define OP_REJECT 3

static const tv_host_api_t *host;
static tv_module_t *self;

typedef struct game {
    char x[37], o[37];       /* user ids ("" = seat free) */
    char xs[37], os[37];     /* their session ids */
    char board[10];          /* '.', 'X', 'O' */
    char turn;               /* 'X' or 'O' */
    char winner[8];          /* "", "X", "O", "draw" */
    int64_t end_tick;        /* the match ends at this loop (0 = not yet) */
    int64_t empty_ticks;
} game_t;

static int seats(const game_t *g)
{
    return (*g->x != 0) + (*g->o != 0);
}

static void label(const tv_mod_match_ctx_t *ctx, const game_t *g)
{
    int open = seats(g) < 2 && !*g->winner;
    host->label_update(ctx->dispatcher, open ? "{\"mode\":\"tictactoe\",\"open\":1}"
                                             : "{\"mode\":\"tictactoe\",\"open\":0}");
}

/* The game as JSON into buf (256 bytes is plenty); returns its length. */
static size_t state_json(const game_t *g, char *buf, size_t size)
{
    const char *turn = *g->winner || seats(g) < 2 ? "" : g->turn == 'X' ? g->x : g->o;
    int n = snprintf(buf, size,
                     "{\"board\":\"%s\",\"turn\":\"%s\",\"x\":\"%s\",\"o\":\"%s\","
                     "\"winner\":\"%s\"}",
                     g->board, turn, g->x, g->o, g->winner);
    return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

static void send_state(const tv_mod_match_ctx_t *ctx, const game_t *g)
{
    char buf[256];
    size_t n = state_json(g, buf, sizeof buf);
    host->broadcast(ctx->dispatcher, OP_STATE, buf, n, NULL, 0, NULL, 1);
}

static void reject(const tv_mod_match_ctx_t *ctx, const tv_mod_presence_t *to, const char *why)
{
    char buf[128];
    int n = snprintf(buf, sizeof buf, "{\"error\":\"%s\"}", why);
    const tv_mod_presence_t *one[1] = {to};
    host->broadcast(ctx->dispatcher, OP_REJECT, buf, (size_t)n, one, 1, NULL, 1);
}

static const char *winner_of(const char *b)
{
    static const int lines[8][3] = {{0, 1, 2}, {3, 4, 5}, {6, 7, 8}, {0, 3, 6},
                                    {1, 4, 7}, {2, 5, 8}, {0, 4, 8}, {2, 4, 6}};
    for (int i = 0; i < 8; i++) {
        char c = b[lines[i][0]];
        if (c != '.' && c == b[lines[i][1]] && c == b[lines[i][2]])
            return c == 'X' ? "X" : "O";
    }
    return strchr(b, '.') ? "" : "draw";
}

static void *ttt_init(const tv_mod_match_ctx_t *ctx, const char *params, size_t len,
                      tv_mod_match_init_t *out)
{
    (void)ctx, (void)params, (void)len;
    game_t *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    memcpy(g->board, ".........", 10);
    g->turn = 'X';
    out->tick_rate = TICK_RATE;
    out->label = "{\"mode\":\"tictactoe\",\"open\":1}";
    return g;
}

static void *ttt_join_attempt(const tv_mod_match_ctx_t *ctx, void *state,
                              const tv_mod_presence_t *p, const tv_mod_kv_t *meta, size_t nmeta,
                              tv_mod_join_result_t *out)
{
    (void)ctx, (void)p, (void)meta, (void)nmeta;
    game_t *g = state;
    if (seats(g) >= 2 || *g->winner) {
        out->allow = 0;
        out->reason = *g->winner ? "Game is over" : "Match is full";
    }
    return g;
}

static void *ttt_join(const tv_mod_match_ctx_t *ctx, void *state,
                      const tv_mod_presence_t *const *ps, size_t n)
{
    game_t *g = state;
    for (size_t i = 0; i < n; i++) {
        char *uid = !*g->x ? g->x : !*g->o ? g->o : NULL;
        char *sid = uid == g->x ? g->xs : g->os;
        if (!uid)
            break;
        snprintf(uid, 37, "%s", ps[i]->user_id);
        snprintf(sid, 37, "%s", ps[i]->session_id);
    }
    label(ctx, g);
    send_state(ctx, g);
    return g;
}

static void *ttt_leave(const tv_mod_match_ctx_t *ctx, void *state,
                       const tv_mod_presence_t *const *ps, size_t n)
{
    game_t *g = state;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(g->xs, ps[i]->session_id) == 0)
            *g->x = *g->xs = 0;
        if (strcmp(g->os, ps[i]->session_id) == 0)
            *g->o = *g->os = 0;
    }
    label(ctx, g);
    return g;
}

static int cell_of(const tv_mod_match_message_t *m)
{
    const char *d = m->data;
    if (m->len == 1)
        return (unsigned char)d[0] <= 8 ? d[0] : (d[0] >= '0' && d[0] <= '8' ? d[0] - '0' : -1);
    const char *k = strstr(d, "\"cell\""); /* data is NUL-terminated past len */
    if (!k)
        return -1;
    k += 6;
    while (*k == ' ' || *k == ':')
        k++;
    char *end;
    long c = strtol(k, &end, 10);
    return end != k && c >= 0 && c <= 8 ? (int)c : -1;
}

static void *ttt_loop(const tv_mod_match_ctx_t *ctx, void *state,
                      const tv_mod_match_message_t *const *msgs, size_t n)
{
    game_t *g = state;
    for (size_t i = 0; i < n; i++) {
        const tv_mod_presence_t *p = msgs[i]->presence;
        const char *mine = g->turn == 'X' ? g->xs : g->os;
        int cell = cell_of(msgs[i]);
        if (msgs[i]->op_code != OP_MOVE)
            reject(ctx, p, "unknown op code");
        else if (*g->winner)
            reject(ctx, p, "the game is over");
        else if (seats(g) < 2)
            reject(ctx, p, "waiting for an opponent");
        else if (strcmp(mine, p->session_id) != 0)
            reject(ctx, p, "not your turn");
        else if (cell < 0 || g->board[cell] != '.')
            reject(ctx, p, "bad cell");
        else {
            g->board[cell] = g->turn;
            g->turn = g->turn == 'X' ? 'O' : 'X';
            snprintf(g->winner, sizeof g->winner, "%s", winner_of(g->board));
            if (*g->winner) {
                g->end_tick = ctx->tick + 5 * TICK_RATE;
                label(ctx, g);
            }
            send_state(ctx, g);
        }
    }
    g->empty_ticks = seats(g) ? 0 : g->empty_ticks + 1;
    if ((g->end_tick && ctx->tick >= g->end_tick) || g->empty_ticks > 60 * TICK_RATE) {
        free(g);
        return NULL;
    }
    return g;
}

static void *ttt_terminate(const tv_mod_match_ctx_t *ctx, void *state, int grace)
{
    (void)ctx, (void)grace;
    free(state);
    return NULL;
}

/* A signal (from the tictactoe_state RPC): answers the game, whatever the data. */
static void *ttt_signal(const tv_mod_match_ctx_t *ctx, void *state, const char *data, size_t len,
                        tv_mod_reply_t *result)
{
    (void)ctx, (void)data, (void)len;
    char buf[256];
    size_t n = state_json(state, buf, sizeof buf);
    host->reply(result, buf, n);
    return state;
}

static const tv_mod_match_handler_t ttt_handler = {
    .size = sizeof(tv_mod_match_handler_t),
    .init = ttt_init,
    .join_attempt = ttt_join_attempt,
    .join = ttt_join,
    .leave = ttt_leave,
    .loop = ttt_loop,
    .terminate = ttt_terminate,
    .signal = ttt_signal,
};

static int create(const tv_mod_ctx_t *ctx, const char *payload, size_t len, tv_mod_reply_t *out)
{
    (void)ctx, (void)payload, (void)len;
    char *id = NULL;
    int rc = host->match_create(self, "tictactoe", "{}", &id);
    if (rc)
        return host->fail(out, rc, "cannot create a tictactoe match (code %d)", rc);
    char buf[128];
    int n = snprintf(buf, sizeof buf, "{\"match_id\":\"%s\"}", id);
    host->free(id);
    return host->reply(out, buf, (size_t)n);
}

/* {"match_id":"..."}: the match's game, by a signal to the match. */
static int state_rpc(const tv_mod_ctx_t *ctx, const char *payload, size_t len,
                     tv_mod_reply_t *out)
{
    (void)ctx, (void)len;
    if (!TV_HOST_HAS(host, match_signal))
        return host->fail(out, TV_GRPC_UNIMPLEMENTED, "this server has no match signals");
    /* payload is NUL-terminated; match ids hold no quotes or escapes */
    const char *k = strstr(payload, "\"match_id\"");
    char id[64];
    size_t n = 0;
    if (k) {
        k += 10;
        while (*k == ' ' || *k == ':' || *k == '\t' || *k == '\n' || *k == '\r')
            k++;
        if (*k++ == '"')
            while (k[n] && k[n] != '"' && n < sizeof id - 1)
                n++;
        if (k[-1] != '"' || k[n] != '"')
            n = 0;
    }
    if (!n)
        return host->fail(out, TV_GRPC_INVALID_ARGUMENT, "payload must be {\"match_id\":\"...\"}");
    memcpy(id, k, n);
    id[n] = 0;
    char *res = NULL;
    size_t rlen = 0;
    int rc = host->match_signal(self, id, "state", 5, &res, &rlen);
    if (rc == TV_GRPC_NOT_FOUND)
        return host->fail(out, rc, "no such tictactoe match");
    if (rc)
        return host->fail(out, rc, "cannot reach the match (code %d)", rc);
    rc = host->reply(out, res, rlen);
    host->free(res);
    return rc;
}

TV_MODULE("tictactoe", "1.0.0");

int tavern_module_init(const tv_host_api_t *api, tv_module_t *mod)
{
    host = api;
    self = mod;
    if (!TV_HOST_HAS(api, label_update))
        return TV_GRPC_UNIMPLEMENTED;
    int rc = api->register_match(mod, "tictactoe", &ttt_handler);
    if (rc == 0)
        rc = api->register_rpc(mod, "create_tictactoe", create);
    if (rc == 0)
        rc = api->register_rpc(mod, "tictactoe_state", state_rpc);
    return rc;
}
