-- 0004: the wallet ledger (PostgreSQL): one row per user per wallet change, written in the
-- same transaction as the balance in users.wallet. changeset is {currency: delta};
-- create_time is unix milliseconds. A deleted account's entries go with it.
CREATE TABLE wallet_ledger (
  id           UUID PRIMARY KEY,
  user_id      UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  changeset    TEXT NOT NULL DEFAULT '{}',
  metadata     TEXT NOT NULL DEFAULT '{}',
  create_time  BIGINT NOT NULL
);
CREATE INDEX wallet_ledger_user_idx ON wallet_ledger (user_id, create_time, id);

-- The shop catalog: def is the item's definition as the console API shows it (JSON); stock
-- (-1 = unlimited) and disabled live in their own columns, so a purchase can take the last
-- one with a conditional UPDATE and the console can switch an item off without rewriting it.
CREATE TABLE shop_item (
  id           VARCHAR(64) PRIMARY KEY,
  def          TEXT NOT NULL,
  stock        BIGINT NOT NULL DEFAULT -1,
  disabled     INTEGER NOT NULL DEFAULT 0,
  update_time  BIGINT NOT NULL
);
