-- Switchboard store, version 3 (SQLite): what the QA views filter calls on, kept on the call row
-- so a filtered list is one indexed query, and full-text search over transcripts.
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
    SELECT json_extract(e.data, '$.intent') FROM call_events e
    WHERE e.call_id = calls.id AND e.kind IN ('kb_answer', 'bot_intent', 'escalated')
      AND json_valid(e.data) AND json_extract(e.data, '$.intent') <> ''
    ORDER BY e.seq DESC LIMIT 1);
UPDATE calls SET max_frustration = (
    SELECT MAX(json_extract(t.data, '$.emotion.score')) FROM transcript_lines t
    WHERE t.call_id = calls.id AND json_valid(t.data));

-- A small integer per call, for the search index below: FTS5 rows are keyed by integers, and
-- `calls.rowid` is no key (VACUUM may renumber it). Given on insert by the trigger.
ALTER TABLE calls ADD COLUMN search_key INTEGER;
UPDATE calls SET search_key = rowid;
CREATE UNIQUE INDEX calls_by_search_key ON calls (search_key);
CREATE TRIGGER calls_search_key AFTER INSERT ON calls BEGIN
    UPDATE calls SET search_key = (SELECT COALESCE(MAX(search_key), 0) + 1 FROM calls)
    WHERE id = new.id;
END;

-- Newest first with a stable order for keyset paging; each filter's index ends the same way.
-- The newest-first index also holds search_key and the URIs, so a text search and a caller or
-- dialled-number search (a substring: no index can seek it) walk it without reading rows.
DROP INDEX calls_started_at;
CREATE INDEX calls_newest ON calls (started_at, id, search_key, from_uri, to_uri);
CREATE INDEX calls_by_dialplan ON calls (dialplan, started_at, id);
CREATE INDEX calls_by_outcome ON calls (outcome, started_at, id);
CREATE INDEX calls_by_intent ON calls (intent, started_at, id);
CREATE INDEX calls_by_agent ON calls (agent_id, started_at, id);
CREATE INDEX calls_escalated ON calls (started_at, id) WHERE escalated;
CREATE INDEX calls_by_frustration ON calls (max_frustration);

-- Full-text search: a contentless FTS5 index (the text stays in transcript_lines only) whose
-- rowid is the line's call and number, `search_key << 20 | seq` (a call has far fewer than 2^20
-- lines; a line past that is stored but not indexed). A search then yields calls straight from
-- the index, without reading a row per matching line. The porter stemmer matches PostgreSQL's
-- 'english' configuration closely enough: "orders" finds "order" (PostgreSQL also drops stop
-- words such as "and"). Transcript lines are append-only, so only inserts need a trigger.
CREATE VIRTUAL TABLE transcript_search USING fts5(
    text,
    content = '',
    tokenize = 'porter unicode61'
);
CREATE TRIGGER transcript_search_insert AFTER INSERT ON transcript_lines BEGIN
    INSERT INTO transcript_search (rowid, text)
    SELECT (c.search_key << 20) | new.seq, new.text FROM calls c
    WHERE c.id = new.call_id AND new.seq < 1048576;
END;
INSERT INTO transcript_search (rowid, text)
SELECT (c.search_key << 20) | t.seq, t.text
FROM transcript_lines t JOIN calls c ON c.id = t.call_id
WHERE t.seq < 1048576;
