#!/usr/bin/python3
"""Checks of the collector feed against the real agent and collector (tests/e2e/feed.sh makes
the lab and the certificates). Each case starts the processes it needs, drives lab DNS traffic,
and asserts what an operator would check in the collector's output: every event the agent saw,
once, with the same JSON; refused peers; nothing lost or doubled across kill -9."""
import argparse
import collections
import glob
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
import traceback
import zlib

ap = argparse.ArgumentParser()
ap.add_argument("--build", required=True)
ap.add_argument("--tmp", required=True)
ap.add_argument("--certs", required=True)
ap.add_argument("--netns", required=True)
ap.add_argument("--server4", required=True)
args = ap.parse_args()

AGENT = os.path.join(args.build, "dnsvigil")
COLLECTOR = os.path.join(args.build, "dnsvigil-collector")
# What the collector adds to the agent's JSON: the agent's identity.
IDENTITY_KEYS = ("agent_id", "agent_cert")
AGENT_ID = "e2e-agent-1"


class Fail(Exception):
    pass


def note_pid(pid):
    """feed.sh kills what is listed here if a check dies half-way."""
    with open(os.path.join(args.tmp, "pids"), "a") as f:
        f.write(f"{pid}\n")


def wait_for(what, pred, timeout=10.0, step=0.05):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise Fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(step)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True,
                         text=True).stdout
    return bool(out.strip())


def cert(name):
    return [f"--tls-ca={args.certs}/{'other-ca' if name == 'stranger' else 'feed-ca'}.pem",
            f"--tls-cert={args.certs}/{name}.pem", f"--tls-key={args.certs}/{name}.key"]


class Collector:
    def __init__(self, name, port=None, dnstap=False):
        self.name = name
        self.port = port or free_port()
        self.out = os.path.join(args.tmp, f"out-{name}")
        self.dnstap = os.path.join(self.out, "dnstap.fstrm") if dnstap else None
        self.log = os.path.join(args.tmp, f"collector-{name}.log")
        self.p = None

    def start(self):
        os.makedirs(self.out, exist_ok=True)
        argv = [COLLECTOR, f"--listen=127.0.0.1:{self.port}", f"--out={self.out}",
                f"--tls-ca={args.certs}/feed-ca.pem", f"--tls-cert={args.certs}/collector.pem",
                f"--tls-key={args.certs}/collector.key"]
        if self.dnstap:
            argv.append(f"--dnstap={self.dnstap}")
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=open(self.log, "a"),
                                  stderr=subprocess.STDOUT)
        note_pid(self.p.pid)
        wait_for(f"collector {self.name} to listen on {self.port}",
                 lambda: listening(self.port) or self.p.poll() is not None)
        if self.p.poll() is not None:
            raise Fail(f"collector exited with {self.p.returncode}: {self.log_text()}")
        return self

    def kill9(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait()

    def stop(self):
        if self.p and self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
                raise Fail("collector did not exit within 10 s of SIGTERM")
            if self.p.returncode != 0:
                raise Fail(f"collector exited with {self.p.returncode} after SIGTERM")

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def events(self):
        """Every event object in the JSONL sink's files, rotated ones too."""
        evs = []
        for path in sorted(glob.glob(os.path.join(self.out, "**", "*.jsonl*"), recursive=True)):
            with open(path, errors="replace") as f:
                for line in f:
                    if not line.endswith("\n"):
                        continue  # a line still being written
                    o = json.loads(line)
                    if "type" in o and "agent_id" in o:
                        evs.append(o)
        return evs


class Agent:
    def __init__(self, name, collectors, spool, who="agent-1", agent_id=AGENT_ID):
        self.name = name
        self.jsonl = os.path.join(args.tmp, f"agent-{name}.jsonl")
        self.log = os.path.join(args.tmp, f"agent-{name}.log")
        self.argv = [AGENT, "--jsonl", self.jsonl, "-s", "1", f"--spool={spool}",
                     f"--agent-id={agent_id}", "--ship-raw", *cert(who)]
        for c in collectors:
            self.argv.append(f"--collector=127.0.0.1:{c.port}")
        self.spool = spool
        self.p = None

    def start(self):
        self.p = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                  stdout=open(self.log + ".stdout", "a"),
                                  stderr=open(self.log, "a"))
        note_pid(self.p.pid)
        wait_for(f"agent {self.name} to log ready",
                 lambda: "ready" in self.log_text() or self.p.poll() is not None, timeout=30)
        if self.p.poll() is not None:
            raise Fail(f"agent exited with {self.p.returncode}: {self.log_text()}")
        return self

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise Fail("agent did not exit within 30 s of SIGTERM")
        if self.p.returncode != 0:
            raise Fail(f"agent exited with {self.p.returncode}: {self.log_text()[-2000:]}")

    def kill9(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait()

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def events(self):
        with open(self.jsonl) as f:
            return [json.loads(line) for line in f if line.endswith("\n")]


def spool_batches(spool):
    return sorted(glob.glob(os.path.join(spool, "*.batch")))


# ---------------------------------------------------------------------------------------------
# Traffic

def burst(prefix, n, tcp_every=5):
    """Starts n lookups of distinct names under burst.feed.test inside the lab namespace (every
    tcp_every-th over TCP), about 100 a second; returns the process and the names."""
    names = [f"{prefix}-{i:04d}.burst.feed.test" for i in range(n)]
    script = "\n".join(
        f"dig @{args.server4} +time=2 +tries=1 {'+tcp ' if i % tcp_every == 0 else ''}"
        f"{name} A >/dev/null" for i, name in enumerate(names))
    p = subprocess.Popen(["ip", "netns", "exec", args.netns, "bash", "-c", script],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    note_pid(p.pid)
    return p, names


def run_burst(prefix, n):
    p, names = burst(prefix, n)
    try:
        p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        raise Fail(f"{n} lookups did not finish within 60 s")
    return names


# ---------------------------------------------------------------------------------------------
# Comparing outputs

def strip_identity(e):
    return {k: v for k, v in e.items() if k not in IDENTITY_KEYS}


def canon(e):
    return json.dumps(e, sort_keys=True)


def per_qname(events, pattern):
    """{qname: number of dns events with it} for the qnames matching pattern."""
    rx = re.compile(pattern)
    counts = collections.Counter()
    for e in events:
        q = (e.get("dns") or {}).get("qname") if e["type"] == "dns" else None
        if q and rx.fullmatch(q):
            counts[q] += 1
    return counts


def field_diff(a, b, path=""):
    """The paths where two JSON values differ, for a readable failure."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += field_diff(a.get(k, "<absent>"), b.get(k, "<absent>"), f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += field_diff(x, y, f"{path}[{i}]")
        return out
    return [] if a == b else [f"{path}: agent {json.dumps(a)} collector {json.dumps(b)}"]


def assert_no_duplicates(events, what):
    dup = [k for k, n in collections.Counter(canon(e) for e in events).items() if n > 1]
    if dup:
        raise Fail(f"{len(dup)} events stored more than once in {what}, e.g. {dup[0][:300]}")


def spooled_per_qname(spool, pattern):
    """{qname: events with it} in the spool's batch files: each file is a 24-byte header, then
    one frame (8-byte header, zlib payload) holding a Batch whose field 5 are the events."""
    rx = re.compile(pattern.encode())
    counts = collections.Counter()
    for path in spool_batches(spool):
        with open(path, "rb") as f:
            data = f.read()
        frame = data[24:]
        payload = zlib.decompress(frame[8:])
        pos = 0
        while pos < len(payload):
            tag, pos = varint(payload, pos)
            wt = tag & 7
            if wt == 0:
                _, pos = varint(payload, pos)
                continue
            if wt != 2:
                raise Fail(f"{path}: unexpected wire type {wt} in a spooled batch")
            n, pos = varint(payload, pos)
            body = payload[pos:pos + n]
            pos += n
            dns = fields(body).get(10) if tag >> 3 == 5 else None  # Event.dns
            m = rx.search(dns) if dns else None
            if m:
                counts[m.group(0).decode()] += 1
    return counts


def fields(msg):
    """{field number: bytes} of a message's length-delimited fields (the last of each)."""
    out, pos = {}, 0
    while pos < len(msg):
        tag, pos = varint(msg, pos)
        wt = tag & 7
        if wt == 0:
            _, pos = varint(msg, pos)
        elif wt == 2:
            n, pos = varint(msg, pos)
            out[tag >> 3] = msg[pos:pos + n]
            pos += n
        else:
            pos += 8 if wt == 1 else 4
    return out


def varint(b, pos):
    v = shift = 0
    while True:
        c = b[pos]
        pos += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, pos


# ---------------------------------------------------------------------------------------------
# Cases

def collector_jsonl_equals_agent_jsonl():
    """Every event the agent writes to its own JSONL reaches the collector over mutual TLS and
    comes out as the same JSON, field by field, plus the agent's identity."""
    c = Collector("roundtrip", dnstap=True).start()
    spool = os.path.join(args.tmp, "spool-roundtrip")
    a = Agent("roundtrip", [c], spool).start()
    try:
        names = run_burst("rt", 40)
        subprocess.run(["ip", "netns", "exec", args.netns, "dig", f"@{args.server4}", "+time=2",
                        "+tries=1", "missing.feed.test", "AAAA"], capture_output=True)
        time.sleep(0.5)
    finally:
        a.stop()
    mine = a.events()
    if per_qname(mine, r"rt-\d+\.burst\.feed\.test").keys() != set(names):
        raise Fail("the agent's own JSONL lacks some of the lookups: the lab is broken")
    wait_for("the collector to store every event of the agent",
             lambda: len(c.events()) >= len(mine), timeout=10)
    theirs = c.events()
    for e in theirs:
        if e.get("agent_id") != AGENT_ID:
            raise Fail(f"agent_id {e.get('agent_id')!r}, expected {AGENT_ID!r}")
        if "CN=agent-1" not in (e.get("agent_cert") or ""):
            raise Fail(f"agent_cert {e.get('agent_cert')!r} does not name CN=agent-1")
    assert_no_duplicates(theirs, "the collector's JSONL")
    want = collections.Counter(canon(e) for e in mine)
    got = collections.Counter(canon(strip_identity(e)) for e in theirs)
    missing, extra = want - got, got - want
    if missing or extra:
        detail = ""
        if missing and extra:
            a0 = json.loads(next(iter(missing)))
            near = min(extra, key=lambda s: abs(len(s) - len(canon(a0))))
            detail = "\n  first differences: " + "; ".join(field_diff(a0, json.loads(near))[:8])
        raise Fail(f"{len(missing)} agent events missing from the collector, {len(extra)} "
                   f"collector events the agent did not write (of {len(mine)}){detail}")
    if spool_batches(spool):
        raise Fail(f"the spool still holds {len(spool_batches(spool))} batches after every ack")
    types = collections.Counter(e["type"] for e in mine)
    print(f"    {len(mine)} events equal in both ({dict(types)})")
    c.stop()
    # dnstap: BIND's reader decodes the collector's file and shows the lab's lookups.
    out = subprocess.run(["dnstap-read", "-y", c.dnstap], capture_output=True, text=True,
                         timeout=30)
    if out.returncode != 0:
        raise Fail(f"dnstap-read failed ({out.returncode}): {out.stderr[:500]}")
    seen = set(re.findall(r"rt-\d{4}\.burst\.feed\.test", out.stdout))
    if seen != set(names):
        raise Fail(f"dnstap-read shows {len(seen)} of the {len(names)} lookups")
    for kind in ("CLIENT_QUERY", "CLIENT_RESPONSE"):
        if kind not in out.stdout:
            raise Fail(f"dnstap-read shows no {kind} message")
    print(f"    dnstap-read shows all {len(names)} lookups")


def agent_with_cert_from_another_ca_is_refused():
    """An agent whose certificate another CA signed ships nothing: the collector refuses the
    handshake and says why; the agent keeps its batches spooled."""
    c = Collector("refuse").start()
    spool = os.path.join(args.tmp, "spool-stranger")
    a = Agent("stranger", [c], spool, who="stranger", agent_id="stranger-1").start()
    try:
        run_burst("st", 5)
        wait_for("the agent to spool its batches", lambda: spool_batches(spool), timeout=5)
        time.sleep(1.0)
    finally:
        a.stop()
    if c.events():
        raise Fail(f"the collector stored {len(c.events())} events of a foreign-CA agent")
    if not re.search(r"certificate|verify|handshake", c.log_text(), re.I):
        raise Fail(f"the collector logged no refusal reason:\n{c.log_text()[-1500:]}")
    if not spool_batches(spool):
        raise Fail("the refused agent's batches are not kept in its spool")
    c.stop()


def plaintext_client_is_refused():
    """A client that speaks the feed without TLS to a TLS collector gets no ack."""
    c = Collector("plain").start()
    try:
        hello = bytes([1 << 3, 1]) + bytes([2 << 3 | 2, 5]) + b"plain"
        frame = bytes([0xD7, 1, 1, 0]) + struct.pack(">I", len(hello)) + hello
        with socket.create_connection(("127.0.0.1", c.port), timeout=5) as s:
            s.sendall(frame)
            s.settimeout(5)
            got = b""
            try:
                while chunk := s.recv(4096):
                    got += chunk
            except (ConnectionResetError, socket.timeout):
                pass
        if got[:1] == b"\xd7":
            raise Fail("the collector answered a plaintext hello with a frame")
        if c.p.poll() is not None:
            raise Fail("the collector died on a plaintext client")
        if c.events():
            raise Fail("the collector stored events from a plaintext client")
    finally:
        c.stop()


def collector_killed_mid_burst_loses_nothing_and_stores_once():
    """kill -9 of the collector in the middle of a burst, then a restart on the same output:
    every event of the burst is in the sink exactly once."""
    c = Collector("crash").start()
    spool = os.path.join(args.tmp, "spool-crash")
    a = Agent("crash", [c], spool).start()
    try:
        p, names = burst("kc", 200)
        time.sleep(1.0)
        c.kill9()
        time.sleep(1.0)
        c.start()
        p.wait(timeout=60)
        wait_for("the agent's spool to drain", lambda: not spool_batches(spool), timeout=40)
    finally:
        a.stop()
    wait_for("the last batches", lambda: per_qname(c.events(), r"kc-\d+\.burst\.feed\.test")
             == per_qname(a.events(), r"kc-\d+\.burst\.feed\.test"), timeout=10)
    assert_no_duplicates(c.events(), "the collector's JSONL")
    n = per_qname(a.events(), r"kc-\d+\.burst\.feed\.test")
    if set(n) != set(names):
        raise Fail(f"the agent saw {len(n)} of the {len(names)} lookups")
    print(f"    {sum(n.values())} burst events, each stored once across the kill")
    c.stop()


def agent_killed_mid_burst_delivers_its_spool_once():
    """With the collector down, the agent spools a burst and is killed -9; restarted on the same
    spool once the collector is back, it delivers every spooled event, none twice."""
    c = Collector("agentcrash")
    spool = os.path.join(args.tmp, "spool-agentcrash")
    a = Agent("agentcrash", [c], spool).start()
    try:
        run_burst("ka", 60)
        time.sleep(0.6)  # past the 200 ms a batch stays open
    finally:
        a.kill9()
    spooled = spooled_per_qname(spool, r"ka-\d{4}\.burst\.feed\.test")
    if len(spooled) < 55:
        raise Fail(f"only {len(spooled)} of 60 lookups are in the spool after kill -9")
    c.start()
    b = Agent("agentcrash-2", [c], spool).start()
    try:
        try:
            wait_for("the restarted agent to deliver the spooled burst",
                     lambda: per_qname(c.events(), r"ka-\d+\.burst\.feed\.test") == spooled,
                     timeout=20)
        except Fail:
            pass  # the comparison below says what differs
    finally:
        b.stop()
    assert_no_duplicates(c.events(), "the collector's JSONL")
    got = per_qname(c.events(), r"ka-\d+\.burst\.feed\.test")
    if got != spooled:
        diff = {q: (spooled[q], got[q]) for q in set(spooled) | set(got) if spooled[q] != got[q]}
        raise Fail(f"collector holds {sum(got.values())} burst events, the spool held "
                   f"{sum(spooled.values())}; (spooled, stored) differ for "
                   f"{sorted(diff.items())[:5]}")
    print(f"    {sum(spooled.values())} spooled events delivered once after the restart")
    c.stop()


CASES = [
    collector_jsonl_equals_agent_jsonl,
    agent_with_cert_from_another_ca_is_refused,
    plaintext_client_is_refused,
    collector_killed_mid_burst_loses_nothing_and_stores_once,
    agent_killed_mid_burst_delivers_its_spool_once,
]


def main():
    passed = failed = 0
    only = os.environ.get("FEED_CASES", "").split()
    for case in CASES:
        if only and case.__name__ not in only:
            continue
        t = time.monotonic()
        try:
            case()
            passed += 1
            print(f"ok   {case.__name__} ({time.monotonic() - t:.1f} s)")
        except Fail as e:
            failed += 1
            print(f"FAIL {case.__name__}: {e}")
        except Exception:
            failed += 1
            print(f"FAIL {case.__name__}: {traceback.format_exc()}")
        sys.stdout.flush()
    print(f"feed-e2e: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
