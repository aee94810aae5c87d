//! `GET /api/export?format=csv|json` with the list's filters: one row per call with its
//! reviewers' totals and their mean, as an attachment. Agents get only their calls; every
//! export is audited with the number of calls it held.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Value, json};

use super::calls::CallView;
use super::list_query::{self, Options};
use super::pii;
use crate::AppState;
use crate::audit::ClientAddr;
use crate::auth::SignedIn;
use crate::error::ApiError;

/// The most calls one export holds (also the default: everything the filters match, up to
/// this).
pub const MAX_EXPORT: u32 = 100_000;

/// The call fields of a CSV row, in column order (from the list's call view).
const CALL_COLUMNS: [&str; 13] = [
    "id",
    "started_at",
    "answered_at",
    "ended_at",
    "duration_ms",
    "caller",
    "dialled",
    "dialplan",
    "outcome",
    "intent",
    "escalated",
    "max_frustration",
    "agent_id",
];

/// `GET /api/export`
pub(super) async fn export(
    State(state): State<AppState>,
    signed_in: SignedIn,
    addr: ClientAddr,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(pairs) = query?;
    let options = Options {
        extra: &["format"],
        default_limit: MAX_EXPORT,
        max_limit: MAX_EXPORT,
    };
    let (query, extras) = list_query::parse_with(&pairs, &options)?;
    let format = extras
        .iter()
        .find(|(name, _)| name == "format")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let csv = match format {
        "csv" => true,
        "json" => false,
        other => {
            return Err(ApiError::bad_parameter(
                "format",
                other,
                "`format` must be csv or json",
            ));
        }
    };
    let who = &signed_in.principal;
    let mut filter = query.filter;
    who.restrict(&mut filter)?;
    pii::check_search(&filter, who.views_pii(&state.pii_roles))?;
    filter.limit = Some(query.limit);
    let calls = state.store.list_calls(&filter).await?;
    let ids: Vec<String> = calls.iter().map(|c| c.id.clone()).collect();
    let mut scores: HashMap<String, Vec<(String, f64)>> = HashMap::new();
    for (call, reviewer, total) in state.store.score_totals(&ids).await? {
        scores.entry(call).or_default().push((reviewer, total));
    }
    let rows: Vec<Value> = calls
        .iter()
        .map(|call| {
            let mut row = serde_json::to_value(CallView::of(call)).unwrap_or_default();
            let mine = scores.get(&call.id).map(Vec::as_slice).unwrap_or_default();
            let mean = (!mine.is_empty())
                .then(|| mine.iter().map(|(_, t)| t).sum::<f64>() / mine.len() as f64)
                .map(|m| (m * 10.0).round() / 10.0);
            row["scores"] = mine
                .iter()
                .map(|(reviewer, total)| json!({ "reviewer": reviewer, "total": total }))
                .collect();
            row["mean_score"] = json!(mean);
            row
        })
        .collect();
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
    let (body, content_type, file) = if csv {
        let body = to_csv(&rows).map_err(|e| {
            tracing::error!(error = %e, "cannot write the CSV export");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the export could not be written",
            )
        })?;
        (
            body,
            "text/csv; charset=utf-8",
            format!("calls-{stamp}.csv"),
        )
    } else {
        let body = json!({ "calls": rows }).to_string().into_bytes();
        (body, "application/json", format!("calls-{stamp}.json"))
    };
    let filters: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let detail = json!({ "format": format, "count": rows.len(), "query": filters.join("&") });
    state.audit(who, "export", None, addr, detail).await;
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// The rows as CSV: the call columns, `reviewers` (`name=total` joined by `; `), `mean_score`.
fn to_csv(rows: &[Value]) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let header = CALL_COLUMNS.iter().chain(&["reviewers", "mean_score"]);
    out.write_record(header)?;
    for row in rows {
        let mut record: Vec<String> = CALL_COLUMNS.iter().map(|c| cell(&row[*c])).collect();
        let reviewers: Vec<String> = row["scores"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| format!("{}={}", cell(&s["reviewer"]), cell(&s["total"])))
            .collect();
        record.push(reviewers.join("; "));
        record.push(cell(&row["mean_score"]));
        out.write_record(&record)?;
    }
    out.into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))
}

/// A JSON value as a CSV cell: text as is, null empty.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_is_quoted_where_it_must_be() {
        let rows = [json!({
            "id": "c1", "caller": "+1555", "dialplan": "say \"hi\", then", "escalated": true,
            "intent": null, "scores": [{"reviewer": "quinn", "total": 83.3},
                                       {"reviewer": "sue", "total": 50.0}],
            "mean_score": 66.7
        })];
        let text = String::from_utf8(to_csv(&rows).unwrap()).unwrap();
        let mut lines = text.lines();
        assert!(
            lines
                .next()
                .unwrap()
                .ends_with("agent_id,reviewers,mean_score")
        );
        assert_eq!(
            lines.next().unwrap(),
            r#"c1,,,,,+1555,,"say ""hi"", then",,,true,,,quinn=83.3; sue=50.0,66.7"#
        );
    }
}
