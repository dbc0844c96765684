-- 0007: purchases and inventory (PostgreSQL). inventory holds what a user owns (count > 0;
-- a row goes when consumed to 0); purchase_receipt one row per purchase, unique per
-- (user, idempotency key) so a repeated request returns the first receipt and charges once.
-- shop_item.stock is not changed here: a purchase takes one with
-- "UPDATE shop_item SET stock = stock - 1 WHERE id = $1 AND stock > 0" (-1 = unlimited, kept).
-- Times are unix milliseconds.
CREATE TABLE inventory (
  user_id      UUID NOT NULL,
  item_id      VARCHAR(64) NOT NULL,
  count        BIGINT NOT NULL CHECK (count >= 0),
  properties   TEXT NOT NULL DEFAULT '{}',
  update_time  BIGINT NOT NULL,
  PRIMARY KEY (user_id, item_id)
);

CREATE TABLE purchase_receipt (
  id               UUID PRIMARY KEY,
  user_id          UUID NOT NULL,
  item_id          VARCHAR(64) NOT NULL,
  idempotency_key  VARCHAR(64) NOT NULL,
  price            TEXT NOT NULL DEFAULT '{}',
  grants           TEXT NOT NULL DEFAULT '{}',
  create_time      BIGINT NOT NULL,
  UNIQUE (user_id, idempotency_key)
);
CREATE INDEX purchase_receipt_item_idx ON purchase_receipt (user_id, item_id);

-- A deleted account's inventory and receipts go with it.
CREATE FUNCTION tv_users_delete_purchase() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM inventory WHERE user_id = OLD.id;
  DELETE FROM purchase_receipt WHERE user_id = OLD.id;
  RETURN OLD;
END;
$$;
CREATE TRIGGER users_delete_purchase AFTER DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION tv_users_delete_purchase();
