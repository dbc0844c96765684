-- 0011: console users and the console's audit log (PostgreSQL). console_user holds named console
-- accounts with a role and an argon2id hash; failed_attempts counts consecutive failed
-- sign-ins and locked_until (unix seconds, 0 = not locked) is set when they reach the limit.
-- Times are unix seconds; 0 means never.
CREATE TABLE console_user (
  id               UUID PRIMARY KEY,
  username         VARCHAR(128) NOT NULL UNIQUE,
  email            VARCHAR(255) NOT NULL DEFAULT '',
  role             VARCHAR(16) NOT NULL CHECK (role IN ('admin', 'developer', 'maintainer', 'readonly')),
  password         TEXT NOT NULL,
  failed_attempts  INTEGER NOT NULL DEFAULT 0,
  locked_until     BIGINT NOT NULL DEFAULT 0,
  disable_time     BIGINT NOT NULL DEFAULT 0,
  create_time      BIGINT NOT NULL,
  update_time      BIGINT NOT NULL,
  last_signin_time BIGINT NOT NULL DEFAULT 0
);

-- One row per console write (every request but GET), refused ones included. id is a UUIDv7,
-- so it orders rows by time; create_time is unix milliseconds. user_id, username and role are
-- the caller's as the token named them ('' when there was no valid token); action is the
-- method and route pattern ("POST /v2/console/user/{username}/unlock"), target the route's
-- path parameters joined by '/', body a bounded summary with secrets replaced.
CREATE TABLE console_audit (
  id           UUID PRIMARY KEY,
  create_time  BIGINT NOT NULL,
  user_id      VARCHAR(36) NOT NULL DEFAULT '',
  username     VARCHAR(128) NOT NULL DEFAULT '',
  role         VARCHAR(16) NOT NULL DEFAULT '',
  action       TEXT NOT NULL,
  path         TEXT NOT NULL,
  target       TEXT NOT NULL DEFAULT '',
  body         TEXT NOT NULL DEFAULT '',
  status       INTEGER NOT NULL,
  client       VARCHAR(64) NOT NULL DEFAULT ''
);
CREATE INDEX console_audit_username_idx ON console_audit (username, id);
CREATE INDEX console_audit_action_idx ON console_audit (action, id);
