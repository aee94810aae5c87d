-- Switchboard store, version 1: calls and their append-only event timeline.
--
-- Portable SQL: this one file runs unchanged on SQLite and PostgreSQL.
-- Times are BIGINT unix milliseconds (UTC), JSON is TEXT.
-- Do not edit once released: sqlx checks each applied migration's checksum.

CREATE TABLE calls (
    id             TEXT PRIMARY KEY,
    from_uri       TEXT NOT NULL,
    to_uri         TEXT NOT NULL,
    started_at     BIGINT NOT NULL,
    answered_at    BIGINT,
    ended_at       BIGINT,
    outcome        TEXT,
    dialplan       TEXT,
    recording_path TEXT
);

-- Newest-first listing.
CREATE INDEX calls_started_at ON calls (started_at);
-- Start-up recovery and "calls in progress" look only at calls without an end.
CREATE INDEX calls_open ON calls (started_at) WHERE ended_at IS NULL;

-- Append-only: rows are inserted as events happen and never updated.
-- seq numbers the events of one call from 1 and keeps their order stable
-- even when two events share a millisecond. No foreign key to calls on
-- purpose: an event is kept even if its call row is missing (nothing lost).
CREATE TABLE call_events (
    call_id TEXT NOT NULL,
    seq     BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    kind    TEXT NOT NULL,
    data    TEXT NOT NULL,
    PRIMARY KEY (call_id, seq)
);
