-- Notifications: only persistent ones are stored (as in Nakama), listed per user in insertion
-- order. seq makes "newer than the cursor" exact where create_time (seconds) would tie.
CREATE TABLE notification (
  seq         BIGSERIAL PRIMARY KEY,
  id          TEXT NOT NULL UNIQUE,
  user_id     UUID NOT NULL,
  subject     TEXT NOT NULL,
  content     TEXT NOT NULL DEFAULT '{}',
  code        INTEGER NOT NULL,
  sender_id   TEXT NOT NULL DEFAULT '',
  create_time BIGINT NOT NULL
);
CREATE INDEX notification_user_seq_idx ON notification (user_id, seq);

-- An account's notifications go with it.
CREATE FUNCTION tv_users_delete_notification() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM notification WHERE user_id = OLD.id;
  RETURN OLD;
END;
$$;
CREATE TRIGGER users_delete_notification AFTER DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION tv_users_delete_notification();
