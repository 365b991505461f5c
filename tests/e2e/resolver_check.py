#!/usr/bin/python3
"""Resolver call cases: run real clients in the lab namespace and hold the agent's events against
what each client itself got.

Started by tests/e2e/resolver.sh once unbound and dnsmasq are up; not meant to be run by hand.
It starts the agent itself (the SIGTERM case wants its exit status) and always stops it. One
function per case, named for the behaviour it checks, run in the order of CASES. Prints
"resolver-e2e: N passed, M failed" last; exits 1 if any failed. Stdlib only.
"""
import argparse
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

from check import Checks, Events, Fail, prog_ids_held_by, run_cases  # shared with the wire cases

ATTACH_S = 10.0  # for the agent to attach to a C library first seen at exec
OK_NAME, NX_NAME = "res.example.test", "nx.example.test"
OK_ADDR, NX_ADDR = "192.0.2.50", "192.0.2.99"
STUB_NAME = "stub.example.test"
PY = "/usr/bin/python3"
EAI = {-1: "EAI_BADFLAGS", -2: "EAI_NONAME", -3: "EAI_AGAIN", -4: "EAI_FAIL", -5: "EAI_NODATA",
       -6: "EAI_FAMILY", -7: "EAI_SOCKTYPE", -8: "EAI_SERVICE", -10: "EAI_MEMORY",
       -11: "EAI_SYSTEM"}
HERRNO = {-1: "NETDB_INTERNAL", 1: "HOST_NOT_FOUND", 2: "TRY_AGAIN", 3: "NO_RECOVERY",
          4: "NO_DATA"}
EAI_FUNCTIONS = {"getaddrinfo", "getnameinfo", "getaddrinfo_a"}
POINTER_FUNCTIONS = {"gethostbyname", "gethostbyname2", "gethostbyaddr"}
REVERSE_FUNCTIONS = {"gethostbyaddr", "gethostbyaddr_r", "getnameinfo"}

args = None
events = None
agent = None
seen = {}  # what earlier cases found, for later ones


class Agent:
    """The agent under test, its stderr in TMP/agent.log and its pid in TMP/agent.pid (for
    resolver.sh to kill should this script die)."""

    def __init__(self):
        self.log_path = os.path.join(args.tmp, "agent.log")
        self.events_path = os.path.join(args.tmp, "events.jsonl")
        self.proc = None

    def start(self):
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen([args.agent, "--jsonl", self.events_path, "-s", "1"],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=log)
        with open(os.path.join(args.tmp, "agent.pid"), "w") as f:
            f.write(str(self.proc.pid))
        deadline = time.monotonic() + 20
        while "ready" not in self.log():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise Fail("the agent did not log ready within 20 s; its stderr:\n"
                           + indent(self.log()))
            time.sleep(0.1)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def check_running(self):
        if self.proc.poll() is not None:
            raise Fail(f"the agent exited with status {self.proc.returncode}; its stderr:\n"
                       + indent(self.log()[-2000:]))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def indent(text):
    return "\n".join("    | " + line for line in text.splitlines())


def is_call(e, pid):
    return e.get("type") == "resolver_call" and (e.get("process") or {}).get("pid") == pid


def is_dns(e, qname, pid=None):
    return (e.get("type") == "dns" and ((e.get("dns") or {}).get("qname") or "").lower() == qname
            and (pid is None or (e.get("process") or {}).get("pid") == pid))


def is_query(e, direction):
    return e["net"]["direction"] == direction and not e["dns"]["qr"]


def is_response(e, direction):
    return e["net"]["direction"] == direction and e["dns"]["qr"]


def reverse_name(addr):
    return ".".join(reversed(addr.split("."))) + ".in-addr.arpa"


def in_ns(*argv):
    return ["ip", "netns", "exec", args.netns, *argv]


def run(argv, timeout=60):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise Fail(f"{' '.join(argv)} exited with {out.returncode}: {out.stderr.strip()}")
    return out.stdout


def calls_output(text):
    """The calls program's pid and one dict per call it made."""
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    return lines[0]["pid"], lines[1:]


def expected_result(line):
    """The mnemonic the agent should report, from what the program itself got."""
    fn, rc = line["function"], line["rc"]
    if fn in EAI_FUNCTIONS:
        return "OK" if rc == 0 else EAI.get(rc, f"EAI{rc}")
    if fn in POINTER_FUNCTIONS:
        return "OK" if rc else HERRNO[line["h_errno"]]
    if fn.endswith("_r"):  # the program prints hostname when *result was set
        if "hostname" in line:
            return "OK"
        return HERRNO[line["h_errno"]] if line["h_errno"] > 0 else errno.errorcode[rc]
    return "OK" if rc >= 0 else HERRNO[line["h_errno"]]  # res_*


def run_calls_waiting(argv, library):
    """Starts the calls program (argv, whose --wait file is written @GO@), waits until the
    agent attached to library, lets the program go. Returns (pid, lines, the agent's log line
    for library)."""
    go = os.path.join(args.tmp, f"go-{time.monotonic_ns()}")
    proc = subprocess.Popen([a.replace("@GO@", go) for a in argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        if not first:
            raise Fail(f"{' '.join(argv)} printed nothing: {proc.stderr.read().strip()}")
        log_line = wait_attached(library)
        open(go, "w").close()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        raise Fail(f"{' '.join(argv)} exited with {proc.returncode}: {err.strip()}")
    pid, lines = calls_output(first + out)
    return pid, lines, log_line


def wait_attached(path):
    """The agent's log line saying it attached to the file at path (by device and inode)."""
    st = os.stat(path)
    needle = f"device {os.major(st.st_dev)}:{os.minor(st.st_dev)} inode {st.st_ino},"
    deadline = time.monotonic() + ATTACH_S
    while time.monotonic() < deadline:
        for line in agent.log().splitlines():
            if needle in line:
                return line
        agent.check_running()
        time.sleep(0.05)
    raise Fail(f"the agent did not attach to {path} ({needle}) within {ATTACH_S:.0f} s; its "
               f"stderr:\n" + indent(agent.log()[-3000:]))


def check_calls(pid, comm, lines, musl=False):
    """Every call the program made has its event, with what the program got. Returns the
    (line, event) pairs."""
    # glibc's getaddrinfo_a runs its lookups on helper threads: only the program's own thread.
    events.wait(f"resolver_call events of {comm} (pid {pid})",
                lambda e: is_call(e, pid) and e["process"].get("tid") == pid, n=len(lines))
    time.sleep(0.3)  # and any the program did not make
    events.refresh()
    mine = [e for e in events.items if is_call(e, pid) and e["process"].get("tid") == pid]
    c = Checks()
    pairs = []
    for line in lines:
        fn = line["function"]
        # musl's res_search is res_query, one symbol at one address.
        want_fn = "res_query" if musl and fn == "res_search" else fn
        label = f"{fn}({line['name']})"
        ev = next((e for e in mine if e["call"]["function"] == want_fn
                   and e["call"]["name"] == line["name"]), None)
        if ev is None:
            c.fail(f"{label}: no event; the program's calls had: "
                   + ", ".join(f"{e['call']['function']}({e['call']['name']})" for e in mine))
            continue
        mine.remove(ev)
        pairs.append((line, ev))
        call, proc = ev["call"], ev["process"]
        c.eq(f"{label} result", call["result"], expected_result(line), ev)
        c.eq(f"{label} result_code", call["result_code"],
             None if fn in POINTER_FUNCTIONS else line["rc"], ev)
        c.eq(f"{label} addresses", sorted(call["addresses"]), sorted(line["addresses"]), ev)
        c.eq(f"{label} hostname", call["hostname"], line.get("hostname"), ev)
        c.true(f"{label} latency_ns > 0", isinstance(call["latency_ns"], int)
               and call["latency_ns"] > 0, ev)
        c.true(f"{label} call_id > 0", isinstance(call["call_id"], int) and call["call_id"] > 0,
               ev)
        c.eq(f"{label} process.comm", proc["comm"], comm, ev)
        if fn.startswith("res_"):
            c.eq(f"{label} qtype", call["qtype"], "A", ev)
        if fn == "getnameinfo":
            c.eq(f"{label} service", call["service"], "53", ev)
            c.true(f"{label} flags include NI_NAMEREQD", "NI_NAMEREQD" in (call["flags"] or []),
                   ev)
    c.eq(f"calls of pid {pid} the program did not make",
         [f"{e['call']['function']}({e['call']['name']})" for e in mine], [])
    c.done()
    return pairs


def check_packets(pid, pairs):
    """The DNS messages a call caused carry its call_id; the program sent none outside a
    call."""
    c = Checks()
    for line, ev in pairs:
        if line["function"] == "getaddrinfo_a":
            continue  # glibc's helper threads send its queries, under their own calls
        cid = ev["call"]["call_id"]
        qname = (reverse_name(line["name"]) if line["function"] in REVERSE_FUNCTIONS
                 else line["name"])
        label = f"{line['function']}({line['name']}) call_id {cid}"
        try:
            events.wait(f"{label}: the query it sent",
                        lambda e: is_dns(e, qname, pid) and is_query(e, "egress")
                        and e.get("call_id") == cid)
            events.wait(f"{label}: the response it got",
                        lambda e: is_dns(e, qname, pid) and is_response(e, "ingress")
                        and e.get("call_id") == cid)
        except Fail as err:
            c.fail(str(err) + "\n    the program's DNS messages: " + ", ".join(
                f"{e['dns']['qname']} {e['net']['direction']} call_id={e.get('call_id')}"
                for e in events.items if e.get("type") == "dns"
                and (e.get("process") or {}).get("pid") == pid))
    stray = [e for e in events.items if e.get("type") == "dns"
             and (e.get("process") or {}).get("pid") == pid and e.get("call_id") is None]
    c.eq(f"DNS messages of pid {pid} without a call_id", [json.dumps(e)[:300] for e in stray],
         [])
    c.done()


# ---------------------------------------------------------------------------------------------
# Cases

def glibc_calls_match_what_the_program_got():
    pid, lines = calls_output(run(in_ns(args.calls, OK_NAME, NX_NAME, "-x", OK_ADDR, NX_ADDR)))
    if len(lines) != 30:
        raise Fail(f"the glibc program made {len(lines)} calls, expected 30 (15 functions x 2)")
    seen["glibc"] = (pid, check_calls(pid, "calls", lines))


def glibc_calls_tag_their_dns_messages_with_call_id():
    if "glibc" not in seen:
        raise Fail("needs glibc_calls_match_what_the_program_got")
    check_packets(*seen["glibc"])


def musl_calls_match_what_the_program_got():
    # musl's C library is its dynamic linker: PT_INTERP of the program.
    with open(args.calls_musl, "rb") as f:
        interp = re.search(rb"/lib/ld-musl-[^\0]+", f.read()).group().decode()
    pid, lines, _ = run_calls_waiting(
        in_ns(args.calls_musl, "--wait", "@GO@", OK_NAME, NX_NAME, "-x", OK_ADDR, NX_ADDR), interp)
    if len(lines) != 22:
        raise Fail(f"the musl program made {len(lines)} calls, expected 22 (11 functions x 2)")
    pairs = check_calls(pid, "calls-musl", lines, musl=True)
    check_packets(pid, pairs)


def python_getaddrinfo_is_seen():
    out = run(in_ns(PY, "-c", "import os, socket; print(os.getpid(), flush=True); "
                    "print(socket.getaddrinfo('py.example.test', 80, socket.AF_INET, "
                    "socket.SOCK_STREAM)[0][4][0])"))
    pid, addr = out.split()
    pid = int(pid)
    ev = events.wait("python3's getaddrinfo", lambda e: is_call(e, pid)
                     and e["call"]["name"] == "py.example.test")[0]
    c = Checks()
    c.eq("python3 got", addr, "192.0.2.52")
    c.eq("function", ev["call"]["function"], "getaddrinfo", ev)
    c.eq("result", ev["call"]["result"], "OK", ev)
    c.eq("addresses", ev["call"]["addresses"], ["192.0.2.52"], ev)
    c.eq("service", ev["call"]["service"], "80", ev)
    c.eq("family", ev["call"]["family"], 4, ev)
    c.eq("process.comm", ev["process"]["comm"], "python3", ev)
    c.true("latency_ns > 0", (ev["call"]["latency_ns"] or 0) > 0, ev)
    c.done()


def getent_ahosts_is_seen():
    out = run(in_ns("sh", "-c", "echo $$; exec getent ahosts getent.example.test"))
    pid = int(out.split()[0])
    ev = events.wait("getent's getaddrinfo", lambda e: is_call(e, pid)
                     and e["call"]["name"] == "getent.example.test")[0]
    c = Checks()
    c.true(f"getent printed the address: {out!r}", "192.0.2.53" in out)
    c.eq("function", ev["call"]["function"], "getaddrinfo", ev)
    c.eq("result", ev["call"]["result"], "OK", ev)
    c.eq("addresses", ev["call"]["addresses"], ["192.0.2.53"], ev)
    c.eq("process.comm", ev["process"]["comm"], "getent", ev)
    c.true("latency_ns > 0", (ev["call"]["latency_ns"] or 0) > 0, ev)
    c.done()


def libc_copy_in_another_mount_namespace_is_seen():
    """A process whose libc.so.6 is another file (a bind-mounted copy, as in a container image)
    is attached through its own inode, found when it execs."""
    with open("/proc/self/maps") as f:
        real = next(line.split()[-1] for line in f if line.rstrip().endswith("/libc.so.6"))
    copy = os.path.join(args.tmp, "libc-copy.so.6")
    shutil.copy2(real, copy)
    script = (f'mount --bind "{copy}" "{real}" && exec "{args.calls}" --wait "@GO@" '
              f'--only getaddrinfo {OK_NAME}')
    pid, lines, log_line = run_calls_waiting(in_ns("unshare", "-m", "sh", "-c", script), copy)
    c = Checks()
    c.true(f"the agent should say it found the copy in pid {pid}: {log_line!r}",
           f"seen in pid {pid})" in log_line)
    c.done()
    check_calls(pid, "calls", lines)


def run_stub_client():
    """getaddrinfo(stub.example.test, AF_INET) in a process whose resolv.conf names dnsmasq."""
    script = (f'mount --bind "{args.stub_resolv}" /etc/resolv.conf && '
              f'exec "{args.calls}" -4 --only getaddrinfo {STUB_NAME}')
    pid, lines = calls_output(run(in_ns("unshare", "-m", "sh", "-c", script)))
    call = events.wait(f"the client's getaddrinfo (pid {pid})",
                       lambda e: is_call(e, pid) and e["call"]["name"] == STUB_NAME)[0]
    c = Checks()
    c.eq("the client got", lines[0]["addresses"], ["192.0.2.60"])
    c.eq("its call's addresses", call["call"]["addresses"], ["192.0.2.60"], call)
    cid = call["call"]["call_id"]
    for what, pred in (("query to", lambda e: is_query(e, "egress")
                        and e["net"]["dst_ip"] == "127.0.0.2"),
                       ("response from", lambda e: is_response(e, "ingress")
                        and e["net"]["src_ip"] == "127.0.0.2")):
        ev = events.wait(f"the client's {what} the stub", lambda e: is_dns(e, STUB_NAME, pid)
                         and pred(e))[0]
        c.eq(f"call_id of the client's {what} the stub", ev.get("call_id"), cid, ev)
        c.eq(f"origin of the client's {what} the stub", ev.get("origin"), None, ev)
    c.done()
    return pid


def upstream_legs():
    events.refresh()
    return [e for e in events.items if is_dns(e, STUB_NAME, args.dnsmasq_pid)
            and ((is_query(e, "egress") and e["net"]["dst_ip"] == "127.53.0.1")
                 or (is_response(e, "ingress") and e["net"]["src_ip"] == "127.53.0.1"))]


def stub_forward_carries_client_origin():
    pid = run_stub_client()
    query, response = events.wait(
        "dnsmasq's query to unbound and its response", lambda e: e in upstream_legs(), n=2)
    c = Checks()
    for ev in (query, response):
        leg = "query" if not ev["dns"]["qr"] else "response"
        origin = ev.get("origin") or {}
        c.eq(f"origin.pid of dnsmasq's upstream {leg}", origin.get("pid"), pid, ev)
        c.eq(f"origin.comm of dnsmasq's upstream {leg}", origin.get("comm"), "calls", ev)
        c.eq(f"process of dnsmasq's upstream {leg}", ev["process"]["pid"], args.dnsmasq_pid, ev)
        c.eq(f"role of dnsmasq's upstream {leg}", ev["net"]["role"], "client", ev)
    # unbound's side of the same exchange is nobody's stub leg
    server_side = [e for e in events.items if is_dns(e, STUB_NAME)
                   and e["net"]["role"] == "server" and e.get("origin")]
    c.eq("server-side events with an origin", server_side, [])
    c.done()
    seen["upstream_legs"] = len(upstream_legs())


def stub_cache_hit_has_no_upstream_leg():
    if "upstream_legs" not in seen:
        raise Fail("needs stub_forward_carries_client_origin")
    run_stub_client()
    time.sleep(1.5)  # an upstream leg, were there one, would be written by now
    legs = upstream_legs()
    c = Checks()
    c.eq("dnsmasq's upstream messages after the second, cached lookup", len(legs),
         seen["upstream_legs"])
    c.done()


def stats_count_calls_and_libraries():
    events.refresh()
    written = sum(e.get("type") == "resolver_call" for e in events.items)
    ev = events.wait(f"a stats event counting the {written} resolver_call events written so far",
                     lambda e: e.get("type") == "stats"
                     and e["stats"].get("resolver_calls", 0) >= written, timeout=3)[0]
    s = ev["stats"]
    c = Checks()
    # glibc, musl and the copy of glibc at least
    c.true(f"resolver_libc_files >= 3, got {s.get('resolver_libc_files')}",
           (s.get("resolver_libc_files") or 0) >= 3, ev)
    c.eq("resolver_attach_failures", s.get("resolver_attach_failures"), 0, ev)
    c.eq("resolver_exec_checks_dropped", s.get("resolver_exec_checks_dropped"), 0, ev)
    c.eq("kernel_drops.ringbuf_full", (s.get("kernel_drops") or {}).get("ringbuf_full"), 0, ev)
    c.done()


def bpftool_prog_ids():
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                         timeout=10)
    return {p["id"]: p.get("name") for p in json.loads(out.stdout or "[]")}


def agent_exits_zero_and_unloads_on_sigterm():
    ids = prog_ids_held_by(agent.proc.pid)
    names = {n for i, n in bpftool_prog_ids().items() if i in ids}
    c = Checks()
    c.true(f"the agent should hold the resolver programs; it holds {sorted(names)}",
           "on_exec" in names and names & {"leave", "leave_multi"})
    agent.proc.send_signal(signal.SIGTERM)
    try:
        rc = agent.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        raise Fail("the agent did not exit within 10 s of SIGTERM")
    c.eq("agent exit status after SIGTERM", rc, 0)
    deadline = time.monotonic() + 3  # ids are freed an RCU grace period after the last ref
    while (left := {i: n for i, n in bpftool_prog_ids().items() if i in ids}) \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    c.eq("agent programs still loaded", left, {})
    c.done()


def output_lines_are_json_events():
    events.refresh()
    c = Checks()
    c.eq("lines that are not JSON", events.bad_lines[:5], [])
    types = {e.get("type") for e in events.items}
    c.true(f"event types: expected dns, timeout, stats, resolver_call; got {types}",
           types <= {"dns", "timeout", "stats", "resolver_call"} and "resolver_call" in types)
    c.done()


CASES = [
    glibc_calls_match_what_the_program_got,
    glibc_calls_tag_their_dns_messages_with_call_id,
    musl_calls_match_what_the_program_got,
    python_getaddrinfo_is_seen,
    getent_ahosts_is_seen,
    libc_copy_in_another_mount_namespace_is_seen,
    stub_forward_carries_client_origin,
    stub_cache_hit_has_no_upstream_leg,
    stats_count_calls_and_libraries,
    agent_exits_zero_and_unloads_on_sigterm,  # stops the agent: after every case that needs it
    output_lines_are_json_events,
]


def main():
    global args, events, agent
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("agent", "tmp", "netns", "calls", "calls-musl", "stub-resolv"):
        parser.add_argument("--" + name, required=True)
    parser.add_argument("--dnsmasq-pid", required=True, type=int)
    parser.add_argument("-k", dest="only", help="run only cases whose name contains this")
    args = parser.parse_args()
    agent = Agent()
    # Every line counts here: resolver_call events name no test zone.
    events = Events(agent.events_path, relevant=None, alive_check=agent.check_running)
    try:
        agent.start()
    except Fail as err:
        print(f"FAIL agent_start\n{err}")
        print("resolver-e2e: 0 passed, 1 failed")
        return 1
    try:
        passed, failed = run_cases(CASES, args.only)
    finally:
        agent.stop()
    print(f"resolver-e2e: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
