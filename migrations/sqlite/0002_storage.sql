-- 0002: storage objects (SQLite dialect). One row per (collection, key, owner); the system
-- owner is the nil UUID. version is a hash of value (see server/storage/storage.h).
CREATE TABLE storage (
  collection   TEXT NOT NULL,
  key          TEXT NOT NULL,
  user_id      TEXT NOT NULL,
  value        TEXT NOT NULL,
  version      TEXT NOT NULL,
  read         INTEGER NOT NULL DEFAULT 1 CHECK (read >= 0 AND read <= 2),
  write        INTEGER NOT NULL DEFAULT 1 CHECK (write >= 0 AND write <= 1),
  create_time  INTEGER NOT NULL,
  update_time  INTEGER NOT NULL,
  PRIMARY KEY (collection, key, user_id)
);
-- Listing public objects of every owner: (read, key, user_id) order within a collection.
CREATE INDEX storage_collection_read_key_idx ON storage (collection, read, key, user_id);
-- Listing one owner's objects: (read, key) order.
CREATE INDEX storage_collection_user_read_idx ON storage (collection, user_id, read, key);

-- An account's objects go with it (the system owner has no account row).
CREATE TRIGGER users_delete_storage AFTER DELETE ON users
BEGIN
  DELETE FROM storage WHERE user_id = OLD.id;
END;
