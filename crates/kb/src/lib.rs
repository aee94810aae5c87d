//! The knowledge base of Switchboard's bot: FAQ entries with example questions and answers,
//! matched exactly, by keywords, or by a fused ranker (BM25 + character trigrams + sentence
//! embeddings) that survives recognition errors and paraphrase, and calibrated decisions:
//! answer, clarify between two, or out of scope.
//!
//! Sans-IO apart from reading files at load: no async, no threads while matching; one
//! [`Matcher`] is shared by every call (`Send + Sync`).

mod bert;
mod bm25;
pub mod calibrate;
pub mod calibration;
pub mod csv_io;
mod decision;
mod embedding;
mod embedding_cache;
mod entry;
mod error;
pub mod import;
mod load;
mod matcher;
mod ngram;
pub mod normalize;
mod query_cache;
pub mod spoken;
mod vectors;
mod wordpiece;

pub use calibration::{Calibration, Thresholds, Weights};
pub use decision::Decision;
pub use embedding::Embedder;
pub use entry::{Action, Entry, KeywordRule, KnowledgeBase, MatchMode, Priority};
pub use error::{KbError, KbErrors};
pub use load::{load_dir, load_texts};
pub use matcher::{Candidate, Matcher, MatcherOptions, Parts, Ranking, Strategy, Via};
