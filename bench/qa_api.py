#!/usr/bin/env python3
"""QA API benchmark of Switchboard: the REST API over a store of 100,000 calls.

    python3 bench/qa_api.py            # 100,000 calls, 1,000,000 transcript lines
    python3 bench/qa_api.py --quick    # 5,000 calls (checks that it works)

Needs release builds (`cargo build --release -p switchboard`, and the store generator
`cargo build --release -p sb-store --example fill_store`; both looked up in
$CARGO_TARGET_DIR/release, then ~/.cache/switchboard/target/release, then target/release).
Python 3 standard library only; everything runs on 127.0.0.1.

The generator fills an SQLite store through the store's own writer (summary columns, search
index, report columns as the gateway leaves them); the store is made once and cached under
~/.cache/switchboard/bench-qa/ (`--fresh` makes it again), and each run works on a copy. The
script starts `switchboard serve` on the copy with a supervisor and a qa token, and times, over
one keep-alive HTTP connection, one request at a time:

- filtered list pages (intent, escalated + frustration, agent, dialplan + outcome, a time window,
  a caller number, a deep page through the cursor),
- full-text searches (a common word, two words, a rare word, with a filter),
- call details (random calls; as a supervisor, and as qa, which masks personal data),
- reports (by day and by intent over the 60 days, repeat callers within 7 days).

Targets: list and search p95 <= 100 ms, detail p95 <= 50 ms, reports <= 1 s (the slowest).
Prints a table and writes bench/results/qa_api-<date>.json (`--quick`: qa_api-<date>-quick.json);
exits non-zero when a target is missed.
"""

import argparse
import datetime
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "switchboard" / "bench-qa"
TARGETS_MS = {"list": 100.0, "search": 100.0, "detail": 50.0, "report": 1000.0}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def die(msg):
    log(f"bench/qa_api.py: {msg}")
    sys.exit(1)


def find_release(relative):
    candidates = []
    if os.environ.get("CARGO_TARGET_DIR"):
        candidates.append(Path(os.environ["CARGO_TARGET_DIR"]) / "release" / relative)
    candidates.append(Path.home() / ".cache/switchboard/target/release" / relative)
    candidates.append(REPO / "target" / "release" / relative)
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_store(generator, calls, fresh):
    """The cached store for `calls` calls, made by the generator when missing."""
    CACHE.mkdir(parents=True, exist_ok=True)
    db = CACHE / f"store-{calls}.db"
    if db.exists() and not fresh:
        log(f"using the cached store {db}")
        return db
    for old in CACHE.glob(f"store-{calls}.db*"):
        old.unlink()
    partial = CACHE / f"store-{calls}.partial.db"
    for old in CACHE.glob(f"store-{calls}.partial.db*"):
        old.unlink()
    log(f"filling a store with {calls} calls ({calls * 10} transcript lines) ...")
    started = time.monotonic()
    subprocess.run([str(generator), f"sqlite:{partial}", "--calls", str(calls)], check=True)
    log(f"store made in {time.monotonic() - started:.0f} s")
    partial.rename(db)
    return db


def new_token(binary, name, role):
    out = subprocess.run(
        [str(binary), "--config", "/dev/null", "user", "new-token", name, "--role", role],
        check=True, capture_output=True, text=True,
    ).stdout
    token = next(line[len("token: "):] for line in out.splitlines() if line.startswith("token: "))
    return token, out[out.index("[[token]]"):]


def start_gateway(binary, workdir, db):
    web_port, sip_port = free_port(), free_port()
    boss, boss_entry = new_token(binary, "bench-boss", "supervisor")
    qa, qa_entry = new_token(binary, "bench-qa", "qa")
    rtp = 30000 + (sip_port % 1000) * 10
    config = f"""[sip]
listen = "127.0.0.1:{sip_port}"

[web]
listen = "127.0.0.1:{web_port}"
admin_password_file = ""

[media]
rtp_ports = [{rtp}, {rtp + 100}]

[dialplans]
dir = "{REPO / 'dialplans'}"
sounds_dir = "{REPO / 'sounds'}"
default = "keypad"

[store]
url = "sqlite:{db}"

[recordings]
dir = "{workdir / 'recordings'}"

[speech]
enabled = false

[log]
level = "warn"

[[queue]]
name = "support"

[[queue]]
name = "billing"

{boss_entry}
{qa_entry}
"""
    cfg = workdir / "switchboard.toml"
    cfg.write_text(config)
    logf = open(workdir / "gateway.log", "w")
    proc = subprocess.Popen([str(binary), "--config", str(cfg), "serve"],
                            stdout=logf, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            die(f"the gateway exited: {(workdir / 'gateway.log').read_text()[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", web_port, timeout=2)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return proc, web_port, boss, qa
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    die("the gateway did not get ready within 60 s")


class Api:
    """One keep-alive connection with one token."""

    def __init__(self, port, token):
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(self, path):
        started = time.perf_counter()
        self.conn.request("GET", path, headers={"Authorization": f"Bearer {self.token}"})
        answer = self.conn.getresponse()
        body = answer.read()
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status != 200:
            die(f"GET {path} answered {answer.status}: {body[:300]!r}")
        return elapsed, json.loads(body)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def measure(api, paths, rounds, per_path, warmup=3):
    """Times `rounds` requests cycling through `paths`; also files each time under its path."""
    for path in paths[:warmup]:
        api.get(path)
    times = []
    for i in range(rounds):
        path = paths[i % len(paths)]
        elapsed, _ = api.get(path)
        times.append(elapsed)
        per_path.setdefault(path, []).append(elapsed)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 calls, fewer requests")
    parser.add_argument("--calls", type=int, help="calls in the store (default 100000)")
    parser.add_argument("--fresh", action="store_true", help="make the store again")
    parser.add_argument("--binary", help="switchboard binary (default: the release build)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = parser.parse_args()
    calls = args.calls or (5000 if args.quick else 100_000)
    rounds = 60 if args.quick else 300

    binary = Path(args.binary) if args.binary else find_release("switchboard")
    generator = find_release("examples/fill_store")
    if binary is None:
        die("no release build found; run: cargo build --release -p switchboard")
    if generator is None:
        die("no store generator; run: cargo build --release -p sb-store --example fill_store")

    source = make_store(generator, calls, args.fresh)
    workdir = Path(tempfile.mkdtemp(prefix="sb-bench-qa-"))
    db = workdir / "bench.db"
    shutil.copyfile(source, db)
    proc, port, boss_token, qa_token = start_gateway(binary, workdir, db)
    boss, qa = Api(port, boss_token), Api(port, qa_token)
    rng = random.Random(7)
    try:
        # Call ids and a cursor to sample from.
        _, first = boss.get("/api/calls?limit=200")
        ids = [c["id"] for c in first["calls"]]
        deep_cursor = first["next_cursor"]
        for _ in range(20):
            _, page = boss.get("/api/calls?limit=200&cursor=" + urllib.parse.quote(deep_cursor))
            ids += [c["id"] for c in page["calls"]]
            deep_cursor = page["next_cursor"] or deep_cursor
        some_caller = first["calls"][0]["caller"]
        now = datetime.datetime.now(datetime.timezone.utc)
        iso = lambda t: urllib.parse.quote(t.strftime("%Y-%m-%dT%H:%M:%SZ"))
        window = f"from={iso(now - datetime.timedelta(days=20))}&to={iso(now - datetime.timedelta(days=19))}"
        lists = [
            "/api/calls?intent=billing",
            "/api/calls?escalated=true&min_frustration=0.6",
            "/api/calls?agent=agent7",
            "/api/calls?dialplan=assistant&outcome=caller_hangup",
            "/api/calls?" + window,
            "/api/calls?caller=" + urllib.parse.quote(some_caller[-7:]),
            "/api/calls?cursor=" + urllib.parse.quote(deep_cursor),
            "/api/calls?intent=refund&escalated=false&limit=200",
        ]
        searches = [
            "/api/calls?q=refund",
            "/api/calls?q=parcel+delayed",
            "/api/calls?q=blender",
            "/api/calls?q=wrong+address&intent=delivery",
            "/api/calls?q=ridiculous&escalated=true",
        ]
        details = [f"/api/calls/{rng.choice(ids)}" for _ in range(rounds)]
        days60 = f"from={iso(now - datetime.timedelta(days=61))}&to={iso(now)}"
        reports = [
            f"/api/reports?by=day&{days60}",
            f"/api/reports?by=intent&{days60}",
            f"/api/reports?by=day&repeat_days=7&{days60}",
        ]
        results, per_path = {}, {}
        log("timing list pages ...")
        results["list"] = measure(boss, lists, rounds, per_path)
        log("timing searches ...")
        results["search"] = measure(boss, searches, rounds, per_path)
        log("timing details ...")
        results["detail"] = measure(boss, details, rounds, {})
        results["detail (qa, masked)"] = measure(qa, details, rounds, {})
        log("timing reports ...")
        results["report"] = measure(boss, reports, 15 if args.quick else 30, per_path, warmup=1)
        _, sample_report = boss.get(reports[0])
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()

    rows, failed = [], False
    print(f"\nQA API over {calls} calls, {calls * 10} transcript lines (SQLite); one request at a time")
    print(f"{'query':<22} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'target':>10}")
    for name, times in results.items():
        kind = name.split(" ")[0]
        target = TARGETS_MS[kind]
        p95, worst = percentile(times, 95), max(times)
        measured = worst if kind == "report" else p95
        ok = measured <= target
        failed |= not ok
        label = f"{'max' if kind == 'report' else 'p95'} <= {target:.0f}"
        print(f"{name:<22} {len(times):>5} {statistics.median(times):>8.1f} {p95:>8.1f} "
              f"{percentile(times, 99):>8.1f} {worst:>8.1f} {label:>10} {'ok' if ok else 'MISSED'}")
        rows.append({"query": name, "n": len(times), "p50_ms": statistics.median(times),
                     "p95_ms": p95, "p99_ms": percentile(times, 99), "max_ms": worst,
                     "target_ms": target, "target_met": ok})
    print("slowest queries by p95:")
    slowest = sorted(per_path.items(), key=lambda kv: -percentile(kv[1], 95))[:6]
    for path, t in slowest:
        print(f"  {percentile(t, 95):>8.1f} ms  {urllib.parse.unquote(path)[:100]}")
    print(f"report totals over 60 days: {json.dumps(sample_report['totals'])}")

    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.date.today().isoformat()
    out = out_dir / f"qa_api-{stamp}{'-quick' if args.quick else ''}.json"
    out.write_text(json.dumps({
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "calls": calls,
        "transcript_lines": calls * 10,
        "binary": str(binary),
        "cpus": os.cpu_count(),
        "results": rows,
        "by_query": [{"path": path, "n": len(t), "p50_ms": statistics.median(t),
                      "p95_ms": percentile(t, 95), "max_ms": max(t)}
                     for path, t in per_path.items()],
        "report_totals": sample_report["totals"],
    }, indent=2) + "\n")
    print(f"wrote {out}")
    if args.keep:
        print(f"kept {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
