//! The `webhook` step: an HTTP request to a business system whose JSON reply sets variables.
//!
//! The interpreter only describes the request ([`WebhookRequest`]) and judges the reply; the
//! call performs the request and reports back, so the whole exchange runs in simulated time.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::template::Template;

/// The variable that receives the error kind after a failed request (empty after a success).
pub(crate) const ERROR_VAR: &str = "webhook_error";
/// The variable that receives the HTTP status of the reply (empty when none came).
pub(crate) const STATUS_VAR: &str = "webhook_http_status";
/// Prefix of the variables made from the reply's fields when the step has no `set`.
pub(crate) const DEFAULT_PREFIX: &str = "reply";
/// The longest `timeout` a step may ask for: the caller hears silence while it waits.
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(30);

/// The HTTP method of a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookMethod {
    /// Fields sent as a JSON object in the body.
    Post,
    /// Fields sent as a JSON object in the body.
    Put,
    /// Fields sent as query parameters.
    Get,
}

impl WebhookMethod {
    /// The methods as written in a dialplan.
    pub(crate) const NAMES: [&str; 3] = ["POST", "PUT", "GET"];

    /// The method written `name` (any case).
    pub(crate) fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_uppercase().as_str() {
            "POST" => Some(Self::Post),
            "PUT" => Some(Self::Put),
            "GET" => Some(Self::Get),
            _ => None,
        }
    }

    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Get => "GET",
        }
    }
}

/// A request for the call to perform, answered by `Input::WebhookReply` or `Input::WebhookFailed`.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookRequest {
    /// The HTTP method.
    pub method: WebhookMethod,
    /// The URL, variables filled in (percent-encoded); for GET with the fields as its query.
    pub url: String,
    /// The fields to send: the JSON object body of a POST or PUT (a GET has them in `url`).
    pub fields: BTreeMap<String, String>,
    /// How long the request may take in all; the interpreter gives up after this too.
    pub timeout: Duration,
}

/// Why a request brought no reply, as the call reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFailure {
    /// No complete reply within the timeout.
    Timeout,
    /// No connection, or it broke (refused, unknown host, reset, TLS failure, bad URL).
    Connection,
    /// A reply came but could not be read (too large, cut off).
    InvalidReply,
}

impl WebhookFailure {
    /// The error kind as stored in `webhook_error` and the timeline.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Connection => "connection",
            Self::InvalidReply => "invalid_reply",
        }
    }
}

/// A `webhook` node as loaded.
#[derive(Debug, Clone)]
pub(crate) struct Webhook {
    pub(crate) method: WebhookMethod,
    pub(crate) url: Template,
    /// The fields to send, each a template (`${order_number}`); `None` sends every variable.
    pub(crate) send: Option<Vec<(String, Template)>>,
    pub(crate) timeout: Duration,
    pub(crate) reply: ReplyVars,
    pub(crate) next: String,
    pub(crate) on_error: String,
    /// Where a timeout leads, when not to `on_error`.
    pub(crate) on_timeout: Option<String>,
}

/// Which fields of the reply become variables.
#[derive(Debug, Clone)]
pub(crate) enum ReplyVars {
    /// Every top-level text, number or boolean field `f` becomes `<prefix>_f`.
    Prefixed(String),
    /// Each variable takes the field at a dotted path (`shipment.carrier`); missing ones are empty.
    Mapped(Vec<(String, Vec<String>)>),
}

impl Webhook {
    /// The request for the variables `vars`.
    pub(crate) fn request(&self, vars: &BTreeMap<String, String>) -> WebhookRequest {
        let encoded: BTreeMap<String, String> = self
            .url
            .variables()
            .map(|(name, _)| {
                let value = vars.get(name).map_or("", String::as_str);
                (name.to_string(), percent_encode(value))
            })
            .collect();
        let fields = match &self.send {
            None => vars.clone(),
            Some(fields) => fields
                .iter()
                .map(|(name, value)| (name.clone(), value.render(vars)))
                .collect(),
        };
        let mut url = self.url.render(&encoded);
        if self.method == WebhookMethod::Get && !fields.is_empty() {
            let query: Vec<String> = fields
                .iter()
                .map(|(name, value)| format!("{}={}", percent_encode(name), percent_encode(value)))
                .collect();
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&query.join("&"));
        }
        WebhookRequest {
            method: self.method,
            url,
            fields,
            timeout: self.timeout,
        }
    }
}

/// Percent-encodes everything but the unreserved characters, so a value stays one URL segment.
fn percent_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Why a reply is not taken.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BadReply {
    /// A status other than 2xx.
    Status(u16),
    /// The body is neither empty nor a JSON object.
    NotJsonObject(String),
}

impl BadReply {
    /// The error kind as stored in `webhook_error` and the timeline.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Status(_) => "http_status",
            Self::NotJsonObject(_) => "invalid_reply",
        }
    }

    /// What went wrong, for the timeline.
    pub(crate) fn detail(&self) -> String {
        match self {
            Self::Status(status) => format!("HTTP status {status}"),
            Self::NotJsonObject(why) => why.clone(),
        }
    }
}

/// The variables a reply sets, in name order, or why the reply is not taken.
pub(crate) fn reply_variables(
    reply: &ReplyVars,
    status: u16,
    body: &str,
) -> Result<Vec<(String, String)>, BadReply> {
    if !(200..300).contains(&status) {
        return Err(BadReply::Status(status));
    }
    let root = if body.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        match serde_json::from_str::<Value>(body) {
            Ok(root @ Value::Object(_)) => root,
            Ok(_) => {
                return Err(BadReply::NotJsonObject(
                    "the reply is not a JSON object".into(),
                ));
            }
            Err(e) => {
                return Err(BadReply::NotJsonObject(format!(
                    "the reply is not JSON: {e}"
                )));
            }
        }
    };
    let vars = match reply {
        ReplyVars::Prefixed(prefix) => root
            .as_object()
            .into_iter()
            .flatten()
            // `<prefix>_<name>` must be a variable name: `name` needs letters, digits and _ only.
            .filter(|(name, _)| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .filter(|(name, value)| !name.is_empty() && !value.is_object() && !value.is_array())
            .map(|(name, value)| (format!("{prefix}_{name}"), text_of(value)))
            .collect(),
        ReplyVars::Mapped(mapping) => mapping
            .iter()
            .map(|(var, path)| {
                let found = path.iter().try_fold(&root, |value, step| match value {
                    Value::Object(map) => map.get(step),
                    Value::Array(items) => step.parse::<usize>().ok().and_then(|i| items.get(i)),
                    _ => None,
                });
                (var.clone(), found.map(text_of).unwrap_or_default())
            })
            .collect(),
    };
    Ok(vars)
}

/// A JSON value as a variable's text: strings as they are, `null` empty, others as JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixed(body: &str) -> Result<Vec<(String, String)>, BadReply> {
        reply_variables(&ReplyVars::Prefixed("order".into()), 200, body)
    }

    #[test]
    fn every_plain_field_becomes_a_prefixed_variable() {
        let vars = prefixed(
            r#"{"found": true, "status": "shipped", "items": 2, "eta": null,
                "shipment": {"carrier": "DHL"}, "lines": [1], "bad-name": "x"}"#,
        )
        .unwrap();
        let expected = [
            ("order_eta", ""),
            ("order_found", "true"),
            ("order_items", "2"),
            ("order_status", "shipped"),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(vars, expected);
        assert_eq!(
            prefixed("  "),
            Ok(Vec::new()),
            "an empty 2xx body sets nothing"
        );
    }

    #[test]
    fn mapped_fields_follow_paths_and_missing_ones_are_empty() {
        let reply = ReplyVars::Mapped(vec![
            ("carrier".into(), vec!["shipment".into(), "carrier".into()]),
            (
                "first".into(),
                vec!["lines".into(), "0".into(), "sku".into()],
            ),
            ("gone".into(), vec!["nothing".into()]),
            ("whole".into(), vec!["shipment".into()]),
        ]);
        let body = r#"{"shipment": {"carrier": "DHL"}, "lines": [{"sku": "A-1"}]}"#;
        let vars = reply_variables(&reply, 201, body).unwrap();
        assert_eq!(vars[0], ("carrier".into(), "DHL".into()));
        assert_eq!(vars[1], ("first".into(), "A-1".into()));
        assert_eq!(vars[2], ("gone".into(), String::new()));
        assert_eq!(vars[3], ("whole".into(), r#"{"carrier":"DHL"}"#.into()));
    }

    #[test]
    fn bad_replies() {
        let reply = ReplyVars::Prefixed("r".into());
        assert_eq!(
            reply_variables(&reply, 503, "{}"),
            Err(BadReply::Status(503))
        );
        assert_eq!(
            reply_variables(&reply, 200, "[1]").unwrap_err().kind(),
            "invalid_reply"
        );
        let error = reply_variables(&reply, 200, "<html>").unwrap_err();
        assert!(
            error.detail().starts_with("the reply is not JSON"),
            "{error:?}"
        );
    }

    #[test]
    fn url_values_are_percent_encoded() {
        assert_eq!(percent_encode("45 12/ä"), "45%2012%2F%C3%A4");
        assert_eq!(percent_encode("A-1_b.c~"), "A-1_b.c~");
    }
}
