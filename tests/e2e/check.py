#!/usr/bin/python3
"""End-to-end cases: run real clients in the lab namespace, then look for the agent's events.

Started by tests/e2e/run.sh once unbound, dnsmasq and the agent are up; not meant to be run by hand
(the arguments describe the lab run.sh built). One function per case, named for the behaviour it
checks; cases run in the order of CASES. Each finds its events by qname and the client's own
pid, polls the JSONL file (the agent promises events within 1 s) and fails with what it expected
next to what the events said. Prints "e2e: N passed, M failed" last; exits 1 if any failed.
Stdlib only.
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import struct
import sys
import time

WAIT_S = 5.0  # per expectation: the agent flushes within 1 s, the rest is slack for a busy CI
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
BIG_TXT = ['"txt%02d-%s"' % (i, "0" * 55) for i in range(1, 21)]
VIA_STUB_A = "192.0.2.53"  # unbound's answer for every name below via-stub.example.test
OURS = ("wire_egress", "wire_ingress", "sock_create", "connect4", "connect6", "sendmsg4",
        "sendmsg6", "recvmsg4", "recvmsg6")

args = None
events = None
server_legs = []  # (label, event) of unbound's side of every exchange the cases saw


class Fail(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Reading events

def summary(e):
    """One line per event, with what a person checks first."""
    if e.get("type") != "dns":
        return json.dumps(e)[:200]
    p, n, d = e.get("process") or {}, e.get("net") or {}, e.get("dns") or {}
    answers = [a.get("data") for a in d.get("answers") or []]
    if len(answers) > 3:
        answers = answers[:3] + [f"... {len(answers)} in all"]
    text = (f"{n.get('direction')}/{n.get('role')} {n.get('transport')}{n.get('family')} "
            f"{n.get('src_ip')}:{n.get('src_port')}>{n.get('dst_ip')}:{n.get('dst_port')} "
            f"cookie={n.get('socket_cookie')} pid={p.get('pid')} comm={p.get('comm')} "
            f"id={d.get('id')} qr={d.get('qr')} {d.get('qname')} {d.get('qtype')} "
            f"rcode={d.get('rcode')} flags={d.get('flags')} answers={answers} "
            f"size={d.get('size')} latency_ns={e.get('latency_ns')}")
    if e.get("origin"):
        text += f" origin={e['origin'].get('pid')}/{e['origin'].get('comm')}"
    if "malformed" in e:
        text += f" malformed={e['malformed']!r}"
    return text


# The agent watches the whole host: DNS traffic of anything else running here (a benchmark at
# 20k qps, say) lands in the same file. Only lines that can concern the cases are parsed; the
# others are counted and checked for the shape of a JSON object only.
RELEVANT = (b"example.test", b"probed.test", b"nsprovider.test", b'"type":"stats"', b'"malformed"', b'"type":"finding"')


class Events:
    """The agent's JSONL file, read incrementally. Lines that are not JSON are kept aside.
    relevant: byte strings one of which a line must hold to be parsed (None: every line);
    alive_check: called while waiting, raises Fail when the agent is gone."""

    def __init__(self, path, relevant=RELEVANT, alive_check=None):
        self.path = path
        self.relevant = relevant
        self.alive_check = alive_check or agent_gone_check
        self.pos = 0
        self.partial = b""
        self.items = []
        self.bad_lines = []
        self.foreign = 0  # lines about other DNS traffic on the host

    def refresh(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return
        self.pos += len(data)
        *lines, self.partial = (self.partial + data).split(b"\n")
        for line in lines:
            if not line.strip():
                continue
            if self.relevant and not any(word in line for word in self.relevant):
                self.foreign += 1
                if not (line.startswith(b'{"type":"') and line.endswith(b"}")):
                    self.bad_lines.append(f"not a JSON object: {line[:200]!r}")
                continue
            try:
                self.items.append(json.loads(line))
            except ValueError as err:
                self.bad_lines.append(f"{err}: {line[:200]!r}")

    def wait(self, what, pred, n=1, related=None, timeout=WAIT_S):
        """The first n events matching pred, polling up to timeout s; Fail shows related ones."""
        deadline = time.monotonic() + timeout
        while True:
            self.refresh()
            found = [e for e in self.items if pred(e)]
            if len(found) >= n:
                return found[:n]
            if time.monotonic() > deadline:
                break
            self.alive_check()
            time.sleep(0.05)
        msg = f"{what}: expected {n} event(s) within {timeout:.0f} s, found {len(found)}"
        if self.foreign:
            stats = [e["stats"] for e in self.items if e.get("type") == "stats"]
            drops = (stats[-1].get("kernel_drops") or {}).get("ringbuf_full") if stats else None
            msg += (f"\n  (meanwhile {self.foreign} events about other DNS traffic on this host; "
                    f"latest stats: ringbuf_full={drops}: a load running beside the test?)")
        if related:
            rel = [e for e in self.items if related(e)]
            msg += f"\n  events the agent wrote for it ({len(rel)}):"
            msg += "".join(f"\n    {summary(e)}" for e in rel[:16]) or " none"
        else:
            msg += "".join(f"\n    {json.dumps(e)[:400]}" for e in found)
        raise Fail(msg)


def agent_gone_check():
    """Before the SIGTERM case the agent must be running; say so at once if it is not."""
    if os.path.exists(args.agent_rc_file):
        with open(args.agent_rc_file) as f:
            rc = f.read().strip()
        with open(args.agent_log, errors="replace") as f:
            tail = f.read()[-2000:]
        raise Fail(f"the agent is no longer running (exit status {rc}); its stderr ends with:\n"
                   + "\n".join("    | " + line for line in tail.splitlines()))


def dns(e, qname, qtype=None):
    return (e.get("type") == "dns" and (e.get("dns") or {}).get("qname") == qname
            and (qtype is None or e["dns"].get("qtype") == qtype))


def net(e, key):
    return (e.get("net") or {}).get(key)


def pid_of(e):
    return (e.get("process") or {}).get("pid")


# ---------------------------------------------------------------------------------------------
# Checking values

class Checks:
    """Collects mismatches so that one failure message lists all of them."""

    def __init__(self):
        self.errors = []

    def eq(self, label, got, want, event=None):
        if got != want:
            self.fail(f"{label}: expected {want!r}, got {got!r}", event)

    def true(self, label, ok, event=None):
        if not ok:
            self.fail(label, event)

    def fail(self, msg, event=None):
        if event is not None:
            msg += f"\n      in: {summary(event)}"
        self.errors.append(msg)

    def done(self):
        if self.errors:
            raise Fail("\n".join(self.errors))


def sorted_data(section):
    return sorted(rr.get("data") for rr in section or [])


def expect_exchange(c, *, pid, comm, qname, qtype, transport, family, server_ip, rcode="NOERROR",
                    answers=None, servers=server_legs):
    """The four events of one exchange on loopback: client egress query, server ingress query,
    server egress response, client ingress response (with latency). Returns (query, response)
    as the client saw them. answers: the expected answer data (any order); None skips it.
    servers: the list the server's two events go to, as (label, event)."""
    related = lambda e: dns(e, qname, qtype)  # noqa: E731
    q = events.wait(
        f"{qname} {qtype} {transport}: client egress query from pid {pid}",
        lambda e: (related(e) and net(e, "direction") == "egress" and e["dns"].get("qr") is False
                   and net(e, "transport") == transport and net(e, "dst_port") == 53
                   and net(e, "dst_ip") == server_ip and pid_of(e) == pid),
        related=related)[0]
    port, qid = net(q, "src_port"), q["dns"].get("id")

    def leg(direction, qr, port_key):
        return lambda e: (related(e) and net(e, "direction") == direction
                          and e["dns"].get("qr") is qr and net(e, "transport") == transport
                          and net(e, port_key) == port and e["dns"].get("id") == qid)

    client_resp = leg("ingress", True, "dst_port")
    r = events.wait(f"{qname} {qtype} {transport}: client ingress response to port {port}",
                    client_resp, related=related)[0]

    c.eq(f"{qname} query process.pid", pid_of(q), pid, q)
    c.eq(f"{qname} query process.comm", q["process"].get("comm"), comm, q)
    got_comm, tid = q["process"].get("comm"), q["process"].get("tid")
    if got_comm is not None and got_comm != comm and tid not in (None, pid):
        c.fail(f"  (hint: tid {tid} is not the pid: that comm looks like the sending thread's "
               f"name, not the process's)")
    if got_comm is None and q["process"].get("exe") is None:
        c.fail("  (hint: exe is null too: the client had probably exited before the agent "
               "read its /proc entry)")
    c.eq(f"{qname} query net.role", net(q, "role"), "client", q)
    c.eq(f"{qname} query net.family", net(q, "family"), family, q)
    c.eq(f"{qname} query dns.qtype", q["dns"].get("qtype"), qtype, q)
    c.eq(f"{qname} query dns.qclass", q["dns"].get("qclass"), "IN", q)
    c.eq(f"{qname} query latency_ns", q.get("latency_ns"), None, q)
    c.eq(f"{qname} response process.pid", pid_of(r), pid, r)
    c.eq(f"{qname} response process.comm", r["process"].get("comm"), comm, r)
    c.eq(f"{qname} response net.role", net(r, "role"), "client", r)
    c.eq(f"{qname} response net.family", net(r, "family"), family, r)
    c.eq(f"{qname} response net.src_ip", net(r, "src_ip"), server_ip, r)
    c.eq(f"{qname} response net.socket_cookie", net(r, "socket_cookie"),
         net(q, "socket_cookie"), r)
    c.eq(f"{qname} response dns.rcode", r["dns"].get("rcode"), rcode, r)
    if answers is not None:
        c.eq(f"{qname} response answers' data", sorted_data(r["dns"].get("answers")),
             sorted(answers), r)
    lat = r.get("latency_ns")
    c.true(f"{qname} response latency_ns: expected an integer > 0, got {lat!r}",
           isinstance(lat, int) and not isinstance(lat, bool) and lat > 0, r)

    # Exactly one event per leg (a duplicate would double every count downstream).
    legs = {"client egress query": leg("egress", False, "src_port"),
            "client ingress response": client_resp,
            "server ingress query": leg("ingress", False, "src_port"),
            "server egress response": leg("egress", True, "dst_port")}
    for name in ("server ingress query", "server egress response"):
        e = events.wait(f"{qname} {qtype} {transport}: {name}", legs[name], related=related)[0]
        c.eq(f"{qname} {name} net.role", net(e, "role"), "server", e)
        # Who owns the server's socket is checked across all exchanges in one case
        # (server_side_events_attributed_to_unbound, for servers=server_legs), so that a client
        # case says only what it is about.
        servers.append((f"{qname} {qtype} {transport} {name}", e))
    for name, pred in legs.items():
        n = sum(1 for e in events.items if pred(e))
        c.eq(f"{qname} number of '{name}' events", n, 1)
    return q, r


# ---------------------------------------------------------------------------------------------
# Running clients in the lab namespace

def in_ns(*argv, timeout=15, check=True):
    """Runs argv inside the namespace and waits. `ip netns exec` execs argv in place, so the
    returned pid is the client's own. Returns (pid, output)."""
    p = subprocess.Popen(["ip", "netns", "exec", args.netns, *argv], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    start = time.monotonic()
    try:
        out, _ = p.communicate(timeout=timeout)
        if time.monotonic() - start > 3:
            print(f"    note: {' '.join(argv)} took {time.monotonic() - start:.1f} s")
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        raise Fail(f"{' '.join(argv)} did not finish within {timeout} s: {out}")
    if check and p.returncode != 0:
        raise Fail(f"{' '.join(argv)} exited with {p.returncode}:\n{out}")
    return p.pid, out


def dig(*argv):
    # One try with a short timeout: on loopback nothing is lost, and a hang must not eat the run.
    return in_ns("dig", "+time=3", "+tries=1", *argv)


def proc_stat_ppid(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def proc_cgroup(pid, controller=""):
    """The path of pid's cgroup in the hierarchy of controller ("": the cgroup v2 one)."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if (controller in controllers.split(",")) if controller else controllers == "":
                return path
    return None


# ---------------------------------------------------------------------------------------------
# Cases

def udp4_a_query():
    pid, out = dig(f"@{args.server4}", "a.example.test", "A")
    c = Checks()
    q, r = expect_exchange(c, pid=pid, comm="dig", qname="a.example.test", qtype="A",
                           transport="udp", family=4, server_ip=args.server4,
                           answers=["192.0.2.1", "192.0.2.2"])
    # The envelope a consumer relies on, checked once here.
    for e in (q, r):
        c.eq("type", e.get("type"), "dns", e)
        c.true(f"ts: expected RFC 3339 UTC with nanoseconds, got {e.get('ts')!r}",
               isinstance(e.get("ts"), str) and TS_RE.match(e["ts"]), e)
        c.eq("host", e.get("host"), socket.gethostname(), e)
        c.eq("process.uid", e["process"].get("uid"), 0, e)
    c.eq("query dns.qr", q["dns"].get("qr"), False, q)
    c.eq("query dns.opcode", q["dns"].get("opcode"), "QUERY", q)
    c.true(f"query dns.flags: expected to contain 'rd', got {q['dns'].get('flags')!r}",
           "rd" in (q["dns"].get("flags") or []), q)
    c.true(f"response dns.flags: expected 'aa', 'rd', 'ra', got {r['dns'].get('flags')!r}",
           {"aa", "rd", "ra"} <= set(r["dns"].get("flags") or []), r)
    for rr in r["dns"].get("answers") or []:
        c.eq("answer name", rr.get("name"), "a.example.test", r)
        c.eq("answer type", rr.get("type"), "A", r)
        c.eq("answer class", rr.get("class"), "IN", r)
        c.eq("answer ttl", rr.get("ttl"), 300, r)
    c.eq("query net.src_ip", net(q, "src_ip"), "127.0.0.1", q)
    c.eq("query net.dst_port", net(q, "dst_port"), 53, q)
    c.true("query net.socket_cookie: expected a non-zero integer",
           isinstance(net(q, "socket_cookie"), int) and net(q, "socket_cookie") > 0, q)
    c.done()


def tcp4_query():
    pid, _ = dig("+tcp", f"@{args.server4}", "tcp.example.test", "A")
    c = Checks()
    expect_exchange(c, pid=pid, comm="dig", qname="tcp.example.test", qtype="A",
                    transport="tcp", family=4, server_ip=args.server4, answers=["192.0.2.3"])
    c.done()


def tcp_keepopen_three_queries_one_connection():
    names = ["q1.example.test", "q2.example.test", "q3.example.test"]
    pid, out = dig("+tcp", "+keepopen", f"@{args.server4}", *names)
    c = Checks()
    queries = []
    for i, name in enumerate(names):
        q, _ = expect_exchange(c, pid=pid, comm="dig", qname=name, qtype="A", transport="tcp",
                               family=4, server_ip=args.server4, answers=[f"192.0.2.1{i + 1}"])
        queries.append(q)
    cookies = {net(q, "socket_cookie") for q in queries}
    ports = {net(q, "src_port") for q in queries}
    c.eq("socket cookies of the three queries (one connection)", len(cookies), 1)
    c.eq("source ports of the three queries (one connection)", len(ports), 1)
    if len(cookies) != 1 or len(ports) != 1:
        c.fail("the queries:" + "".join(f"\n      {summary(q)}" for q in queries))
    c.done()


def udp6_query_over_loopback():
    pid, _ = dig(f"@{args.server6}", "v6.example.test", "AAAA")
    c = Checks()
    q, r = expect_exchange(c, pid=pid, comm="dig", qname="v6.example.test", qtype="AAAA",
                           transport="udp", family=6, server_ip=args.server6,
                           answers=["2001:db8::6"])
    c.eq("query net.src_ip", net(q, "src_ip"), "::1", q)
    c.eq("response net.dst_ip", net(r, "dst_ip"), "::1", r)
    c.done()


def edns_response_over_512_bytes():
    pid, out = dig("+bufsize=4096", f"@{args.server4}", "big.example.test", "TXT")
    c = Checks()
    q, r = expect_exchange(c, pid=pid, comm="dig", qname="big.example.test", qtype="TXT",
                           transport="udp", family=4, server_ip=args.server4, answers=BIG_TXT)
    m = re.search(r"MSG SIZE\s+rcvd:\s+(\d+)", out)
    size = r["dns"].get("size")
    c.true(f"response dns.size: expected > 512, got {size!r}", isinstance(size, int)
           and size > 512, r)
    if m:
        c.eq("response dns.size (dig's MSG SIZE rcvd)", size, int(m.group(1)), r)
    c.true(f"response flags: expected no 'tc', got {r['dns'].get('flags')}",
           "tc" not in (r["dns"].get("flags") or []), r)
    qe, re_ = q["dns"].get("edns"), r["dns"].get("edns")
    c.eq("query dns.edns.udp_size", (qe or {}).get("udp_size"), 4096, q)
    c.true(f"response dns.edns: expected an object with udp_size, got {re_!r}",
           isinstance(re_, dict) and isinstance(re_.get("udp_size"), int), r)
    c.eq("response dns.edns.udp_size (unbound's edns-buffer-size)",
         (re_ or {}).get("udp_size"), 4096, r)
    c.eq("response dns.edns.version", (re_ or {}).get("version"), 0, r)
    c.done()


def truncated_udp_then_tcp_retry():
    # Without EDNS a UDP response is limited to 512 bytes: unbound sets TC=1 and dig retries
    # over TCP, from the same process.
    pid, out = dig("+noedns", f"@{args.server4}", "trunc.example.test", "TXT")
    c = Checks()
    if "Truncated, retrying in TCP mode" not in out:
        c.fail(f"dig did not report a truncated response; its output:\n{out}")
    uq, ur = expect_exchange(c, pid=pid, comm="dig", qname="trunc.example.test", qtype="TXT",
                             transport="udp", family=4, server_ip=args.server4)
    c.true(f"UDP response flags: expected 'tc', got {ur['dns'].get('flags')!r}",
           "tc" in (ur["dns"].get("flags") or []), ur)
    c.true(f"UDP response dns.size: expected <= 512, got {ur['dns'].get('size')!r}",
           isinstance(ur["dns"].get("size"), int) and ur["dns"]["size"] <= 512, ur)
    c.eq("UDP query dns.edns", uq["dns"].get("edns"), None, uq)
    tq, tr = expect_exchange(c, pid=pid, comm="dig", qname="trunc.example.test", qtype="TXT",
                             transport="tcp", family=4, server_ip=args.server4,
                             answers=BIG_TXT)
    c.true(f"TCP response flags: expected no 'tc', got {tr['dns'].get('flags')!r}",
           "tc" not in (tr["dns"].get("flags") or []), tr)
    c.true(f"TCP response dns.size: expected > 512, got {tr['dns'].get('size')!r}",
           isinstance(tr["dns"].get("size"), int) and tr["dns"]["size"] > 512, tr)
    c.done()


def nxdomain():
    pid, _ = dig(f"@{args.server4}", "nope.example.test", "A")
    c = Checks()
    q, r = expect_exchange(c, pid=pid, comm="dig", qname="nope.example.test", qtype="A",
                           transport="udp", family=4, server_ip=args.server4, rcode="NXDOMAIN",
                           answers=[])
    auth = r["dns"].get("authority") or []
    c.eq("response authority types", [rr.get("type") for rr in auth], ["SOA"], r)
    if auth:
        c.eq("response authority[0].name", auth[0].get("name"), "example.test", r)
    c.done()


def python_getaddrinfo():
    # glibc's stub resolver, pointed at unbound by /etc/netns/NS/resolv.conf: A and AAAA.
    code = 'import socket; socket.getaddrinfo("py.example.test", 80)'
    pid, _ = in_ns("/usr/bin/python3", "-c", code)
    c = Checks()
    for qtype, data in (("A", "192.0.2.8"), ("AAAA", "2001:db8::8")):
        expect_exchange(c, pid=pid, comm="python3", qname="py.example.test", qtype=qtype,
                        transport="udp", family=4, server_ip=args.server4, answers=[data])
    c.done()


def socket_opened_before_agent_is_attributed():
    # run.sh started this python client and let it connect before it started the agent.
    pid = args.preopened_pid
    expected = {"ppid": proc_stat_ppid(pid), "exe": os.path.realpath(f"/proc/{pid}/exe")}
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        expected_cmdline = f.read().rstrip(b"\0").replace(b"\0", b" ").decode()
    expected_cgroup = proc_cgroup(pid)
    open(os.path.join(args.tmp, "preopened.go"), "w").close()
    try:
        answer_file = os.path.join(args.tmp, "preopened.answer")
        deadline = time.monotonic() + WAIT_S
        while not os.path.exists(answer_file) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not os.path.exists(answer_file):
            log = open(os.path.join(args.tmp, "preopened.log"), errors="replace").read()
            raise Fail(f"the pre-opened client got no response: {log}")
        c = Checks()
        q, r = expect_exchange(c, pid=pid, comm="python3", qname="pre.example.test",
                               qtype="A", transport="tcp", family=4, server_ip=args.server4,
                               answers=["192.0.2.9"])
        # The process is still alive: everything /proc knows must be there.
        c.eq("query process.ppid", q["process"].get("ppid"), expected["ppid"], q)
        c.eq("query process.exe", q["process"].get("exe"), expected["exe"], q)
        c.eq("query process.cmdline", q["process"].get("cmdline"), expected_cmdline, q)
        c.eq("query process.cgroup", q["process"].get("cgroup"), expected_cgroup, q)
        c.eq("query process.gid", q["process"].get("gid"), 0, q)
        c.done()
    finally:
        open(os.path.join(args.tmp, "preopened.done"), "w").close()


def socket_in_net_cls_cgroup_opened_before_agent_is_attributed():
    # run.sh put this python process into a net_cls cgroup with a class of its own, where it
    # bound a UDP socket to HELD:53 before the agent started. It never reads or sends on it:
    # no socket hook and no egress packet names it, only the agent's scan of older sockets
    # can. That scan used to pass over processes whose net_cls cgroup was not the agent's.
    pid = args.held_pid
    c = Checks()
    cls, agent_cls = proc_cgroup(pid, "net_cls"), proc_cgroup(args.agent_pid, "net_cls")
    c.true(f"setup: the holder's net_cls cgroup should differ from the agent's; they are "
           f"{cls!r} and {agent_cls!r}", cls is not None and cls != agent_cls)
    expected_cgroup = proc_cgroup(pid)
    # Nobody answers: one try with a short timeout.
    client, _ = in_ns("dig", "+time=1", "+tries=1", f"@{args.held_addr}", "cls.example.test",
                      "A", check=False)
    related = lambda e: dns(e, "cls.example.test", "A")  # noqa: E731
    q = events.wait(f"cls.example.test A: the query arriving at {args.held_addr}:53",
                    lambda e: (related(e) and net(e, "direction") == "ingress"
                               and e["dns"].get("qr") is False
                               and net(e, "dst_ip") == args.held_addr),
                    related=related)[0]
    c.eq("query process.pid (the holder's)", pid_of(q), pid, q)
    c.eq("query process.comm", q["process"].get("comm"), "python3", q)
    c.eq("query process.cgroup", q["process"].get("cgroup"), expected_cgroup, q)
    c.eq("query net.role", net(q, "role"), "server", q)
    sent = events.wait("cls.example.test A: dig's query", lambda e: (
        related(e) and net(e, "direction") == "egress" and net(e, "dst_ip") == args.held_addr),
        related=related)[0]
    c.eq("dig's query process.pid", pid_of(sent), client, sent)
    c.done()


def stub_pid_for(qname):
    """The pid dnsmasq logs with its query for qname: its own, or that of the child it forked
    to serve the TCP connection the query came on (which may be gone before the agent could
    read /proc: nothing else names it)."""
    logged = re.compile(rf"dnsmasq\[(\d+)\]: query\[A\] {re.escape(qname)} from ")
    deadline = time.monotonic() + WAIT_S
    while True:
        with open(args.stub_log, errors="replace") as f:
            log = f.read()
        m = logged.search(log)
        if m:
            return int(m.group(1))
        if time.monotonic() > deadline:
            raise Fail(f"dnsmasq logged no query for {qname}; its log ends with:\n"
                       + "\n".join("    | " + line for line in log.splitlines()[-10:]))
        time.sleep(0.05)


def client_via_stub_upstream_has_origin(transport):
    """dig asks dnsmasq over transport a name it has never cached; dnsmasq forwards it to
    unbound over the same transport (a TCP query from the child serving that connection).
    The stub's upstream query and its response must name dig as their origin, and every
    event of the stub's must name the stub's process."""
    qname = f"{transport}-{os.getpid()}.via-stub.example.test"
    pid, _ = dig(*(["+tcp"] if transport == "tcp" else []), f"@{args.stub4}", qname, "A")
    c = Checks()
    stub_legs = []
    expect_exchange(c, pid=pid, comm="dig", qname=qname, qtype="A", transport=transport,
                    family=4, server_ip=args.stub4, answers=[VIA_STUB_A], servers=stub_legs)
    stub = stub_pid_for(qname)
    for label, e in stub_legs:
        c.eq(f"{label} process.pid (dnsmasq's, as it logged)", pid_of(e), stub, e)
        c.eq(f"{label} process.comm", e["process"].get("comm"), "dnsmasq", e)
    up_q, up_r = expect_exchange(c, pid=stub, comm="dnsmasq", qname=qname, qtype="A",
                                 transport=transport, family=4, server_ip=args.server4,
                                 answers=[VIA_STUB_A])
    for what, e in (("upstream query", up_q), ("upstream response", up_r)):
        origin = e.get("origin") or {}
        c.eq(f"{qname} {what} origin.pid (dig's)", origin.get("pid"), pid, e)
        c.eq(f"{qname} {what} origin.comm", origin.get("comm"), "dig", e)
    c.done()


def tcp_client_via_stub_upstream_has_origin():
    # The hard path: the owner of the stub's socket is unknown when the client's query is
    # captured, so the agent parks the message. dnsmasq reads the query from a socket accept()
    # made, and no socket hook names that socket's owner before the stub writes on it: there is
    # no cgroup sock_create for the kernel's clone of the listener, the connect/sendmsg/recvmsg
    # hooks run for TCP connects and UDP only, and the capture learns a socket's owner from the
    # first packet the process sends on it: dnsmasq's response, after its upstream exchange.
    # (The socket scan an unknown owner starts runs after the capture, on another thread.)
    client_via_stub_upstream_has_origin("tcp")


def udp_client_via_stub_upstream_has_origin():
    # The easy path, for comparison: dnsmasq's UDP socket is older than the agent and its owner
    # known from the agent's start-up scan (and every recvmsg hook).
    client_via_stub_upstream_has_origin("udp")


def server_side_events_attributed_to_unbound():
    # unbound's UDP socket and its listening TCP socket predate the agent; each TCP
    # connection's socket is accepted while the agent runs.
    c = Checks()
    c.true("no server-side events were collected by the cases before this one", server_legs)
    for transport in ("udp", "tcp"):
        legs = [(label, e) for label, e in server_legs if net(e, "transport") == transport]
        c.true(f"no {transport} server-side events were collected", legs)
        wrong = [(label, e) for label, e in legs
                 if pid_of(e) != args.unbound_pid or e["process"].get("comm") != "unbound"]
        if wrong:
            c.fail(f"{len(wrong)} of {len(legs)} {transport} server-side events are not "
                   f"attributed to unbound (pid {args.unbound_pid}, comm unbound):"
                   + "".join(f"\n      {label}: {summary(e)}" for label, e in wrong[:8]))
    c.done()


def stats_event_reports_no_drops():
    # A stats event written after every case above ran (-s 1: one a second).
    events.refresh()
    before = sum(1 for e in events.items if e.get("type") == "stats")
    st = events.wait("a stats event", lambda e: e.get("type") == "stats", n=before + 1,
                     timeout=3.0)[-1]
    s = st.get("stats") or {}
    c = Checks()
    for key in ("packets", "messages", "parse_errors", "tcp_gaps", "unattributed_packets",
                "kernel_drops", "ringbuf_drops_per_cpu"):
        c.true(f"stats.{key}: missing (keys: {sorted(s)})", key in s)
    if events.foreign:
        print(f"    note: {events.foreign} events so far are other DNS traffic on this host")
    c.eq("stats.kernel_drops.ringbuf_full", (s.get("kernel_drops") or {}).get("ringbuf_full"), 0)
    per_cpu = s.get("ringbuf_drops_per_cpu")
    c.true(f"stats.ringbuf_drops_per_cpu: expected {os.cpu_count()} zeros, got {per_cpu!r}",
           isinstance(per_cpu, list) and len(per_cpu) == os.cpu_count()
           and all(x == 0 for x in per_cpu))
    c.eq("stats.parse_errors", s.get("parse_errors"), 0)
    c.eq("stats.tcp_gaps (loopback loses nothing)", s.get("tcp_gaps"), 0)
    dns_events = sum(1 for e in events.items if e.get("type") == "dns")
    c.true(f"stats.messages: expected >= {dns_events} (dns events so far), got "
           f"{s.get('messages')!r}", isinstance(s.get("messages"), int)
           and s["messages"] >= dns_events)
    c.true(f"stats.type/ts: expected a stats event with an RFC 3339 ts, got {summary(st)}",
           isinstance(st.get("ts"), str) and TS_RE.match(st["ts"]))
    c.done()


README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "README.md")
JSON_TYPES = {"integer": int, "string": str, "boolean": bool, "array": list, "object": dict}


def readme_stats_paths():
    """(path, type, nullable) of every row of the README's stats table."""
    rows, section = [], None
    for line in open(README):
        if line.startswith("`stats` events"):
            section = "stats"
        elif line.startswith("## "):
            section = None
        elif section and line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            prev = None
            for p in re.findall(r"`([^`]+)`", cells[0]):
                path = prev.rsplit(".", 1)[0] + p if p.startswith(".") else p
                rows.append((path, cells[1].split()[0], cells[1].endswith("or null")))
                prev = path
    return rows


def stats_event_has_every_counter_the_readme_lists():
    # The unit contract test renders the kernel-free modules' counters; this one checks
    # what a whole agent declares (wire, socket scans, resolver) against the README.
    events.refresh()
    st = [e for e in events.items if e.get("type") == "stats"][-1]
    rows = readme_stats_paths()
    c = Checks()
    c.true(f"README stats rows: expected over 30, got {len(rows)}", len(rows) > 30)
    for path, typ, nullable in rows:
        v = st
        for key in path.split("."):
            v = v.get(key, KeyError) if isinstance(v, dict) else KeyError
        if v is KeyError:
            c.fail(f"{path}: the README lists it, the agent's stats do not have it")
        elif not (v is None and nullable) and (
                not isinstance(v, JSON_TYPES[typ]) or (typ == "integer" and isinstance(v, bool))):
            c.fail(f"{path}: expected {typ}, got {v!r}")
    listed = {path for path, _, _ in rows}
    for key, v in st["stats"].items():
        c.true(f"stats.{key}: the agent reports it, the README does not list it",
               f"stats.{key}" in listed)
    c.done()


def malformed_query_is_reported_not_fatal():
    too_short = "0102030405"
    # Header: id 0xbad1, RD, QDCOUNT 1; the question name is a pointer to itself (offset 12).
    loop = "bad1" "0100" "0001" "0000" "0000" "0000" "c00c" "0001" "0001"
    pid, out = in_ns("/usr/bin/python3", args.client, "udp-raw", "--server", args.server4,
                     too_short, loop)
    related = lambda e: e.get("type") == "dns" and pid_of(e) == pid  # noqa: E731
    bad = events.wait(f"two malformed egress events (one per datagram) from pid {pid}",
                      lambda e: (related(e) and e.get("malformed")
                                 and net(e, "direction") == "egress"), n=2,
                      related=lambda e: "malformed" in e)
    c = Checks()
    for e in bad:
        c.true(f"malformed: expected a non-empty reason string, got {e.get('malformed')!r}",
               isinstance(e.get("malformed"), str) and e["malformed"], e)
        c.eq("malformed event net.transport", net(e, "transport"), "udp", e)
        c.eq("malformed event process.comm", e["process"].get("comm"), "python3", e)
    sizes = sorted((e.get("dns") or {}).get("size") for e in bad)
    c.eq("sizes of the two malformed messages", sizes, [5, 18])
    # Still alive and still capturing.
    pid2, _ = dig(f"@{args.server4}", "after-malformed.example.test", "A")
    expect_exchange(c, pid=pid2, comm="dig", qname="after-malformed.example.test", qtype="A",
                    transport="udp", family=4, server_ip=args.server4, answers=["192.0.2.12"])
    c.done()


def bpftool_json(*argv):
    out = subprocess.run(["bpftool", "-j", *argv], capture_output=True, text=True, timeout=10)
    if out.returncode != 0:
        raise Fail(f"bpftool {' '.join(argv)} failed: {out.stderr.strip()}")
    return json.loads(out.stdout.strip() or "[]")  # cgroup show prints nothing when empty


def prog_ids_held_by(pid):
    """The ids of the BPF programs a process holds, from its fdinfo: by id, another dnsvigil
    on this machine cannot be mistaken for it."""
    ids = set()
    fdinfo = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(fdinfo):
        try:
            with open(os.path.join(fdinfo, fd)) as f:
                ids.update(int(line.split()[1]) for line in f if line.startswith("prog_id:"))
        except OSError:
            pass
    return ids


def agent_exits_zero_on_sigterm():
    ids = prog_ids_held_by(args.agent_pid)
    names = {p["id"]: p.get("name") for p in bpftool_json("prog", "show") if p["id"] in ids}
    attached = {p["id"] for p in bpftool_json("cgroup", "show", args.cgroup_root)}
    c = Checks()
    c.true(f"the agent should hold wire_egress and wire_ingress before SIGTERM; it holds "
           f"{sorted(names.values())}", {"wire_egress", "wire_ingress"} <= set(names.values()))
    c.true(f"programs attached at {args.cgroup_root} should include the agent's; attached "
           f"{sorted(attached)}, agent's {sorted(names)}", attached & ids)
    os.kill(args.agent_pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while not os.path.exists(args.agent_rc_file) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not os.path.exists(args.agent_rc_file):
        c.fail("the agent did not exit within 5 s of SIGTERM")
        c.done()
    time.sleep(0.05)  # the wrapper writes the status right after wait returns
    with open(args.agent_rc_file) as f:
        c.eq("agent exit status after SIGTERM", f.read().strip(), "0")
    # Program ids are freed once the last reference goes (an RCU grace period later).
    deadline = time.monotonic() + 3
    while True:
        left = {p["id"]: p.get("name") for p in bpftool_json("prog", "show") if p["id"] in ids}
        still = {p["id"] for p in bpftool_json("cgroup", "show", args.cgroup_root)} & ids
        if not left and not still or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    c.eq(f"agent programs still attached at {args.cgroup_root}", sorted(still), [])
    c.eq("agent programs still loaded", left, {})
    ours_loaded = [p for p in bpftool_json("prog", "show") if p.get("name") in OURS]
    if ours_loaded:
        print(f"    note: programs named like ours are loaded, not the agent's we started "
              f"(another dnsvigil?): {[(p['id'], p.get('name')) for p in ours_loaded]}")
    c.done()


def output_lines_are_json_events():
    events.refresh()
    c = Checks()
    c.eq("lines that are not JSON", events.bad_lines[:5], [])
    if events.partial.strip():
        c.fail(f"the file ends with an unterminated line: {events.partial[:200]!r}")
    types = {}
    for e in events.items:
        types[e.get("type")] = types.get(e.get("type"), 0) + 1
        if not (isinstance(e.get("ts"), str) and TS_RE.match(e["ts"])):
            c.fail(f"ts: expected RFC 3339 UTC with nanoseconds, got {e.get('ts')!r}", e)
            break
    c.true(f"event types: expected only dns, timeout, stats, resolver_call, finding, got {types}",
           set(types) <= {"dns", "timeout", "stats", "resolver_call", "finding"}
           and "dns" in types)
    if events.foreign:
        print(f"    note: {events.foreign} lines about other DNS traffic on this host were only "
              f"checked for the shape of a JSON object")
    c.done()

# ---------------------------------------------------------------------------------------------
# Correlation: each case's client fires exactly the finding it is about, attributed to it.

def findings_of(pid):
    return [e for e in events.items if e.get("type") == "finding" and pid_of(e) == pid]


def expect_finding(c, pid, rule, severity, attack, qname, domain):
    f = events.wait(f"{rule} finding for pid {pid}",
                    lambda e: (e.get("type") == "finding" and pid_of(e) == pid
                               and (e.get("finding") or {}).get("rule") == rule),
                    related=lambda e: e.get("type") == "finding")[0]
    c.eq(f"{rule} finding.severity", f["finding"].get("severity"), severity, f)
    c.eq(f"{rule} finding.attack", f["finding"].get("attack"), attack, f)
    c.eq(f"{rule} dns.qname", (f.get("dns") or {}).get("qname"), qname, f)
    c.eq(f"{rule} finding.registered_domain", f["finding"].get("registered_domain"), domain, f)
    time.sleep(0.3)  # anything else it fired is written by now
    events.refresh()
    c.eq(f"rules fired for pid {pid}", sorted({e["finding"]["rule"] for e in findings_of(pid)}),
         [rule])
    return f


def axfr_attempt_is_a_zone_transfer_finding():
    pid, _ = in_ns("dig", "+time=3", "+tries=1", f"@{args.server4}", "example.test", "AXFR",
                   check=False)
    c = Checks()
    f = expect_finding(c, pid, "zone.transfer", "medium", ["T1590.002"], "example.test",
                       "example.test")
    c.eq("zone.transfer evidence.server", f["finding"]["evidence"].get("server"), args.server4, f)
    c.eq("zone.transfer evidence.qtype", f["finding"]["evidence"].get("qtype"), "AXFR", f)
    q = events.wait("the AXFR query as dig sent it",
                    lambda e: (dns(e, "example.test", "AXFR") and pid_of(e) == pid
                               and net(e, "direction") == "egress"))[0]
    c.eq("AXFR query findings[].rule", [x.get("rule") for x in q.get("findings") or []],
         ["zone.transfer"], q)
    c.done()


def nxdomain_burst_over_many_domains_is_a_dga_finding():
    # one dig, 20 names each under a registered domain of its own, all NXDOMAIN; qx1zv..qx9zv
    # are too short for the DGA score, the 11 from qx10zv on look generated: high
    names = [f"qx{i}zv.dgalab" for i in range(1, 21)]
    pid, _ = dig(f"@{args.server4}", *names)
    c = Checks()
    f = expect_finding(c, pid, "dga.nxdomain", "high", ["T1568.002"], "qx20zv.dgalab",
                       "qx20zv.dgalab")
    c.eq("dga.nxdomain evidence.distinct_domains",
         f["finding"]["evidence"].get("distinct_domains"), 20, f)
    c.eq("dga.nxdomain evidence.generated_domains",
         f["finding"]["evidence"].get("generated_domains"), 11, f)
    c.done()


def long_labels_are_a_tunnel_finding():
    label = "mzxw6ytboi2dsnzqgezdgnbvgy3tqojqgezdgnbvgy3tqojqgeza"  # 52 characters
    pid, _ = dig(f"@{args.server4}", f"{label}.t.dgalab", "TXT")
    c = Checks()
    f = expect_finding(c, pid, "dns.tunnel", "medium", ["T1071.004", "T1048.003"],
                       f"{label}.t.dgalab", "t.dgalab")
    c.eq("dns.tunnel evidence.subdomain_length", f["finding"]["evidence"].get("subdomain_length"),
         len(label), f)
    c.done()



def many_txt_queries_under_one_domain_are_a_tunnel_finding():
    # one dig, 10 TXT queries for distinct names under tx.dgalab (NXDOMAIN: the queries count)
    names = [f"c{i}.tx.dgalab" for i in range(10)]
    pid, _ = dig(f"@{args.server4}", *[x for n in names for x in (n, "TXT")])
    c = Checks()
    f = expect_finding(c, pid, "dns.tunnel", "medium", ["T1071.004", "T1048.003"],
                       "c9.tx.dgalab", "tx.dgalab")
    ev = f["finding"]["evidence"]
    c.eq("dns.tunnel evidence.reason", ev.get("reason"), "txt volume", f)
    c.eq("dns.tunnel evidence.qtype", ev.get("qtype"), "TXT", f)
    c.eq("dns.tunnel evidence.queries", ev.get("queries"), 10, f)
    c.done()


LEARNING_S = 3  # run.sh: --threshold new_domain_learning=3
checks_started = time.monotonic()


def wait_learning_over():
    """domain.new's learning began with the first lookup the agent judged, at the latest the
    first case's: over a second after its end."""
    left = checks_started + LEARNING_S + 1 - time.monotonic()
    if left > 0:
        time.sleep(left)


def then_judged(pid):
    """Waits until the agent has judged what pid did before its q1.example.test lookup (a
    dig asks its names in order), then returns pid's findings."""
    events.wait(f"the q1.example.test response to pid {pid}",
                lambda e: (dns(e, "q1.example.test") and pid_of(e) == pid
                           and net(e, "direction") == "ingress"))
    time.sleep(0.3)
    events.refresh()
    return findings_of(pid)


def a_domain_first_resolved_after_learning_is_a_domain_new_finding():
    wait_learning_over()
    pid, _ = dig(f"@{args.server4}", "a.flux.fluxlab")
    c = Checks()
    f = expect_finding(c, pid, "domain.new", "info", ["T1583.001"], "a.flux.fluxlab",
                       "flux.fluxlab")
    first = f["finding"]["evidence"].get("first_seen")
    c.true(f"domain.new evidence.first_seen: expected about now, got {first!r}",
           isinstance(first, int) and abs(first - time.time()) < 60, f)
    # once per host: another process resolving it is told nothing
    pid, _ = dig(f"@{args.server4}", "a.flux.fluxlab", "q1.example.test")
    c.eq("findings for a later resolver of flux.fluxlab", then_judged(pid), [])
    c.done()


def low_ttl_answers_across_many_networks_are_a_fastflux_finding():
    # a.flux.fluxlab: 4 addresses in 4 /24s (87.44); b.flux.fluxlab's 4 more tip it
    in_ns("dig", "+time=3", "+tries=1", f"@{args.server4}", "a.flux.fluxlab")
    pid, _ = dig(f"@{args.server4}", "b.flux.fluxlab")
    c = Checks()
    f = expect_finding(c, pid, "fastflux", "medium", ["T1568.001"], "b.flux.fluxlab",
                       "flux.fluxlab")
    ev = f["finding"]["evidence"]
    c.eq("fastflux evidence.addresses", ev.get("addresses"), 8, f)
    c.eq("fastflux evidence.networks", ev.get("networks"), 8, f)
    c.eq("fastflux evidence.min_ttl", ev.get("min_ttl"), 60, f)
    c.eq("fastflux evidence.score", ev.get("score"), "158.88", f)
    # the domain's property, once a window: the next process to resolve it is told nothing
    pid, _ = dig(f"@{args.server4}", "b.flux.fluxlab", "q1.example.test")
    c.eq("findings for a later resolver of flux.fluxlab", then_judged(pid), [])
    c.done()


def a_cdn_answering_from_three_networks_is_no_fastflux():
    wait_learning_over()
    pid, out = dig(f"@{args.server4}", "img.cdn.cdnlab")
    c = Checks()
    c.eq("A records dig got for img.cdn.cdnlab", out.count("\tA\t"), 70)
    # new to the host, so domain.new; 70 addresses at TTL 20, but in 3 /24s: no fastflux
    expect_finding(c, pid, "domain.new", "info", ["T1583.001"], "img.cdn.cdnlab", "cdn.cdnlab")
    c.done()


def query_to_a_resolver_not_configured_is_a_bypass_finding():
    # The namespace's resolv.conf names unbound only; dnsmasq, the stub, is another server.
    # The rule reads the sender's resolv.conf through /proc when the agent gets to the query,
    # up to a poll later: this client stays a second (an unanswered 1-byte datagram), where
    # dig is gone at once (a blind spot the README names).
    name = b"".join(bytes([len(x)]) + x.encode() for x in "bypass.example.test".split("."))
    query = (struct.pack("!HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + name + b"\x00"
             + struct.pack("!HH", 1, 1))
    pid, _ = in_ns("/usr/bin/python3", args.client, "udp-raw", "--server", args.stub4,
                   query.hex(), "00")
    c = Checks()
    f = expect_finding(c, pid, "resolver.bypass", "medium", ["T1071.004"], "bypass.example.test",
                       "example.test")
    c.eq("resolver.bypass evidence.server", f["finding"]["evidence"].get("server"), args.stub4, f)
    c.eq("resolver.bypass evidence.configured", f["finding"]["evidence"].get("configured"),
         [args.server4], f)
    # dnsmasq's own upstream query to unbound (it serves DNS here) is no bypass
    stub = [e for e in events.items if e.get("type") == "finding"
            and (e.get("process") or {}).get("comm") == "dnsmasq"]
    c.eq("findings for dnsmasq", stub, [])
    c.done()


def intel_listed_name_is_an_intel_qname_finding_and_passthru_is_not():
    c = Checks()
    pid, _ = dig(f"@{args.server4}", "www.listed.example.test", "A")
    f = expect_finding(c, pid, "intel.qname", "medium", ["T1071.004"], "www.listed.example.test",
                       "example.test")
    ev = f["finding"]["evidence"]
    c.eq("intel.qname evidence.indicator", ev.get("indicator"), "*.listed.example.test", f)
    c.eq("intel.qname evidence.action", ev.get("action"), "nxdomain", f)
    c.true(f"intel.qname evidence.source: expected lab.rpz:4, got {ev.get('source')!r}",
           str(ev.get("source")).endswith("/intel/lab.rpz:4"), f)
    pid, _ = dig(f"@{args.server4}", "ok.listed.example.test", "A")
    events.wait("the allowlisted lookup's response",
                lambda e: dns(e, "ok.listed.example.test") and pid_of(e) == pid
                and e["dns"].get("qr") is True)
    time.sleep(0.3)
    events.refresh()
    c.eq("findings for the rpz-passthru name", findings_of(pid), [])
    c.done()


def agent_log_since(start):
    with open(args.agent_log, errors="replace") as f:
        return f.read()[start:]


def wait_agent_log(start, text, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in agent_log_since(start):
            return
        time.sleep(0.05)
    raise Fail(f"the agent did not log {text!r} within {timeout} s; it logged:\n"
               + agent_log_since(start)[-2000:])


def intel_reloads_on_sighup_and_a_bad_file_keeps_the_intel_before():
    intel = os.path.join(args.tmp, "intel")
    c = Checks()
    start = len(agent_log_since(0))
    with open(os.path.join(intel, "more.rpz"), "w") as f:
        f.write("$ORIGIN rpz.more.\n@ SOA a. b. 1 3600 600 86400 300\nnew.example.test CNAME .\n")
    os.kill(args.agent_pid, signal.SIGHUP)
    wait_agent_log(start, "threat intel reload")
    pid, _ = dig(f"@{args.server4}", "new.example.test", "A")
    expect_finding(c, pid, "intel.qname", "medium", ["T1071.004"], "new.example.test",
                   "example.test")
    # a broken file: the reload fails, saying where, and the intel before keeps matching
    start = len(agent_log_since(0))
    with open(os.path.join(intel, "broken.rpz"), "w") as f:
        f.write("$ORIGIN rpz.broken.\n$INCLUDE /etc/passwd\n")
    os.kill(args.agent_pid, signal.SIGHUP)
    wait_agent_log(start, "the intel loaded before stays in use")
    log = agent_log_since(start)
    c.true(f"the failed reload names the file: {log[-600:]!r}", "broken.rpz:2" in log)
    pid, _ = dig(f"@{args.server4}", "www.listed.example.test", "A")
    expect_finding(c, pid, "intel.qname", "medium", ["T1071.004"], "www.listed.example.test",
                   "example.test")
    os.unlink(os.path.join(intel, "broken.rpz"))
    c.done()


def active_ns_asks_the_clients_server_marked_and_teaches_the_ns_set():
    """--active-ns: a stub answer (A, no NS) makes the agent ask the server dig asked, from
    dig's namespace, for the domain's NS set and its names' addresses; those messages are the
    agent's own (agent_probe), nothing is judged on them, and the store learns the set."""
    # a client that lives on after its answer (dig exits before the agent has read it), until
    # the agent has opened its namespace: the probe's query is on the wire
    query = "7001" "0100" "0001" "0000" "0000" "0000" "03777777" "0670726f626564" "0474657374" \
        "00" "0001" "0001"  # www.probed.test A, RD
    client = subprocess.Popen(["ip", "netns", "exec", args.netns, "/usr/bin/python3",
                               args.client, "udp-raw", "--linger", "20", "--server",
                               args.server4, query], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid = client.pid
    try:
        events.wait("the agent's probed.test NS query",
                    lambda e: dns(e, "probed.test", "NS") and pid_of(e) == args.agent_pid,
                    timeout=3 * WAIT_S)
    finally:
        client.kill()
        client.wait()
    c = Checks()
    _, r = expect_exchange(c, pid=pid, comm="python3", qname="www.probed.test", qtype="A",
                           transport="udp", family=4, server_ip=args.server4,
                           answers=["192.0.2.100"], servers=[])
    c.eq("dig's response: no NS records anywhere", [rr.get("type") for s in ("answers",
         "authority") for rr in r["dns"].get(s) or [] if rr.get("type") == "NS"], [], r)
    c.eq("dig's response agent_probe", r.get("agent_probe"), None, r)
    # 127.53.0.1 is the lab namespace's: an answer from it means the socket was made there
    q, pr = expect_exchange(c, pid=args.agent_pid, comm="dnsvigil", qname="probed.test",
                            qtype="NS", transport="udp", family=4, server_ip=args.server4,
                            answers=["ns1.probed.test.", "ns2.nsprovider.test."], servers=[])
    for e in (q, pr):
        c.eq("the probe's agent_probe", e.get("agent_probe"), True, e)
        c.eq("the probe's findings", e.get("findings"), None, e)
    c.true("the probe's query asks for recursion", "rd" in (q["dns"].get("flags") or []), q)
    for name, qtype in (("ns1.probed.test", "A"), ("ns2.nsprovider.test", "AAAA")):
        e = events.wait(f"the agent's {name} {qtype} response",
                        lambda e: (dns(e, name, qtype) and pid_of(e) == args.agent_pid
                                   and e["dns"].get("qr") and net(e, "role") == "client"),
                        related=lambda e: dns(e, name))[0]
        c.eq(f"{name} {qtype} agent_probe", e.get("agent_probe"), True, e)
    time.sleep(1.5)  # a finding would follow its event at once; the store flushes each second
    events.refresh()
    own = [e for e in events.items if e.get("type") == "finding" and pid_of(e) == args.agent_pid]
    c.eq("findings about the agent's own process", [summary(e) for e in own], [])
    out = subprocess.run([args.agent_bin, "pdns", "--state-dir", args.state_dir],
                         capture_output=True, text=True, timeout=10)
    c.eq("dnsvigil pdns exit status", out.returncode, 0)
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    ns = sorted(row.get("rdata") for row in rows
                if row.get("rrname") == "probed.test" and row.get("rrtype") == "NS")
    c.eq("the NS set in the passive DNS export", ns, ["ns1.probed.test", "ns2.nsprovider.test"])
    # the client's lookup passed before its nameservers were known: judged again once the
    # probe taught them (5 s after), its finding attributed to the client, not the agent
    f = events.wait("intel.nsdname on the client's lookup, after the probe",
                    lambda e: (e.get("type") == "finding" and pid_of(e) == pid
                               and e["finding"].get("rule") == "intel.nsdname"),
                    timeout=4 * WAIT_S)[0]["finding"]
    c.eq("the rechecked finding's nameserver and seen_in",
         (f["evidence"].get("nameserver"), f["evidence"].get("seen_in"),
          f.get("registered_domain")),
         ("ns2.nsprovider.test", "active lookup", "probed.test"), f)
    # the probe's five answers (NS, then A and AAAA of its two names) counted; a stats event
    # written between two of its lookups has fewer
    stats = events.wait("a stats event after the probe", lambda e: e.get("type") == "stats"
                        and (e["stats"].get("active_ns_answers") or 0) >= 5)[0]["stats"]
    c.true(f"active_ns stats: {dict((k, v) for k, v in stats.items() if 'active' in k)}",
           stats.get("active_ns_requests", 0) >= 1
           and stats.get("active_ns_queries", 0) >= stats["active_ns_answers"])
    c.done()


CASES = [
    udp4_a_query,
    tcp4_query,
    tcp_keepopen_three_queries_one_connection,
    udp6_query_over_loopback,
    edns_response_over_512_bytes,
    truncated_udp_then_tcp_retry,
    nxdomain,
    python_getaddrinfo,
    socket_opened_before_agent_is_attributed,
    socket_in_net_cls_cgroup_opened_before_agent_is_attributed,
    tcp_client_via_stub_upstream_has_origin,
    udp_client_via_stub_upstream_has_origin,
    server_side_events_attributed_to_unbound,  # after every case that makes exchanges
    stats_event_reports_no_drops,
    stats_event_has_every_counter_the_readme_lists,
    malformed_query_is_reported_not_fatal,
    axfr_attempt_is_a_zone_transfer_finding,
    nxdomain_burst_over_many_domains_is_a_dga_finding,
    long_labels_are_a_tunnel_finding,
    many_txt_queries_under_one_domain_are_a_tunnel_finding,
    a_domain_first_resolved_after_learning_is_a_domain_new_finding,
    low_ttl_answers_across_many_networks_are_a_fastflux_finding,
    a_cdn_answering_from_three_networks_is_no_fastflux,
    query_to_a_resolver_not_configured_is_a_bypass_finding,
    intel_listed_name_is_an_intel_qname_finding_and_passthru_is_not,
    intel_reloads_on_sighup_and_a_bad_file_keeps_the_intel_before,
    active_ns_asks_the_clients_server_marked_and_teaches_the_ns_set,
    agent_exits_zero_on_sigterm,  # stops the agent: keep it after every case that needs it
    output_lines_are_json_events,
]


def main():
    global args, events
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("events", "netns", "tmp", "server4", "server6", "stub4", "stub-log",
                 "agent-rc-file", "agent-log", "client", "cgroup-root", "agent-bin",
                 "state-dir"):
        parser.add_argument("--" + name, required=True)
    parser.add_argument("--held-addr", required=True)
    for name in ("unbound-pid", "agent-pid", "preopened-pid", "held-pid"):
        parser.add_argument("--" + name, required=True, type=int)
    parser.add_argument("-k", dest="only", help="run only cases whose name contains this")
    args = parser.parse_args()
    events = Events(args.events)

    passed, failed = run_cases(CASES, args.only)
    print(f"e2e: {passed} passed, {failed} failed")
    return 1 if failed else 0


def run_cases(cases, only=None):
    """Runs each case (those whose name contains only, if given), prints PASS or FAIL with
    the mismatches, and returns (passed, failed)."""
    passed = failed = 0
    for case in cases:
        if only and only not in case.__name__:
            continue
        start = time.monotonic()
        try:
            case()
        except Fail as err:
            failed += 1
            print(f"FAIL {case.__name__} ({time.monotonic() - start:.1f}s)")
            print("\n".join("    " + line for line in str(err).splitlines()))
        except Exception as err:  # a harness bug must still end in a summary line
            failed += 1
            print(f"FAIL {case.__name__}: harness error {type(err).__name__}: {err}")
        else:
            passed += 1
            print(f"PASS {case.__name__} ({time.monotonic() - start:.1f}s)")
        sys.stdout.flush()
    return passed, failed


if __name__ == "__main__":
    sys.exit(main())
