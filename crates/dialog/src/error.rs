//! Load errors: each one carries the file, line and column it is about.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in a dialplan file, at a line and column (both 1-based).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", file.display())]
pub struct DialplanError {
    /// The dialplan file.
    pub file: PathBuf,
    /// Line of the offending text, counting from 1.
    pub line: usize,
    /// Column of the offending text in characters, counting from 1.
    pub column: usize,
    /// What is wrong, for the administrator.
    pub message: String,
}

/// Every problem found in a dialplan, sorted by line; displayed one `file:line:col: reason` a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialplanErrors {
    /// The problems, sorted by line and column.
    pub errors: Vec<DialplanError>,
}

impl fmt::Display for DialplanErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DialplanErrors {}

/// Collects errors while a file is read, turning byte offsets into line:column.
pub(crate) struct Diagnostics<'a> {
    file: &'a Path,
    text: &'a str,
    line_starts: Vec<usize>,
    errors: Vec<DialplanError>,
}

impl<'a> Diagnostics<'a> {
    /// Starts collecting errors about `text`, read from `file`.
    pub(crate) fn new(file: &'a Path, text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            file,
            text,
            line_starts,
            errors: Vec::new(),
        }
    }

    /// The source text, for pointing inside string values.
    pub(crate) fn text(&self) -> &'a str {
        self.text
    }

    /// The line and column (both 1-based) of byte `offset`.
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let line_start = self.line_starts[line - 1];
        // The text is valid UTF-8, but an offset from a recovering parser could
        // land inside a character: count only whole characters before it.
        let column = self
            .text
            .get(line_start..offset)
            .map_or(1, |before| before.chars().count() + 1);
        (line, column)
    }

    /// Records a problem at the start of `span` (byte offsets into the text).
    pub(crate) fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let (line, column) = self.position(span.start);
        self.errors.push(DialplanError {
            file: self.file.to_path_buf(),
            line,
            column,
            message: message.into(),
        });
    }

    /// The value when the file had no problems, otherwise every problem sorted by place.
    pub(crate) fn finish<T>(mut self, value: Option<T>) -> Result<T, DialplanErrors> {
        match value {
            Some(value) if self.errors.is_empty() => Ok(value),
            _ => {
                if self.errors.is_empty() {
                    // A part could not be built yet nothing was reported: a bug here,
                    // but still an answer rather than a panic.
                    self.error(0..0, "internal error: dialplan incomplete");
                }
                // Stable sort keeps errors found at the same place in the order found.
                self.errors.sort_by_key(|e| (e.line, e.column));
                Err(DialplanErrors {
                    errors: self.errors,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_character_columns() {
        let text = "a = 1\nbé = 2\n";
        let mut diag = Diagnostics::new(Path::new("x.toml"), text);
        diag.error(9..10, "second");
        diag.error(0..1, "first");
        let errors = diag.finish::<()>(None).unwrap_err();
        assert_eq!(errors.to_string(), "x.toml:1:1: first\nx.toml:2:3: second");
    }
}
