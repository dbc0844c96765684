-- 0008: refunds (PostgreSQL). A receipt refunded by the console keeps its row, marked with
-- the time (unix milliseconds; NULL = not refunded), the reason and the wallet_ledger entry
-- of the refund. A refunded receipt no longer counts toward the item's per-user limit. The
-- index serves the console's receipt listing, newest first.
ALTER TABLE purchase_receipt ADD COLUMN refund_time BIGINT;
ALTER TABLE purchase_receipt ADD COLUMN refund_reason TEXT;
ALTER TABLE purchase_receipt ADD COLUMN refund_ledger_id UUID;
CREATE INDEX purchase_receipt_time_idx ON purchase_receipt (user_id, create_time, id);
