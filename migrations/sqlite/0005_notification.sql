-- Notifications: only persistent ones are stored (as in Nakama), listed per user in insertion
-- order. seq makes "newer than the cursor" exact where create_time (seconds) would tie.
CREATE TABLE notification (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  id          TEXT NOT NULL UNIQUE,
  user_id     TEXT NOT NULL,
  subject     TEXT NOT NULL,
  content     TEXT NOT NULL DEFAULT '{}',
  code        INTEGER NOT NULL,
  sender_id   TEXT NOT NULL DEFAULT '',
  create_time INTEGER NOT NULL
);
CREATE INDEX notification_user_seq_idx ON notification (user_id, seq);

-- An account's notifications go with it.
CREATE TRIGGER users_delete_notification AFTER DELETE ON users
BEGIN
  DELETE FROM notification WHERE user_id = OLD.id;
END;
