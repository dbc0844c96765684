-- 0012: indexes for the console's Accounts page (SQLite dialect): the account search newest
-- first, and a user's storage objects and sent chat messages (counts and the data export).
CREATE INDEX users_create_time_idx ON users (create_time, id);
CREATE INDEX storage_user_idx ON storage (user_id, collection, key);
CREATE INDEX channel_message_sender_idx ON channel_message (sender_id, create_time, id);
