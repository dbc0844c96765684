-- 0010: groups (SQLite). One row per group in user_group, one per (group, user) in
-- group_member with Nakama's states: 0 superadmin, 1 admin, 2 member, 3 join request,
-- 4 banned. edge_count counts states 0-2 (never requests or bans) and is kept by the code in
-- the same transaction as the member rows; position orders a group's or a user's list within
-- a state (microseconds of the change).
CREATE TABLE user_group (
  id           TEXT PRIMARY KEY,
  creator_id   TEXT NOT NULL,
  name         TEXT NOT NULL UNIQUE,
  description  TEXT NOT NULL DEFAULT '',
  avatar_url   TEXT NOT NULL DEFAULT '',
  lang_tag     TEXT NOT NULL DEFAULT 'en',
  metadata     TEXT NOT NULL DEFAULT '{}',
  is_open      INTEGER NOT NULL,
  edge_count   INTEGER NOT NULL DEFAULT 0,
  max_count    INTEGER NOT NULL,
  create_time  INTEGER NOT NULL,
  update_time  INTEGER NOT NULL
);

CREATE TABLE group_member (
  group_id     TEXT NOT NULL,
  user_id      TEXT NOT NULL,
  state        INTEGER NOT NULL,
  position     INTEGER NOT NULL,
  update_time  INTEGER NOT NULL,
  PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_member_group_idx ON group_member (group_id, state, position, user_id);
CREATE INDEX group_member_user_idx ON group_member (user_id, state, position, group_id);

-- A deleted account leaves its groups: the member counts follow. A group whose only
-- superadmin is deleted stays (as in Nakama), run by its admins, if any.
CREATE TRIGGER users_delete_group_member AFTER DELETE ON users
BEGIN
  UPDATE user_group SET edge_count = edge_count - 1 WHERE id IN
    (SELECT group_id FROM group_member WHERE user_id = OLD.id AND state < 3);
  DELETE FROM group_member WHERE user_id = OLD.id;
END;
