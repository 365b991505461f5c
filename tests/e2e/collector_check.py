#!/usr/bin/python3
"""The collector's end-to-end cases (tests/e2e/collector.sh makes the certificates and calls
this). Each case is a function named for the behaviour it checks; the collector runs for real
on 127.0.0.1 with TLS 1.3 and client certificates, and is killed and restarted by the cases.
Prints "collector-e2e: N passed, M failed" last."""
import argparse
import glob
import json
import os
import select
import signal
import socket
import ssl
import struct
import subprocess
import sys
import time
import zlib

FRAME_HELLO, FRAME_BATCH, FRAME_ACK = 1, 2, 3
EVENTS = 20  # events per batch in most cases
BASE_TS = 1700000000 * 10**9

args = None
port = None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Collector:
    def __init__(self):
        self.proc = None
        self.out = os.path.join(args.tmp, "out")
        self.log = os.path.join(args.tmp, "collector.log")

    def start(self):
        logf = open(self.log, "a")
        start = os.path.getsize(self.log)
        self.proc = subprocess.Popen(
            [args.collector, "--listen", f"127.0.0.1:{port}", "--out", self.out,
             "--pb", os.path.join(self.out, "events.pb"),
             "--dnstap", os.path.join(self.out, "dns.tap"),
             "--tls-ca", cert("ca"), "--tls-cert", cert("server"), "--tls-key", key("server"),
             "--stats-interval", "1"], stdout=logf, stderr=logf)
        with open(os.path.join(args.tmp, "collector.pid"), "w") as f:
            f.write(str(self.proc.pid))
        deadline = time.time() + 10
        while time.time() < deadline:
            with open(self.log) as f:
                f.seek(start)
                if "ready" in f.read():
                    return
            if self.proc.poll() is not None:
                raise RuntimeError(f"collector exited with {self.proc.returncode}")
            time.sleep(0.05)
        raise RuntimeError("collector not ready in 10 s")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(10)
        if rc != 0:
            raise RuntimeError(f"collector exited {rc} on SIGTERM")

    def kill9(self):
        self.proc.kill()
        self.proc.wait(10)

    def log_text(self):
        with open(self.log) as f:
            return f.read()

    def last_stats(self):
        with open(os.path.join(self.out, "stats.jsonl")) as f:
            return json.loads(f.read().splitlines()[-1])["stats"]


def cert(name):
    return os.path.join(args.tmp, name + ".pem")


def key(name):
    return os.path.join(args.tmp, name + ".key")


_frames = {}


def feedtool(*a):
    if a not in _frames:
        _frames[a] = subprocess.run([args.feedtool, *map(str, a)], cwd=args.root, check=True,
                                    capture_output=True).stdout
    return _frames[a]


def frame(ftype, flags, payload):
    return struct.pack(">BBBBI", 0xD7, 1, ftype, flags, len(payload)) + payload


def tls_socket(name="agent-1"):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(cert("ca"))
    ctx.load_cert_chain(cert(name), key(name))
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


class Agent:
    """One agent's connection: Hello, batches, acks."""

    def __init__(self, agent_id, name="agent-1", sock=None):
        self.id = agent_id
        self.s = sock or tls_socket(name)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def hello(self):
        self.send(feedtool("hello", self.id))
        return self.ack()

    def batch(self, seq, n=EVENTS, raw=False):
        return feedtool("batch", self.id, seq, n, *(["raw"] if raw else []))

    def ack(self):
        while True:
            if len(self.buf) >= 8:
                (length,) = struct.unpack(">I", self.buf[4:8])
                if len(self.buf) >= 8 + length:
                    ftype, payload = self.buf[2], self.buf[8:8 + length]
                    self.buf = self.buf[8 + length:]
                    assert ftype == FRAME_ACK, f"frame type {ftype}, not an ack"
                    return varint_field1(payload)
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("collector closed the connection")
            self.buf += chunk

    def send_batch(self, seq, n=EVENTS, raw=False):
        self.send(self.batch(seq, n, raw))
        return self.ack()

    def closed_by_peer(self, timeout=5):
        """Whether the collector closes this connection (reading gives EOF or an error)."""
        self.s.settimeout(timeout)
        try:
            while True:
                if not self.s.recv(65536):
                    return True
        except (ssl.SSLError, ConnectionError, OSError) as e:
            return not isinstance(e, socket.timeout)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def varint_field1(payload):
    """An Ack's seq (field 1, varint); 0 when absent."""
    if not payload:
        return 0
    assert payload[0] == 0x08, f"unexpected Ack bytes {payload.hex()}"
    v = shift = 0
    for b in payload[1:]:
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v
    raise ValueError("truncated varint")


def stored_events():
    """{(agent_id, ts): count} over every JSONL file of the out dir, rotated ones included."""
    counts = {}
    for path in glob.glob(os.path.join(col.out, "events*.jsonl")):
        with open(path) as f:
            for line in f:
                ev = json.loads(line)
                k = (ev["agent_id"], ev["ts"])
                counts[k] = counts.get(k, 0) + 1
    return counts


def ts_of(seq, i):
    t = BASE_TS + seq * 1000000 + i * 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t // 10**9)) + f".{t % 10**9:09d}Z"


def assert_exactly_once(agent_id, seqs, n=EVENTS):
    counts = stored_events()
    want = {(agent_id, ts_of(s, i)) for s in seqs for i in range(n)}
    missing = [k for k in want if k not in counts]
    twice = [k for k in want if counts.get(k, 0) > 1]
    extra = [k for k in counts if k[0] == agent_id and k not in want]
    assert not missing, f"{len(missing)} events of {agent_id} lost, e.g. {sorted(missing)[:2]}"
    assert not twice, f"{len(twice)} events of {agent_id} stored twice, e.g. {twice[:2]}"
    assert not extra, f"{len(extra)} unexpected events of {agent_id}"


# The cases, in order: they share one collector that some of them restart.

def healthy_agent_gets_hello_ack_and_batch_acks():
    a = Agent("agent-1")
    assert a.hello() == 0
    for seq in (1, 2, 3):
        assert a.send_batch(seq) == seq
    a.close()
    assert_exactly_once("agent-1", [1, 2, 3])


def jsonl_carries_the_agent_and_its_certificate():
    with open(os.path.join(col.out, "events.jsonl")) as f:
        ev = json.loads(f.readline())
    assert ev["agent_id"] == "agent-1", ev
    assert "CN=agent-1" in ev["agent_cert"] and "sha256:" in ev["agent_cert"], ev["agent_cert"]
    assert ev["type"] == "dns" and ev["dns"]["qname"] == "www.example.test", ev


silent = None  # a connection that never says Hello, opened early, checked late


def jsonl_equals_the_agents_json_field_by_field():
    """event -> protobuf -> zlib -> frame -> TLS -> collector -> JSONL is the agent's JSON of
    the same events, plus agent_id and agent_cert."""
    want = [json.loads(l) for l in feedtool("json", "agent-1", 2, EVENTS).decode().splitlines()]
    got = []
    with open(os.path.join(col.out, "events.jsonl")) as f:
        for line in f:
            ev = json.loads(line)
            if ev["agent_id"] == "agent-1" and ev["ts"].startswith(ts_of(2, 0)[:23]):
                got.append(ev)
    assert len(got) == len(want) == EVENTS, (len(got), len(want))
    for g, w in zip(got, want):
        assert list(g)[:4] == ["type", "ts", "host", "agent_id"], list(g)
        g = {k: v for k, v in g.items() if k not in ("agent_id", "agent_cert")}
        for k in set(g) | set(w):
            assert g.get(k) == w.get(k), f"field {k}: collector {g.get(k)!r}, agent {w.get(k)!r}"


def bad_frames_are_rejected_while_a_healthy_agent_is_served():
    global silent
    silent = (socket.create_connection(("127.0.0.1", port), timeout=15), time.time())
    healthy = Agent("agent-h")
    assert healthy.hello() == 0
    batch = healthy.batch(1)
    bomb = frame(FRAME_BATCH, 1, zlib.compress(b"\0" * (64 << 20), 9))
    faults = {
        "truncated": batch[: len(batch) // 2],
        "oversize": struct.pack(">BBBBI", 0xD7, 1, FRAME_BATCH, 1, 100 << 20) + b"x" * 1000,
        "frame": b"GET / HTTP/1.1\r\n\r\n" + os.urandom(200),
        "zip bomb": bomb,
    }
    seq = 0
    before = col.log_text()
    for what, data in faults.items():
        bad = Agent("agent-bad")
        assert bad.hello() == 0
        bad.send(data)
        if what == "truncated":
            bad.s.shutdown(socket.SHUT_WR)
        seq += 1
        assert healthy.send_batch(seq) == seq, f"healthy agent not acked after {what}"
        assert bad.closed_by_peer(), f"connection sending a {what} frame stays open"
        bad.close()
    healthy.close()
    log = col.log_text()[len(before):]
    for reason in ("truncated: the stream ended inside a frame", "oversize: frame too large",
                   "oversize: compression ratio over cap", "frame: bad magic"):
        assert reason in log, f"no rejection '{reason}' logged:\n{log}"
    assert "127.0.0.1:" in log and "CN=agent-1" in log, "rejections name no peer or cert"
    assert_exactly_once("agent-h", range(1, seq + 1))


def client_with_a_cert_from_another_ca_is_refused():
    before = col.log_text()
    try:
        a = Agent("agent-x", name="stranger")
        a.send(feedtool("hello", "agent-x"))
        got = a.ack()
        raise AssertionError(f"a stranger's Hello was answered: ack {got}")
    except (ssl.SSLError, ConnectionError, EOFError, OSError):
        pass
    time.sleep(0.2)
    log = col.log_text()[len(before):]
    assert "tls:" in log and "certificate" in log, f"no refusal logged:\n{log}"


def plaintext_client_is_refused_when_tls_is_configured():
    before = col.log_text()
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(feedtool("hello", "agent-plain"))
    a = Agent("agent-plain", sock=s)
    assert a.closed_by_peer(), "plaintext connection stays open"
    try:
        assert not a.buf and not s.recv(100), "plaintext client got an answer"
    except OSError:
        pass
    s.close()
    time.sleep(0.2)
    log = col.log_text()[len(before):]
    assert "tls:" in log, f"no refusal logged:\n{log}"


def replayed_batches_are_acked_and_stored_once():
    a = Agent("agent-1")
    assert a.hello() == 3, "the Hello's ack is not the highest stored seq"
    assert a.send_batch(2) == 2
    assert a.send_batch(3) == 3
    assert a.send_batch(4) == 4
    a.close()
    assert_exactly_once("agent-1", [1, 2, 3, 4])


def kill9_between_batches_loses_nothing_acked():
    a = Agent("agent-2")
    assert a.hello() == 0
    for seq in range(1, 6):
        assert a.send_batch(seq) == seq
    col.kill9()
    a.close()
    col.start()
    a = Agent("agent-2")
    assert a.hello() == 5
    a.close()
    assert_exactly_once("agent-2", range(1, 6))


def kill9_mid_burst_loses_nothing_and_stores_nothing_twice():
    n_batches, n_events = 200, 1000
    # Kill -9 20 ms into the burst (before any commit, as a rule), then at the first ack and
    # 30 ms after it: a loaded machine may take longer than any fixed delay to commit, and a
    # quiet one commits 200 batches in a few hundred ms.
    for round_, (delay, after_ack) in enumerate(((0.02, False), (0, True), (0.03, True))):
        agent_id = f"agent-burst-{round_}"
        frames = [feedtool("batch", agent_id, s, n_events) for s in range(1, n_batches + 1)]
        a = Agent(agent_id)
        assert a.hello() == 0
        acked = burst_until_killed(a, b"".join(frames), delay, after_ack)
        a.close()
        if after_ack:
            assert 0 < acked < n_batches, f"the kill came after {acked} of {n_batches} acks"
        col.start()
        b = Agent(agent_id)
        held = b.hello()
        assert held >= acked, f"acked {acked} before the kill, holds only {held}"
        for s in range(held + 1, n_batches + 1):
            b.send(frames[s - 1])
        last = held
        while last < n_batches:
            last = b.ack()
        b.close()
        assert_exactly_once(agent_id, range(1, n_batches + 1), n_events)
        print(f"  kill -9 {delay * 1000:.0f} ms after {'the first ack' if after_ack else 'the start'}: "
              f"{acked} batches acked before, {held} held after restart", file=sys.stderr)


def burst_until_killed(a, data, delay, after_ack):
    """Sends data as fast as the collector takes it, reading acks meanwhile (one thread: an
    SSL socket is not for two), and kill -9s the collector delay seconds after the start, or
    after the first ack (waiting up to 30 s for it). Returns the highest seq acked before the
    kill."""
    a.s.setblocking(False)
    off, acked = 0, 0
    kill_at = time.time() + (30 if after_ack else delay)
    while time.time() < kill_at:
        want_w = [a.s] if off < len(data) else []
        r, w, _ = select.select([a.s], want_w, [], max(0, kill_at - time.time()))
        if w:
            try:
                off += a.s.send(data[off:off + 65536])
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                pass
        if r:
            try:
                a.buf += a.s.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
            while len(a.buf) >= 8 and len(a.buf) >= 8 + struct.unpack(">I", a.buf[4:8])[0]:
                seq = a.ack()
                if after_ack and not acked:
                    kill_at = time.time() + delay
                acked = max(acked, seq)
                if time.time() >= kill_at:
                    break  # the acks behind it came after the kill
    col.kill9()
    return acked


def pb_file_holds_every_event_with_its_agent():
    with open(os.path.join(col.out, "events.pb"), "rb") as f:
        data = f.read()
    n, pos, agents = 0, 0, set()
    while pos < len(data):
        length = shift = 0
        while True:
            b = data[pos]
            pos += 1
            length |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        rec = data[pos:pos + length]
        pos += length
        # the appended Event.agent_id is the record's last field
        for agent in ("agent-1", "agent-2", "agent-h"):
            if rec.endswith(b"\x1a" + bytes([len(agent)]) + agent.encode()):
                agents.add(agent)
        n += 1
    assert pos == len(data), "the protobuf file ends inside a record"
    total = sum(stored_events().values())
    assert n == total, f"{n} protobuf records, {total} JSON lines"
    assert agents == {"agent-1", "agent-2", "agent-h"}, agents


def dnstap_read_decodes_the_dnstap_output():
    a = Agent("agent-tap")
    assert a.hello() == 0
    assert a.send_batch(1, 6, raw=True) == 1
    a.close()
    col.stop()
    out = subprocess.run(["dnstap-read", os.path.join(col.out, "dns.tap")], capture_output=True,
                         text=True, timeout=10)
    assert out.returncode == 0, f"dnstap-read failed: {out.stderr}"
    lines = out.stdout.splitlines()
    assert len(lines) == 6, f"dnstap-read shows {len(lines)} messages:\n{out.stdout}"
    assert sum(" SQ " in l for l in lines) == 3 and sum(" SR " in l for l in lines) == 3, lines
    assert all("127.0.0.1:40000" in l and "127.0.0.53:53" in l and "www.example.test/IN/A" in l
               for l in lines), lines
    # the files earlier runs (and the kills) left are complete Frame Streams too
    for path in glob.glob(os.path.join(col.out, "dns-*.tap")):
        r = subprocess.run(["dnstap-read", path], capture_output=True, text=True, timeout=10)
        assert r.returncode == 0, f"dnstap-read {path}: {r.stderr}"
    col.start()


def silent_connection_is_closed_after_the_hello_timeout():
    sock, opened = silent
    sock.settimeout(max(1, opened + 13 - time.time()))
    try:
        assert sock.recv(100) == b"", "the silent connection got bytes"
    except socket.timeout:
        raise AssertionError("a connection without Hello stays open past 10 s")
    except ConnectionError:
        pass
    sock.close()
    assert "slow: no Hello within the time allowed" in col.log_text()


def stats_count_rejections_and_duplicates():
    col.stop()  # the final stats line
    st = col.last_stats()
    rej = st["rejected"]
    assert rej["truncated"] >= 1 and rej["frame"] >= 1 and rej["oversize"] >= 2, rej
    assert rej["tls"] >= 2 and rej["slow"] == 1, rej
    assert st["store_duplicates"] >= 2, st
    assert st["conns_open"] == 0 and st["hellos"] >= 7, st
    # no event carried raw bytes so far: dnstap skipped (and counted) every one
    assert st["output_dnstap_events"] == 0 and st["output_dnstap_skipped"] == st["store_events"], st
    col.start()


CASES = [
    healthy_agent_gets_hello_ack_and_batch_acks,
    jsonl_carries_the_agent_and_its_certificate,
    jsonl_equals_the_agents_json_field_by_field,
    bad_frames_are_rejected_while_a_healthy_agent_is_served,
    client_with_a_cert_from_another_ca_is_refused,
    plaintext_client_is_refused_when_tls_is_configured,
    replayed_batches_are_acked_and_stored_once,
    silent_connection_is_closed_after_the_hello_timeout,
    stats_count_rejections_and_duplicates,
    kill9_between_batches_loses_nothing_acked,
    kill9_mid_burst_loses_nothing_and_stores_nothing_twice,
    pb_file_holds_every_event_with_its_agent,
    dnstap_read_decodes_the_dnstap_output,
]


def main():
    global args, port, col
    p = argparse.ArgumentParser()
    p.add_argument("--collector", required=True)
    p.add_argument("--feedtool", required=True)
    p.add_argument("--tmp", required=True)
    p.add_argument("--root", required=True)
    args = p.parse_args()
    port = free_port()
    col = Collector()
    passed = failed = 0
    try:
        col.start()
    except Exception as e:
        print(f"FAIL collector_start: {e}")
        print("collector-e2e: 0 passed, 1 failed")
        return 1
    for case in CASES:
        try:
            if col.proc.poll() is not None:
                col.start()
            case()
            print(f"ok   {case.__name__}")
            passed += 1
        except Exception as e:
            print(f"FAIL {case.__name__}: {type(e).__name__}: {e}")
            failed += 1
    if col.proc.poll() is None:
        col.kill9()
    os.unlink(os.path.join(args.tmp, "collector.pid"))
    print(f"collector-e2e: {passed} passed, {failed} failed")
    return 1 if failed else 0


col = None
if __name__ == "__main__":
    sys.exit(main())
