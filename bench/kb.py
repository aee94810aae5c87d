#!/usr/bin/env python3
"""Knowledge-base benchmark: intent accuracy per match mode, out-of-scope rejection, latency.

    python3 bench/kb.py            # full run (a few minutes on 2 cores; the first run embeds
                                   # the shop's 6,539 examples, cached in var/kb-cache after)
    python3 bench/kb.py --quick    # accuracy on 300 held-out rows, latency on 200 utterances

Needs the release build (`cargo build --release -p switchboard`; looked up in
$CARGO_TARGET_DIR/release, then target/release) and the embedding model (`models/fetch.sh`).
Standard library only.

What it measures (see docs/BENCHMARKS.md, "Knowledge base"):
  1. Accuracy on the held-out 20 % of the Bitext set (bench/data/kb_heldout.csv, made with the
     shop knowledge base by kb/shop/build.py: never seen by the matcher or its calibration),
     per mode: exact, contains, lexical (BM25), ngram, embedding, smart (fused), and the shop's
     own per-entry modes; and the out-of-scope recall on bench/data/kb_oos.csv (150
     utterances from other domains). Both with `switchboard kb eval`. Also, for the per-entry
     modes: accuracy on bench/data/kb_phone_paraphrases.csv (189 utterances as callers say
     them on the phone, written before any tuning and never used for it) and rejection of
     bench/data/kb_phone_oos.csv (30 phone-style utterances from other domains).
  2. Latency per utterance on a generated 5,000-entry knowledge base (40,000 examples drawn
     from the shop's): `kb eval` times each decision, and the query embedding within it.
"""

import argparse
import csv
import datetime
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "switchboard"
BIG_KB = CACHE / "bench-kb5000"     # kept so that its embedding cache is reused
MODES = ["exact", "contains", "lexical", "ngram", "embedding", "smart", "entry"]
TARGET_ACCURACY = 0.97
TARGET_P99_MS = 5.0
SEED = 7


def binary():
    for d in [os.environ.get("CARGO_TARGET_DIR"), REPO / "target"]:
        if d and (Path(d) / "release/switchboard").exists():
            return str(Path(d) / "release/switchboard")
    sys.exit("no release build: cargo build --release -p switchboard")


def kb_eval(exe, kb, csv_path, mode, config):
    out = subprocess.run([exe, "--config", str(config), "kb", "eval", "--kb", str(kb),
                          "--csv", str(csv_path), "--mode", mode],
                         capture_output=True, text=True, check=True).stdout
    result = {"mode": mode}
    for key in ["accuracy", "oos_recall"]:
        result[key] = float(re.search(rf"^{key}: ([0-9.]+)$", out, re.M).group(1))
    m = re.search(r"^clarify: (\d+)", out, re.M)
    result["clarify"] = int(m.group(1))
    m = re.search(r"latency_ms: p50 ([0-9.]+) p99 ([0-9.]+) .*embedding: p50 ([0-9.]+) p99 ([0-9.]+)", out)
    result["latency_ms"] = {"p50": float(m.group(1)), "p99": float(m.group(2)),
                            "embed_p50": float(m.group(3)), "embed_p99": float(m.group(4))}
    result["embedding_missing"] = "model missing" in out
    result["confusions"] = re.findall(r"^  (.+ -> .+): (\d+)$", out, re.M)[:5]
    return result


def sample_csv(src, dst, n, seed):
    with open(src, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    if n and n < len(body):
        body = random.Random(seed).sample(body, n)
    with open(dst, "w", newline="") as f:
        csv.writer(f).writerows([header] + body)
    return len(body)


def make_big_kb(entries=5000, examples=8):
    """5,000 entries, each with 8 examples drawn from one shop intent (the texts repeat across
    entries, so their embeddings come from the shop's cache: only the sizes matter here)."""
    BIG_KB.mkdir(parents=True, exist_ok=True)
    target = BIG_KB / "entries.toml"
    if target.exists():
        return
    by_intent = {}
    # Only the shop's training examples: the held-out rows never go into a knowledge base.
    for toml_file in sorted((REPO / "kb/shop").glob("*.toml")):
        if toml_file.name == "matcher.toml":
            continue
        intent = None
        for line in toml_file.read_text().splitlines():
            if line.startswith("id = "):
                intent = json.loads(line[5:])
                by_intent[intent] = []
            elif line.startswith('  "') and intent:
                by_intent[intent].append(json.loads(line.strip().rstrip(",")))
    rng = random.Random(SEED)
    intents = sorted(by_intent)
    out = []
    for k in range(entries):
        intent = intents[k % len(intents)]
        picked = rng.sample(by_intent[intent], examples)
        out.append(f'[[entry]]\nid = "{intent}_{k:04d}"\ncategory = "BENCH"\nanswer = "Answer {k}."\n'
                   "examples = [\n" + "".join(f"  {json.dumps(t)},\n" for t in picked) + "]\n")
    target.write_text("\n".join(out))


def machine():
    model = "?"
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    return {"cpus": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "python": platform.python_version()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    exe = binary()
    tmp = Path(tempfile.mkdtemp(prefix="sb-kb-bench-"))
    config = tmp / "switchboard.toml"
    config.write_text(f'[kb]\nembedding_model = "{REPO}/models/minilm"\ncache_dir = "{REPO}/var/kb-cache"\n')
    heldout = tmp / "heldout.csv"
    oos = tmp / "oos.csv"
    n_in = sample_csv(REPO / "bench/data/kb_heldout.csv", heldout, 300 if args.quick else 0, SEED)
    n_oos = sample_csv(REPO / "bench/data/kb_oos.csv", oos, 0, SEED)
    rows = []
    for mode in MODES:
        print(f"… {mode}", file=sys.stderr)
        a = kb_eval(exe, REPO / "kb/shop", heldout, mode, config)
        o = kb_eval(exe, REPO / "kb/shop", oos, mode, config)
        rows.append({"mode": mode, "accuracy": a["accuracy"], "clarify": a["clarify"],
                     "oos_recall": o["oos_recall"], "latency_ms": a["latency_ms"],
                     "confusions": a["confusions"], "embedding_missing": a["embedding_missing"]})
    print("… phone-style utterances", file=sys.stderr)
    phone = kb_eval(exe, REPO / "kb/shop", REPO / "bench/data/kb_phone_paraphrases.csv", "entry", config)
    phone_oos = kb_eval(exe, REPO / "kb/shop", REPO / "bench/data/kb_phone_oos.csv", "entry", config)
    print("… 5,000-entry knowledge base ", file=sys.stderr)
    make_big_kb()
    probe = tmp / "probe.csv"
    sample_csv(REPO / "bench/data/kb_heldout.csv", probe, 200 if args.quick else 1000, SEED + 1)
    big = {m: kb_eval(exe, BIG_KB, probe, m, config)["latency_ms"] for m in ["entry", "lexical"]}

    print(f"\nKnowledge base: {n_in} held-out utterances (27 intents), {n_oos} out-of-scope\n")
    print(f"{'mode':<10} {'accuracy':>9} {'clarify':>8} {'oos_recall':>11}   shop KB p50 / p99 ms")
    for r in rows:
        lat = r["latency_ms"]
        print(f"{r['mode']:<10} {r['accuracy']:>9.3f} {r['clarify']:>8} {r['oos_recall']:>11.3f}   "
              f"{lat['p50']:.2f} / {lat['p99']:.2f}")
    print(f"\nphone-style (per-entry modes): accuracy {phone['accuracy']:.3f} (clarify {phone['clarify']}), "
          f"other domains rejected {phone_oos['oos_recall']:.3f}")
    print(f"  most frequent confusions: {', '.join(f'{c} ({n})' for c, n in phone['confusions'])}")
    e = big["entry"]
    print(f"\n5,000 entries (40,000 examples), per utterance:")
    print(f"  smart, embedding included:  p50 {e['p50']:.2f} ms  p99 {e['p99']:.2f} ms")
    print(f"  query embedding alone:      p50 {e['embed_p50']:.2f} ms  p99 {e['embed_p99']:.2f} ms")
    lx = big["lexical"]
    print(f"  BM25 only (no embedding):   p50 {lx['p50']:.2f} ms  p99 {lx['p99']:.2f} ms")
    smart = next(r for r in rows if r["mode"] == "smart")
    print(f"\ntarget smart accuracy >= {TARGET_ACCURACY}: {'met' if smart['accuracy'] >= TARGET_ACCURACY else 'MISSED'}"
          f" ({smart['accuracy']:.3f})")
    result = {"date": datetime.date.today().isoformat(), "machine": machine(), "quick": args.quick,
              "heldout_rows": n_in, "oos_rows": n_oos, "modes": rows,
              "phone": {"accuracy": phone["accuracy"], "clarify": phone["clarify"],
                        "confusions": phone["confusions"], "oos_recall": phone_oos["oos_recall"]}, "kb5000_latency_ms": big}
    out = REPO / "bench/results" / f"kb-{result['date']}{'-quick' if args.quick else ''}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
