#!/usr/bin/env python3
"""Bridged-calls benchmark of Switchboard: N callers talking with N agents at once.

    python3 bench/bridge.py                 # 50, 100, 200 calls; same codec and transcoded
    python3 bench/bridge.py --quick         # 20 calls, both modes
    python3 bench/bridge.py --calls 100,300 --modes same

Needs a release build (see agents.py). Python 3 standard library only; everything on 127.0.0.1,
every loop bounded.

For each step a fresh gateway gets N agents (one queue). The script's agent phone registers all
of them and answers every INVITE; its RTP socket sends back whatever the gateway sends it, so
the agent "says" what it hears. The script's caller places N calls into a dialplan whose first
node is the queue and sends 20 ms PCMU frames of a tone on each once answered. The gateway thus
decodes, bridges, records (stereo WAV) and encodes both directions of every call. Over a steady
window the script timestamps (in the kernel) every RTP packet the gateway sends to callers and
to agents: jitter is |inter-arrival - 20 ms| per stream, loss the sequence gaps; the gateway's
CPU comes from /proc. Modes: `same` (PCMU on both legs) and `transcoded` (PCMU caller, G.722
agent: 8 kHz <-> 16 kHz rate conversion and the G.722 codec on every frame).
"""

import argparse
import datetime
import json
import math
import os
import re
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from agents import find_binary, md5, parse_sip, percentile  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
CLK_TCK = os.sysconf("SC_CLK_TCK")
JITTER_P99_MAX_MS = 5.0
PASSWORD = "bridge-pw"
WINDOW_S = 15.0

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


def ulaw_tone(samples=160, hz=440.0):
    """One 20 ms PCMU frame of a tone (the phase restarts each frame; fine for load)."""
    out = bytearray()
    for i in range(samples):
        x = int(6000 * math.sin(2 * math.pi * hz * i / 8000))
        sign = 0x80 if x < 0 else 0
        x = min(abs(x), 32635) + 132
        exp = 7
        while exp > 0 and not (x & (0x4000 >> (7 - exp))):
            exp -= 1
        mant = (x >> (exp + 3)) & 0x0F
        out.append(~(sign | (exp << 4) | mant) & 0xFF)
    return bytes(out)


def kernel_time(anc):
    for level, kind, value in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            sec, nsec = struct.unpack("qq", value[:16])
            return sec + nsec / 1e9
    return time.time()


class Streams:
    """Per-source inter-arrival jitter and sequence gaps of RTP received while `measuring`."""

    def __init__(self):
        self.last = {}  # src -> (time, seq)
        self.jitter_ms = []
        self.gaps = 0
        self.packets = 0
        self.measuring = False

    def packet(self, src, t, data):
        if len(data) < 12:
            return
        seq = struct.unpack("!H", data[2:4])[0]
        prev = self.last.get(src)
        self.last[src] = (t, seq)
        if not self.measuring or prev is None:
            return
        self.packets += 1
        gap = (seq - prev[1]) & 0xFFFF
        if gap == 1:
            self.jitter_ms.append(abs((t - prev[0]) * 1000 - 20.0))
        elif 1 < gap < 1000:
            self.gaps += gap - 1


class AgentSide(threading.Thread):
    """Registers every agent, answers their INVITEs (PCMU or G.722), echoes RTP, answers BYEs."""

    def __init__(self, gw, agents, codec):
        super().__init__(daemon=True)
        self.gw, self.agents, self.codec = gw, agents, codec
        self.sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sip.bind(("127.0.0.1", 0))
        self.sip.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind(("127.0.0.1", 0))
        self.rtp.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.rtp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.port = self.sip.getsockname()[1]
        self.rtp_port = self.rtp.getsockname()[1]
        self.registered = set()
        self.answered = 0
        self.streams = Streams()
        self.stopping = threading.Event()

    def send(self, text, to):
        self.sip.sendto(text.replace("\n", "\r\n").encode(), to)

    def register(self, user, cseq, auth=""):
        gw = f"{self.gw[0]}:{self.gw[1]}"
        self.send(
            f"REGISTER sip:{gw} SIP/2.0\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK-r{user}{cseq}-{time.time_ns()}\n"
            f"From: <sip:{user}@{gw}>;tag=r{user}\nTo: <sip:{user}@{gw}>\n"
            f"Call-ID: reg-{user}-{os.getpid()}@127.0.0.1\nCSeq: {cseq} REGISTER\n"
            f"Contact: <sip:{user}@127.0.0.1:{self.port}>;expires=3600\n{auth}"
            "Max-Forwards: 70\nContent-Length: 0\n\n",
            self.gw,
        )

    def authorization(self, user, challenge):
        params = dict(re.findall(r'(\w+)="?([^",]+)"?', challenge))
        uri = f"sip:{self.gw[0]}:{self.gw[1]}"
        ha1 = md5(f"{user}:{params['realm']}:{PASSWORD}")
        ha2 = md5(f"REGISTER:{uri}")
        response = md5(f"{ha1}:{params['nonce']}:00000001:cafe:auth:{ha2}")
        return (
            f'Authorization: Digest username="{user}", realm="{params["realm"]}", '
            f'nonce="{params["nonce"]}", uri="{uri}", response="{response}", algorithm=MD5, '
            'qop=auth, nc=00000001, cnonce="cafe"\n'
        )

    def reply(self, headers, code, to, extra="", body=""):
        to_header = headers["to"][0]
        if ";tag=" not in to_header:
            to_header += f";tag=a{abs(hash(headers['call-id'][0])) % 10**8}"
        lines = [f"SIP/2.0 {code} {'OK' if code == 200 else 'X'}"]
        lines += [f"Via: {v}" for v in headers.get("via", [])]
        lines += [
            f"From: {headers['from'][0]}", f"To: {to_header}",
            f"Call-ID: {headers['call-id'][0]}", f"CSeq: {headers['cseq'][0]}",
            f"Contact: <sip:agent@127.0.0.1:{self.port}>",
        ]
        if extra:
            lines.append(extra)
        lines.append(f"Content-Length: {len(body)}")
        self.sip.sendto(("\r\n".join(lines) + "\r\n\r\n" + body).encode(), to)

    def run(self):
        for user in self.agents:
            self.register(user, 1)
        sel = selectors.DefaultSelector()
        sel.register(self.sip, selectors.EVENT_READ, "sip")
        sel.register(self.rtp, selectors.EVENT_READ, "rtp")
        pt, name = (9, "G722/8000") if self.codec == "G722" else (0, "PCMU/8000")
        deadline = time.monotonic() + 1800
        while not self.stopping.is_set() and time.monotonic() < deadline:
            for key, _ in sel.select(0.2):
                if key.data == "rtp":
                    for _ in range(64):
                        try:
                            data, anc, _, src = self.rtp.recvmsg(2048, 64, socket.MSG_DONTWAIT)
                        except BlockingIOError:
                            break
                        self.streams.packet(src, kernel_time(anc), data)
                        self.rtp.sendto(data, src)
                    continue
                data, src = self.sip.recvfrom(65535)
                first, headers, _ = parse_sip(data)
                if first.startswith("SIP/2.0 401"):
                    user = re.search(r"sip:([^@]+)@", headers["to"][0]).group(1)
                    self.register(user, 2, self.authorization(user, headers["www-authenticate"][0]))
                elif first.startswith("SIP/2.0 200") and "REGISTER" in headers["cseq"][0]:
                    self.registered.add(re.search(r"sip:([^@]+)@", headers["to"][0]).group(1))
                elif first.startswith("INVITE"):
                    sdp = (
                        "v=0\no=agent 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
                        f"m=audio {self.rtp_port} RTP/AVP {pt}\na=rtpmap:{pt} {name}\na=sendrecv\n"
                    ).replace("\n", "\r\n")
                    self.answered += 1
                    self.reply(headers, 200, src, "Content-Type: application/sdp", sdp)
                elif first.startswith(("BYE", "OPTIONS")):
                    self.reply(headers, 200, src)


class CallerSide(threading.Thread):
    """Places calls, ACKs their 200, sends 20 ms PCMU frames on every answered call, BYEs at the end."""

    def __init__(self, gw, calls):
        super().__init__(daemon=True)
        self.gw, self.calls = gw, calls
        self.sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sip.bind(("127.0.0.1", 0))
        self.sip.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind(("127.0.0.1", 0))
        self.rtp.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.rtp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.port = self.sip.getsockname()[1]
        self.rtp_port = self.rtp.getsockname()[1]
        self.dialogs = {}  # call-id -> dict(to_tag, media=(ip, port), seq, ts, ssrc)
        self.streams = Streams()
        self.stopping = threading.Event()
        self.frame = ulaw_tone()

    def send(self, text):
        self.sip.sendto(text.replace("\n", "\r\n").encode(), self.gw)

    def request(self, method, cid, n, cseq, to_tag="", body=""):
        gw = f"{self.gw[0]}:{self.gw[1]}"
        tag = f";tag={to_tag}" if to_tag else ""
        ctype = "Content-Type: application/sdp\n" if body else ""
        self.send(
            f"{method} sip:300@{gw} SIP/2.0\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK-{method[0]}{n}-{time.time_ns()}\n"
            f"From: <sip:caller{n}@127.0.0.1:{self.port}>;tag=c{n}\nTo: <sip:300@{gw}>{tag}\n"
            f"Call-ID: {cid}\nCSeq: {cseq} {method}\nMax-Forwards: 70\n"
            f"Contact: <sip:caller{n}@127.0.0.1:{self.port}>\n{ctype}Content-Length: {len(body)}\n\n"
            + body
        )

    def run(self):
        sdp = (
            "v=0\no=caller 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
            f"m=audio {self.rtp_port} RTP/AVP 0\na=rtpmap:0 PCMU/8000\na=sendrecv\n"
        ).replace("\n", "\r\n")
        ids = {}
        for n in range(self.calls):
            cid = f"bridge-{n}-{time.time_ns()}@127.0.0.1"
            ids[cid] = n
            self.request("INVITE", cid, n, 1, body=sdp)
            time.sleep(0.02)
        sel = selectors.DefaultSelector()
        sel.register(self.sip, selectors.EVENT_READ, "sip")
        sel.register(self.rtp, selectors.EVENT_READ, "rtp")
        next_frame = time.monotonic()
        deadline = time.monotonic() + 1800
        while not self.stopping.is_set() and time.monotonic() < deadline:
            timeout = max(0.0, next_frame - time.monotonic())
            for key, _ in sel.select(timeout):
                if key.data == "rtp":
                    for _ in range(64):
                        try:
                            data, anc, _, src = self.rtp.recvmsg(2048, 64, socket.MSG_DONTWAIT)
                        except BlockingIOError:
                            break
                        self.streams.packet(src, kernel_time(anc), data)
                    continue
                data = self.sip.recv(65535)
                first, headers, body = parse_sip(data)
                cid = headers.get("call-id", [""])[0]
                if first.startswith("SIP/2.0 200") and "INVITE" in headers["cseq"][0] and cid in ids:
                    to_tag = re.search(r";tag=([^;>\s]+)", headers["to"][0]).group(1)
                    m = re.search(r"m=audio (\d+)", body)
                    c = re.search(r"c=IN IP4 (\S+)", body)
                    self.request("ACK", cid, ids[cid], 1, to_tag)
                    if cid not in self.dialogs:
                        self.dialogs[cid] = {
                            "to_tag": to_tag, "media": (c.group(1), int(m.group(1))),
                            "seq": 0, "ts": 0, "ssrc": ids[cid] + 1000,
                        }
                elif first.startswith(("BYE", "OPTIONS")):
                    lines = ["SIP/2.0 200 OK"] + [f"Via: {v}" for v in headers.get("via", [])]
                    lines += [f"From: {headers['from'][0]}", f"To: {headers['to'][0]}",
                              f"Call-ID: {cid}", f"CSeq: {headers['cseq'][0]}", "Content-Length: 0"]
                    self.sip.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), self.gw)
            now = time.monotonic()
            if now >= next_frame:
                for d in self.dialogs.values():
                    header = struct.pack("!BBHII", 0x80, 0, d["seq"] & 0xFFFF, d["ts"] & 0xFFFFFFFF, d["ssrc"])
                    self.rtp.sendto(header + self.frame, d["media"])
                    d["seq"] += 1
                    d["ts"] += 160
                next_frame += 0.02
                if now - next_frame > 0.2:
                    next_frame = now + 0.02
        for cid, d in self.dialogs.items():
            self.request("BYE", cid, ids[cid], 2, d["to_tag"])


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run_step(binary, calls, mode, tmp):
    step = tmp / f"{mode}-{calls}"
    (step / "dialplans").mkdir(parents=True)
    (step / "dialplans" / "queue_now.toml").write_text(DIALPLAN)
    agents = [f"agent{i:04d}" for i in range(calls)]
    agent_tables = "".join(
        f'\n[[agent]]\nid = "{a}"\nname = "{a}"\npassword = "{PASSWORD}"\nskills = {{ bench = 5 }}\n'
        for a in agents
    )
    codecs = '["PCMU", "G722"]' if mode == "transcoded" else '["PCMU"]'
    config = step / "switchboard.toml"
    config.write_text(f"""# written by bench/bridge.py
[sip]
listen = "127.0.0.1:0"
tcp = false

[media]
rtp_ports = [30000, 39999]
codecs = {codecs}

[dialplans]
dir = "{step / 'dialplans'}"
sounds_dir = "{REPO / 'sounds'}"
default = "queue_now"

[store]
url = "sqlite:{step / 'switchboard.db'}"

[recordings]
dir = "{step / 'recordings'}"

[speech]
enabled = false

[web]
listen = "off"

[[queue]]
name = "bench"
skills = ["bench"]
wrap_up_secs = 0
ring_timeout_secs = 10
{agent_tables}""")
    log_path = step / "gateway.log"
    proc = subprocess.Popen(
        [str(binary), "--config", str(config), "serve"],
        stdout=subprocess.PIPE, stderr=open(log_path, "wb"),
        env={**os.environ, "RUST_LOG": "warn"},
    )
    addr = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not addr:
        line = proc.stdout.readline().decode(errors="replace")
        if not line:
            break
        m = re.search(r"listening for SIP on (\S+):(\d+)", line)
        if m:
            addr = (m.group(1), int(m.group(2)))
    if not addr:
        proc.kill()
        raise SystemExit(f"the gateway did not start:\n{log_path.read_text()[-2000:]}")
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    agent_side = AgentSide(addr, agents, "G722" if mode == "transcoded" else "PCMU")
    caller_side = CallerSide(addr, calls)
    try:
        agent_side.start()
        deadline = time.monotonic() + 30
        while len(agent_side.registered) < calls and time.monotonic() < deadline:
            time.sleep(0.1)
        caller_side.start()
        deadline = time.monotonic() + 60
        while len(caller_side.dialogs) < calls and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(3.0)  # every bridge settles
        agent_side.streams.measuring = caller_side.streams.measuring = True
        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(WINDOW_S)
        cpu1, t1 = cpu_seconds(proc.pid), time.monotonic()
        agent_side.streams.measuring = caller_side.streams.measuring = False
        rss = rss_mb(proc.pid)
        caller_side.stopping.set()
        caller_side.join(10)
        time.sleep(1.0)
        agent_side.stopping.set()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    cpu_pct = 100 * (cpu1 - cpu0) / (t1 - t0)
    jitter = agent_side.streams.jitter_ms + caller_side.streams.jitter_ms
    return {
        "mode": mode,
        "calls": calls,
        "bridged": min(len(caller_side.dialogs), agent_side.answered),
        "jitter_p50_ms": round(percentile(jitter, 50), 3) if jitter else None,
        "jitter_p99_ms": round(percentile(jitter, 99), 3) if jitter else None,
        "jitter_max_ms": round(max(jitter), 3) if jitter else None,
        "packets_to_callers": caller_side.streams.packets,
        "packets_to_agents": agent_side.streams.packets,
        "lost_packets": caller_side.streams.gaps + agent_side.streams.gaps,
        "cpu_percent": round(cpu_pct, 1),
        "cpu_percent_per_call": round(cpu_pct / calls, 3),
        "rss_mb": round(rss, 1),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="20 calls, both modes")
    ap.add_argument("--calls", default=None, help="comma-separated call counts (default 50,100,200)")
    ap.add_argument("--modes", default="same,transcoded")
    args = ap.parse_args()
    counts = [int(c) for c in (args.calls or ("20" if args.quick else "50,100,200")).split(",")]
    modes = args.modes.split(",")
    binary = find_binary()
    tmp = Path(tempfile.mkdtemp(prefix="sb-bench-bridge-"))
    results = []
    for calls in counts:
        for mode in modes:
            log(f"{calls} bridged calls, {mode} …")
            results.append(run_step(binary, calls, mode, tmp))
            time.sleep(2)
    print("| calls | mode | bridged | jitter p50 ms | jitter p99 ms | max ms | packets (to callers / agents) | lost | gateway CPU % | CPU % per call | RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['calls']} | {r['mode']} | {r['bridged']} | {r['jitter_p50_ms']} | {r['jitter_p99_ms']} | "
            f"{r['jitter_max_ms']} | {r['packets_to_callers']} / {r['packets_to_agents']} | {r['lost_packets']} | "
            f"{r['cpu_percent']} | {r['cpu_percent_per_call']} | {r['rss_mb']} |"
        )
    date = datetime.date.today().isoformat()
    out = REPO / "bench" / "results" / f"bridge-{date}{'-quick' if args.quick else ''}.json"
    out.write_text(json.dumps({"date": date, "window_s": WINDOW_S, "steps": results}, indent=2) + "\n")
    log(f"results: {out}")
    ok = all(
        r["bridged"] == r["calls"] and r["lost_packets"] == 0
        and (r["jitter_p99_ms"] or 99) < JITTER_P99_MAX_MS
        for r in results
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
