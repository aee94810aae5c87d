//! QA review: `GET /api/scorecard`, a call's scores (`GET`, `PUT /api/calls/{id}/scores`, one
//! per reviewer) and its comments anchored to a moment of the call (`GET`,
//! `POST /api/calls/{id}/comments`).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use sb_store::{Comment, Score};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::auth::SignedIn;
use crate::error::ApiError;
use crate::routes::readable_call;
use crate::scorecard::Scorecard;

/// The longest comment or note, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;

/// The body of `PUT /api/calls/{id}/scores`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScoreRequest {
    answers: Map<String, Value>,
    #[serde(default)]
    note: Option<String>,
}

/// The body of `POST /api/calls/{id}/comments`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CommentRequest {
    at_ms: i64,
    text: String,
}

/// `GET /api/scorecard`
pub(super) async fn scorecard(State(state): State<AppState>, _: SignedIn) -> Json<Scorecard> {
    Json(Scorecard::clone(&state.scorecard))
}

fn score_view(score: &Score) -> Value {
    json!({
        "reviewer": score.reviewer,
        "answers": score.answers,
        "total": score.total,
        "note": score.note,
        "updated_at": score.updated_at,
    })
}

fn comment_view(comment: &Comment) -> Value {
    json!({
        "id": comment.id,
        "author": comment.author,
        "at_ms": comment.at_ms,
        "text": comment.text,
        "created_at": comment.created_at,
    })
}

/// A JSON body that cannot be read: 400 saying what the route takes.
fn bad_body(takes: &str, e: JsonRejection) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        format!("send JSON {takes} with Content-Type: application/json"),
    )
    .with_detail(e.body_text().into())
}

/// `GET /api/calls/{id}/scores`
pub(super) async fn scores(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    readable_call(&state, &signed_in.principal, &id).await?;
    let scores: Vec<Value> = state
        .store
        .scores(&id)
        .await?
        .iter()
        .map(score_view)
        .collect();
    Ok(Json(json!({ "scores": scores })))
}

/// `PUT /api/calls/{id}/scores`: the reviewer's score, replacing their earlier one.
pub(super) async fn put_score(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Result<Json<ScoreRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = &signed_in.principal;
    who.check_score()?;
    readable_call(&state, who, &id).await?;
    let Json(request) = body.map_err(|e| {
        bad_body(
            r#"{"answers": {"<criterion id>": true | 1..5, …}, "note": "…"}"#,
            e,
        )
    })?;
    let total = state
        .scorecard
        .total(&request.answers)
        .map_err(|problems| {
            ApiError::new(StatusCode::BAD_REQUEST, problems.message())
                .with_detail(problems.detail())
        })?;
    let note = request.note.filter(|n| !n.trim().is_empty());
    if let Some(note) = &note {
        check_length("note", note)?;
    }
    let score = Score {
        call_id: id,
        reviewer: who.name.clone(),
        answers: Value::Object(request.answers),
        total,
        note,
        updated_at: now_ms(),
    };
    state.store.put_score(&score).await?;
    Ok(Json(score_view(&score)))
}

/// `GET /api/calls/{id}/comments`
pub(super) async fn comments(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    readable_call(&state, &signed_in.principal, &id).await?;
    let comments: Vec<Value> = state
        .store
        .comments(&id)
        .await?
        .iter()
        .map(comment_view)
        .collect();
    Ok(Json(json!({ "comments": comments })))
}

/// `POST /api/calls/{id}/comments`: 201 with the comment.
pub(super) async fn add_comment(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Result<Json<CommentRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let who = &signed_in.principal;
    let call = readable_call(&state, who, &id).await?;
    let Json(request) = body.map_err(|e| bad_body(r#"{"at_ms": 12340, "text": "…"}"#, e))?;
    let text = request.text.trim();
    if text.is_empty() {
        return Err(
            ApiError::new(StatusCode::BAD_REQUEST, "the comment's text is empty")
                .with_detail(json!({ "field": "text" })),
        );
    }
    check_length("text", text)?;
    let now = now_ms();
    // The transcript's and the recording's time base: the answer (the start if unanswered).
    let base = call.answered_at.unwrap_or(call.started_at);
    let duration_ms = (call.ended_at.unwrap_or(now) - base).num_milliseconds();
    if !(0..=duration_ms).contains(&request.at_ms) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "`at_ms` must be a moment of the call, from 0 to its duration {duration_ms} ms"
            ),
        )
        .with_detail(
            json!({ "field": "at_ms", "value": request.at_ms, "duration_ms": duration_ms }),
        ));
    }
    let comment = state
        .store
        .add_comment(&id, &who.name, request.at_ms, text, now)
        .await?;
    Ok((StatusCode::CREATED, Json(comment_view(&comment))))
}

fn check_length(field: &str, text: &str) -> Result<(), ApiError> {
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("`{field}` is longer than {MAX_TEXT_CHARS} characters"),
        )
        .with_detail(json!({ "field": field, "characters": chars })));
    }
    Ok(())
}

/// Now, to the millisecond the store keeps, so what is answered is what is read back.
fn now_ms() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}
