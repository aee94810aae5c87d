//! QA review data and the audit log: reviewers' scores (one per reviewer per call), comments
//! anchored to a moment of the call, and who viewed, listened to or exported which call.
//!
//! Unlike call events these are user actions answered over HTTP, so they are written directly
//! (not through the background writer): the request learns whether the write worked.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Bind, Result, Store, from_millis, with_pool};

/// A reviewer's score of one call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// The call.
    pub call_id: String,
    /// Who scored (user or token name).
    pub reviewer: String,
    /// Criterion id → `true`/`false` or 1..5.
    pub answers: serde_json::Value,
    /// Weighted percentage 0..100 when it was saved.
    pub total: f64,
    /// The reviewer's note.
    pub note: Option<String>,
    /// When it was saved last.
    pub updated_at: DateTime<Utc>,
}

/// A comment on a moment of a call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comment {
    /// Its number (ascending in the order comments were made).
    pub id: i64,
    /// The call.
    pub call_id: String,
    /// Who wrote it.
    pub author: String,
    /// Milliseconds from the call's answer (the recording's time base).
    pub at_ms: i64,
    /// What it says.
    pub text: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// An audit entry to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// User or token name.
    pub user: String,
    /// Their role.
    pub role: String,
    /// What they did: `view`, `listen`, `export`, …
    pub action: String,
    /// The call, when the action concerns one.
    pub call_id: Option<String>,
    /// The client's address.
    pub address: Option<String>,
    /// Anything else (JSON), e.g. how many calls an export held.
    pub detail: serde_json::Value,
}

/// A stored audit entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Its number.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// User or token name.
    pub user: String,
    /// Their role.
    pub role: String,
    /// What they did.
    pub action: String,
    /// The call, if any.
    pub call_id: Option<String>,
    /// The client's address.
    pub address: Option<String>,
    /// Details (JSON).
    pub detail: serde_json::Value,
}

/// Which audit entries [`Store::audit_entries`] returns, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    /// Only this call.
    pub call_id: Option<String>,
    /// Only this user.
    pub user: Option<String>,
    /// At or after.
    pub since: Option<DateTime<Utc>>,
    /// Strictly before.
    pub before: Option<DateTime<Utc>>,
    /// At most this many.
    pub limit: u32,
}

#[derive(sqlx::FromRow)]
struct ScoreRow {
    call_id: String,
    reviewer: String,
    answers: String,
    total: f64,
    note: Option<String>,
    updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct CommentRow {
    id: i64,
    call_id: String,
    author: String,
    at_ms: i64,
    text: String,
    created_at: i64,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    user_name: String,
    role: String,
    action: String,
    call_id: Option<String>,
    address: Option<String>,
    detail: String,
}

/// JSON text from the database; a row something else wrote badly stays readable as a string.
fn json_of(text: String) -> serde_json::Value {
    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
}

impl TryFrom<ScoreRow> for Score {
    type Error = crate::StoreError;
    fn try_from(r: ScoreRow) -> Result<Score> {
        Ok(Score {
            updated_at: from_millis(r.updated_at)?,
            answers: json_of(r.answers),
            call_id: r.call_id,
            reviewer: r.reviewer,
            total: r.total,
            note: r.note,
        })
    }
}

impl TryFrom<CommentRow> for Comment {
    type Error = crate::StoreError;
    fn try_from(r: CommentRow) -> Result<Comment> {
        Ok(Comment {
            created_at: from_millis(r.created_at)?,
            id: r.id,
            call_id: r.call_id,
            author: r.author,
            at_ms: r.at_ms,
            text: r.text,
        })
    }
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = crate::StoreError;
    fn try_from(r: AuditRow) -> Result<AuditEntry> {
        Ok(AuditEntry {
            at: from_millis(r.at)?,
            detail: json_of(r.detail),
            id: r.id,
            user: r.user_name,
            role: r.role,
            action: r.action,
            call_id: r.call_id,
            address: r.address,
        })
    }
}

/// Ids per `IN (…)` list: well under SQLite's and PostgreSQL's bind limits.
const IDS_PER_QUERY: usize = 500;

impl Store {
    /// A call's scores, by reviewer.
    pub async fn scores(&self, call_id: &str) -> Result<Vec<Score>> {
        let sql = "SELECT call_id, reviewer, answers, total, note, updated_at FROM call_scores \
                   WHERE call_id = $1 ORDER BY reviewer";
        let rows: Vec<ScoreRow> = with_pool!(&self.pool, |p| {
            sqlx::query_as(sql).bind(call_id).fetch_all(p).await
        })?;
        rows.into_iter().map(Score::try_from).collect()
    }

    /// Saves a score, replacing the reviewer's earlier score of the same call.
    pub async fn put_score(&self, score: &Score) -> Result<()> {
        let sql = "INSERT INTO call_scores (call_id, reviewer, answers, total, note, updated_at) \
                   VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (call_id, reviewer) DO UPDATE SET \
                   answers = excluded.answers, total = excluded.total, note = excluded.note, \
                   updated_at = excluded.updated_at";
        let answers = score.answers.to_string();
        with_pool!(&self.pool, |p| {
            sqlx::query(sql)
                .bind(score.call_id.as_str())
                .bind(score.reviewer.as_str())
                .bind(answers.as_str())
                .bind(score.total)
                .bind(score.note.as_deref())
                .bind(score.updated_at.timestamp_millis())
                .execute(p)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// Every score of these calls: (call id, reviewer, total), by call then reviewer.
    pub async fn score_totals(&self, call_ids: &[String]) -> Result<Vec<(String, String, f64)>> {
        let mut all = Vec::new();
        for chunk in call_ids.chunks(IDS_PER_QUERY) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT call_id, reviewer, total FROM call_scores WHERE call_id IN ({}) \
                 ORDER BY call_id, reviewer",
                marks.join(", ")
            );
            let rows: Vec<(String, String, f64)> = with_pool!(&self.pool, |p| {
                let mut q = sqlx::query_as(&sql);
                for id in chunk {
                    q = q.bind(id.as_str());
                }
                q.fetch_all(p).await
            })?;
            all.extend(rows);
        }
        Ok(all)
    }

    /// A call's comments by their moment in the call, then the order they were made.
    pub async fn comments(&self, call_id: &str) -> Result<Vec<Comment>> {
        let sql = "SELECT id, call_id, author, at_ms, text, created_at FROM call_comments \
                   WHERE call_id = $1 ORDER BY at_ms, id";
        let rows: Vec<CommentRow> = with_pool!(&self.pool, |p| {
            sqlx::query_as(sql).bind(call_id).fetch_all(p).await
        })?;
        rows.into_iter().map(Comment::try_from).collect()
    }

    /// Adds a comment; returns it with its id.
    pub async fn add_comment(
        &self,
        call_id: &str,
        author: &str,
        at_ms: i64,
        text: &str,
        created_at: DateTime<Utc>,
    ) -> Result<Comment> {
        let sql = "INSERT INTO call_comments (call_id, author, at_ms, text, created_at) \
                   VALUES ($1, $2, $3, $4, $5) RETURNING id";
        let created_ms = created_at.timestamp_millis();
        let id: i64 = with_pool!(&self.pool, |p| {
            sqlx::query_scalar(sql)
                .bind(call_id)
                .bind(author)
                .bind(at_ms)
                .bind(text)
                .bind(created_ms)
                .fetch_one(p)
                .await
        })?;
        Ok(Comment {
            id,
            call_id: call_id.to_string(),
            author: author.to_string(),
            at_ms,
            text: text.to_string(),
            created_at: from_millis(created_ms)?,
        })
    }

    /// Appends an audit entry.
    pub async fn append_audit(&self, entry: &NewAuditEntry) -> Result<()> {
        let sql = "INSERT INTO audit_log (at, user_name, role, action, call_id, address, detail) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7)";
        let detail = entry.detail.to_string();
        with_pool!(&self.pool, |p| {
            sqlx::query(sql)
                .bind(entry.at.timestamp_millis())
                .bind(entry.user.as_str())
                .bind(entry.role.as_str())
                .bind(entry.action.as_str())
                .bind(entry.call_id.as_deref())
                .bind(entry.address.as_deref())
                .bind(detail.as_str())
                .execute(p)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// Audit entries matching `filter`, newest first.
    pub async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let mut sql = String::from(
            "SELECT id, at, user_name, role, action, call_id, address, detail FROM audit_log \
             WHERE 1 = 1",
        );
        let mut binds = Vec::new();
        let mut cond = |sql: &mut String, column: &str, value: Bind| {
            binds.push(value);
            sql.push_str(&format!(" AND {column} ${}", binds.len()));
        };
        if let Some(call) = &filter.call_id {
            cond(&mut sql, "call_id =", Bind::Text(call.clone()));
        }
        if let Some(user) = &filter.user {
            cond(&mut sql, "user_name =", Bind::Text(user.clone()));
        }
        if let Some(since) = filter.since {
            cond(&mut sql, "at >=", Bind::Int(since.timestamp_millis()));
        }
        if let Some(before) = filter.before {
            cond(&mut sql, "at <", Bind::Int(before.timestamp_millis()));
        }
        binds.push(Bind::Int(i64::from(filter.limit)));
        sql.push_str(&format!(
            " ORDER BY at DESC, id DESC LIMIT ${}",
            binds.len()
        ));
        let rows: Vec<AuditRow> = with_pool!(&self.pool, |p| {
            let mut q = sqlx::query_as(&sql);
            for b in &binds {
                q = match b {
                    Bind::Text(s) => q.bind(s.as_str()),
                    Bind::Int(i) => q.bind(*i),
                    Bind::Float(f) => q.bind(*f),
                    Bind::Bool(b) => q.bind(*b),
                };
            }
            q.fetch_all(p).await
        })?;
        rows.into_iter().map(AuditEntry::try_from).collect()
    }
}
