-- 0003: leaderboards and tournaments (one table, Nakama's layout) and their records (SQLite).
-- sort_order: 0 ascending, 1 descending. operator: 1 best, 2 set, 3 incr, 4 decr (the request
-- enum). Tournament columns are 0/'' for plain leaderboards.
CREATE TABLE leaderboard (
  id              TEXT PRIMARY KEY,
  authoritative   INTEGER NOT NULL DEFAULT 0,
  sort_order      INTEGER NOT NULL DEFAULT 1,
  operator        INTEGER NOT NULL DEFAULT 1,
  reset_schedule  TEXT NOT NULL DEFAULT '',
  metadata        TEXT NOT NULL DEFAULT '{}',
  create_time     INTEGER NOT NULL,
  tournament      INTEGER NOT NULL DEFAULT 0,
  category        INTEGER NOT NULL DEFAULT 0,
  title           TEXT NOT NULL DEFAULT '',
  description     TEXT NOT NULL DEFAULT '',
  duration        INTEGER NOT NULL DEFAULT 0,
  start_time      INTEGER NOT NULL DEFAULT 0,
  end_time        INTEGER NOT NULL DEFAULT 0,
  max_size        INTEGER NOT NULL DEFAULT 0,
  max_num_score   INTEGER NOT NULL DEFAULT 0,
  join_required   INTEGER NOT NULL DEFAULT 0
);

-- One record per owner and period: expiry_time is the end of the reset period it was written
-- in (0 without a reset schedule).
CREATE TABLE leaderboard_record (
  leaderboard_id  TEXT NOT NULL REFERENCES leaderboard(id) ON DELETE CASCADE,
  owner_id        TEXT NOT NULL,
  username        TEXT,
  score           INTEGER NOT NULL DEFAULT 0,
  subscore        INTEGER NOT NULL DEFAULT 0,
  num_score       INTEGER NOT NULL DEFAULT 1,
  max_num_score   INTEGER NOT NULL DEFAULT 0,
  metadata        TEXT NOT NULL DEFAULT '{}',
  create_time     INTEGER NOT NULL,
  update_time     INTEGER NOT NULL,
  expiry_time     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (leaderboard_id, expiry_time, owner_id)
);
CREATE INDEX leaderboard_record_rank_idx
  ON leaderboard_record (leaderboard_id, expiry_time, score, subscore, owner_id);

-- An account's records go with it (account deletion), found by owner.
CREATE INDEX leaderboard_record_owner_idx ON leaderboard_record (owner_id);
CREATE TRIGGER users_delete_leaderboard_record AFTER DELETE ON users
BEGIN
  DELETE FROM leaderboard_record WHERE owner_id = OLD.id;
END;
