//! The query string of `GET /api/calls` (and the export, which filters the same way), read
//! strictly: an unknown, repeated or malformed parameter is a 400 that names it, never a filter
//! silently ignored. Empty values are ignored, as a form with blank fields sends them.

use chrono::{DateTime, Utc};
use sb_store::{CallCursor, CallFilter};

use crate::error::ApiError;

/// Calls per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest page.
pub const MAX_LIMIT: u32 = 200;

/// Every parameter the list takes.
const PARAMETERS: [&str; 13] = [
    "from",
    "to",
    "caller",
    "dialled",
    "dialplan",
    "outcome",
    "intent",
    "escalated",
    "min_frustration",
    "q",
    "agent",
    "limit",
    "cursor",
];

/// A parsed list request: the store filter (without the page size) and the page size.
#[derive(Debug, Default, PartialEq)]
pub struct ListQuery {
    /// Which calls.
    pub filter: CallFilter,
    /// How many at most.
    pub limit: u32,
}

/// Reads the list parameters of `GET /api/calls`.
pub fn parse(pairs: &[(String, String)]) -> Result<ListQuery, ApiError> {
    let options = Options {
        extra: &[],
        default_limit: DEFAULT_LIMIT,
        max_limit: MAX_LIMIT,
    };
    parse_with(pairs, &options).map(|(query, _)| query)
}

/// What another route that filters calls like the list (the export) takes besides.
pub struct Options {
    /// Its own parameters, returned as given (once each, like the others).
    pub extra: &'static [&'static str],
    /// `limit` when not given.
    pub default_limit: u32,
    /// The largest `limit`.
    pub max_limit: u32,
}

/// Reads the list parameters and the `extra` ones (returned with their trimmed values).
pub fn parse_with(
    pairs: &[(String, String)],
    options: &Options,
) -> Result<(ListQuery, Vec<(String, String)>), ApiError> {
    let mut query = ListQuery {
        limit: options.default_limit,
        ..ListQuery::default()
    };
    let mut extras = Vec::new();
    let mut seen = Vec::new();
    for (name, value) in pairs {
        let extra = options.extra.contains(&name.as_str());
        if !extra && !PARAMETERS.contains(&name.as_str()) {
            let takes: Vec<&str> = options.extra.iter().chain(&PARAMETERS).copied().collect();
            return Err(ApiError::bad_parameter(
                name,
                value,
                format!(
                    "unknown parameter `{name}`; this takes {}",
                    takes.join(", ")
                ),
            ));
        }
        if seen.contains(&name) {
            return Err(ApiError::bad_parameter(
                name,
                value,
                format!("`{name}` is given twice"),
            ));
        }
        seen.push(name);
        let value = value.trim();
        if extra {
            extras.push((name.clone(), value.to_string()));
            continue;
        }
        if value.is_empty() {
            continue;
        }
        let f = &mut query.filter;
        let text = Some(value.to_string());
        match name.as_str() {
            "from" => f.since = Some(time(name, value)?),
            "to" => f.before = Some(time(name, value)?),
            "caller" => f.from = text,
            "dialled" => f.to = text,
            "dialplan" => f.dialplan = text,
            "outcome" => f.outcome = text,
            "intent" => f.intent = text,
            "agent" => f.agent_id = text,
            "q" => f.text = text,
            "escalated" => f.escalated = Some(boolean(name, value)?),
            "min_frustration" => f.min_frustration = Some(score(name, value)?),
            "limit" => query.limit = limit(value, options.max_limit)?,
            "cursor" => f.after = Some(parse_cursor(value)?),
            _ => unreachable!("every name in PARAMETERS has an arm"),
        }
    }
    if let (Some(since), Some(before)) = (query.filter.since, query.filter.before)
        && since >= before
    {
        let to = before.to_rfc3339();
        return Err(ApiError::bad_parameter(
            "to",
            &to,
            "`to` must be later than `from`",
        ));
    }
    Ok((query, extras))
}

/// The cursor of the page after `last`: its start time in unix milliseconds and its id.
pub fn cursor(last: &sb_store::CallRecord) -> String {
    let at = CallCursor::after(last);
    format!("{}_{}", at.started_at.timestamp_millis(), at.id)
}

fn parse_cursor(value: &str) -> Result<CallCursor, ApiError> {
    let bad = || {
        ApiError::bad_parameter(
            "cursor",
            value,
            "`cursor` must be a `next_cursor` this API returned",
        )
    };
    let (ms, id) = value.split_once('_').ok_or_else(bad)?;
    let started_at = ms
        .parse()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(bad)?;
    if id.is_empty() {
        return Err(bad());
    }
    Ok(CallCursor {
        started_at,
        id: id.to_string(),
    })
}

/// The parameters of a route that takes exactly `known`, each at most once: (name, trimmed
/// value) for those with a value. An unknown or repeated one is a 400 naming it; `takes` says
/// who takes what (`"reports take"` → "unknown parameter `x`; reports take from, to, …").
pub(super) fn known_parameters<'a>(
    pairs: &'a [(String, String)],
    known: &[&str],
    takes: &str,
) -> Result<Vec<(&'a str, &'a str)>, ApiError> {
    let mut seen: Vec<&str> = Vec::new();
    let mut given = Vec::new();
    for (name, value) in pairs {
        if !known.contains(&name.as_str()) {
            return Err(ApiError::bad_parameter(
                name,
                value,
                format!("unknown parameter `{name}`; {takes} {}", known.join(", ")),
            ));
        }
        if seen.contains(&name.as_str()) {
            return Err(ApiError::bad_parameter(
                name,
                value,
                format!("`{name}` is given twice"),
            ));
        }
        seen.push(name);
        let value = value.trim();
        if !value.is_empty() {
            given.push((name.as_str(), value));
        }
    }
    Ok(given)
}

pub(super) fn time(name: &str, value: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            ApiError::bad_parameter(
                name,
                value,
                format!("`{name}` must be an RFC 3339 time like 2025-01-31T09:00:00Z ({e})"),
            )
        })
}

fn boolean(name: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ApiError::bad_parameter(
            name,
            value,
            format!("`{name}` must be true or false"),
        )),
    }
}

fn score(name: &str, value: &str) -> Result<f64, ApiError> {
    value
        .parse::<f64>()
        .ok()
        .filter(|s| (0.0..=1.0).contains(s))
        .ok_or_else(|| {
            ApiError::bad_parameter(
                name,
                value,
                format!("`{name}` must be a number from 0 to 1"),
            )
        })
}

fn limit(value: &str, max: u32) -> Result<u32, ApiError> {
    value
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| {
            ApiError::bad_parameter(
                "limit",
                value,
                format!("`limit` must be a whole number from 1 to {max}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    fn pairs(query: &[(&str, &str)]) -> Vec<(String, String)> {
        query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn error(query: &[(&str, &str)]) -> ApiError {
        let e = parse(&pairs(query)).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST, "{e:?}");
        e
    }

    #[test]
    fn reads_every_filter() {
        let q = parse(&pairs(&[
            ("from", "2025-01-31T09:00:00+01:00"),
            ("to", "2025-02-01T00:00:00Z"),
            ("caller", "+1555"),
            ("dialled", "200"),
            ("dialplan", "assistant"),
            ("outcome", "completed"),
            ("intent", "billing"),
            ("escalated", "true"),
            ("min_frustration", "0.6"),
            ("q", "refund please"),
            ("agent", "a7"),
            ("limit", "200"),
            ("cursor", "1700000000000_0190-abc"),
        ]))
        .unwrap();
        let f = &q.filter;
        assert_eq!(f.since.unwrap().to_rfc3339(), "2025-01-31T08:00:00+00:00");
        assert_eq!(f.before.unwrap().to_rfc3339(), "2025-02-01T00:00:00+00:00");
        assert_eq!(f.from.as_deref(), Some("+1555"));
        assert_eq!(f.to.as_deref(), Some("200"));
        assert_eq!(f.dialplan.as_deref(), Some("assistant"));
        assert_eq!(f.outcome.as_deref(), Some("completed"));
        assert_eq!(f.intent.as_deref(), Some("billing"));
        assert_eq!(f.escalated, Some(true));
        assert_eq!(f.min_frustration, Some(0.6));
        assert_eq!(f.text.as_deref(), Some("refund please"));
        assert_eq!(f.agent_id.as_deref(), Some("a7"));
        assert_eq!(q.limit, 200);
        let after = f.after.as_ref().unwrap();
        assert_eq!(after.started_at.timestamp_millis(), 1_700_000_000_000);
        assert_eq!(after.id, "0190-abc");
    }

    #[test]
    fn empty_values_and_no_values_mean_no_filter() {
        let q = parse(&pairs(&[("caller", ""), ("escalated", " ")])).unwrap();
        assert_eq!(q.filter, CallFilter::default());
        assert_eq!(q.limit, DEFAULT_LIMIT);
    }

    #[test]
    fn bad_values_name_the_parameter() {
        for (query, says) in [
            (&[("from", "yesterday")][..], "RFC 3339"),
            (&[("escalated", "yes")], "true or false"),
            (&[("min_frustration", "1.5")], "from 0 to 1"),
            (&[("min_frustration", "NaN")], "from 0 to 1"),
            (&[("limit", "0")], "from 1 to 200"),
            (&[("limit", "201")], "from 1 to 200"),
            (&[("cursor", "nonsense")], "next_cursor"),
            (&[("cursor", "99999999999999999999_x")], "next_cursor"),
            (&[("colour", "red")], "unknown parameter `colour`"),
            (&[("caller", "1"), ("caller", "2")], "given twice"),
            (
                &[
                    ("from", "2025-02-01T00:00:00Z"),
                    ("to", "2025-01-01T00:00:00Z"),
                ],
                "later than",
            ),
        ] {
            let e = error(query);
            assert!(e.error.contains(says), "{query:?}: {e:?}");
            assert!(e.detail["parameter"].is_string(), "{e:?}");
        }
    }
}
