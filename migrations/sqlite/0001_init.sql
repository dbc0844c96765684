-- 0001: users, their identifiers and the session deny-list (SQLite dialect).
CREATE TABLE users (
  id            TEXT PRIMARY KEY,
  username      TEXT NOT NULL UNIQUE,
  display_name  TEXT NOT NULL DEFAULT '',
  avatar_url    TEXT NOT NULL DEFAULT '',
  lang_tag      TEXT NOT NULL DEFAULT 'en',
  location      TEXT NOT NULL DEFAULT '',
  timezone      TEXT NOT NULL DEFAULT '',
  metadata      TEXT NOT NULL DEFAULT '{}',
  wallet        TEXT NOT NULL DEFAULT '{}',
  email         TEXT UNIQUE,
  password      TEXT,
  custom_id     TEXT UNIQUE,
  edge_count    INTEGER NOT NULL DEFAULT 0,
  create_time   INTEGER NOT NULL,
  update_time   INTEGER NOT NULL,
  verify_time   INTEGER NOT NULL DEFAULT 0,
  disable_time  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE user_device (
  id       TEXT PRIMARY KEY,
  user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE
);
CREATE INDEX user_device_user_id_idx ON user_device (user_id);

-- A revoked token pair (by its shared tid) stays here until it would have expired anyway.
CREATE TABLE session_revoked (
  token_id    TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL,
  expires_at  INTEGER NOT NULL
);

-- "Log out everywhere": tokens of this user issued at or before logout_time are refused.
CREATE TABLE session_logout_all (
  user_id      TEXT PRIMARY KEY,
  logout_time  INTEGER NOT NULL
);
