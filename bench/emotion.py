#!/usr/bin/env python3
"""Emotion benchmark of Switchboard: how well the frustration cues separate labeled material.

    python3 bench/emotion.py            # everything (about 3 minutes on 2 cores)
    python3 bench/emotion.py --quick    # fewer synthesized sentences and pairs (< 1 minute)

Needs a release build (`cargo build --release -p switchboard`; looked up in
$CARGO_TARGET_DIR/release, then target/release, then ~/.cache/switchboard/target/release), the
lexicon and the piper voice (`models/fetch.sh`), sox, espeak-ng and the Debian package
pocketsphinx-testdata. Everything goes through `switchboard emotion` (the crate sb-emotion);
this script only makes the material, labels it and computes ROC AUC (the probability that a
random positive scores above a random negative; ties count half). No emotional speech corpus
is packaged for Debian or PyPI here, so the acoustic sets are controlled ones (see
docs/EMOTION.md and docs/BENCHMARKS.md for what that shows and what it does not).

Material:
  1. Words (Bitext customer-service CSV in ../shared/testdata/intents, 8,175 utterances), each
     utterance scored on its own:
       offensive  rows flagged W (offensive language)            vs  neutral rows
       complaint  intent `complaint`, not W                       vs  neutral rows
       human      intent `contact_human_agent`, not W             vs  neutral rows
     neutral = not W and intent neither complaint nor contact_human_agent.
  2. Repeated requests (same CSV): a two-utterance call whose second utterance is another
     wording of the first one's intent (positive) or of a different intent (negative).
  3. Voice, controlled (8 kHz, G.711 mu-law, like a call), a call = 2 baseline utterances at
     normal settings + 1 test utterance, the test utterance at normal settings (negative) or:
       espeak raised  espeak-ng -p 50 -a 100 -s 160 -> -p 75 -a 180 -s 200 (4 voices)
       espeak loud    only -a 180 (level up, pitch and rate unchanged)
       piper faster   piper voice at normal speed -> sox tempo 1.3 (same pitch, 30 % faster)
       librivox       the 5 LibriVox sentences of one real reader -> sox gain 6 pitch 300
                      (+6 dB, +3 semitones); every pair of sentences as baseline
"""

import argparse
import csv
import datetime
import itertools
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "switchboard"
BITEXT = REPO.parent / "shared" / "testdata" / "intents" / "bitext_customer_service.csv"
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
SEED = 4

# Sentences a caller might say, without emotional words (the voice is what changes).
SENTENCES = [
    "Hello, I am calling about my order from last week.",
    "I would like to know where my parcel is at the moment.",
    "It was supposed to arrive on Monday but it is not here yet.",
    "Can you tell me when the delivery will come to my house?",
    "I paid for express shipping when I placed the order.",
    "The tracking page has shown the same status for five days.",
    "My order number is four five one two nine.",
    "I have been waiting for two weeks for this delivery.",
    "Could you check what happened to the package please?",
    "I need the parcel before the weekend for a birthday.",
    "The last time I called I was told it would be sent the next day.",
    "Please send me an email when it has been shipped.",
]
ESPEAK_VOICES = ["en-us", "en-us+f3", "en-gb", "en-us+m3"]
NORMAL = {"pitch": 50, "amplitude": 100, "wpm": 160}
RAISED = {"pitch": 75, "amplitude": 180, "wpm": 200}
LOUD = {"pitch": 50, "amplitude": 180, "wpm": 160}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def die(msg):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(2)


def find_binary(explicit):
    candidates = [Path(explicit)] if explicit else []
    if os.environ.get("CARGO_TARGET_DIR"):
        candidates.append(Path(os.environ["CARGO_TARGET_DIR"]) / "release" / "switchboard")
    candidates += [REPO / "target" / "release" / "switchboard",
                   CACHE / "target" / "release" / "switchboard"]
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c.resolve()
    die("no release build of switchboard found (looked at " + ", ".join(map(str, candidates))
        + "). Build it first: cargo build --release -p switchboard")


def run(cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=REPO, **kw)
    if r.returncode != 0:
        die(f"{' '.join(map(str, cmd))}: {r.stderr.strip()}")
    return r.stdout


def auc(positives, negatives):
    """ROC AUC by Mann-Whitney: P(positive > negative), ties count half."""
    if not positives or not negatives:
        return None
    ranked = sorted([(v, 1) for v in positives] + [(v, 0) for v in negatives])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mid = (i + j + 1) / 2  # 1-based mean rank of the tie group
        rank_sum += mid * sum(label for _, label in ranked[i:j])
        i = j
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def rnd(x, n=3):
    return None if x is None else round(x, n)


# ---------------------------------------------------------------------------------------------
# Words


def score_text_calls(binary, calls, tmp):
    """[[reading, ...] per call] for calls given as lists of utterance texts."""
    path = tmp / "calls.tsv"
    path.write_text("".join("\t".join(u.replace("\t", " ") for u in call) + "\n" for call in calls))
    out = run([binary, "emotion", "--calls", path])
    return [json.loads(line) for line in out.splitlines()]


def lexical_features(r):
    lex = r["lexical"]
    return {
        "sentiment (negativity)": lex["negativity"],
        "profanity": float(bool(lex["profanity"])),
        "asked for a human": float(lex["human_request"] is not None),
        "words part": r["parts"]["words"],
        "frustration score": r["score"],
    }


def words_benchmark(binary, tmp, quick):
    rows = list(csv.DictReader(BITEXT.open(encoding="utf-8-sig")))
    groups = {
        "offensive": [r for r in rows if "W" in r["flags"]],
        "complaint": [r for r in rows if r["intent"] == "complaint" and "W" not in r["flags"]],
        "human": [r for r in rows if r["intent"] == "contact_human_agent" and "W" not in r["flags"]],
        "neutral": [r for r in rows if "W" not in r["flags"]
                    and r["intent"] not in ("complaint", "contact_human_agent")],
    }
    order = [(name, r) for name, rs in groups.items() for r in rs]
    t0 = time.perf_counter()
    readings = score_text_calls(binary, [[r["utterance"]] for _, r in order], tmp)
    elapsed = time.perf_counter() - t0
    features = {}
    for (name, _), call in zip(order, readings):
        features.setdefault(name, []).append(lexical_features(call[0]))
    result = {"sizes": {k: len(v) for k, v in groups.items()},
              "seconds_for_all": rnd(elapsed, 2), "comparisons": {}}
    for positive in ("offensive", "complaint", "human"):
        result["comparisons"][positive] = {
            feature: rnd(auc([f[feature] for f in features[positive]],
                             [f[feature] for f in features["neutral"]]))
            for feature in features["neutral"][0]
        }
    fired = lambda name, key: sum(1 for f in features[name] if f[key] > 0) / len(features[name])
    result["neutral_false_positive_rate"] = {
        "negative words (negativity > 0.325)": rnd(
            sum(1 for f in features["neutral"] if f["sentiment (negativity)"] > 0.325)
            / len(features["neutral"])),
        "profanity": rnd(fired("neutral", "profanity")),
        "asked for a human": rnd(fired("neutral", "asked for a human")),
    }

    # Repeated requests: another wording of the same intent vs a different intent.
    rng = random.Random(SEED)
    by_intent = {}
    for r in rows:
        by_intent.setdefault(r["intent"], []).append(r["utterance"])
    intents = sorted(by_intent)
    n = 200 if quick else 1000
    same, different = [], []
    for _ in range(n):
        a = rng.choice(intents)
        same.append(rng.sample(by_intent[a], 2))
        b = rng.choice([i for i in intents if i != a])
        different.append([rng.choice(by_intent[a]), rng.choice(by_intent[b])])
    readings = score_text_calls(binary, same + different, tmp)
    similarity = [((c[1]["lexical"]["repetition"] or {}).get("similarity", 0.0),
                   "repeated_request" in c[1]["cues"]) for c in readings]
    pos, neg = similarity[:n], similarity[n:]
    result["repetition"] = {
        "pairs": n,
        "similarity_auc": rnd(auc([s for s, _ in pos], [s for s, _ in neg])),
        "cue_fired_same_intent": rnd(sum(f for _, f in pos) / n),
        "cue_fired_different_intent": rnd(sum(f for _, f in neg) / n),
    }
    return result


# ---------------------------------------------------------------------------------------------
# Voice


def phone(src, dst):
    """The file as a call carries it: 8 kHz G.711 mu-law, decoded back to 16-bit PCM."""
    ulaw = dst.with_suffix(".ul.wav")
    run(["sox", "-V1", "-G", src, "-r", "8000", "-c", "1", "-e", "u-law", ulaw])
    run(["sox", "-V1", ulaw, "-e", "signed-integer", "-b", "16", dst])
    ulaw.unlink()
    return dst


def espeak(text, voice, settings, out):
    wide = out.with_suffix(".wide.wav")
    run(["espeak-ng", "-v", voice, "-p", settings["pitch"], "-a", settings["amplitude"],
         "-s", settings["wpm"], "-w", wide, text])
    phone(wide, out)
    wide.unlink()
    return out


def score_call(binary, files, texts):
    """The reading of the last file of a call made of `files`."""
    cmd = [binary, "emotion", "--json", *files]
    for t in texts:
        cmd += ["--text", t]
    return [json.loads(line) for line in run(cmd).splitlines()][-1]


ACOUSTIC_FEATURES = {
    "level (energy_z)": lambda r: (r["acoustic"]["vs_baseline"] or {}).get("energy_z"),
    "pitch (pitch_z)": lambda r: (r["acoustic"]["vs_baseline"] or {}).get("pitch_z"),
    "pitch spread ratio": lambda r: (r["acoustic"]["vs_baseline"] or {}).get("pitch_spread_ratio"),
    "rate ratio": lambda r: (r["acoustic"]["vs_baseline"] or {}).get("rate_ratio"),
    "voice part": lambda r: r["parts"]["voice"],
    "frustration score": lambda r: r["score"],
}


def voice_set(binary, calls):
    """calls: [(label, files, texts)] -> AUC per feature and how often each cue fired."""
    readings = [(label, score_call(binary, files, texts)) for label, files, texts in calls]
    out = {"calls": len(readings), "auc": {}, "cue_fired": {}}
    for name, get in ACOUSTIC_FEATURES.items():
        pos = [get(r) for label, r in readings if label and get(r) is not None]
        neg = [get(r) for label, r in readings if not label and get(r) is not None]
        out["auc"][name] = rnd(auc(pos, neg))
    for cue in ("raised_voice", "fast_speech", "agitated_intonation"):
        for label, key in ((True, "positives"), (False, "negatives")):
            group = [r for lab, r in readings if lab == label]
            out["cue_fired"].setdefault(cue, {})[key] = rnd(
                sum(cue in r["cues"] for r in group) / len(group))
    out["analysis_us"] = [r["analysis_us"] for _, r in readings]
    out["audio_ms"] = [r["acoustic"]["audio_ms"] for _, r in readings]
    return out


def espeak_calls(tmp, quick, raised):
    sentences = SENTENCES[:6] if quick else SENTENCES
    voices = ESPEAK_VOICES[:2] if quick else ESPEAK_VOICES
    calls = []
    for v, voice in enumerate(voices):
        made = {}
        for i, text in enumerate(sentences):
            made[("n", i)] = espeak(text, voice, NORMAL, tmp / f"es{v}-n{i}.wav")
            if i >= 2:
                made[("r", i)] = espeak(text, voice, raised, tmp / f"es{v}-r{i}.wav")
        base = [made[("n", 0)], made[("n", 1)]]
        for i in range(2, len(sentences)):
            texts = [sentences[0], sentences[1], sentences[i]]
            calls.append((False, base + [made[("n", i)]], texts))
            calls.append((True, base + [made[("r", i)]], texts))
    return calls


def piper_calls(binary, tmp, quick):
    sentences = SENTENCES[:6] if quick else SENTENCES
    made = []
    for i, text in enumerate(sentences):
        wide = tmp / f"piper{i}.wide.wav"
        run([binary, "say", text, "-o", wide, "--rate", "16000"])
        normal = phone(wide, tmp / f"piper{i}.wav")
        fast = tmp / f"piper{i}.fast.wide.wav"
        run(["sox", "-V1", wide, fast, "tempo", "-s", "1.3"])
        made.append((normal, phone(fast, tmp / f"piper{i}.fast.wav")))
    calls = []
    for i in range(2, len(sentences)):
        texts = [sentences[0], sentences[1], sentences[i]]
        base = [made[0][0], made[1][0]]
        calls.append((False, base + [made[i][0]], texts))
        calls.append((True, base + [made[i][1]], texts))
    return calls


def librivox_calls(tmp):
    refs = {}
    for line in (LIBRIVOX / "transcription").read_text().splitlines():
        text, _, uid = line.rpartition(" (")
        refs[uid.rstrip(")")] = text.strip()
    items = []
    for uid in sorted(refs):
        src = LIBRIVOX / f"{uid}.wav"
        if src.exists():
            normal = phone(src, tmp / f"lv-{uid}.wav")
            raised_wide = tmp / f"lv-{uid}.raised.wide.wav"
            run(["sox", "-V1", "-G", src, raised_wide, "gain", "6", "pitch", "300"])
            items.append((refs[uid], normal, phone(raised_wide, tmp / f"lv-{uid}.raised.wav")))
    calls = []
    for a, b in itertools.combinations(range(len(items)), 2):
        for t in range(len(items)):
            if t in (a, b):
                continue
            texts = [items[a][0], items[b][0], items[t][0]]
            base = [items[a][1], items[b][1]]
            calls.append((False, base + [items[t][1]], texts))
            calls.append((True, base + [items[t][2]], texts))
    return calls


# ---------------------------------------------------------------------------------------------
# Report


def percentile(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def print_report(res):
    w = res["words"]
    print(f"\nWords: Bitext customer service, each utterance on its own "
          f"({', '.join(f'{k} {v}' for k, v in w['sizes'].items())})")
    features = list(next(iter(w["comparisons"].values())))
    print(f"  {'ROC AUC vs neutral':<22}" + "".join(f"{f:>24}" for f in features))
    for name, row in w["comparisons"].items():
        print(f"  {name:<22}" + "".join(f"{row[f]:>24.3f}" for f in features))
    print("  fired on neutral rows: " + ", ".join(
        f"{k} {v:.1%}" for k, v in w["neutral_false_positive_rate"].items()))
    r = w["repetition"]
    print(f"  repeated request ({r['pairs']} pairs each): similarity AUC {r['similarity_auc']:.3f}; "
          f"cue fired on same intent {r['cue_fired_same_intent']:.1%}, "
          f"different intent {r['cue_fired_different_intent']:.1%}")
    print("\nVoice (controlled sets, 8 kHz mu-law; a call = 2 normal baseline utterances + 1 test)")
    names = list(ACOUSTIC_FEATURES)
    print(f"  {'set (calls)':<22}" + "".join(f"{n:>20}" for n in names) + "   raised voice fired pos/neg")
    for name, s in res["voice"].items():
        fired = s["cue_fired"]["raised_voice"]
        cells = "".join(f"{'-' if s['auc'][n] is None else format(s['auc'][n], '.3f'):>20}"
                        for n in names)
        print(f"  {name + ' (' + str(s['calls']) + ')':<22}{cells}   "
              f"{fired['positives']:.0%} / {fired['negatives']:.0%}")
    lat = res["latency"]
    print(f"\nAnalysis time per utterance (release build, one thread, 8 kHz): "
          f"p50 {lat['p50_us'] / 1000:.2f} ms, p99 {lat['p99_us'] / 1000:.2f} ms, "
          f"max {lat['max_us'] / 1000:.2f} ms for utterances of median {lat['median_audio_ms'] / 1000:.1f} s "
          f"(longest {lat['max_audio_ms'] / 1000:.1f} s)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer sentences, voices and pairs")
    ap.add_argument("--binary", help="the switchboard binary (default: the release build)")
    ap.add_argument("--out", help="JSON output (default bench/results/emotion-<date>[-quick].json)")
    args = ap.parse_args()

    binary = find_binary(args.binary)
    for tool in ("sox", "espeak-ng"):
        if not shutil.which(tool):
            die(f"{tool} is needed (scripts/install-deps.sh installs it)")
    if not BITEXT.is_file():
        die(f"{BITEXT} is missing")
    if not (REPO / "models" / "lexicon" / "vader_lexicon.txt").is_file():
        die("models/lexicon/vader_lexicon.txt is missing: run models/fetch.sh")

    res = {"date": datetime.date.today().isoformat(), "quick": args.quick,
           "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                       "python": platform.python_version()},
           "binary": str(binary), "seed": SEED, "settings": {
               "espeak_voices": ESPEAK_VOICES, "normal": NORMAL, "raised": RAISED, "loud": LOUD,
               "piper_faster": "sox tempo -s 1.3", "librivox_raised": "sox gain 6 pitch 300"}}
    with tempfile.TemporaryDirectory(prefix="sb-emotion-bench-") as tmp:
        tmp = Path(tmp)
        log("words: Bitext rows and repeated-request pairs…")
        res["words"] = words_benchmark(binary, tmp, args.quick)
        res["voice"] = {}
        log("voice: espeak-ng raised…")
        res["voice"]["espeak raised"] = voice_set(binary, espeak_calls(tmp, args.quick, RAISED))
        log("voice: espeak-ng loud only…")
        res["voice"]["espeak loud only"] = voice_set(binary, espeak_calls(tmp, args.quick, LOUD))
        log("voice: piper normal vs faster…")
        res["voice"]["piper faster"] = voice_set(binary, piper_calls(binary, tmp, args.quick))
        if (LIBRIVOX / "transcription").is_file():
            log("voice: LibriVox reader raised with sox…")
            res["voice"]["librivox raised"] = voice_set(binary, librivox_calls(tmp))
    times = [t for s in res["voice"].values() for t in s.pop("analysis_us")]
    audio = [a for s in res["voice"].values() for a in s.pop("audio_ms")]
    res["latency"] = {"utterances": len(times), "p50_us": percentile(times, 50),
                      "p99_us": percentile(times, 99), "max_us": max(times),
                      "median_audio_ms": statistics.median(audio), "max_audio_ms": max(audio)}
    print_report(res)
    out = Path(args.out) if args.out else (
        REPO / "bench" / "results" / f"emotion-{res['date']}{'-quick' if args.quick else ''}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"\nwrote {out.relative_to(REPO) if out.is_relative_to(REPO) else out}")


if __name__ == "__main__":
    main()
