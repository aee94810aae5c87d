//! Load errors: each one names the file and line it is about, like the dialplan loader's.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in a knowledge-base file, at a line (1-based; 0 when about the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {message}", file.display())]
pub struct KbError {
    /// The knowledge-base file (or directory).
    pub file: PathBuf,
    /// Line of the offending text, counting from 1.
    pub line: usize,
    /// What is wrong, for the administrator.
    pub message: String,
}

/// Every problem found while loading, sorted by file and line; displayed one a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KbErrors {
    /// The problems.
    pub errors: Vec<KbError>,
}

impl fmt::Display for KbErrors {
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

impl std::error::Error for KbErrors {}

impl KbErrors {
    /// A single problem about a whole file or directory (it cannot be read, for instance).
    pub fn about(file: &Path, message: impl Into<String>) -> Self {
        KbErrors {
            errors: vec![KbError {
                file: file.to_path_buf(),
                line: 0,
                message: message.into(),
            }],
        }
    }
}

/// Collects the problems of one file, turning byte offsets into lines.
pub(crate) struct Diagnostics<'a> {
    file: &'a Path,
    line_starts: Vec<usize>,
    pub(crate) errors: Vec<KbError>,
}

impl<'a> Diagnostics<'a> {
    /// Starts collecting problems about `text`, read from `file`.
    pub(crate) fn new(file: &'a Path, text: &str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Diagnostics {
            file,
            line_starts,
            errors: Vec::new(),
        }
    }

    /// The line (1-based) holding byte `offset`.
    pub(crate) fn line(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }

    /// Records a problem at the start of `span` (byte offsets into the text).
    pub(crate) fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let line = self.line(span.start);
        self.errors.push(KbError {
            file: self.file.to_path_buf(),
            line,
            message: message.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines() {
        let text = "a = 1\nb = 2\n";
        let mut diag = Diagnostics::new(Path::new("x.toml"), text);
        diag.error(7..8, "second");
        assert_eq!(diag.errors[0].to_string(), "x.toml:2: second");
        assert_eq!(diag.line(0), 1);
    }
}
