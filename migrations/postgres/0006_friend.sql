-- Friends: one edge per direction. state 0 friend, 1 invite sent, 2 invite received,
-- 3 blocked (Nakama's). position orders a user's list within a state.
CREATE TABLE user_edge (
  source_id      UUID NOT NULL,
  destination_id UUID NOT NULL,
  state          SMALLINT NOT NULL,
  position       BIGINT NOT NULL,
  update_time    BIGINT NOT NULL,
  PRIMARY KEY (source_id, destination_id)
);
CREATE INDEX user_edge_list_idx ON user_edge (source_id, state, position, destination_id);
CREATE INDEX user_edge_destination_idx ON user_edge (destination_id);

-- An account's edges go with it, and the other users' edge counts follow.
CREATE FUNCTION tv_users_delete_user_edge() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE users SET edge_count = edge_count - 1 WHERE id IN
    (SELECT source_id FROM user_edge WHERE destination_id = OLD.id AND state < 3);
  DELETE FROM user_edge WHERE source_id = OLD.id OR destination_id = OLD.id;
  RETURN OLD;
END;
$$;
CREATE TRIGGER users_delete_user_edge AFTER DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION tv_users_delete_user_edge();
