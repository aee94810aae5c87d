#!/usr/bin/env python3
"""Agents benchmark of Switchboard: from the escalation decision to the agent's phone ringing.

    python3 bench/agents.py            # 200 calls, one after the other (about a minute)
    python3 bench/agents.py --quick    # 20 calls

Needs a release build (`cargo build --release -p switchboard`; looked up in
$CARGO_TARGET_DIR/release, then target/release). Python 3 standard library only; everything runs
on 127.0.0.1 and every loop is bounded.

A small agent phone of our own registers (digest authentication) as the only agent of the only
queue; a small caller of our own dials a dialplan whose first node is that queue, so the
escalation decision is the `queue_entered` event the call logs. The phone timestamps each INVITE
in the kernel (SO_TIMESTAMPNS); the latency is that time minus the event's time (both the
machine's wall clock). The phone answers, the caller hangs up half a second later, and the next
call follows. The routing decision alone (1,000 agents, 100 queues) is measured by
`cargo run --release -p sb-center --example routing_bench`.
"""

import argparse
import datetime
import hashlib
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
TARGET_P99_MS = 50.0
PASSWORD = "bench-pw"

DIALPLAN = """name = "queue_now"
start = "agent"

[nodes.agent.queue]
name = "bench"
on_overflow = "bye"

[nodes.bye]
hangup = true
"""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def die(msg):
    log(f"bench/agents.py: {msg}")
    sys.exit(1)


def find_binary():
    candidates = []
    if os.environ.get("CARGO_TARGET_DIR"):
        candidates.append(Path(os.environ["CARGO_TARGET_DIR"]) / "release" / "switchboard")
    candidates.append(Path.home() / ".cache/switchboard/target/release/switchboard")
    candidates.append(REPO / "target" / "release" / "switchboard")
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    die("no release build found; run: cargo build --release -p switchboard")


def parse_sip(data):
    text = data.decode(errors="replace")
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return lines[0], headers, body


def md5(text):
    return hashlib.md5(text.encode()).hexdigest()


class AgentPhone(threading.Thread):
    """Registers `bench`, answers every INVITE with 200 OK (timestamping its arrival), answers BYEs."""

    def __init__(self, gw):
        super().__init__(daemon=True)
        self.gw = gw
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.invites = {}  # gateway call id (from Call-Info) -> arrival (ns since epoch)
        self.stopping = threading.Event()
        self.registered = threading.Event()

    def send(self, text, to=None):
        self.sock.sendto(text.replace("\n", "\r\n").encode(), to or self.gw)

    def register(self, cseq, auth=""):
        gw = f"{self.gw[0]}:{self.gw[1]}"
        self.send(
            f"REGISTER sip:{gw} SIP/2.0\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK-r{cseq}-{time.time_ns()}\n"
            f"From: <sip:bench@{gw}>;tag=reg\nTo: <sip:bench@{gw}>\n"
            f"Call-ID: reg-{os.getpid()}@127.0.0.1\nCSeq: {cseq} REGISTER\n"
            f"Contact: <sip:bench@127.0.0.1:{self.port}>;expires=600\n{auth}"
            "Max-Forwards: 70\nContent-Length: 0\n\n"
        )

    def challenge_answer(self, challenge):
        params = dict(re.findall(r'(\w+)="?([^",]+)"?', challenge))
        gw = f"{self.gw[0]}:{self.gw[1]}"
        uri = f"sip:{gw}"
        ha1 = md5(f"bench:{params['realm']}:{PASSWORD}")
        ha2 = md5(f"REGISTER:{uri}")
        cnonce, nc = "0a4f113b", "00000001"
        response = md5(f"{ha1}:{params['nonce']}:{nc}:{cnonce}:auth:{ha2}")
        return (
            f'Authorization: Digest username="bench", realm="{params["realm"]}", '
            f'nonce="{params["nonce"]}", uri="{uri}", response="{response}", algorithm=MD5, '
            f'qop=auth, nc={nc}, cnonce="{cnonce}"\n'
        )

    def reply(self, headers, code, reason, to, extra="", body=""):
        lines = [f"SIP/2.0 {code} {reason}"]
        for via in headers.get("via", []):
            lines.append(f"Via: {via}")
        to_header = headers["to"][0]
        if ";tag=" not in to_header:
            to_header += ";tag=phone"
        lines += [
            f"From: {headers['from'][0]}",
            f"To: {to_header}",
            f"Call-ID: {headers['call-id'][0]}",
            f"CSeq: {headers['cseq'][0]}",
            f"Contact: <sip:bench@127.0.0.1:{self.port}>",
        ]
        if extra:
            lines.append(extra)
        lines.append(f"Content-Length: {len(body)}")
        self.sock.sendto(("\r\n".join(lines) + "\r\n\r\n" + body).encode(), to)

    def run(self):
        self.register(1)
        cseq = 1
        deadline = time.monotonic() + 3600
        while not self.stopping.is_set() and time.monotonic() < deadline:
            try:
                data, anc, _, src = self.sock.recvmsg(65535, 64)
            except socket.timeout:
                continue
            arrival = time.time_ns()
            for level, kind, value in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", value[:16])
                    arrival = sec * 1_000_000_000 + nsec
            first, headers, _ = parse_sip(data)
            if first.startswith("SIP/2.0 401"):
                cseq += 1
                self.register(cseq, self.challenge_answer(headers["www-authenticate"][0]))
            elif first.startswith("SIP/2.0 200") and "REGISTER" in headers["cseq"][0]:
                self.registered.set()
            elif first.startswith("INVITE"):
                link = " ".join(headers.get("call-info", []))
                m = re.search(r"/api/calls/([0-9a-f-]+)>", link)
                if m and m.group(1) not in self.invites:
                    self.invites[m.group(1)] = arrival
                sdp = (
                    "v=0\no=phone 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
                    f"m=audio {self.port + 2} RTP/AVP 0\na=rtpmap:0 PCMU/8000\na=sendrecv\n"
                ).replace("\n", "\r\n")
                self.reply(headers, 200, "OK", src, "Content-Type: application/sdp", sdp)
            elif first.startswith("BYE") or first.startswith("OPTIONS"):
                self.reply(headers, 200, "OK", src)


class Caller:
    """Places one call at a time: INVITE, ACK on 200, BYE after `talk` seconds."""

    def __init__(self, gw):
        self.gw = gw
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]

    def send(self, text):
        self.sock.sendto(text.replace("\n", "\r\n").encode(), self.gw)

    def call(self, n, talk):
        gw = f"{self.gw[0]}:{self.gw[1]}"
        cid = f"bench-{n}-{time.time_ns()}@127.0.0.1"
        sdp = (
            "v=0\no=caller 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
            f"m=audio {self.port + 2} RTP/AVP 0\na=rtpmap:0 PCMU/8000\na=sendrecv\n"
        ).replace("\n", "\r\n")
        base = (
            f"From: <sip:caller@127.0.0.1:{self.port}>;tag=c{n}\nTo: <sip:300@{gw}>{{totag}}\n"
            f"Call-ID: {cid}\nMax-Forwards: 70\nContact: <sip:caller@127.0.0.1:{self.port}>\n"
        )
        self.send(
            f"INVITE sip:300@{gw} SIP/2.0\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK-i{n}-{time.time_ns()}\n"
            + base.format(totag="")
            + f"CSeq: 1 INVITE\nContent-Type: application/sdp\nContent-Length: {len(sdp)}\n\n"
            + sdp
        )
        deadline = time.monotonic() + 10
        to_tag = None
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(65535)
            except socket.timeout:
                continue
            first, headers, _ = parse_sip(data)
            if first.startswith("SIP/2.0 200") and "INVITE" in headers["cseq"][0]:
                m = re.search(r";tag=([^;>\s]+)", headers["to"][0])
                to_tag = m.group(1) if m else ""
                break
        if to_tag is None:
            return False
        totag = f";tag={to_tag}"
        self.send(
            f"ACK sip:300@{gw} SIP/2.0\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK-a{n}-{time.time_ns()}\n"
            + base.format(totag=totag)
            + "CSeq: 1 ACK\nContent-Length: 0\n\n"
        )
        time.sleep(talk)
        self.send(
            f"BYE sip:300@{gw} SIP/2.0\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK-b{n}-{time.time_ns()}\n"
            + base.format(totag=totag)
            + "CSeq: 2 BYE\nContent-Length: 0\n\n"
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(65535)
            except socket.timeout:
                continue
            if parse_sip(data)[0].startswith("SIP/2.0 200"):
                return True
        return True


def percentile(values, p):
    values = sorted(values)
    if not values:
        return None
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="20 calls instead of 200")
    ap.add_argument("--calls", type=int, default=None)
    args = ap.parse_args()
    calls = args.calls or (20 if args.quick else 200)
    binary = find_binary()
    tmp = Path(tempfile.mkdtemp(prefix="sb-bench-agents-"))
    (tmp / "dialplans").mkdir()
    (tmp / "dialplans" / "queue_now.toml").write_text(DIALPLAN)
    web_port = socket.socket()
    web_port.bind(("127.0.0.1", 0))
    web = web_port.getsockname()[1]
    web_port.close()
    config = tmp / "switchboard.toml"
    config.write_text(f"""# written by bench/agents.py
[sip]
listen = "127.0.0.1:0"
tcp = false

[media]
rtp_ports = [40000, 49999]
codecs = ["PCMU"]

[dialplans]
dir = "{tmp / 'dialplans'}"
sounds_dir = "{REPO / 'sounds'}"
default = "queue_now"

[store]
url = "sqlite:{tmp / 'switchboard.db'}"

[recordings]
dir = "{tmp / 'recordings'}"

[speech]
enabled = false

[web]
listen = "127.0.0.1:{web}"
admin_password_file = ""

[[queue]]
name = "bench"
skills = ["bench"]
wrap_up_secs = 0
ring_timeout_secs = 5

[[agent]]
id = "bench"
name = "Bench"
password = "{PASSWORD}"
skills = {{ bench = 5 }}
""")
    log_path = tmp / "gateway.log"
    proc = subprocess.Popen(
        [str(binary), "--config", str(config), "serve"],
        stdout=subprocess.PIPE,
        stderr=open(log_path, "wb"),
        env={**os.environ, "RUST_LOG": "warn"},
    )
    addr = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline().decode(errors="replace")
        if not line:
            break
        m = re.search(r"listening for SIP on (\S+):(\d+)", line)
        if m:
            addr = (m.group(1), int(m.group(2)))
            break
    if not addr:
        proc.kill()
        die(f"the gateway did not start:\n{log_path.read_text()[-2000:]}")
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    try:
        phone = AgentPhone(addr)
        phone.start()
        if not phone.registered.wait(10):
            die("the agent phone could not register")
        caller = Caller(addr)
        started = time.monotonic()
        failed = 0
        for n in range(calls):
            if not caller.call(n, 0.3):
                failed += 1
            print(f"\rcalls: {n + 1}/{calls}", end="", file=sys.stderr, flush=True)
            time.sleep(0.1)
        print(file=sys.stderr)
        elapsed = time.monotonic() - started
        time.sleep(0.5)
        latencies = []
        for call_id, arrival_ns in list(phone.invites.items()):
            out = subprocess.run(
                [str(binary), "--config", str(config), "calls", "show", call_id, "--json"],
                capture_output=True, text=True,
            )
            if out.returncode != 0:
                continue
            events = json.loads(out.stdout)["events"]
            entered = next((e for e in events if e["kind"] == "queue_entered"), None)
            if not entered:
                continue
            at = datetime.datetime.fromisoformat(entered["at"].replace("Z", "+00:00"))
            latencies.append((arrival_ns / 1e9 - at.timestamp()) * 1000.0)
        phone.stopping.set()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
    result = {
        "date": datetime.date.today().isoformat(),
        "calls": calls,
        "failed_calls": failed,
        "measured": len(latencies),
        "seconds": round(elapsed, 1),
        "escalation_to_invite_ms": {
            "p50": round(percentile(latencies, 50), 2) if latencies else None,
            "p95": round(percentile(latencies, 95), 2) if latencies else None,
            "p99": round(percentile(latencies, 99), 2) if latencies else None,
            "max": round(max(latencies), 2) if latencies else None,
        },
        "target_p99_ms": TARGET_P99_MS,
    }
    r = result["escalation_to_invite_ms"]
    print("| measure | calls | p50 ms | p95 ms | p99 ms | max ms | target |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| escalation decision → agent phone receives the INVITE | {len(latencies)} | "
        f"{r['p50']} | {r['p95']} | {r['p99']} | {r['max']} | p99 ≤ {TARGET_P99_MS:g} ms |"
    )
    if failed:
        print(f"{failed} of {calls} calls failed")
    out = REPO / "bench" / "results" / f"agents-{result['date']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    log(f"results: {out}")
    ok = latencies and r["p99"] <= TARGET_P99_MS and not failed
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
