-- Switchboard store, version 3 (PostgreSQL): what the QA views filter calls on, kept on the call
-- row so a filtered list is one indexed query, and full-text search over transcripts.
--
-- The writer keeps the new columns up to date as events and transcript lines arrive
-- (crates/store/src/summary.rs); the UPDATEs below fill them in for calls stored before.

-- The intent the bot named last (`kb_answer`, `bot_intent`, `escalated` events).
ALTER TABLE calls ADD COLUMN intent TEXT;
-- Whether the bot handed the caller over (an `escalated` event).
ALTER TABLE calls ADD COLUMN escalated BOOLEAN NOT NULL DEFAULT FALSE;
-- The highest frustration score of the caller's transcript lines (`data.emotion.score`).
ALTER TABLE calls ADD COLUMN max_frustration DOUBLE PRECISION;
-- The human agent who took the call; an agent may read only their own calls.
ALTER TABLE calls ADD COLUMN agent_id TEXT;

UPDATE calls SET escalated = TRUE
WHERE id IN (SELECT call_id FROM call_events WHERE kind = 'escalated');
UPDATE calls SET intent = (
    SELECT e.data::jsonb ->> 'intent' FROM call_events e
    WHERE e.call_id = calls.id AND e.kind IN ('kb_answer', 'bot_intent', 'escalated')
      AND e.data::jsonb ->> 'intent' <> ''
    ORDER BY e.seq DESC LIMIT 1);
UPDATE calls SET max_frustration = (
    SELECT MAX((t.data::jsonb -> 'emotion' ->> 'score')::double precision)
    FROM transcript_lines t WHERE t.call_id = calls.id);

-- Newest first with a stable order for keyset paging; each filter's index ends the same way.
DROP INDEX calls_started_at;
CREATE INDEX calls_newest ON calls (started_at, id);
CREATE INDEX calls_by_dialplan ON calls (dialplan, started_at, id);
CREATE INDEX calls_by_outcome ON calls (outcome, started_at, id);
CREATE INDEX calls_by_intent ON calls (intent, started_at, id);
CREATE INDEX calls_by_agent ON calls (agent_id, started_at, id);
CREATE INDEX calls_escalated ON calls (started_at, id) WHERE escalated;
CREATE INDEX calls_by_frustration ON calls (max_frustration);

-- Full-text search: an expression index the list query's
-- `to_tsvector('english', text) @@ plainto_tsquery('english', …)` uses.
CREATE INDEX transcript_lines_search ON transcript_lines USING GIN (to_tsvector('english', text));
