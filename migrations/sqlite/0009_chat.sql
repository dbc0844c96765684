-- 0009: chat history (SQLite). One row per stored message of a room ("2...<name>") or a
-- direct-message channel ("4.<lower user id>.<higher user id>."): ids are UUIDv7 and times
-- unix milliseconds, so (channel_id, create_time, id) is the order pages follow. code is 0
-- (chat) for every stored row: updates change content and update_time, removes delete it.
-- dm_user_one / dm_user_two name a DM's two users (NULL in rooms) for the trigger below.
CREATE TABLE channel_message (
  id           TEXT PRIMARY KEY,
  channel_id   TEXT NOT NULL,
  code         INTEGER NOT NULL DEFAULT 0,
  sender_id    TEXT NOT NULL,
  username     TEXT NOT NULL,
  content      TEXT NOT NULL DEFAULT '{}',
  create_time  INTEGER NOT NULL,
  update_time  INTEGER NOT NULL,
  dm_user_one  TEXT,
  dm_user_two  TEXT
);
CREATE INDEX channel_message_list_idx ON channel_message (channel_id, create_time, id);
CREATE INDEX channel_message_dm_one_idx ON channel_message (dm_user_one) WHERE dm_user_one IS NOT NULL;
CREATE INDEX channel_message_dm_two_idx ON channel_message (dm_user_two) WHERE dm_user_two IS NOT NULL;

-- A deleted account's direct-message channels go with it, both sides: a private conversation
-- with an erased account is that account's data too, and nobody can join it again. Its room
-- messages stay (as in Nakama), under the username they were sent with.
CREATE TRIGGER users_delete_channel_message AFTER DELETE ON users
BEGIN
  DELETE FROM channel_message WHERE dm_user_one = OLD.id;
  DELETE FROM channel_message WHERE dm_user_two = OLD.id;
END;
