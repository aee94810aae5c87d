//! Checks across nodes: references, reachability, endless loops and unknown variables.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use crate::error::Diagnostics;

type Span = Range<usize>;

/// The shape of a dialplan as read, whether or not every node could be built.
#[derive(Debug, Default)]
pub(crate) struct Graph {
    /// The `start` node and where it is named.
    pub(crate) start: Option<(String, Span)>,
    pub(crate) nodes: BTreeMap<String, GraphNode>,
    /// Variables given a value somewhere: `[vars]`, `set`, `collect`, `listen` or `webhook`.
    pub(crate) declared: BTreeSet<String>,
    /// Prefixes of `webhook` reply variables: every `<prefix>_<field>` may be given a value.
    pub(crate) prefixes: BTreeSet<String>,
    /// Variables read by conditions and templates: name, place, and the node for messages.
    pub(crate) used: Vec<(String, Span, String)>,
    /// Some node's references could not be read, so reachability cannot be judged.
    pub(crate) incomplete: bool,
}

/// One node: where it is defined and the nodes it can go to.
#[derive(Debug)]
pub(crate) struct GraphNode {
    pub(crate) span: Span,
    pub(crate) edges: Vec<(String, Span)>,
    /// Goes on to its single successor without waiting for the caller (goto, set).
    pub(crate) moves_on_at_once: bool,
}

/// Edit distance, to suggest the name the administrator probably meant.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(previous + 1).min(row[j] + 1);
        }
    }
    row[b.len()]
}

/// The known name closest to a misspelt `name`, if one is close enough to be meant.
fn closest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    known
        .map(|k| (distance(name, k), k))
        .filter(|(d, k)| *d * 3 <= k.len())
        .min()
        .map(|(_, k)| k)
}

/// "; did you mean `x`?" when a known name is close to `name`, else nothing.
pub(crate) fn suggestion<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> String {
    closest(name, known)
        .map(|k| format!("; did you mean `{k}`?"))
        .unwrap_or_default()
}

impl Graph {
    /// Reports every cross-node problem into `diag`.
    pub(crate) fn check(&self, diag: &mut Diagnostics<'_>) {
        self.check_references(diag);
        self.check_reachable(diag);
        self.check_loops(diag);
        self.check_variables(diag);
    }

    fn check_references(&self, diag: &mut Diagnostics<'_>) {
        let references = self
            .start
            .iter()
            .map(|(target, span)| ("dialplan".to_string(), target, span))
            .chain(self.nodes.iter().flat_map(|(name, node)| {
                node.edges
                    .iter()
                    .map(move |(target, span)| (format!("node `{name}`"), target, span))
            }));
        for (context, target, span) in references {
            if !self.nodes.contains_key(target) {
                let hint = suggestion(target, self.nodes.keys().map(String::as_str));
                diag.error(
                    span.clone(),
                    format!("{context}: there is no node `{target}`{hint}"),
                );
            }
        }
    }

    fn check_reachable(&self, diag: &mut Diagnostics<'_>) {
        let Some((start, _)) = self.start.as_ref().filter(|_| !self.incomplete) else {
            return;
        };
        if !self.nodes.contains_key(start) {
            return;
        }
        let mut seen = BTreeSet::from([start.as_str()]);
        let mut todo = vec![start.as_str()];
        while let Some(name) = todo.pop() {
            for (target, _) in self.nodes.get(name).map_or(&[][..], |n| &n.edges) {
                // A misspelt reference (reported already) counts as reaching the node
                // it was meant for, so one typo does not also orphan that node.
                let reached = match self.nodes.get_key_value(target) {
                    Some((name, _)) => Some(name.as_str()),
                    None => closest(target, self.nodes.keys().map(String::as_str)),
                };
                if let Some(reached) = reached
                    && seen.insert(reached)
                {
                    todo.push(reached);
                }
            }
        }
        for (name, node) in &self.nodes {
            if !seen.contains(name.as_str()) {
                diag.error(
                    node.span.clone(),
                    format!("node `{name}`: never reached from the start node `{start}`"),
                );
            }
        }
    }

    /// The single successor of a node that moves on at once, if it is known.
    fn successor(&self, name: &str) -> Option<&str> {
        let node = self.nodes.get(name)?;
        match node.edges.as_slice() {
            [(target, _)] if node.moves_on_at_once => Some(target),
            _ => None,
        }
    }

    fn check_loops(&self, diag: &mut Diagnostics<'_>) {
        for (name, node) in &self.nodes {
            let mut path = vec![name.as_str()];
            let mut current = name.as_str();
            while let Some(next) = self.successor(current) {
                if next == name {
                    // Report each loop once, at its first node in the file.
                    let first = path
                        .iter()
                        .min_by_key(|n| self.nodes.get(**n).map_or(0, |n| n.span.start));
                    if first == Some(&name.as_str()) {
                        path.push(next);
                        let cycle = path
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(" → ");
                        diag.error(
                            node.span.clone(),
                            format!("nodes {cycle} loop forever without waiting for the caller"),
                        );
                    }
                    break;
                }
                if path.contains(&next) {
                    break;
                }
                path.push(next);
                current = next;
            }
        }
    }

    fn check_variables(&self, diag: &mut Diagnostics<'_>) {
        for (name, span, context) in &self.used {
            let from_reply = self.prefixes.iter().any(|prefix| {
                name.strip_prefix(prefix.as_str())
                    .and_then(|rest| rest.strip_prefix('_'))
                    .is_some_and(|field| !field.is_empty())
            });
            if !self.declared.contains(name) && !from_reply {
                let hint = suggestion(name, self.declared.iter().map(String::as_str));
                diag.error(
                    span.clone(),
                    format!(
                        "{context}: unknown variable `{name}`{hint} (give it a default under [vars], or set it with `set`, `collect`, `listen` or `webhook`; quote text: '{name}')"
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance() {
        assert_eq!(distance("menu", "menu"), 0);
        assert_eq!(distance("mneu", "menu"), 2);
        assert_eq!(distance("order_stat", "order_status"), 2);
        assert_eq!(distance("", "abc"), 3);
    }
}
