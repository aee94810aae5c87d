//! Calibrates a knowledge base with labeled questions in the callers' own words besides its
//! held-out examples, and writes its `matcher.toml` (until `switchboard kb calibrate` takes
//! such a file itself).
//!
//! ```sh
//! cargo run --release -p sb-kb --example calibrate_with_questions -- \
//!     kb/shop models/minilm var/kb-cache/embeddings.bin \
//!     bench/data/kb_phone_calibration.csv bench/data/kb_oos_calibration.csv
//! ```
//! Every CSV has `text` and `intent` columns; rows labeled `oos` (or without intent) are
//! out-of-scope utterances, the others questions.

use std::path::Path;
use std::sync::Arc;

use sb_kb::csv_io::{Columns, read_labeled};
use sb_kb::{Embedder, MatcherOptions, load_dir};

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kb_dir, model, cache, csvs @ ..] = &args[..] else {
        return Err("usage: KB_DIR MODEL_DIR CACHE_FILE CSV...".into());
    };
    let kb_dir = Path::new(kb_dir);
    let kb = load_dir(kb_dir).map_err(|e| e.to_string())?;
    let (mut oos, mut questions) = (Vec::new(), Vec::new());
    for path in csvs {
        let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
        for row in read_labeled(file, &Columns::default()).map_err(|e| format!("{path}: {e}"))? {
            if row.is_out_of_scope() {
                oos.push(row.text);
            } else {
                questions.push((row.text, row.intent));
            }
        }
    }
    let embedder = Arc::new(Embedder::load(Path::new(model))?);
    let report = sb_kb::calibrate::calibrate_with_questions(
        &kb,
        &oos,
        &questions,
        MatcherOptions {
            embedder: Some(embedder),
            cache: Some(Path::new(cache)),
            threads: 0,
            progress: None,
        },
        &|_, _| {},
    );
    eprintln!(
        "{} held-out examples and questions, {} out-of-scope utterances",
        report.questions, report.out_of_scope
    );
    if let Some(o) = report.smart {
        eprintln!(
            "smart: accuracy {:.3}, out of scope rejected {:.3}",
            o.accuracy, o.oos_recall
        );
    }
    let text = format!(
        "# Written by sb-kb's example calibrate_with_questions (every fifth example held out,\n\
         # plus questions in callers' words and out-of-scope utterances).\n{}",
        report.calibration.to_toml()
    );
    print!("{text}");
    let path = kb_dir.join("matcher.toml");
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
}
