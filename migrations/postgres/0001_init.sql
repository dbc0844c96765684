-- 0001: users, their identifiers and the session deny-list (PostgreSQL dialect).
CREATE TABLE users (
  id            UUID PRIMARY KEY,
  username      VARCHAR(128) NOT NULL UNIQUE,
  display_name  VARCHAR(255) NOT NULL DEFAULT '',
  avatar_url    VARCHAR(512) NOT NULL DEFAULT '',
  lang_tag      VARCHAR(18) NOT NULL DEFAULT 'en',
  location      VARCHAR(255) NOT NULL DEFAULT '',
  timezone      VARCHAR(255) NOT NULL DEFAULT '',
  metadata      TEXT NOT NULL DEFAULT '{}',
  wallet        TEXT NOT NULL DEFAULT '{}',
  email         VARCHAR(255) UNIQUE,
  password      TEXT,
  custom_id     VARCHAR(128) UNIQUE,
  edge_count    INTEGER NOT NULL DEFAULT 0,
  create_time   BIGINT NOT NULL,
  update_time   BIGINT NOT NULL,
  verify_time   BIGINT NOT NULL DEFAULT 0,
  disable_time  BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE user_device (
  id       VARCHAR(128) PRIMARY KEY,
  user_id  UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE
);
CREATE INDEX user_device_user_id_idx ON user_device (user_id);

-- A revoked token pair (by its shared tid) stays here until it would have expired anyway.
CREATE TABLE session_revoked (
  token_id    UUID PRIMARY KEY,
  user_id     UUID NOT NULL,
  expires_at  BIGINT NOT NULL
);

-- "Log out everywhere": tokens of this user issued at or before logout_time are refused.
CREATE TABLE session_logout_all (
  user_id      UUID PRIMARY KEY,
  logout_time  BIGINT NOT NULL
);
