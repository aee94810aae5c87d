-- Switchboard store, version 2: what was said on a call, line by line.
--
-- Append-only like call_events: a line is inserted when it is final (a caller utterance once
-- recognized, a bot prompt once it stopped playing) and never updated. Times are
-- milliseconds from the call's answer, so lines line up with the recording.

CREATE TABLE transcript_lines (
    call_id     TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    speaker     TEXT NOT NULL,
    start_ms    BIGINT NOT NULL,
    end_ms      BIGINT NOT NULL,
    text        TEXT NOT NULL,
    -- Recognizer confidence 0..1 for recognized speech; NULL for the bot's own words.
    confidence  DOUBLE PRECISION,
    -- Bot lines cut short by the caller: how much of it was played before it stopped.
    interrupted_after_ms BIGINT,
    -- JSON: word timings and whatever else the line carries.
    data        TEXT NOT NULL,
    PRIMARY KEY (call_id, seq)
);
