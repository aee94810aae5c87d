-- Switchboard store, version 5: callback requests (a caller left a number instead of waiting).
--
-- Portable SQL: the same text for SQLite and PostgreSQL. Times are BIGINT unix milliseconds.
-- Do not edit once released: sqlx checks each applied migration's checksum.

CREATE TABLE callbacks (
    id           TEXT PRIMARY KEY,
    call_id      TEXT NOT NULL,
    number       TEXT NOT NULL,
    queue        TEXT,
    summary      TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    -- pending, then done (or given up) by whoever called back.
    status       TEXT NOT NULL DEFAULT 'pending'
);

-- The work list: pending requests, oldest first, per queue.
CREATE INDEX callbacks_by_status ON callbacks (status, requested_at);
CREATE INDEX callbacks_by_call ON callbacks (call_id);
