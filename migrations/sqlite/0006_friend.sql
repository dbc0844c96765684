-- Friends: one edge per direction. state 0 friend, 1 invite sent, 2 invite received,
-- 3 blocked (Nakama's). position orders a user's list within a state.
CREATE TABLE user_edge (
  source_id      TEXT NOT NULL,
  destination_id TEXT NOT NULL,
  state          INTEGER NOT NULL,
  position       INTEGER NOT NULL,
  update_time    INTEGER NOT NULL,
  PRIMARY KEY (source_id, destination_id)
);
CREATE INDEX user_edge_list_idx ON user_edge (source_id, state, position, destination_id);
CREATE INDEX user_edge_destination_idx ON user_edge (destination_id);

-- An account's edges go with it, and the other users' edge counts follow.
CREATE TRIGGER users_delete_user_edge AFTER DELETE ON users
BEGIN
  UPDATE users SET edge_count = edge_count - 1 WHERE id IN
    (SELECT source_id FROM user_edge WHERE destination_id = OLD.id AND state < 3);
  DELETE FROM user_edge WHERE source_id = OLD.id OR destination_id = OLD.id;
END;
