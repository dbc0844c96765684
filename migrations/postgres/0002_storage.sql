-- 0002: storage objects (PostgreSQL dialect). One row per (collection, key, owner); the system
-- owner is the nil UUID. version is a hash of value (see server/storage/storage.h). Text keys
-- sort bytewise (COLLATE "C"), as in SQLite, so listings and cursors agree across engines.
CREATE TABLE storage (
  collection   VARCHAR(128) COLLATE "C" NOT NULL,
  key          VARCHAR(128) COLLATE "C" NOT NULL,
  user_id      UUID NOT NULL,
  value        TEXT NOT NULL,
  version      VARCHAR(32) NOT NULL,
  read         SMALLINT NOT NULL DEFAULT 1 CHECK (read >= 0 AND read <= 2),
  write        SMALLINT NOT NULL DEFAULT 1 CHECK (write >= 0 AND write <= 1),
  create_time  BIGINT NOT NULL,
  update_time  BIGINT NOT NULL,
  PRIMARY KEY (collection, key, user_id)
);
-- Listing public objects of every owner: (read, key, user_id) order within a collection.
CREATE INDEX storage_collection_read_key_idx ON storage (collection, read, key, user_id);
-- Listing one owner's objects: (read, key) order.
CREATE INDEX storage_collection_user_read_idx ON storage (collection, user_id, read, key);

-- An account's objects go with it (the system owner has no account row).
CREATE FUNCTION tv_users_delete_storage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM storage WHERE user_id = OLD.id;
  RETURN OLD;
END;
$$;
CREATE TRIGGER users_delete_storage AFTER DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION tv_users_delete_storage();
