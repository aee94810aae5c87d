//! Contact-center reports over a time range, grouped by day or by intent: one aggregate query
//! over the `calls` rows (their summary columns, see `summary.rs`), never over the timelines.
//!
//! Definitions (docs/API.md repeats them for API users):
//!
//! * **transferred**: the call was handed to people: the bot escalated it, it entered a queue,
//!   or an agent took it.
//! * **abandoned** (a subset of transferred): the call ended while the caller was still
//!   waiting in a queue (the queue neither connected an agent nor overflowed), ended by the
//!   caller (hang-up, cancel, or their media stopped).
//! * **contained**: answered, ended, and never transferred: the bot or IVR finished the call.
//! * **handle time**: answer to end, over answered and ended calls.
//! * **speed of answer**: first queue entry to the first agent's answer, over calls an agent
//!   answered.
//! * **repeat callers**: distinct caller URIs with a call in the group that had another call
//!   from the same URI within `repeat_days` before it.
//! * **satisfaction**: mean of the `survey_answer` events' `score` (1..5); null when no call
//!   in the group has one.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Result, Store, with_pool};

/// How report rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportBy {
    /// One row per UTC day (`2025-01-31`).
    Day,
    /// One row per intent (calls without one: `(none)`).
    Intent,
}

/// What [`Store::report`] aggregates.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportQuery {
    /// Calls started at or after this time.
    pub since: DateTime<Utc>,
    /// Calls started strictly before this time.
    pub before: DateTime<Utc>,
    /// Grouping.
    pub by: ReportBy,
    /// How far back a previous call makes a repeat caller.
    pub repeat_days: u32,
}

/// One group's figures (also the totals over every group).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRow {
    /// The day (`YYYY-MM-DD`, UTC) or intent.
    pub key: String,
    /// Calls started in the range.
    pub calls: i64,
    /// Answered, ended, never handed to people.
    pub contained: i64,
    /// Escalated, queued or taken by an agent.
    pub transferred: i64,
    /// Entered a queue.
    pub queued: i64,
    /// Ended by the caller while waiting in a queue.
    pub abandoned: i64,
    /// Mean answer-to-end seconds of answered, ended calls.
    pub avg_handle_secs: Option<f64>,
    /// Mean seconds from queue entry to an agent's answer.
    pub avg_speed_of_answer_secs: Option<f64>,
    /// Distinct callers who had called within `repeat_days` before.
    pub repeat_callers: i64,
    /// Mean survey score 1..5.
    pub satisfaction: Option<f64>,
}

/// A whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Over every call in the range.
    pub totals: ReportRow,
    /// One per group, by key.
    pub rows: Vec<ReportRow>,
}

/// The key of calls without an intent.
pub const NO_INTENT: &str = "(none)";

const MS_PER_DAY: i64 = 86_400_000;

#[derive(sqlx::FromRow)]
struct Row {
    key: String,
    calls: i64,
    contained: Option<i64>,
    transferred: Option<i64>,
    queued: Option<i64>,
    abandoned: Option<i64>,
    avg_handle_ms: Option<f64>,
    avg_asa_ms: Option<f64>,
    repeat_callers: i64,
    satisfaction: Option<f64>,
}

/// The aggregate over `calls c` in `[$1, $2)`, repeat window `$3` ms, grouped by `key`.
/// Portable SQL: CASE, COALESCE, correlated EXISTS, integer division, CAST to DOUBLE PRECISION
/// (SQLite reads that type name as REAL).
fn report_sql(key: &str) -> String {
    let transferred = "(c.escalated OR c.queued_at IS NOT NULL OR c.agent_id IS NOT NULL)";
    let abandoned = "(c.queue_state = 'waiting' AND c.ended_at IS NOT NULL \
                     AND c.outcome IN ('caller_hangup', 'cancelled', 'rtp_timeout'))";
    format!(
        "SELECT {key} AS key, COUNT(*) AS calls, \
         SUM(CASE WHEN c.answered_at IS NOT NULL AND c.ended_at IS NOT NULL \
             AND NOT {transferred} THEN 1 ELSE 0 END) AS contained, \
         SUM(CASE WHEN {transferred} THEN 1 ELSE 0 END) AS transferred, \
         SUM(CASE WHEN c.queued_at IS NOT NULL THEN 1 ELSE 0 END) AS queued, \
         SUM(CASE WHEN {abandoned} THEN 1 ELSE 0 END) AS abandoned, \
         AVG(CASE WHEN c.answered_at IS NOT NULL AND c.ended_at IS NOT NULL \
             THEN CAST(c.ended_at - c.answered_at AS DOUBLE PRECISION) END) AS avg_handle_ms, \
         AVG(CASE WHEN c.agent_answered_at IS NOT NULL AND c.queued_at IS NOT NULL \
             THEN CAST(c.agent_answered_at - c.queued_at AS DOUBLE PRECISION) END) AS avg_asa_ms, \
         COUNT(DISTINCT CASE WHEN EXISTS (SELECT 1 FROM calls p WHERE p.from_uri = c.from_uri \
             AND p.started_at < c.started_at AND p.started_at >= c.started_at - $3) \
             THEN c.from_uri END) AS repeat_callers, \
         AVG(c.satisfaction) AS satisfaction \
         FROM calls c WHERE c.started_at >= $1 AND c.started_at < $2 \
         GROUP BY 1 ORDER BY 1"
    )
}

impl Store {
    /// The report for `query`: totals and one row per group (groups without calls are left
    /// out).
    pub async fn report(&self, query: &ReportQuery) -> Result<Report> {
        let key = match query.by {
            ReportBy::Day => format!("CAST(c.started_at / {MS_PER_DAY} AS TEXT)"),
            ReportBy::Intent => "COALESCE(c.intent, '')".to_string(),
        };
        let window = i64::from(query.repeat_days) * MS_PER_DAY;
        let (grouped, overall) = (report_sql(&key), report_sql("'all'"));
        let (rows, totals) = tokio::try_join!(
            self.report_rows(&grouped, query, window),
            self.report_rows(&overall, query, window),
        )?;
        let rows = rows
            .into_iter()
            .map(|r| finish(r, query.by))
            .collect::<Result<_>>()?;
        let totals = match totals.into_iter().next() {
            Some(row) => finish(row, query.by)?,
            None => empty_totals(),
        };
        Ok(Report {
            totals: ReportRow {
                key: "all".into(),
                ..totals
            },
            rows,
        })
    }

    async fn report_rows(&self, sql: &str, query: &ReportQuery, window: i64) -> Result<Vec<Row>> {
        let rows: Vec<Row> = with_pool!(&self.pool, |p| {
            sqlx::query_as(sql)
                .bind(query.since.timestamp_millis())
                .bind(query.before.timestamp_millis())
                .bind(window)
                .fetch_all(p)
                .await
        })?;
        Ok(rows)
    }
}

fn empty_totals() -> ReportRow {
    ReportRow {
        key: "all".into(),
        calls: 0,
        contained: 0,
        transferred: 0,
        queued: 0,
        abandoned: 0,
        avg_handle_secs: None,
        avg_speed_of_answer_secs: None,
        repeat_callers: 0,
        satisfaction: None,
    }
}

/// A database row as a report row: the key readable, milliseconds as seconds.
fn finish(r: Row, by: ReportBy) -> Result<ReportRow> {
    let key = match by {
        ReportBy::Day if r.key != "all" => {
            let day: i64 = r
                .key
                .parse()
                .map_err(|_| crate::StoreError::Corrupt(format!("day key {:?}", r.key)))?;
            crate::from_millis(day * MS_PER_DAY)?
                .format("%Y-%m-%d")
                .to_string()
        }
        ReportBy::Intent if r.key.is_empty() => NO_INTENT.to_string(),
        _ => r.key,
    };
    Ok(ReportRow {
        key,
        calls: r.calls,
        contained: r.contained.unwrap_or(0),
        transferred: r.transferred.unwrap_or(0),
        queued: r.queued.unwrap_or(0),
        abandoned: r.abandoned.unwrap_or(0),
        avg_handle_secs: r.avg_handle_ms.map(|ms| ms / 1000.0),
        avg_speed_of_answer_secs: r.avg_asa_ms.map(|ms| ms / 1000.0),
        repeat_callers: r.repeat_callers,
        satisfaction: r.satisfaction,
    })
}
