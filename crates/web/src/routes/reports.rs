//! `GET /api/reports?from=&to=&by=day|intent&repeat_days=7`: contact-center figures for admins
//! and supervisors. What each figure counts is defined in `sb_store`'s `report.rs` (and
//! docs/API.md); rates are shares 0..1 of the row's calls (abandonment: of its queued calls).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use chrono::{DateTime, Duration, Utc};
use sb_store::{ReportBy, ReportQuery, ReportRow};
use serde_json::{Value, json};

use super::list_query::{known_parameters, time};
use crate::AppState;
use crate::auth::SignedIn;
use crate::error::ApiError;

/// The range when `from` is not given: this many days before `to`.
pub const DEFAULT_DAYS: i64 = 30;
/// The longest repeat window.
pub const MAX_REPEAT_DAYS: u32 = 365;

const PARAMETERS: [&str; 4] = ["from", "to", "by", "repeat_days"];

/// `GET /api/reports`
pub(super) async fn report(
    State(state): State<AppState>,
    signed_in: SignedIn,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    signed_in.principal.check_reports()?;
    let Query(pairs) = query?;
    let query = parse(&pairs, Utc::now())?;
    let report = state.store.report(&query).await?;
    let rows: Vec<Value> = report.rows.iter().map(row_view).collect();
    Ok(Json(json!({
        "from": query.since,
        "to": query.before,
        "by": query.by,
        "repeat_days": query.repeat_days,
        "totals": row_view(&report.totals),
        "rows": rows,
    })))
}

fn parse(pairs: &[(String, String)], now: DateTime<Utc>) -> Result<ReportQuery, ApiError> {
    let (mut since, mut before, mut by, mut repeat_days) = (None, None, ReportBy::Day, 7);
    for (name, value) in known_parameters(pairs, &PARAMETERS, "reports take")? {
        match name {
            "from" => since = Some(time(name, value)?),
            "to" => before = Some(time(name, value)?),
            "by" => {
                by = match value {
                    "day" => ReportBy::Day,
                    "intent" => ReportBy::Intent,
                    _ => {
                        return Err(ApiError::bad_parameter(
                            name,
                            value,
                            "`by` must be day or intent",
                        ));
                    }
                }
            }
            _ => {
                repeat_days = value
                    .parse()
                    .ok()
                    .filter(|d| *d <= MAX_REPEAT_DAYS)
                    .ok_or_else(|| {
                        ApiError::bad_parameter(
                            name,
                            value,
                            format!(
                                "`repeat_days` must be a whole number from 0 to {MAX_REPEAT_DAYS}"
                            ),
                        )
                    })?
            }
        }
    }
    let before = before.unwrap_or(now);
    let since = since.unwrap_or(before - Duration::days(DEFAULT_DAYS));
    if since >= before {
        return Err(ApiError::bad_parameter(
            "to",
            &before.to_rfc3339(),
            "`to` must be later than `from`",
        ));
    }
    Ok(ReportQuery {
        since,
        before,
        by,
        repeat_days,
    })
}

/// `part / whole`, 3 decimals; null when `whole` is 0.
fn rate(part: i64, whole: i64) -> Value {
    if whole == 0 {
        return Value::Null;
    }
    json!((part as f64 / whole as f64 * 1000.0).round() / 1000.0)
}

fn one_decimal(v: Option<f64>) -> Value {
    json!(v.map(|v| (v * 10.0).round() / 10.0))
}

fn row_view(r: &ReportRow) -> Value {
    json!({
        "key": r.key,
        "calls": r.calls,
        "contained": r.contained,
        "containment_rate": rate(r.contained, r.calls),
        "transferred": r.transferred,
        "transfer_rate": rate(r.transferred, r.calls),
        "queued": r.queued,
        "abandoned": r.abandoned,
        "abandonment_rate": rate(r.abandoned, r.queued),
        "avg_handle_secs": one_decimal(r.avg_handle_secs),
        "avg_speed_of_answer_secs": one_decimal(r.avg_speed_of_answer_secs),
        "repeat_callers": r.repeat_callers,
        "satisfaction": r.satisfaction.map(|s| (s * 100.0).round() / 100.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(query: &[(&str, &str)]) -> Vec<(String, String)> {
        query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_and_bad_parameters() {
        let now = DateTime::parse_from_rfc3339("2025-02-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let q = parse(&[], now).unwrap();
        assert_eq!((q.before, q.by, q.repeat_days), (now, ReportBy::Day, 7));
        assert_eq!(q.before - q.since, Duration::days(DEFAULT_DAYS));
        let q = parse(&pairs(&[("by", "intent"), ("repeat_days", "0")]), now).unwrap();
        assert_eq!((q.by, q.repeat_days), (ReportBy::Intent, 0));
        for (bad, says) in [
            (&[("by", "week")][..], "day or intent"),
            (&[("repeat_days", "-1")], "from 0 to 365"),
            (&[("repeat_days", "366")], "from 0 to 365"),
            (&[("from", "monday")], "RFC 3339"),
            (&[("from", "2025-03-01T00:00:00Z")], "later than"),
            (&[("group", "day")], "unknown parameter"),
        ] {
            let e = parse(&pairs(bad), now).unwrap_err();
            assert!(e.error.contains(says), "{bad:?}: {e:?}");
        }
    }

    #[test]
    fn rates_are_shares_and_empty_groups_have_none() {
        assert_eq!(rate(1, 3), json!(0.333));
        assert_eq!(rate(0, 0), Value::Null);
    }
}
