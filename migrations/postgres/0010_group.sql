-- 0010: groups (PostgreSQL). One row per group in user_group, one per (group, user) in
-- group_member with Nakama's states: 0 superadmin, 1 admin, 2 member, 3 join request,
-- 4 banned. edge_count counts states 0-2 (never requests or bans) and is kept by the code in
-- the same transaction as the member rows, under the group row's lock; position orders a
-- group's or a user's list within a state (microseconds of the change).
CREATE TABLE user_group (
  id           UUID PRIMARY KEY,
  creator_id   UUID NOT NULL,
  name         VARCHAR(128) NOT NULL UNIQUE,
  description  VARCHAR(1024) NOT NULL DEFAULT '',
  avatar_url   VARCHAR(512) NOT NULL DEFAULT '',
  lang_tag     VARCHAR(18) NOT NULL DEFAULT 'en',
  metadata     TEXT NOT NULL DEFAULT '{}',
  is_open      SMALLINT NOT NULL,
  edge_count   INTEGER NOT NULL DEFAULT 0,
  max_count    INTEGER NOT NULL,
  create_time  BIGINT NOT NULL,
  update_time  BIGINT NOT NULL
);

CREATE TABLE group_member (
  group_id     UUID NOT NULL,
  user_id      UUID NOT NULL,
  state        SMALLINT NOT NULL,
  position     BIGINT NOT NULL,
  update_time  BIGINT NOT NULL,
  PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_member_group_idx ON group_member (group_id, state, position, user_id);
CREATE INDEX group_member_user_idx ON group_member (user_id, state, position, group_id);

-- A deleted account leaves its groups: the member counts follow. A group whose only
-- superadmin is deleted stays (as in Nakama), run by its admins, if any.
CREATE FUNCTION tv_users_delete_group_member() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE user_group SET edge_count = edge_count - 1 WHERE id IN
    (SELECT group_id FROM group_member WHERE user_id = OLD.id AND state < 3);
  DELETE FROM group_member WHERE user_id = OLD.id;
  RETURN OLD;
END;
$$;
CREATE TRIGGER users_delete_group_member AFTER DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION tv_users_delete_group_member();
