//! Conditions of `when` nodes: comparisons of variables and literals joined by `and`/`or`.
//!
//! Grammar (keywords are lower case):
//! ```text
//! expr    = and ("or" and)*
//! and     = primary ("and" primary)*
//! primary = "(" expr ")" | operand op operand | operand "empty" | operand "not" "empty"
//! op      = "==" | "!=" | "<" | ">" | "<=" | ">=" | "starts_with" | "contains"
//! operand = variable | 'text' | "text" | number
//! ```

use std::collections::BTreeMap;

use crate::template::is_variable_name;

/// A parsed condition, kept with its source text for events.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Condition {
    source: String,
    expr: Expr,
}

/// A problem in a condition, at a byte offset of its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConditionError {
    pub(crate) offset: usize,
    pub(crate) message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Compare(Operand, Op, Operand),
    Empty(Operand, bool),
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    /// A variable and the byte offset of its name in the source.
    Var(String, usize),
    Literal(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    StartsWith,
    Contains,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Op(Op),
    Open,
    Close,
}

fn error(offset: usize, message: impl Into<String>) -> ConditionError {
    ConditionError {
        offset,
        message: message.into(),
    }
}

fn tokenize(source: &str) -> Result<Vec<(Token, usize)>, ConditionError> {
    let mut tokens = Vec::new();
    let mut chars = source.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' => {
                chars.next();
                tokens.push((if c == '(' { Token::Open } else { Token::Close }, at));
            }
            '\'' | '"' => {
                chars.next();
                let start = at + 1;
                let end = source[start..]
                    .find(c)
                    .ok_or_else(|| error(at, format!("text opened with {c} is never closed")))?;
                tokens.push((Token::Quoted(source[start..start + end].to_string()), at));
                while chars.next_if(|&(i, _)| i <= start + end).is_some() {}
            }
            '=' | '!' | '<' | '>' => {
                let two = source.get(at..at + 2).unwrap_or("");
                let (op, len) = match (c, two) {
                    (_, "==") => (Op::Eq, 2),
                    (_, "!=") => (Op::Ne, 2),
                    (_, "<=") => (Op::Le, 2),
                    (_, ">=") => (Op::Ge, 2),
                    ('<', _) => (Op::Lt, 1),
                    ('>', _) => (Op::Gt, 1),
                    _ => return Err(error(at, format!("unknown operator `{c}`; use == or !="))),
                };
                tokens.push((Token::Op(op), at));
                for _ in 0..len {
                    chars.next();
                }
            }
            _ => {
                let mut end = source.len();
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_whitespace() || "()'\"=!<>".contains(c) {
                        end = i;
                        break;
                    }
                    chars.next();
                }
                tokens.push((Token::Word(source[at..end].to_string()), at));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    pos: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn offset(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |&(_, at)| at)
    }

    fn keyword(&mut self, word: &str) -> bool {
        let found = matches!(self.peek(), Some(Token::Word(w)) if w == word);
        if found {
            self.pos += 1;
        }
        found
    }

    fn or(&mut self) -> Result<Expr, ConditionError> {
        let mut terms = vec![self.and()?];
        while self.keyword("or") {
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::Or(terms)
        })
    }

    fn and(&mut self) -> Result<Expr, ConditionError> {
        let mut terms = vec![self.primary()?];
        while self.keyword("and") {
            terms.push(self.primary()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::And(terms)
        })
    }

    fn primary(&mut self) -> Result<Expr, ConditionError> {
        if self.peek() == Some(&Token::Open) {
            self.pos += 1;
            let inner = self.or()?;
            if self.peek() != Some(&Token::Close) {
                return Err(error(self.offset(), "expected `)`"));
            }
            self.pos += 1;
            return Ok(inner);
        }
        let left = self.operand()?;
        if self.keyword("empty") {
            return Ok(Expr::Empty(left, true));
        }
        if self.keyword("not") {
            if self.keyword("empty") {
                return Ok(Expr::Empty(left, false));
            }
            return Err(error(self.offset(), "expected `empty` after `not`"));
        }
        let op = match self.peek() {
            Some(Token::Op(op)) => *op,
            Some(Token::Word(w)) if w == "starts_with" => Op::StartsWith,
            Some(Token::Word(w)) if w == "contains" => Op::Contains,
            other => {
                let found = match other {
                    Some(Token::Word(w) | Token::Quoted(w)) => format!("found `{w}`"),
                    Some(_) => "found a parenthesis".to_string(),
                    None => "found the end".to_string(),
                };
                return Err(error(
                    self.offset(),
                    format!(
                        "expected a comparison (==, !=, <, >, <=, >=, starts_with, contains, empty, not empty), {found}"
                    ),
                ));
            }
        };
        self.pos += 1;
        let right = self.operand()?;
        Ok(Expr::Compare(left, op, right))
    }

    fn operand(&mut self) -> Result<Operand, ConditionError> {
        let offset = self.offset();
        let operand = match self.peek() {
            Some(Token::Quoted(text)) => Operand::Literal(text.clone()),
            Some(Token::Word(w)) if w.parse::<f64>().is_ok() => Operand::Literal(w.clone()),
            Some(Token::Word(w))
                if is_variable_name(w)
                    && !["and", "or", "not", "empty", "starts_with", "contains"]
                        .contains(&w.as_str()) =>
            {
                Operand::Var(w.clone(), offset)
            }
            Some(Token::Word(w)) => {
                return Err(error(
                    offset,
                    format!(
                        "expected a variable, a number or quoted text, found `{w}` (quote text: '{w}')"
                    ),
                ));
            }
            Some(_) => {
                return Err(error(
                    offset,
                    "expected a variable, a number or quoted text",
                ));
            }
            None => return Err(error(offset, "condition ends too early")),
        };
        self.pos += 1;
        Ok(operand)
    }
}

fn as_number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

impl Operand {
    fn value<'v>(&'v self, vars: &'v BTreeMap<String, String>) -> &'v str {
        match self {
            Operand::Var(name, _) => vars.get(name).map_or("", String::as_str),
            Operand::Literal(text) => text,
        }
    }
}

impl Expr {
    fn evaluate(&self, vars: &BTreeMap<String, String>) -> bool {
        match self {
            Expr::Or(terms) => terms.iter().any(|t| t.evaluate(vars)),
            Expr::And(terms) => terms.iter().all(|t| t.evaluate(vars)),
            Expr::Empty(operand, empty) => operand.value(vars).is_empty() == *empty,
            Expr::Compare(left, op, right) => {
                let (l, r) = (left.value(vars), right.value(vars));
                let ordering = match (as_number(l), as_number(r)) {
                    (Some(a), Some(b)) => a.partial_cmp(&b),
                    _ => Some(l.cmp(r)),
                };
                match op {
                    Op::Eq => ordering.is_some_and(|o| o.is_eq()),
                    Op::Ne => !ordering.is_some_and(|o| o.is_eq()),
                    Op::Lt => ordering.is_some_and(|o| o.is_lt()),
                    Op::Gt => ordering.is_some_and(|o| o.is_gt()),
                    Op::Le => ordering.is_some_and(|o| o.is_le()),
                    Op::Ge => ordering.is_some_and(|o| o.is_ge()),
                    Op::StartsWith => l.starts_with(r),
                    Op::Contains => l.contains(r),
                }
            }
        }
    }

    fn collect_variables<'e>(&'e self, out: &mut Vec<(&'e str, usize)>) {
        let mut operand = |o: &'e Operand| {
            if let Operand::Var(name, offset) = o {
                out.push((name.as_str(), *offset));
            }
        };
        match self {
            Expr::Or(terms) | Expr::And(terms) => {
                terms.iter().for_each(|t| t.collect_variables(out));
            }
            Expr::Compare(left, _, right) => {
                operand(left);
                operand(right);
            }
            Expr::Empty(o, _) => operand(o),
        }
    }
}

impl Condition {
    /// Parses a condition such as `order_number starts_with 9 and lang == 'de'`.
    pub(crate) fn parse(source: &str) -> Result<Self, ConditionError> {
        let tokens = tokenize(source)?;
        if tokens.is_empty() {
            return Err(error(0, "empty condition"));
        }
        let mut parser = Parser {
            tokens,
            pos: 0,
            end: source.len(),
        };
        let expr = parser.or()?;
        if parser.pos < parser.tokens.len() {
            return Err(error(
                parser.offset(),
                "unexpected text after the condition; join conditions with `and` or `or`",
            ));
        }
        Ok(Self {
            source: source.to_string(),
            expr,
        })
    }

    /// The condition as written in the dialplan.
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// Whether the condition holds; unset variables count as empty text.
    pub(crate) fn evaluate(&self, vars: &BTreeMap<String, String>) -> bool {
        self.expr.evaluate(vars)
    }

    /// The variables used, with the byte offset of each name in the source.
    pub(crate) fn variables(&self) -> Vec<(&str, usize)> {
        let mut out = Vec::new();
        self.expr.collect_variables(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds(condition: &str, pairs: &[(&str, &str)]) -> bool {
        let vars = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Condition::parse(condition).unwrap().evaluate(&vars)
    }

    #[test]
    fn compares_numbers_numerically_and_text_as_text() {
        assert!(holds("n > 9", &[("n", "10")]));
        assert!(holds("n > '9'", &[("n", "abc")]));
        assert!(holds("n == 7", &[("n", "007")]));
        assert!(holds("lang == 'de'", &[("lang", "de")]));
        assert!(holds("lang != \"de\"", &[("lang", "en")]));
        assert!(holds("a<=b", &[("a", "2"), ("b", "2")]));
        assert!(holds("a >= b", &[("a", "b"), ("b", "a")]));
        assert!(!holds("a < b", &[("a", "10"), ("b", "9")]));
    }

    #[test]
    fn text_tests_and_emptiness() {
        assert!(holds("order starts_with 9", &[("order", "91234")]));
        assert!(!holds("order starts_with 9", &[("order", "19")]));
        assert!(holds("order contains '23'", &[("order", "91234")]));
        assert!(holds("order empty", &[]));
        assert!(holds("order not empty", &[("order", "1")]));
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_group() {
        let v = [("a", "1"), ("b", "2"), ("c", "3")];
        assert!(holds("a == 1 or b == 0 and c == 0", &v));
        assert!(!holds("(a == 1 or b == 0) and c == 0", &v));
        assert!(holds("a == 1 and (b == 0 or c == 3)", &v));
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = Condition::parse("lang = 'de'").unwrap_err();
        assert_eq!(e.offset, 5);
        let e = Condition::parse("lang == de!").unwrap_err();
        assert_eq!(e.offset, 10);
        let e = Condition::parse("lang == 'de").unwrap_err();
        assert_eq!(e.offset, 8);
        let e = Condition::parse("lang is 'de'").unwrap_err();
        assert_eq!(e.offset, 5);
        let e = Condition::parse("a == 1 b == 2").unwrap_err();
        assert_eq!(e.offset, 7);
        let e = Condition::parse("a ==").unwrap_err();
        assert_eq!(e.message, "condition ends too early");
        assert!(Condition::parse("  ").is_err());
    }

    #[test]
    fn lists_variables_with_offsets() {
        let c = Condition::parse("a == b or c empty").unwrap();
        assert_eq!(c.variables(), vec![("a", 0), ("b", 5), ("c", 10)]);
    }
}
