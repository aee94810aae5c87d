//! The shop's orders, read from a JSON file, and the answer to "where is order N?".

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One order as the file holds it; fields that do not apply to its status are left out.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    /// The order number the caller reads out: 4 to 8 digits.
    pub order_id: String,
    /// `processing`, `shipped`, `delayed`, `delivered` or `cancelled`.
    pub status: String,
    /// Who carries the parcel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    /// The weekday it left the warehouse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipped_on: Option<String>,
    /// The weekday it should arrive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta: Option<String>,
    /// The weekday it arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_on: Option<String>,
    /// Why it is late or was cancelled, in a few words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How many items it holds.
    pub items: u32,
}

/// The statuses an order can have.
const STATUSES: [&str; 5] = ["processing", "shipped", "delayed", "delivered", "cancelled"];

/// All orders by number.
#[derive(Debug, Default)]
pub struct OrderBook {
    orders: BTreeMap<String, Order>,
}

impl OrderBook {
    /// Reads a JSON file holding a list of orders.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let orders: Vec<Order> = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a list of orders", path.display()))?;
        Self::new(orders).with_context(|| path.display().to_string())
    }

    /// A book of `orders`; numbers must be unique, 4 to 8 digits, with a known status.
    pub fn new(orders: Vec<Order>) -> anyhow::Result<Self> {
        let mut book = OrderBook::default();
        for order in orders {
            let id = &order.order_id;
            anyhow::ensure!(
                (4..=8).contains(&id.len()) && id.chars().all(|c| c.is_ascii_digit()),
                "order number {id:?} is not 4 to 8 digits"
            );
            anyhow::ensure!(
                STATUSES.contains(&order.status.as_str()),
                "order {id}: unknown status {:?}; use one of {}",
                order.status,
                STATUSES.join(", ")
            );
            if let Some(other) = book.orders.insert(id.clone(), order) {
                anyhow::bail!("order {} is listed twice", other.order_id);
            }
        }
        Ok(book)
    }

    /// How many orders there are.
    pub fn len(&self) -> usize {
        self.orders.len()
    }

    /// The reply to a status question: the order's fields and `found: true`, or `found: false`.
    /// Spaces and dashes in the number are ignored, as callers and systems write them.
    pub fn status(&self, order_id: &str) -> Value {
        let id: String = order_id
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        match self.orders.get(&id) {
            Some(order) => {
                let mut reply = json!(order);
                reply["found"] = json!(true);
                reply
            }
            None => json!({ "found": false, "order_id": id }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(id: &str, status: &str) -> Order {
        Order {
            order_id: id.into(),
            status: status.into(),
            carrier: Some("DHL".into()),
            shipped_on: None,
            eta: Some("Tuesday".into()),
            delivered_on: None,
            reason: None,
            items: 1,
        }
    }

    #[test]
    fn finds_orders_by_number() {
        let book = OrderBook::new(vec![order("4512", "shipped")]).unwrap();
        let reply = book.status(" 45-12 ");
        assert_eq!(reply["found"], true);
        assert_eq!(reply["status"], "shipped");
        assert_eq!(reply["eta"], "Tuesday");
        assert!(
            reply.get("shipped_on").is_none(),
            "fields not set are left out"
        );
        assert_eq!(
            book.status("9999"),
            json!({"found": false, "order_id": "9999"})
        );
    }

    #[test]
    fn rejects_bad_books() {
        for bad in [
            vec![order("451", "shipped")],
            vec![order("4512a", "shipped")],
            vec![order("4512", "lost")],
            vec![order("4512", "shipped"), order("4512", "delayed")],
        ] {
            assert!(OrderBook::new(bad).is_err());
        }
    }

    #[test]
    fn the_demo_orders_load() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/orders.json");
        let book = OrderBook::load(&path).unwrap();
        assert!(book.len() >= 12);
        for status in STATUSES {
            assert!(
                book.orders.values().any(|o| o.status == status),
                "no {status} order in the demo"
            );
        }
    }
}
