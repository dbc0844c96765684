-- 0009: chat history (PostgreSQL). One row per stored message of a room ("2...<name>") or a
-- direct-message channel ("4.<lower user id>.<higher user id>."): ids are UUIDv7 and times
-- unix milliseconds, so (channel_id, create_time, id) is the order pages follow. code is 0
-- (chat) for every stored row: updates change content and update_time, removes delete it.
-- dm_user_one / dm_user_two name a DM's two users (NULL in rooms) for the trigger below.
CREATE TABLE channel_message (
  id           UUID PRIMARY KEY,
  channel_id   VARCHAR(128) NOT NULL,
  code         INTEGER NOT NULL DEFAULT 0,
  sender_id    UUID NOT NULL,
  username     VARCHAR(128) NOT NULL,
  content      TEXT NOT NULL DEFAULT '{}',
  create_time  BIGINT NOT NULL,
  update_time  BIGINT NOT NULL,
  dm_user_one  UUID,
  dm_user_two  UUID
);
CREATE INDEX channel_message_list_idx ON channel_message (channel_id, create_time, id);
CREATE INDEX channel_message_dm_one_idx ON channel_message (dm_user_one) WHERE dm_user_one IS NOT NULL;
CREATE INDEX channel_message_dm_two_idx ON channel_message (dm_user_two) WHERE dm_user_two IS NOT NULL;

-- A deleted account's direct-message channels go with it, both sides: a private conversation
-- with an erased account is that account's data too, and nobody can join it again. Its room
-- messages stay (as in Nakama), under the username they were sent with.
CREATE FUNCTION tv_users_delete_channel_message() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM channel_message WHERE dm_user_one = OLD.id;
  DELETE FROM channel_message WHERE dm_user_two = OLD.id;
  RETURN OLD;
END;
$$;
CREATE TRIGGER users_delete_channel_message AFTER DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION tv_users_delete_channel_message();
