//! Reading the gateway's `/metrics` (Prometheus text format) the way a scraper does.

use crate::Gateway;
use crate::http::request;

/// GETs `/metrics` and checks it is served as the Prometheus text format.
pub fn scrape(gw: &Gateway) -> String {
    let answer = request(gw.web, "GET", "/metrics", &[], b"");
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let content_type = answer.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    String::from_utf8(answer.body).expect("UTF-8 metrics")
}

/// The value of the sample `name` whose labels include every one of `labels` (summed when
/// several samples match), or None when none does.
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (series_name, series_labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if series_name != name {
            continue;
        }
        let has = |(k, v): &(&str, &str)| {
            series_labels
                .split(',')
                .any(|pair| pair == format!("{k}=\"{v}\""))
        };
        if labels.iter().all(has) {
            let value: f64 = value.parse().expect("a number");
            found = Some(found.unwrap_or(0.0) + value);
        }
    }
    found
}
