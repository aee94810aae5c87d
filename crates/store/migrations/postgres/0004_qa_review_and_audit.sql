-- Switchboard store, version 4 (PostgreSQL): QA review (scores and time-anchored comments), the
-- audit log of who viewed, listened to or exported which call, and the call-row columns the
-- reports aggregate on.

-- One score per reviewer per call; a new score from the same reviewer replaces the old one.
-- `answers` is the JSON object of criterion id -> true/false or 1..5; `total` is the weighted
-- percentage computed when it was saved (the scorecard may change later).
CREATE TABLE call_scores (
    call_id    TEXT NOT NULL,
    reviewer   TEXT NOT NULL,
    answers    TEXT NOT NULL,
    total      DOUBLE PRECISION NOT NULL,
    note       TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (call_id, reviewer)
);

-- Comments anchored to a moment of the call (ms from the answer, the recording's time base).
CREATE TABLE call_comments (
    id         BIGSERIAL PRIMARY KEY,
    call_id    TEXT NOT NULL,
    author     TEXT NOT NULL,
    at_ms      BIGINT NOT NULL,
    text       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX call_comments_by_call ON call_comments (call_id, at_ms, id);

-- Append-only: who did what to which call, when, from where.
CREATE TABLE audit_log (
    id        BIGSERIAL PRIMARY KEY,
    at        BIGINT NOT NULL,
    user_name TEXT NOT NULL,
    role      TEXT NOT NULL,
    action    TEXT NOT NULL,
    call_id   TEXT,
    address   TEXT,
    detail    TEXT NOT NULL
);
CREATE INDEX audit_log_by_at ON audit_log (at, id);
CREATE INDEX audit_log_by_call ON audit_log (call_id, at, id);
CREATE INDEX audit_log_by_user ON audit_log (user_name, at, id);

-- Report columns, kept by the writer from the call's events (crates/store/src/summary.rs):
-- when the caller first entered a queue (`queue_entered`), when an agent first answered
-- (`agent_answered`), where the queue left the caller (`waiting`, `answered`, `overflow`), and
-- the post-call survey's answer 1..5 (`survey_answer`).
ALTER TABLE calls ADD COLUMN queued_at BIGINT;
ALTER TABLE calls ADD COLUMN agent_answered_at BIGINT;
ALTER TABLE calls ADD COLUMN queue_state TEXT;
ALTER TABLE calls ADD COLUMN satisfaction DOUBLE PRECISION;

UPDATE calls SET queued_at = (
    SELECT MIN(e.at) FROM call_events e WHERE e.call_id = calls.id AND e.kind = 'queue_entered');
UPDATE calls SET agent_answered_at = (
    SELECT MIN(e.at) FROM call_events e WHERE e.call_id = calls.id AND e.kind = 'agent_answered');
UPDATE calls SET queue_state = (
    SELECT CASE e.kind WHEN 'agent_answered' THEN 'answered' WHEN 'queue_overflow' THEN 'overflow'
           ELSE 'waiting' END
    FROM call_events e WHERE e.call_id = calls.id
      AND e.kind IN ('queue_entered', 'requeued', 'agent_answered', 'queue_overflow')
    ORDER BY e.seq DESC LIMIT 1);
UPDATE calls SET satisfaction = (
    SELECT (e.data::jsonb ->> 'score')::double precision FROM call_events e
    WHERE e.call_id = calls.id AND e.kind = 'survey_answer'
    ORDER BY e.seq DESC LIMIT 1);

-- Repeat callers: "did this caller call within the N days before?" is one index seek per call.
CREATE INDEX calls_by_caller ON calls (from_uri, started_at);
