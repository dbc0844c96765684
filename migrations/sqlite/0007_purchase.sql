-- 0007: purchases and inventory (SQLite). inventory holds what a user owns (count > 0; a
-- row goes when consumed to 0); purchase_receipt one row per purchase, unique per
-- (user, idempotency key) so a repeated request returns the first receipt and charges once.
-- shop_item.stock is not changed here: a purchase takes one with
-- "UPDATE shop_item SET stock = stock - 1 WHERE id = $1 AND stock > 0" (-1 = unlimited, kept).
-- Times are unix milliseconds.
CREATE TABLE inventory (
  user_id      TEXT NOT NULL,
  item_id      TEXT NOT NULL,
  count        INTEGER NOT NULL CHECK (count >= 0),
  properties   TEXT NOT NULL DEFAULT '{}',
  update_time  INTEGER NOT NULL,
  PRIMARY KEY (user_id, item_id)
);

CREATE TABLE purchase_receipt (
  id               TEXT PRIMARY KEY,
  user_id          TEXT NOT NULL,
  item_id          TEXT NOT NULL,
  idempotency_key  TEXT NOT NULL,
  price            TEXT NOT NULL DEFAULT '{}',
  grants           TEXT NOT NULL DEFAULT '{}',
  create_time      INTEGER NOT NULL,
  UNIQUE (user_id, idempotency_key)
);
CREATE INDEX purchase_receipt_item_idx ON purchase_receipt (user_id, item_id);

-- A deleted account's inventory and receipts go with it.
CREATE TRIGGER users_delete_purchase AFTER DELETE ON users
BEGIN
  DELETE FROM inventory WHERE user_id = OLD.id;
  DELETE FROM purchase_receipt WHERE user_id = OLD.id;
END;
