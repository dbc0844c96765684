/* What the modules room's files share: a loaded module (struct tv_module), one registration
 * (struct tv_mod_match, for every kind), a generation's tables, and the host table. */
#ifndef TV_MODULES_INTERNAL_H
#define TV_MODULES_INTERNAL_H

#include "modules.h"

#include <pthread.h>
#include <stdatomic.h>

/* Any callback, stored until its kind says which it is. */
typedef void (*tv_mod_fn)(void);

/* KIND_LB_RESET has one key, LB_RESET_KEY. */
/* KIND_MM_MATCHED has one key, MM_MATCHED_KEY. */
/* KIND_EVENT has one key per module, EVENT_KEY_PREFIX and the module's name: every module may
 * register one, and each gets every event. */
typedef enum { KIND_RPC, KIND_BEFORE, KIND_AFTER, KIND_MATCH, KIND_LB_RESET, KIND_MM_MATCHED,
               KIND_EVENT, KIND_COUNT } mod_kind_t;
#define EVENT_KEY_PREFIX "event:"
#define LB_RESET_KEY "leaderboard_reset"
#define MM_MATCHED_KEY "matchmaker_matched"

/* One registration. Named tv_mod_match so that a match handler's entry can be handed out as
 * tv_mod_match_t; the other kinds use the same record. Owned by its module; never moves. */
typedef struct tv_mod_match {
    mod_kind_t kind;
    char *key;                       /* lower-cased id / API name / match name */
    char *name;                      /* the name as the module registered it (the console) */
    tv_module_t *mod;                /* who registered it */
    union {
        tv_mod_rpc_fn rpc;
        tv_mod_before_fn before;
        tv_mod_after_fn after;
        tv_mod_lb_reset_fn lb_reset;
        tv_mod_matchmaker_matched_fn mm_matched;
        tv_mod_event_fn event;
    } fn;
    tv_mod_match_handler_t handler;  /* KIND_MATCH: the module's struct, zero-filled past its
                                        size */
} mod_entry_t;

/* A loaded shared object. Lives while any generation or match reference holds it; the last
 * release dlcloses it. */
struct tv_module {
    atomic_int refs;
    void *dl;                        /* dlopen handle */
    int fd;                          /* the private copy dl was loaded from (see loader.c) */
    char *file;                      /* the .so's name in the module dir, for logs */
    char *name, *version;            /* copied from tavern_module_info */
    unsigned abi_major, abi_minor;   /* the ABI the module was built against */
    /* the registration window: open only while init runs on the loader thread (atomic: a
     * thread the module started may call register_* concurrently, and must be refused) */
    atomic_int open;
    pthread_t loader;                /* written before open is set */
    tv_mod_gen_t *build;             /* the generation being assembled, for clashes */
    char clash[256];                 /* "" or why a registration clashed with another module */
    mod_entry_t **entries;
    size_t nentries, cap;
};

struct tv_mod_gen {
    atomic_int refs;
    uint64_t id;
    int sealed;                      /* tables sorted; read-only from now on */
    tv_module_t **mods;              /* one reference each */
    size_t nmods, capmods;
    mod_entry_t **tab[KIND_COUNT];   /* sorted by key once sealed; borrowed from mods */
    size_t ntab[KIND_COUNT], captab[KIND_COUNT];
    char *dir;                       /* the folder it was loaded from (NULL when unknown) */
    struct mod_refused { char *file, *why; } *refused; /* the files this load refused */
    size_t nrefused, caprefused;
};

/* A built-in RPC (tv_mod_builtin_add): set at start-up, read without a lock afterwards. */
typedef struct {
    char key[129];                   /* lower-cased id */
    const char *hook_api;            /* NULL or the API whose hooks run around it */
    char hook_key[128];              /* hook_api lower-cased, the hooks' table key */
    tv_mod_builtin_fn fn;
    void *ud;
} mod_builtin_t;

/* registry.c */
tv_module_t *tv_mod_module_new(const char *file);
void tv_mod_module_ref(tv_module_t *m);
void tv_mod_module_unref(tv_module_t *m);
/* Adds a registration to m (during init). Returns a TV_GRPC_* code (see register_* in
 * module.h); a clash with a module already in m->build also fills m->clash. */
int tv_mod_module_register(tv_module_t *m, mod_kind_t kind, const char *name, tv_mod_fn fn,
                           const tv_mod_match_handler_t *handler);
tv_mod_gen_t *tv_mod_gen_new(uint64_t id);
/* Adds an initialised module (takes a reference) and its registrations. TV_ENOMEM. */
int tv_mod_gen_add(tv_mod_gen_t *g, tv_module_t *m);
/* Notes a file the load refused and why (copied; a failure to note is ignored). */
void tv_mod_gen_refuse(tv_mod_gen_t *g, const char *file, const char *why);
/* Sorts the tables: after this the generation is read-only and may be published. */
void tv_mod_gen_seal(tv_mod_gen_t *g);
/* The registration of kind with key (lower-cased already), or NULL. */
const mod_entry_t *tv_mod_gen_find(const tv_mod_gen_t *g, mod_kind_t kind, const char *key);
/* Makes g current (the registry takes g's reference) and drops the previous generation. */
void tv_mod_registry_publish(tv_mod_registry_t *r, tv_mod_gen_t *g);
/* Serialises loads. */
void tv_mod_registry_lock_load(tv_mod_registry_t *r);
void tv_mod_registry_unlock_load(tv_mod_registry_t *r);
uint64_t tv_mod_registry_next_id(tv_mod_registry_t *r);

/* The built-in RPC with key (lower-cased already), or NULL. */
const mod_builtin_t *tv_mod_builtin_find(const tv_mod_registry_t *r, const char *key);
/* Logs a warning for every built-in RPC that a module's RPC of g replaces. */
void tv_mod_builtin_warn_shadowed(const tv_mod_registry_t *r, const tv_mod_gen_t *g);

/* Lower-cases an ASCII name into a new string (NULL when out of memory). */
char *tv_mod_lower(const char *s);

/* call.c. A callback's gRPC code as sent to clients: 1-16 as is, others 13. */
int tv_mod_grpc_code(int code);
/* Frees r's data and message and makes it empty (size set) for the next call. */
void tv_mod_reply_clear(tv_mod_reply_t *r);
/* Calls the hook e (before or after) for api. in/in_len is the request body; result is the
 * answer (after hooks only). Returns 0 or a client-ready gRPC code; rep (cleared first) holds
 * the replacement body (before, code 0: NUL-terminated) or the message; the caller clears it. */
int tv_mod_call_hook(const mod_entry_t *e, const char *api, const tv_mod_caller_t *who,
                     const char *in, size_t in_len, const char *result, size_t result_len,
                     tv_mod_reply_t *rep);

/* jsonstr.c. Decodes s (n bytes), which must be exactly one JSON string literal or null with
 * white space around, into *out (malloc'd, NUL-terminated; *outlen bytes, which may include
 * NULs). TV_EINVAL for anything else, TV_ENOMEM. */
int tv_mod_json_unquote(const char *s, size_t n, char **out, size_t *outlen);
/* n bytes as a JSON string literal, quotes included (malloc'd; NULL when out of memory). */
char *tv_mod_json_quote(const char *s, size_t n, size_t *outlen);

/* host.c: the table handed to every module. */
extern const tv_host_api_t tv_mod_host;

#endif
