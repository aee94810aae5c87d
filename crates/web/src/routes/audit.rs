//! `GET /api/audit`: who viewed, listened to or exported which call, newest first; for admins
//! and supervisors.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use sb_store::AuditFilter;
use serde_json::{Value, json};

use super::list_query::{known_parameters, time};
use crate::AppState;
use crate::auth::SignedIn;
use crate::error::ApiError;

/// Entries per answer unless `limit` says otherwise.
pub const DEFAULT_LIMIT: u32 = 100;
/// The most entries one answer holds.
pub const MAX_LIMIT: u32 = 1000;

const PARAMETERS: [&str; 5] = ["call", "user", "from", "to", "limit"];

/// `GET /api/audit?call=&user=&from=&to=&limit=`
pub(super) async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    signed_in.principal.check_audit()?;
    let Query(pairs) = query?;
    let filter = parse(&pairs)?;
    let entries = state.store.audit_entries(&filter).await?;
    Ok(Json(json!({ "entries": entries })))
}

fn parse(pairs: &[(String, String)]) -> Result<AuditFilter, ApiError> {
    let mut filter = AuditFilter {
        limit: DEFAULT_LIMIT,
        ..AuditFilter::default()
    };
    for (name, value) in known_parameters(pairs, &PARAMETERS, "the audit log takes")? {
        match name {
            "call" => filter.call_id = Some(value.to_string()),
            "user" => filter.user = Some(value.to_string()),
            "from" => filter.since = Some(time(name, value)?),
            "to" => filter.before = Some(time(name, value)?),
            _ => {
                filter.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_parameter(
                            name,
                            value,
                            format!("`limit` must be a whole number from 1 to {MAX_LIMIT}"),
                        )
                    })?
            }
        }
    }
    Ok(filter)
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
    fn reads_the_filters_strictly() {
        let f = parse(&pairs(&[
            ("call", "c1"),
            ("user", "quinn"),
            ("from", "2025-01-01T00:00:00Z"),
            ("limit", "5"),
        ]))
        .unwrap();
        assert_eq!(f.call_id.as_deref(), Some("c1"));
        assert_eq!(f.user.as_deref(), Some("quinn"));
        assert!(f.since.is_some() && f.before.is_none());
        assert_eq!(f.limit, 5);
        assert_eq!(parse(&[]).unwrap().limit, DEFAULT_LIMIT);
        for bad in [
            &[("limit", "0")][..],
            &[("limit", "1001")],
            &[("to", "yesterday")],
            &[("who", "x")],
            &[("user", "a"), ("user", "b")],
        ] {
            let e = parse(&pairs(bad)).unwrap_err();
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST, "{bad:?}");
        }
    }
}
