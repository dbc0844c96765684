/* What the storage room's files share: the store itself. */
#ifndef TV_STORAGE_INTERNAL_H
#define TV_STORAGE_INTERNAL_H

#include "storage.h"

struct tv_storage {
    struct tv_db *db;          /* borrowed */
    unsigned char cursor_key[32]; /* derived from the session key: signs list cursors */
};

#endif
