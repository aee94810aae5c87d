#!/usr/bin/env python3
"""Telephony benchmark of Switchboard: call rate, call-setup latency, concurrent streaming calls.

    python3 bench/telephony.py            # full run (about 10 minutes on 2 cores)
    python3 bench/telephony.py --quick    # small subset (< 60 s), checks that everything works

Needs a release build (`cargo build --release -p switchboard`; the binary is looked up in
$CARGO_TARGET_DIR/release, then target/release) and SIPp (`sipp`, Debian package sip-tester).
Python 3 standard library only. Everything runs on 127.0.0.1; every loop is bounded.

What it measures (see bench/README.md and docs/BENCHMARKS.md):
  a. call rate: SIPp places calls at stepped rates; each call is answered, hears a 2.0 s prompt
     and is hung up by the gateway (BYE). The best rate with 0 failed calls and (almost) no
     retransmissions wins.
  b. INVITE -> 200 OK latency (p50/p99) at a moderate rate, from SIPp's response-time timers.
  c. concurrent streaming calls: N calls hear a long prompt at once; the SDP of every call points
     at UDP sockets of this script, which timestamp each RTP packet in the kernel
     (SO_TIMESTAMPNS) and check the 20 ms send interval (jitter) and sequence gaps (loss).
  d. CPU and RSS of the gateway per concurrent call, and RSS after the calls ended.
"""

import argparse
import array
import datetime
import json
import os
import platform
import re
import select
import selectors
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

# Pass/fail rules.
RETRANS_MAX_FRACTION = 0.01   # a call-rate step is clean with <= 1 retransmission per 100 calls
JITTER_P99_MAX_MS = 5.0       # concurrency target: p99 |interval - 20 ms| below this
MEASURED_STREAMS_MAX = 1000   # beyond this, only a sample of the streams is timestamped

FULL = {
    "latency": {"rate": 100, "seconds": 20},
    "rates": [50, 100, 200, 300, 400, 500, 600, 800, 1000],
    "rate_step_seconds": 10,
    "concurrency": [250, 500, 1000, 1500, 2000, 2500, 3000],
    "long_prompt_s": 40.0,
    "ramp_s": 15.0,
}
QUICK = {
    "latency": {"rate": 50, "seconds": 3},
    "rates": [50, 100],
    "rate_step_seconds": 3,
    "concurrency": [50],
    "long_prompt_s": 8.0,
    "ramp_s": 2.0,
}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def die(msg):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(2)


# ---------------------------------------------------------------------------------------------
# Set-up: binary, prompts, dialplans, config


def find_binary(explicit):
    candidates = []
    if explicit:
        candidates.append(Path(explicit))
    if os.environ.get("CARGO_TARGET_DIR"):
        candidates.append(Path(os.environ["CARGO_TARGET_DIR"]) / "release" / "switchboard")
    candidates.append(REPO / "target" / "release" / "switchboard")
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    die(
        "no release build of switchboard found (looked at "
        + ", ".join(str(c) for c in candidates)
        + "). Build it first: cargo build --release -p switchboard"
    )


def read_wav(path):
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            die(f"{path}: expected 16-bit mono WAV")
        return w.getframerate(), w.readframes(w.getnframes())


def write_wav(path, rate, frames):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)


def make_prompts(sounds_dir, long_seconds):
    """prompt.wav: exactly 2.0 s of speech; long.wav: `long_seconds` of speech (concatenated)."""
    src = REPO / "sounds"
    rate, goodbye = read_wav(src / "goodbye.wav")
    write_wav(sounds_dir / "prompt.wav", rate, goodbye[: int(2.0 * rate) * 2])
    parts = []
    for name in ["main_menu", "billing_info", "order_lookup", "agents_closed", "transfer"]:
        r, frames = read_wav(src / f"{name}.wav")
        if r == rate:
            parts.append(frames)
    speech = b"".join(parts)
    need = int(long_seconds * rate) * 2
    long = (speech * (need // len(speech) + 1))[:need]
    write_wav(sounds_dir / "long.wav", rate, long)


DIALPLAN_BENCH = """# call-rate benchmark: answer, play a 2 s prompt, hang up
name = "bench"
start = "prompt"

[nodes.prompt]
play = { sound = "prompt", next = "bye" }

[nodes.bye]
hangup = true
"""

DIALPLAN_STREAM = """# concurrency benchmark: answer, play a long prompt, hang up
name = "stream"
start = "prompt"

[nodes.prompt]
play = { sound = "long", next = "bye" }

[nodes.bye]
hangup = true
"""


def write_config(tmp, recordings):
    (tmp / "dialplans").mkdir()
    (tmp / "dialplans" / "bench.toml").write_text(DIALPLAN_BENCH)
    (tmp / "dialplans" / "stream.toml").write_text(DIALPLAN_STREAM)
    cfg = tmp / "switchboard.toml"
    cfg.write_text(
        f"""# written by bench/telephony.py
[sip]
listen = "127.0.0.1:0"
tcp = false

[media]
rtp_ports = [16384, 32767]
codecs = ["PCMU"]
max_call_seconds = 600
rtp_timeout_seconds = 600   # the benchmark caller sends no RTP

[dialplans]
dir = "{tmp / 'dialplans'}"
sounds_dir = "{tmp / 'sounds'}"
default = "bench"
routes = {{ "200" = "stream" }}

[web]
listen = "off"

[store]
url = "sqlite:{tmp / 'switchboard.db'}"

[recordings]
dir = "{recordings}"

[log]
level = "warn"
"""
    )
    return cfg


# SIPp caller: INVITE with SDP (media address from the injection file), wait for 200 (rtd 1 =
# INVITE->200), ACK, wait for the gateway's BYE (rtd 2 = ACK->BYE, i.e. how long the caller
# heard the prompt), answer 200.
SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="switchboard bench uac">
  <send retrans="500" start_rtd="1">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 53655765 2353687637 IN IP4 127.0.0.1
      s=-
      c=IN IP4 127.0.0.1
      t=0 0
      m=audio [field0] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=sendrecv
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rrs="true" rtd="1"/>
  <send start_rtd="2">
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv request="BYE" timeout="BYE_TIMEOUT_MS" rtd="2"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Content-Length: 0
    ]]>
  </send>
  <ResponseTimeRepartition value="1, 2, 5, 10, 20, 50, 100, 200, 500"/>
  <CallLengthRepartition value="1000, 2000, 3000, 5000, 10000, 30000, 60000"/>
</scenario>
"""


# ---------------------------------------------------------------------------------------------
# Process sampling


def proc_sample(pid):
    """(cpu seconds, rss bytes) of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
        rss = int(fields[21]) * PAGE
        return cpu, rss
    except (OSError, IndexError, ValueError):
        return None


def proc_rss_status(pid):
    """VmRSS and VmHWM from /proc/<pid>/status, in bytes."""
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
        return (sum(v[:8]) - v[3] - v[4]) / CLK_TCK  # minus idle and iowait
    except (OSError, ValueError, IndexError):
        return None


class Sampler(threading.Thread):
    """Samples CPU time and RSS of named processes every `period` seconds (bounded by `stop`)."""

    def __init__(self, period=0.25):
        super().__init__(daemon=True)
        self.period = period
        self.pids = {}  # name -> pid
        self.samples = {}  # name -> list of (t_ns realtime, cpu_s, rss_bytes)
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def watch(self, name, pid):
        with self.lock:
            self.pids[name] = pid
            self.samples[name] = []

    def unwatch(self, name):
        with self.lock:
            self.pids.pop(name, None)

    def run(self):
        while not self.stopping.wait(self.period):
            with self.lock:
                pids = dict(self.pids)
            now = time.time_ns()
            busy = system_busy()
            if busy is not None:
                with self.lock:
                    self.samples.setdefault("system", []).append((now, busy, 0))
            for name, pid in pids.items():
                s = proc_sample(pid)
                if s:
                    with self.lock:
                        self.samples[name].append((now, s[0], s[1]))

    def window(self, name, t0, t1):
        """CPU share of one core and RSS (median, max) between t0 and t1 (realtime ns)."""
        with self.lock:
            pts = [p for p in self.samples.get(name, []) if t0 <= p[0] <= t1]
        if len(pts) < 2:
            return None
        dt = (pts[-1][0] - pts[0][0]) / 1e9
        return {
            "cpu_percent": round(100 * (pts[-1][1] - pts[0][1]) / dt, 1) if dt > 0 else None,
            "rss_median": int(statistics.median(p[2] for p in pts)),
            "rss_max": max(p[2] for p in pts),
            "seconds": round(dt, 1),
        }


class ThreadStates(threading.Thread):
    """Counts the scheduler state (R running, S sleeping, D blocked in the kernel, e.g. on disk
    I/O) of the gateway's tokio worker threads every 20 ms; D shows the runtime blocked."""

    def __init__(self):
        super().__init__(daemon=True)
        self.pid = None
        self.counts = {}
        self.wchan = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def watch(self, pid):
        with self.lock:
            self.pid = pid
            self.counts, self.wchan = {}, {}

    def take(self):
        """The counts since the last call, as {state: samples} plus where D threads waited."""
        with self.lock:
            counts, wchan = self.counts, self.wchan
            self.counts, self.wchan = {}, {}
        total = sum(counts.values())
        return {
            "samples": total,
            "states": counts,
            "blocked_percent": round(100 * counts.get("D", 0) / total, 1) if total else None,
            "blocked_in": dict(sorted(wchan.items(), key=lambda kv: -kv[1])[:5]),
        }

    def run(self):
        while not self.stopping.wait(0.02):
            pid = self.pid
            if not pid:
                continue
            try:
                tids = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for tid in tids:
                try:
                    with open(f"/proc/{pid}/task/{tid}/stat") as f:
                        st = f.read()
                    if "(tokio-rt-worker)" not in st:
                        continue
                    state = st[st.rindex(")") + 2]
                    where = None
                    if state == "D":
                        with open(f"/proc/{pid}/task/{tid}/wchan") as f:
                            where = f.read().strip() or "?"
                except (OSError, ValueError):
                    continue
                with self.lock:
                    self.counts[state] = self.counts.get(state, 0) + 1
                    if where:
                        self.wchan[where] = self.wchan.get(where, 0) + 1


# ---------------------------------------------------------------------------------------------
# The gateway


class Gateway:
    def __init__(self, binary, config, tmp, tag):
        self.log_path = tmp / f"gateway-{tag}.log"
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(binary), "serve", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=self.log_file,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "RUST_LOG": "warn", "NO_COLOR": "1"},
        )
        self.addr = None
        deadline = time.monotonic() + 30
        # The gateway prints "Switchboard is listening for SIP on 127.0.0.1:PORT (UDP)".
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode(errors="replace")
            if not line:
                break
            m = re.search(r"listening for SIP on (\S+):(\d+)", line)
            if m:
                self.addr = (m.group(1), int(m.group(2)))
                break
        if not self.addr:
            self.stop()
            die(f"the gateway did not start; its log:\n{self.log_path.read_text()[-3000:]}")
        # Drain the rest of stdout so the pipe never fills.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def log_lines(self):
        try:
            return self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log_file.close()


def wait_idle(gw, max_s=20.0, threshold=0.03):
    """Waits (bounded) until the gateway uses < threshold of a core over 0.5 s."""
    deadline = time.monotonic() + max_s
    while time.monotonic() < deadline:
        a = proc_sample(gw.pid)
        time.sleep(0.5)
        b = proc_sample(gw.pid)
        if not a or not b:
            return
        if (b[0] - a[0]) / 0.5 < threshold:
            return


# ---------------------------------------------------------------------------------------------
# SIPp


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def rnd(x, n=2):
    return None if x is None else round(x, n)


def run_sipp(tmp, gw, tag, service, rate, calls, limit, media_ports, bye_timeout_s, sampler,
             probe_interval=None):
    """Runs one SIPp load (and, with probe_interval, our latency probe beside it); returns the
    statistics. Bounded by a global timeout."""
    d = tmp / f"sipp-{tag}"
    d.mkdir()
    scenario = d / "uac.xml"
    scenario.write_text(SCENARIO.replace("BYE_TIMEOUT_MS", str(int(bye_timeout_s * 1000))))
    inf = d / "media.csv"
    inf.write_text("SEQUENTIAL\n" + "".join(f"{p}\n" for p in media_ports))
    expected_s = calls / rate + bye_timeout_s + 10
    cmd = [
        "sipp", f"{gw.addr[0]}:{gw.addr[1]}",
        "-sf", str(scenario), "-inf", str(inf),
        "-s", service, "-i", "127.0.0.1", "-mi", "127.0.0.1", "-mp", str(free_udp_port()),
        "-r", str(rate), "-m", str(calls), "-l", str(limit),
        "-nostdin", "-buff_size", str(4 << 20),
        "-max_recv_loops", "10000", "-max_sched_loops", "10000",
        "-trace_stat", "-stf", str(d / "stat.csv"), "-fd", "1",
        "-trace_rtt", "-rtt_freq", "1",
        "-trace_err", "-error_file", str(d / "errors.log"),
        "-timeout", f"{int(expected_s)}s", "-timeout_error",
    ]
    out = open(d / "stdout.log", "wb")
    t_start = time.time_ns()
    p = subprocess.Popen(cmd, cwd=d, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    sampler.watch("sipp", p.pid)
    prober = None
    if probe_interval:
        prober = Prober(gw.addr, media_ports[0], probe_interval,
                        max(1, int(calls / rate / probe_interval)), service)
        prober.start()
    deadline = time.monotonic() + expected_s + 30
    rusage = None
    status = None
    while time.monotonic() < deadline:
        pid, st, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            status, rusage = st, ru
            break
        time.sleep(0.1)
    if rusage is None:
        p.kill()
        _, status, rusage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    sampler.unwatch("sipp")
    t_end = time.time_ns()
    probe = None
    if prober:
        prober.stopping.set()
        prober.join(20)
        probe = prober.result()
    out.close()
    wall = (t_end - t_start) / 1e9

    stat = {}
    try:
        lines = (d / "stat.csv").read_text().splitlines()
        header = lines[0].rstrip(";").split(";")
        last = lines[-1].rstrip(";").split(";")
        stat = dict(zip(header, last))
    except (OSError, IndexError):
        pass

    def c(name):
        try:
            return int(stat.get(f"{name}(C)", 0))
        except ValueError:
            return 0

    setup, prompt, first_200, last_200 = [], [], None, None
    for f in d.glob("*_rtt.csv"):
        for line in f.read_text().splitlines()[1:]:
            parts = line.split(";")
            if len(parts) < 3:
                continue
            try:
                date_ms, rt = float(parts[0]), float(parts[1])
            except ValueError:
                continue
            if parts[2].strip() == "1":
                setup.append(rt)
                first_200 = date_ms if first_200 is None else min(first_200, date_ms)
                last_200 = date_ms if last_200 is None else max(last_200, date_ms)
            elif parts[2].strip() == "2":
                prompt.append(rt)
    setup.sort()
    prompt.sort()
    errors = ""
    for f in [d / "errors.log", *d.glob("*errors.log")]:
        if f.exists():
            errors = f.read_text(errors="replace")
            break
    achieved = None
    if first_200 is not None and len(setup) > 1 and last_200 > first_200:
        achieved = (len(setup) - 1) / ((last_200 - first_200) / 1000)
    cpu = rusage.ru_utime + rusage.ru_stime
    return {
        "target_rate": rate,
        "calls": calls,
        "exit_code": p.returncode,
        "successful": c("SuccessfulCall"),
        "failed": c("FailedCall"),
        "failed_max_udp_retrans": c("FailedMaxUDPRetrans"),
        "failed_unexpected_msg": c("FailedUnexpectedMessage"),
        "failed_call_rejected": c("FailedCallRejected"),
        "failed_cannot_send": c("FailedCannotSendMessage"),
        "failed_timeout_on_recv": c("FailedTimeoutOnRecv"),
        "retransmissions": c("Retransmissions"),
        "dead_call_msgs": c("DeadCallMsgs"),
        "out_of_call_msgs": c("OutOfCallMsgs"),
        "achieved_rate": rnd(achieved, 1),
        "setup_ms": {
            "n": len(setup),
            "p50": rnd(percentile(setup, 50), 3),
            "p90": rnd(percentile(setup, 90), 3),
            "p99": rnd(percentile(setup, 99), 3),
            "max": rnd(setup[-1] if setup else None, 3),
        },
        "prompt_heard_ms": {
            "n": len(prompt),
            "min": rnd(prompt[0] if prompt else None, 1),
            "p50": rnd(percentile(prompt, 50), 1),
            "max": rnd(prompt[-1] if prompt else None, 1),
        },
        "probe": probe,
        "sipp_cpu_percent": round(100 * cpu / wall, 1) if wall > 0 else None,
        "sipp_cpu_seconds": round(cpu, 2),
        "wall_seconds": round(wall, 1),
        "t_start_ns": t_start,
        "t_end_ns": t_end,
        "unexpected_messages": errors.count("Aborting call") + errors.count("unexpected"),
        "error_excerpt": errors[-1500:] if errors else "",
    }


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------------------------------------
# Latency probe: a small UAC of our own that places calls beside the SIPp load and timestamps
# the 200 OK in the kernel (SIPp's response timers have a resolution of several milliseconds).

COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact", "l": "content-length"}


def parse_sip(data):
    text = data.decode(errors="replace")
    head = text.split("\r\n\r\n", 1)[0].split("\r\n")
    first = head[0]
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        name = COMPACT.get(name, name)
        headers.setdefault(name, []).append(value.strip())
    return first, headers


class Prober(threading.Thread):
    """Places one call every `interval` s (at most `max_calls`, bounded in time): INVITE, 200 OK
    (latency), ACK, wait for the gateway's BYE (prompt length heard), 200 OK."""

    def __init__(self, gw_addr, media_port, interval, max_calls, service="100"):
        super().__init__(daemon=True)
        self.gw = gw_addr
        self.media_port = media_port
        self.interval = interval
        self.max_calls = max_calls
        self.service = service
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self.calls = {}  # call-id -> dict(sent, answered, acked, bye)
        self.setup_ms = []
        self.heard_ms = []
        self.stray = 0

    def send(self, text):
        self.sock.sendto(text.replace("\n", "\r\n").encode(), self.gw)

    def invite(self, n):
        cid = f"probe-{n}-{os.getpid()}-{time.time_ns()}@127.0.0.1"
        sdp = (
            "v=0\no=probe 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
            f"m=audio {self.media_port} RTP/AVP 0\na=rtpmap:0 PCMU/8000\na=sendrecv\n"
        ).replace("\n", "\r\n")
        gw = f"{self.gw[0]}:{self.gw[1]}"
        msg = (
            f"INVITE sip:{self.service}@{gw} SIP/2.0\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK-p{n}-{time.time_ns()}\n"
            f"From: <sip:probe@127.0.0.1:{self.port}>;tag=p{n}\n"
            f"To: <sip:{self.service}@{gw}>\n"
            f"Call-ID: {cid}\nCSeq: 1 INVITE\n"
            f"Contact: <sip:probe@127.0.0.1:{self.port}>\nMax-Forwards: 70\n"
            f"Content-Type: application/sdp\nContent-Length: {len(sdp)}\n\n"
        )
        call = {"n": n, "sent": time.time_ns()}
        self.calls[cid] = call
        self.sock.sendto(msg.replace("\n", "\r\n").encode() + sdp.encode(), self.gw)
        call["sent"] = (call["sent"] + time.time_ns()) // 2

    def handle(self, data, t_ns):
        first, h = parse_sip(data)
        cid = (h.get("call-id") or [""])[0]
        call = self.calls.get(cid)
        if call is None:
            self.stray += 1
            return
        cseq = (h.get("cseq") or [""])[0]
        if first.startswith("SIP/2.0 200") and cseq.endswith("INVITE"):
            if "answered" not in call:
                call["answered"] = t_ns
                self.setup_ms.append((t_ns - call["sent"]) / 1e6)
            m = re.search(r"<([^>]+)>", (h.get("contact") or [""])[0])
            target = m.group(1) if m else f"sip:{self.service}@{self.gw[0]}:{self.gw[1]}"
            self.send(
                f"ACK {target} SIP/2.0\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK-a{call['n']}-{time.time_ns()}\n"
                f"From: <sip:probe@127.0.0.1:{self.port}>;tag=p{call['n']}\n"
                f"To: {h['to'][0]}\nCall-ID: {cid}\nCSeq: 1 ACK\nMax-Forwards: 70\n"
                "Content-Length: 0\n\n"
            )
            call.setdefault("acked", time.time_ns())
        elif first.startswith("BYE "):
            vias = "".join(f"Via: {v}\n" for v in h.get("via", []))
            self.send(
                f"SIP/2.0 200 OK\n{vias}From: {h['from'][0]}\nTo: {h['to'][0]}\n"
                f"Call-ID: {cid}\nCSeq: {cseq}\nContent-Length: 0\n\n"
            )
            if "bye" not in call and "acked" in call:
                call["bye"] = t_ns
                self.heard_ms.append((t_ns - call["acked"]) / 1e6)

    def run(self):
        cmsg = socket.CMSG_SPACE(16)
        sent = 0
        next_at = time.monotonic()
        deadline = next_at + self.max_calls * self.interval + 30
        while time.monotonic() < deadline:
            now = time.monotonic()
            if self.stopping.is_set() and sent < self.max_calls:
                self.max_calls = sent
            if sent >= self.max_calls and all("bye" in c for c in self.calls.values()):
                break
            if sent < self.max_calls and now >= next_at:
                self.invite(sent)
                sent += 1
                next_at += self.interval
            wait = max(0.0, min(next_at - time.monotonic(), 0.05)) if sent < self.max_calls else 0.05
            ready, _, _ = select.select([self.sock], [], [], wait)
            if ready:
                data, anc, _, _ = self.sock.recvmsg(65536, cmsg)
                t_ns = time.time_ns()
                if anc:
                    sec, nsec = struct.unpack_from("qq", anc[0][2])
                    t_ns = sec * 1_000_000_000 + nsec
                self.handle(data, t_ns)
        self.sock.close()

    def result(self):
        setup = sorted(self.setup_ms)
        heard = sorted(self.heard_ms)
        return {
            "calls": len(self.calls),
            "answered": len(setup),
            "completed": len(heard),
            "setup_ms": {
                "p50": rnd(percentile(setup, 50), 3),
                "p90": rnd(percentile(setup, 90), 3),
                "p99": rnd(percentile(setup, 99), 3),
                "max": rnd(setup[-1] if setup else None, 3),
            },
            "prompt_heard_ms": {
                "min": rnd(heard[0] if heard else None, 1),
                "p50": rnd(percentile(heard, 50), 1),
                "max": rnd(heard[-1] if heard else None, 1),
            },
        }


# ---------------------------------------------------------------------------------------------
# RTP receiver


class RtpReceiver(threading.Thread):
    """UDP sockets that record (kernel arrival time, SSRC, sequence) of every RTP packet."""

    def __init__(self, nsockets=16):
        super().__init__(daemon=True)
        self.socks = []
        for _ in range(nsockets):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            s.bind(("127.0.0.1", 0))
            s.setblocking(False)
            self.socks.append(s)
        self.ports = [s.getsockname()[1] for s in self.socks]
        self.stopping = threading.Event()
        self.reset()

    def reset(self):
        self.ts = array.array("q")
        self.ssrc = array.array("I")
        self.seq = array.array("H")

    def run(self):
        sel = selectors.EpollSelector()
        for s in self.socks:
            sel.register(s, selectors.EVENT_READ)
        cmsg = socket.CMSG_SPACE(16)
        unpack_ts = struct.Struct("qq").unpack_from
        unpack_rtp = struct.Struct("!xxHxxxxI").unpack_from
        while not self.stopping.is_set():
            ts_append, ssrc_append, seq_append = self.ts.append, self.ssrc.append, self.seq.append
            for key, _ in sel.select(0.2):
                recv = key.fileobj.recvmsg
                for _ in range(10000):
                    try:
                        data, anc, _flags, _addr = recv(512, cmsg)
                    except BlockingIOError:
                        break
                    if len(data) < 12 or not anc:
                        continue
                    sec, nsec = unpack_ts(anc[0][2])
                    seq, ssrc = unpack_rtp(data)
                    ts_append(sec * 1_000_000_000 + nsec)
                    ssrc_append(ssrc)
                    seq_append(seq)

    def kernel_drops(self):
        """Datagrams the kernel dropped on our sockets (receiver too slow), from /proc/net/udp."""
        inodes = set()
        for s in self.socks:
            try:
                inodes.add(os.fstat(s.fileno()).st_ino)
            except OSError:
                pass
        drops = 0
        try:
            with open("/proc/net/udp") as f:
                for line in f.readlines()[1:]:
                    parts = line.split()
                    if len(parts) >= 13 and int(parts[9]) in inodes:
                        drops += int(parts[-1])
        except OSError:
            return None
        return drops

    def close(self):
        self.stopping.set()
        self.join(2)
        for s in self.socks:
            s.close()


def analyse_streams(ts, ssrcs, seqs):
    """Per-SSRC loss and inter-arrival statistics; plateau = when every stream was running."""
    streams = {}
    for i in range(len(ts)):
        streams.setdefault(ssrcs[i], []).append(i)
    if not streams:
        return None
    plateau_start = max(ts[idx[0]] for idx in streams.values())
    plateau_end = min(ts[idx[-1]] for idx in streams.values())
    dev_all, dev_plateau, per_stream_p99 = [], [], []
    lost = dup = 0
    packets = []
    for idx in streams.values():
        idx.sort(key=lambda i: ts[i])
        packets.append(len(idx))
        seen = set()
        ext = []
        last = None
        base = 0
        for i in idx:  # extend 16-bit sequence numbers (arrival order)
            s = seqs[i]
            if last is not None:
                diff = (s - last) & 0xFFFF
                if diff > 0x8000:
                    diff -= 0x10000
                base += diff
            else:
                base = s
            last = s
            if base in seen:
                dup += 1
            seen.add(base)
        lost += (max(seen) - min(seen) + 1) - len(seen)
        devs = []
        for a, b in zip(idx, idx[1:]):
            dev = abs((ts[b] - ts[a]) / 1e6 - 20.0)
            devs.append(dev)
            dev_all.append(dev)
            if ts[a] >= plateau_start and ts[b] <= plateau_end:
                dev_plateau.append(dev)
        devs.sort()
        if devs:
            per_stream_p99.append(percentile(devs, 99))
    dev_all.sort()
    dev_plateau.sort()
    per_stream_p99.sort()
    return {
        "streams": len(streams),
        "packets": len(ts),
        "packets_per_stream_min": min(packets),
        "packets_per_stream_max": max(packets),
        "lost": lost,
        "duplicates": dup,
        "plateau_seconds": round((plateau_end - plateau_start) / 1e9, 1),
        "plateau_start_ns": plateau_start,
        "plateau_end_ns": plateau_end,
        "jitter_ms_plateau": {
            "deltas": len(dev_plateau),
            "p50": rnd(percentile(dev_plateau, 50), 3),
            "p99": rnd(percentile(dev_plateau, 99), 3),
            "p999": rnd(percentile(dev_plateau, 99.9), 3),
            "max": rnd(dev_plateau[-1] if dev_plateau else None, 3),
        },
        "jitter_ms_whole_calls": {
            "deltas": len(dev_all),
            "p50": rnd(percentile(dev_all, 50), 3),
            "p99": rnd(percentile(dev_all, 99), 3),
            "p999": rnd(percentile(dev_all, 99.9), 3),
            "max": rnd(dev_all[-1] if dev_all else None, 3),
            "worst_stream_p99": rnd(per_stream_p99[-1] if per_stream_p99 else None, 3),
        },
    }


# ---------------------------------------------------------------------------------------------
# The benchmarks


def gateway_warnings(gw):
    return [l for l in gw.log_lines() if re.search(r"\b(WARN|ERROR)\b", l)]


def run_latency(tmp, gw, sampler, sink_port, plan):
    rate, secs = plan["latency"]["rate"], plan["latency"]["seconds"]
    calls = rate * secs
    log(f"latency: {calls} SIPp calls at {rate}/s, plus probe calls every 100 ms")
    r = run_sipp(tmp, gw, "latency", "100", rate, calls, rate * 20, [sink_port], 15, sampler,
                 probe_interval=0.1)
    g = sampler.window("gateway", r["t_start_ns"], r["t_end_ns"])
    r["gateway_cpu_percent"] = g["cpu_percent"] if g else None
    r["other_processes_cpu_percent"] = other_cpu(sampler, r, g)
    return r


def run_rates(tmp, gw, sampler, sink_port, plan, recordings, threads):
    steps, best = [], None
    for rate in plan["rates"]:
        calls = rate * plan["rate_step_seconds"]
        threads.take()
        log(f"call rate: {calls} calls at {rate}/s (+ probe calls every 200 ms)")
        r = run_sipp(tmp, gw, f"rate{rate}", "100", rate, calls, rate * 6, [sink_port], 15,
                     sampler, probe_interval=0.2)
        g = sampler.window("gateway", r["t_start_ns"], r["t_end_ns"])
        r["gateway_cpu_percent"] = g["cpu_percent"] if g else None
        r["gateway_rss_max"] = g["rss_max"] if g else None
        r["other_processes_cpu_percent"] = other_cpu(sampler, r, g)
        r["gateway_worker_threads"] = threads.take()
        retrans_ok = r["retransmissions"] <= RETRANS_MAX_FRACTION * calls
        # SIPp could not keep up (or the gateway held calls back) if the rate fell short.
        rate_ok = r["achieved_rate"] is not None and r["achieved_rate"] >= 0.9 * rate
        r["clean"] = bool(
            r["failed"] == 0 and r["successful"] == calls and retrans_ok and rate_ok
            and r["exit_code"] == 0 and gw.alive()
        )
        steps.append(r)
        pr = r["probe"] or {"setup_ms": {}}
        log(
            f"  ok={r['successful']} failed={r['failed']} retrans={r['retransmissions']} "
            f"achieved={r['achieved_rate']}/s setup(SIPp) p50={r['setup_ms']['p50']} "
            f"p99={r['setup_ms']['p99']} ms, setup(probe) p50={pr['setup_ms'].get('p50')} "
            f"p99={pr['setup_ms'].get('p99')} ms; gw cpu={r['gateway_cpu_percent']}% "
            f"sipp cpu={r['sipp_cpu_percent']}% workers blocked "
            f"{r['gateway_worker_threads']['blocked_percent']}% clean={r['clean']}"
        )
        clear_recordings(recordings)
        if not r["clean"]:
            break
        best = rate
        wait_idle(gw)
        r["gateway_rss_after"] = proc_rss_status(gw.pid).get("VmRSS")
    return {"steps": steps, "best_clean_rate": best}


def other_cpu(sampler, r, g):
    """CPU used by processes other than the gateway, SIPp and this script (noise)."""
    sy = sampler.window("system", r["t_start_ns"], r["t_end_ns"])
    me = sampler.window("bench", r["t_start_ns"], r["t_end_ns"])
    if not (sy and me and g and r.get("sipp_cpu_percent") is not None):
        return None
    return round(max(0.0, sy["cpu_percent"] - g["cpu_percent"] - me["cpu_percent"]
                     - r["sipp_cpu_percent"]), 1)


def clear_recordings(recordings):
    for f in recordings.glob("*.wav"):
        try:
            f.unlink()
        except OSError:
            pass


def run_concurrency(tmp, start_gateway, sampler, receiver, blackhole_port, plan, best_rate,
                    recordings, warnings, threads):
    """Each step on a fresh gateway, so that idle and after-the-calls memory are its own."""
    steps, best = [], None
    long_s = plan["long_prompt_s"]
    for n in plan["concurrency"]:
        # Ramp within ramp_s, but never faster than half of the best clean call rate.
        rate = max(1, round(n / plan["ramp_s"]))
        if best_rate:
            rate = min(rate, max(10, best_rate // 2))
        if n / rate > long_s - 5:
            log(f"concurrency {n}: a ramp of {n / rate:.0f} s would leave no plateau; stopping")
            break
        stride = max(1, -(-n // MEASURED_STREAMS_MAX))
        ports = [
            receiver.ports[(i // stride) % len(receiver.ports)] if i % stride == 0 else blackhole_port
            for i in range(n)
        ]
        gw = start_gateway(f"conc{n}")
        time.sleep(1.5)
        idle = proc_rss_status(gw.pid)
        idle_cpu = sampler.window("gateway", time.time_ns() - 1_200_000_000, time.time_ns())
        drops_before = receiver.kernel_drops()
        receiver.reset()
        log(f"concurrency: {n} calls ramped at {rate}/s, prompt {long_s:.0f} s, gateway pid {gw.pid}")
        threads.take()
        r = run_sipp(tmp, gw, f"conc{n}", "200", rate, n, n + 10, ports, long_s + 60, sampler)
        time.sleep(0.5)
        drops_after = receiver.kernel_drops()
        ts, ss, sq = receiver.ts, receiver.ssrc, receiver.seq
        receiver.reset()
        a = analyse_streams(ts, ss, sq) or {}
        plateau = psipp = pself = psys = None
        if a:
            # Leave a second at each end of the plateau.
            w0, w1 = a["plateau_start_ns"] + 1_000_000_000, a["plateau_end_ns"] - 1_000_000_000
            plateau = sampler.window("gateway", w0, w1)
            psipp = sampler.window("sipp", w0, w1)
            pself = sampler.window("bench", w0, w1)
            psys = sampler.window("system", w0, w1)
        # Memory after the calls: right away and after a few seconds.
        after_0 = proc_rss_status(gw.pid)
        time.sleep(5)
        after_5 = proc_rss_status(gw.pid)
        alive = gw.alive()
        gw.stop()
        warnings.extend(gateway_warnings(gw))
        step = {
            "calls": n,
            "ramp_rate": rate,
            "sipp": {k: r[k] for k in (
                "successful", "failed", "retransmissions", "failed_timeout_on_recv",
                "failed_unexpected_msg", "exit_code", "sipp_cpu_percent", "achieved_rate",
                "setup_ms", "prompt_heard_ms", "error_excerpt")},
            "measured_streams_target": len([p for p in ports if p != blackhole_port]),
            "rtp": a,
            "receiver_kernel_drops": (
                None if drops_before is None or drops_after is None else drops_after - drops_before
            ),
            "gateway_idle_rss": idle.get("VmRSS"),
            "gateway_idle_cpu_percent": idle_cpu["cpu_percent"] if idle_cpu else None,
            "gateway_plateau": plateau,
            "sipp_plateau": psipp,
            "bench_script_plateau": pself,
            "other_processes_cpu_percent_plateau": (
                round(max(0.0, psys["cpu_percent"] - plateau["cpu_percent"] - pself["cpu_percent"]
                          - psipp["cpu_percent"]), 1) if psys and plateau and pself and psipp else None
            ),
            "gateway_rss_after_end": after_0.get("VmRSS"),
            "gateway_rss_after_end_5s": after_5.get("VmRSS"),
            "gateway_peak_rss": after_5.get("VmHWM"),
            "gateway_threads": idle.get("Threads"),
            "gateway_worker_threads": threads.take(),
        }
        if plateau and idle.get("VmRSS"):
            step["rss_per_call_bytes"] = int((plateau["rss_median"] - idle["VmRSS"]) / n)
            idle_pct = step["gateway_idle_cpu_percent"] or 0.0
            step["cpu_percent_of_core_per_call"] = round((plateau["cpu_percent"] - idle_pct) / n, 4)
        jit = (a.get("jitter_ms_plateau") or {}).get("p99")
        ok = (
            r["failed"] == 0 and r["successful"] == n and a and jit is not None
            and jit < JITTER_P99_MAX_MS and a["lost"] == 0
            and a["streams"] == step["measured_streams_target"]
            and a["plateau_seconds"] >= 3 and alive
        )
        step["pass"] = bool(ok)
        steps.append(step)
        log(
            f"  ok={r['successful']} failed={r['failed']} streams={a.get('streams')} "
            f"plateau={a.get('plateau_seconds')} s jitter p99={jit} ms lost={a.get('lost')} "
            f"rx drops={step['receiver_kernel_drops']} gw cpu={plateau and plateau['cpu_percent']}% "
            f"sipp cpu={psipp and psipp['cpu_percent']}% rss/call={step.get('rss_per_call_bytes')} B "
            f"pass={ok}"
        )
        clear_recordings(recordings)
        if not ok:
            break
        best = n
    return {"steps": steps, "best_concurrency": best}


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
    sipp_v = subprocess.run(["sipp", "-v"], capture_output=True, text=True).stdout
    m = re.search(r"SIPp v?([0-9][0-9.]*[0-9])", sipp_v)
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(mem / 2**30, 1),
        "os": os_name,
        "kernel": platform.release(),
        "sipp": m.group(1) if m else "?",
        "python": platform.python_version(),
    }


def mb(x):
    return "-" if x is None else f"{x / 2**20:.1f} MB"


def fmt(x, unit=""):
    return "-" if x is None else f"{x}{unit}"


def print_table(res):
    lat = res["latency"]
    rates = res["call_rate"]
    conc = res["concurrency"]
    mem = res["memory_after_call_rate"]
    print()
    print("Call-rate steps (setup = INVITE->200 in ms; SIPp's timer has a resolution of a few ms;")
    print("probe = our own UAC beside the load, one call every 200 ms, kernel timestamps;")
    print("heard = ACK->BYE in ms; cpu in % of one core; other = processes not in the benchmark;")
    print("blocked = share of samples in which a gateway worker thread was blocked in the kernel):")
    print(f"  {'rate':>5} {'calls':>6} {'ok':>6} {'fail':>4} {'retr':>4} {'got/s':>6} "
          f"{'SIPp p50':>8} {'p99':>6} {'max':>6} {'probe p50':>9} {'p99':>7} {'heard':>6} "
          f"{'gw cpu':>7} {'sipp cpu':>8} {'other':>6} {'blocked':>7}")
    for s in rates["steps"]:
        pr = (s.get("probe") or {}).get("setup_ms", {})
        print(f"  {s['target_rate']:>5} {s['calls']:>6} {s['successful']:>6} {s['failed']:>4} "
              f"{s['retransmissions']:>4} {fmt(s['achieved_rate']):>6} "
              f"{fmt(s['setup_ms']['p50']):>8} {fmt(s['setup_ms']['p99']):>6} "
              f"{fmt(s['setup_ms']['max']):>6} {fmt(pr.get('p50')):>9} {fmt(pr.get('p99')):>7} "
              f"{fmt(s['prompt_heard_ms']['p50']):>6} "
              f"{fmt(s['gateway_cpu_percent'], '%'):>7} {fmt(s['sipp_cpu_percent'], '%'):>8} "
              f"{fmt(s.get('other_processes_cpu_percent'), '%'):>6} "
              f"{fmt((s.get('gateway_worker_threads') or {}).get('blocked_percent'), '%'):>7}")
    print()
    print("Concurrent streaming calls (jitter = |RTP inter-arrival - 20 ms| while all calls stream):")
    print(f"  {'calls':>5} {'fail':>4} {'streams':>7} {'plateau':>7} {'jit p50':>7} {'p99':>6} "
          f"{'max':>7} {'lost':>4} {'gw cpu':>7} {'/call':>7} {'RSS idle':>9} {'at N':>9} "
          f"{'/call':>7} {'after':>9} {'sipp cpu':>8} {'other':>6} {'pass':>4}")
    for s in conc["steps"]:
        a = s.get("rtp") or {}
        j = a.get("jitter_ms_plateau") or {}
        p = s.get("gateway_plateau") or {}
        sp = s.get("sipp_plateau") or {}
        rpc = s.get("rss_per_call_bytes")
        print(f"  {s['calls']:>5} {s['sipp']['failed']:>4} {fmt(a.get('streams')):>7} "
              f"{fmt(a.get('plateau_seconds'), 's'):>7} {fmt(j.get('p50')):>7} {fmt(j.get('p99')):>6} "
              f"{fmt(j.get('max')):>7} {fmt(a.get('lost')):>4} {fmt(p.get('cpu_percent'), '%'):>7} "
              f"{fmt(s.get('cpu_percent_of_core_per_call'), '%'):>7} {mb(s.get('gateway_idle_rss')):>9} "
              f"{mb(p.get('rss_median')):>9} {'-' if rpc is None else f'{rpc / 1024:.0f} KB':>7} "
              f"{mb(s.get('gateway_rss_after_end_5s')):>9} {fmt(sp.get('cpu_percent'), '%'):>8} "
              f"{fmt(s.get('other_processes_cpu_percent_plateau'), '%'):>6} "
              f"{'yes' if s['pass'] else 'NO':>4}")
    rows = []
    best_rate = rates["best_clean_rate"]
    last = rates["steps"][-1] if rates["steps"] else None
    rows.append(("max calls/s with 0 failures (2 s prompt, gateway BYE)",
                 "not measured" if not last else f"{best_rate if best_rate else 'none'}" + (
                     f" (at {last['target_rate']}/s: {last['failed']} failed, "
                     f"{last['retransmissions']} retransmissions, achieved {last['achieved_rate']}/s)"
                     if last and not last["clean"] else " (highest step tried)" if last else "")))
    pr = (lat.get("probe") or {}).get("setup_ms", {})
    rows.append((f"INVITE->200 at {lat['target_rate']}/s, probe p50 / p99 / max",
                 f"{pr.get('p50')} / {pr.get('p99')} / {pr.get('max')} ms"))
    rows.append((f"INVITE->200 at {lat['target_rate']}/s, SIPp p50 / p99 / max",
                 f"{lat['setup_ms']['p50']} / {lat['setup_ms']['p99']} / {lat['setup_ms']['max']} ms "
                 f"({lat['successful']}/{lat['calls']} calls ok)"))
    best = conc["best_concurrency"]
    rows.append(("max concurrent streams, jitter p99 < 5 ms, no loss",
                 f"{best if best else 'none'}" if conc["steps"] else "not measured"))
    ok_steps = [s for s in conc["steps"] if s.get("rss_per_call_bytes") is not None]
    if ok_steps:
        # At the best passing step, else at the last one measured.
        s = next((s for s in ok_steps if s["calls"] == best), ok_steps[-1])
        rows.append((f"gateway per call at {s['calls']} calls: CPU / RSS",
                     f"{s.get('cpu_percent_of_core_per_call')}% of a core / "
                     f"{s['rss_per_call_bytes'] / 1024:.0f} KB"))
    rows.append(("RSS idle -> after call-rate runs (per finished call)",
                 f"{mb(mem['idle_after_warmup'])} -> {mb(mem['after'])} "
                 f"({mem['retained_per_finished_call_bytes']} B per call over "
                 f"{mem['finished_calls']} calls; peak {mb(mem['peak'])})"))
    rows.append(("RSS growth when the same load runs again",
                 f"{mb(mem['after'])} -> {mb(mem.get('after_repeat'))} after "
                 f"{mem.get('repeat_calls')} calls "
                 f"({mem.get('growth_per_repeated_call_bytes')} B per call)"))
    w = max(len(r[0]) for r in rows)
    print()
    print(f"{'measure':<{w}}  result")
    print(f"{'-' * w}  {'-' * 40}")
    for k, v in rows:
        print(f"{k:<{w}}  {v}")
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small subset (< 60 s)")
    ap.add_argument("--binary", help="switchboard binary (default: release build)")
    ap.add_argument("--out", help="JSON output (default bench/results/telephony-<date>[-quick].json)")
    ap.add_argument("--recordings", help="where the gateway records (default: the temp dir, on disk)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, SIPp traces)")
    ap.add_argument("--rates", help="call-rate steps instead of the default, e.g. 300,500 ('' = none)")
    ap.add_argument("--concurrency", help="concurrency steps instead of the default, e.g. 1000 ('' = none)")
    args = ap.parse_args()
    plan = dict(QUICK if args.quick else FULL)
    for key in ("rates", "concurrency"):
        value = getattr(args, key)
        if value is not None:
            try:
                plan[key] = [int(x) for x in value.split(",") if x.strip()]
            except ValueError:
                die(f"--{key}: a comma-separated list of whole numbers")
    binary = find_binary(args.binary)
    if not shutil.which("sipp"):
        die("sipp not found (Debian package sip-tester)")
    t_begin = time.monotonic()

    tmp = Path(tempfile.mkdtemp(prefix="sb-bench-"))
    (tmp / "sounds").mkdir()
    recordings = Path(tempfile.mkdtemp(prefix="sb-bench-rec-", dir=args.recordings)) \
        if args.recordings else tmp / "recordings"
    recordings.mkdir(exist_ok=True)
    make_prompts(tmp / "sounds", plan["long_prompt_s"])
    config = write_config(tmp, recordings)

    sampler = Sampler()
    sampler.watch("bench", os.getpid())
    sampler.start()
    receiver = RtpReceiver()
    receiver.start()
    # An RTP sink nobody reads: the kernel drops what overflows, without ICMP errors.
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink_port = sink.getsockname()[1]

    threads = ThreadStates()
    threads.start()

    def start_gateway(tag):
        gw = Gateway(binary, config, tmp, tag)
        sampler.watch("gateway", gw.pid)
        threads.watch(gw.pid)
        return gw

    log(f"binary {binary}; temp dir {tmp}; recordings in {recordings}")
    warnings = []
    gw = start_gateway("main")
    try:
        time.sleep(1.5)
        idle = proc_rss_status(gw.pid)
        log(f"gateway {gw.addr[0]}:{gw.addr[1]} pid {gw.pid}, idle RSS {mb(idle.get('VmRSS'))}")
        warm = run_sipp(tmp, gw, "warmup", "100", 10, 20, 100, [sink_port], 15, sampler)
        log(f"warm-up: {warm['successful']}/20 calls, setup max {warm['setup_ms']['max']} ms")
        wait_idle(gw)
        idle_warm = proc_rss_status(gw.pid)
        latency = run_latency(tmp, gw, sampler, sink_port, plan)
        pr = (latency.get("probe") or {}).get("setup_ms", {})
        log(f"  SIPp setup p50={latency['setup_ms']['p50']} p99={latency['setup_ms']['p99']} ms; "
            f"probe p50={pr.get('p50')} p99={pr.get('p99')} ms; "
            f"ok={latency['successful']}/{latency['calls']}")
        clear_recordings(recordings)
        wait_idle(gw)
        rates = run_rates(tmp, gw, sampler, sink_port, plan, recordings, threads)
        wait_idle(gw)
        time.sleep(3)
        after = proc_rss_status(gw.pid)
        finished = latency["successful"] + sum(s["successful"] for s in rates["steps"]) + sum(
            ((s.get("probe") or {}).get("completed") or 0) for s in [latency, *rates["steps"]])
        memory = {
            "idle_fresh": idle.get("VmRSS"),
            "idle_after_warmup": idle_warm.get("VmRSS"),
            "after": after.get("VmRSS"),
            "peak": after.get("VmHWM"),
            "finished_calls": finished,
            "retained_per_finished_call_bytes": (
                int((after["VmRSS"] - idle_warm["VmRSS"]) / finished) if finished and
                after.get("VmRSS") and idle_warm.get("VmRSS") else None
            ),
        }
        # Leak check: the latency load once more; RSS should not grow with finished calls.
        rate, secs = plan["latency"]["rate"], plan["latency"]["seconds"]
        log(f"memory: the {rate}/s load once more ({rate * secs} calls), RSS before/after")
        rep = run_sipp(tmp, gw, "repeat", "100", rate, rate * secs, rate * 20, [sink_port], 15, sampler)
        clear_recordings(recordings)
        wait_idle(gw)
        time.sleep(3)
        after2 = proc_rss_status(gw.pid)
        memory["repeat_calls"] = rep["successful"]
        memory["after_repeat"] = after2.get("VmRSS")
        if rep["successful"] and after2.get("VmRSS") and after.get("VmRSS"):
            memory["growth_per_repeated_call_bytes"] = int(
                (after2["VmRSS"] - after["VmRSS"]) / rep["successful"])
        log(f"  RSS {mb(after.get('VmRSS'))} -> {mb(after2.get('VmRSS'))} after "
            f"{rep['successful']} more calls")
        main_alive = gw.alive()
        gw.stop()
        warnings.extend(gateway_warnings(gw))
        conc = run_concurrency(tmp, start_gateway, sampler, receiver, sink_port, plan,
                               rates["best_clean_rate"], recordings, warnings, threads)
    finally:
        gw.stop()
        receiver.close()
        sampler.stopping.set()
        threads.stopping.set()
        sink.close()
    for r in [warm, latency, *rates["steps"]]:
        for k in ("t_start_ns", "t_end_ns"):
            r.pop(k, None)
    for s in conc["steps"]:
        for k in ("plateau_start_ns", "plateau_end_ns"):
            (s.get("rtp") or {}).pop(k, None)
    results = {
        "benchmark": "telephony",
        "date": datetime.date.today().isoformat(),
        "mode": "quick" if args.quick else "full",
        "machine": machine(),
        "command": " ".join(["python3", "bench/telephony.py", *sys.argv[1:]]),
        "binary": str(binary),
        "recordings_dir": "temp dir on disk" if not args.recordings else args.recordings,
        "plan": plan,
        "rules": {
            "call_rate_clean": "0 failed calls, every call answered and ended by the gateway's "
            f"BYE, retransmissions <= {RETRANS_MAX_FRACTION:.0%} of calls, achieved rate >= 90% "
            "of the target",
            "concurrency_pass": f"0 failed calls, p99 |RTP inter-arrival - 20 ms| < "
            f"{JITTER_P99_MAX_MS} ms while all calls stream, no sequence gaps, every stream seen",
        },
        "warmup": warm,
        "latency": latency,
        "call_rate": rates,
        "memory_after_call_rate": memory,
        "concurrency": conc,
        "gateway_alive_after_call_rate": main_alive,
        "gateway_warnings": {"count": len(warnings), "first": warnings[:20]},
        "duration_seconds": round(time.monotonic() - t_begin, 1),
        "load_average_at_end": os.getloadavg(),
    }
    print_table(results)
    if warnings:
        print(f"the gateway logged {len(warnings)} warnings/errors, e.g.:")
        for line in warnings[:5]:
            print("   ", line[:200])
    date = results["date"]
    out = Path(args.out) if args.out else (
        REPO / "bench" / "results" / f"telephony-{date}{'-quick' if args.quick else ''}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"JSON: {out}   ({results['duration_seconds']} s)")
    if args.keep:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
        if args.recordings:
            shutil.rmtree(recordings, ignore_errors=True)


if __name__ == "__main__":
    main()
