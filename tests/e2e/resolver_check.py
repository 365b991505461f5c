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
OK_ADDRS = ["192.0.2.50", "192.0.2.51", "2001:db8::50"]  # what OK_NAME resolves to, sorted
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


# The agent runs in a mount namespace of its own in which tracefs and debugfs are unmounted, as
# on a freshly booted host or in a container with only /sys: nothing it does may need them.
FRESH_MOUNTS = ('awk \'$3 == "tracefs" || $3 == "debugfs" { print $2 }\' /proc/self/mounts | '
                'sort -r | while read -r m; do umount -l "$m"; done; exec "$0" "$@"')


class Agent:
    """An agent under test, its stderr in TMP/NAME.log, its events in TMP/NAME.jsonl and its pid
    in TMP/NAME.pid (for resolver.sh to kill should this script die)."""

    def __init__(self, name="agent", options=()):
        self.name = name
        self.log_path = os.path.join(args.tmp, f"{name}.log")
        self.events_path = os.path.join(args.tmp, f"{name}.jsonl")
        self.options = list(options)
        self.proc = None

    def start(self):
        argv = ["unshare", "-m", "--propagation", "private", "sh", "-c", FRESH_MOUNTS,
                args.agent, "--jsonl", self.events_path, "-s", "1", *self.options]
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=log)
        with open(os.path.join(args.tmp, f"{self.name}.pid"), "w") as f:
            f.write(str(self.proc.pid))
        deadline = time.monotonic() + 20
        while "ready" not in self.log():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise Fail(f"{self.name} did not log ready within 20 s; its stderr:\n"
                           + indent(self.log()))
            time.sleep(0.1)
        return self

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def check_running(self):
        if self.proc.poll() is not None:
            raise Fail(f"{self.name} exited with status {self.proc.returncode}; its stderr:\n"
                       + indent(self.log()[-2000:]))

    def mounts(self):
        """The file system types mounted in the agent's mount namespace."""
        with open(f"/proc/{self.proc.pid}/mountinfo") as f:
            return {line.split(" - ")[1].split()[0] for line in f if " - " in line}

    def stop(self):
        """SIGTERM; returns the exit status (killed after 10 s)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


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


def run(argv, timeout=60, env=None):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
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


def run_calls_waiting(argv, library=None, of=None, before_go=None):
    """Starts the calls program (argv, whose --wait file is written @GO@), waits until the
    agent (of) attached to library, or calls before_go(pid), then lets the program go. Returns
    (pid, lines, the agent's log line for library or what before_go returned)."""
    go = os.path.join(args.tmp, f"go-{time.monotonic_ns()}")
    proc = subprocess.Popen([a.replace("@GO@", go) for a in argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        if not first:
            raise Fail(f"{' '.join(argv)} printed nothing: {proc.stderr.read().strip()}")
        if before_go:
            ready = before_go(json.loads(first)["pid"])
        else:
            ready = attach_line(library, of=of)
        open(go, "w").close()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        raise Fail(f"{' '.join(argv)} exited with {proc.returncode}: {err.strip()}")
    pid, lines = calls_output(first + out)
    return pid, lines, ready


def attach_line(path, of=None, timeout=ATTACH_S):
    """The agent's (default: the suite's) log line saying it attached to the file at path,
    by device and inode."""
    of = of or agent
    st = os.stat(path)
    needle = f"device {os.major(st.st_dev)}:{os.minor(st.st_dev)} inode {st.st_ino},"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in of.log().splitlines():
            if needle in line:
                return line
        of.check_running()
        time.sleep(0.05)
    raise Fail(f"{of.name} did not attach to {path} ({needle}) within {timeout:.0f} s; its "
               f"stderr:\n" + indent(of.log()[-3000:]))


def musl_mappers():
    """Pids of the processes that map a musl C library now."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/maps") as f:
                if any("ld-musl-" in line or "-linux-musl/" in line for line in f):
                    pids.append(int(pid))
        except OSError:
            pass
    return pids


def first_getaddrinfo(evs, argv, name, addresses, env=None):
    """Runs the calls program (argv) for one getaddrinfo of name and returns the agent's event
    of that very call, checked against addresses."""
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    if out.returncode != 0:
        raise Fail(f"{' '.join(argv)} exited with {out.returncode}: {out.stderr.strip()}")
    pid, lines = calls_output(out.stdout)
    c = Checks()
    c.eq("the program's calls", [(x["function"], sorted(x["addresses"])) for x in lines],
         [("getaddrinfo", sorted(addresses))])
    c.done()
    ev = evs.wait(f"the getaddrinfo({name}) event of pid {pid}",
                  lambda e: is_call(e, pid) and e["call"]["name"] == name)[0]
    c = Checks()
    c.eq("function", ev["call"]["function"], "getaddrinfo", ev)
    c.eq("result", ev["call"]["result"], "OK", ev)
    c.eq("addresses", sorted(ev["call"]["addresses"]), sorted(addresses), ev)
    c.done()
    return ev


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

def agent_runs_without_tracefs_or_debugfs():
    """A host as it boots: no tracefs, no debugfs. The agent attaches its exec hook without
    them (tp_btf here) and mounts none in its namespace; every later case runs on it."""
    c = Checks()
    mounted = agent.mounts() & {"tracefs", "debugfs"}
    c.eq("tracefs/debugfs mounted where the agent runs", sorted(mounted), [])
    c.true("the agent should say it attached tp_btf/sched_process_exec",
           "exec hook: tp_btf/sched_process_exec" in agent.log())
    c.eq("warnings in the agent's log",
         [line for line in agent.log().splitlines() if "warning" in line], [])
    c.done()
    first_getaddrinfo(events, in_ns(args.calls, "--only", "getaddrinfo", OK_NAME), OK_NAME,
                      OK_ADDRS)


def musl_program_run_first_time_has_its_first_call_reported():
    """No musl program ran since the agent started, none was running before: musl's C library
    is attached from disk at start, so the very first call of the first musl program counts."""
    c = Checks()
    c.eq("processes mapping musl before the agent started", seen["musl_before"], [])
    c.done()
    with open(args.calls_musl, "rb") as f:
        interp = re.search(rb"/lib/ld-musl-[^\0]+", f.read()).group().decode()
    line = attach_line(interp, timeout=0.1)
    c = Checks()
    c.true(f"musl's C library should have been found on disk at start: {line!r}",
           "found under /)" in line)
    c.eq("processes mapping musl now", musl_mappers(), [])
    c.done()
    first_getaddrinfo(events, in_ns(args.calls_musl, "--only", "getaddrinfo", OK_NAME), OK_NAME,
                      OK_ADDRS)


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
    copy = os.path.join(args.tmp, "libc-copy.so.6")
    shutil.copy2(glibc_path(), copy)
    script = (f'mount --bind "{copy}" "{glibc_path()}" && exec "{own_calls("copy")}" '
              f'--wait "@GO@" --only getaddrinfo {OK_NAME}')
    pid, lines, log_line = run_calls_waiting(in_ns("unshare", "-m", "sh", "-c", script), copy)
    c = Checks()
    c.true(f"the agent should say it found the copy in pid {pid}: {log_line!r}",
           f"seen in pid {pid})" in log_line)
    c.done()
    check_calls(pid, "calls", lines)


def layer_root(layer):
    return os.path.join(args.tmp, "store", layer, "diff")


def layer_lib_dir(layer):
    return os.path.join(layer_root(layer), "usr", "lib", "x86_64-linux-gnu")


def libc_appearing_under_watched_root_is_attached_before_use():
    """An image layer unpacked after the agent started (under the store the suite passed as
    --lib-root TMP/store/*/diff): its libc.so.6 is attached as it lands, before any program
    maps it, so the first program using it has its first call reported."""
    libdir = layer_lib_dir("layer1")
    os.makedirs(libdir)  # as an image pull does: directories, then the files in them
    copy = os.path.join(libdir, "libc.so.6")
    shutil.copy2(glibc_path(), copy)
    line = attach_line(copy)
    c = Checks()
    c.true(f"the agent should say it found the file under the layer: {line!r}",
           f"found under {layer_root('layer1')})" in line)
    env = dict(os.environ, LD_LIBRARY_PATH=libdir)
    maps = run(in_ns("cat", "/proc/self/maps"), env=env)
    c.true(f"a program run with LD_LIBRARY_PATH={libdir} should map the copy", copy in maps)
    c.done()
    first_getaddrinfo(events, in_ns(args.calls, "--only", "getaddrinfo", OK_NAME), OK_NAME,
                      OK_ADDRS, env=env)
    seen["layer_copy"] = copy


def library_removed_from_watched_root_is_detached():
    """A layer removed (docker rmi): its library's probes go once no process maps it, or they
    would keep the deleted file on disk for as long as the agent runs."""
    if "layer_copy" not in seen:
        raise Fail("needs libc_appearing_under_watched_root_is_attached_before_use")
    shutil.rmtree(os.path.join(args.tmp, "store", "layer1"))
    deadline = time.monotonic() + ATTACH_S
    needle = f"{seen['layer_copy']} is gone from disk and mapped by no process: detached"
    while needle not in agent.log():
        if time.monotonic() > deadline:
            raise Fail(f"the agent did not log {needle!r} within {ATTACH_S:.0f} s; its stderr:\n"
                       + indent(agent.log()[-3000:]))
        agent.check_running()
        time.sleep(0.1)


def container_root_on_overlay_is_traced_through_its_layer_file():
    """A program whose libc comes through an overlay mount (a container's root file system):
    its maps show the overlay's device, the uprobes are on the layer's file the agent already
    traces. The agent finds that file through the mount's layers and attaches nothing twice."""
    libdir = layer_lib_dir("layer2")
    os.makedirs(libdir)
    lower = os.path.join(libdir, "libc.so.6")
    shutil.copy2(glibc_path(), lower)
    attach_line(lower)
    ovl = os.path.join(args.tmp, "overlay")
    for sub in ("upper", "work", "merged"):
        os.makedirs(os.path.join(ovl, sub))
    merged = os.path.join(ovl, "merged")
    script = (f'mount -t overlay overlay -o lowerdir={layer_root("layer2")},'
              f'upperdir={ovl}/upper,workdir={ovl}/work {merged} && '
              f'LD_LIBRARY_PATH={merged}/usr/lib/x86_64-linux-gnu exec "{own_calls("overlay")}" '
              f'--wait "@GO@" --only getaddrinfo {OK_NAME}')

    def mapped_libc(pid):
        with open(f"/proc/{pid}/maps") as f:
            mapped = [line for line in f if line.rstrip().endswith("/libc.so.6")]
        time.sleep(0.8)  # past the agent's last look at a new program (500 ms after exec)
        return mapped

    pid, _, mapped = run_calls_waiting(in_ns("unshare", "-m", "sh", "-c", script),
                                       before_go=mapped_libc)
    c = Checks()
    c.true(f"the program should map libc.so.6 from {merged}: {mapped}",
           any(merged in line for line in mapped))
    c.eq("the agent's attach lines for the program's own view of the file",
         [line for line in agent.log().splitlines() if f"seen in pid {pid})" in line], [])
    c.done()
    evs = events.wait(f"the getaddrinfo event of pid {pid}",
                      lambda e: is_call(e, pid) and e["call"]["name"] == OK_NAME)
    time.sleep(0.3)
    events.refresh()
    c = Checks()
    c.eq("getaddrinfo events of the program (one call)",
         sum(is_call(e, pid) for e in events.items), 1, evs[0])
    c.eq("addresses", sorted(evs[0]["call"]["addresses"]),
         OK_ADDRS, evs[0])
    c.done()


def own_calls(tag):
    """A copy of the calls program, still named calls, that no process ran before: the agent
    skips an executable it looked at in the same mount namespace within a minute, and a new
    namespace may get the number of one gone meanwhile."""
    path = os.path.join(args.tmp, f"prog-{tag}", "calls")
    os.makedirs(os.path.dirname(path))
    shutil.copy2(args.calls, path)
    return path


def glibc_path():
    with open("/proc/self/maps") as f:
        return next(line.split()[-1] for line in f if line.rstrip().endswith("/libc.so.6"))


def exec_hook_fallbacks_follow_new_programs():
    """raw_tp, and the classic tracepoint whose id only tracefs knows, each follow new programs
    on a host without tracefs (a kernel without BTF tracepoints gets them), and leave no
    tracefs mounted behind."""
    c = Checks()
    for kind in ("raw_tp", "tracepoint"):
        other = Agent(f"agent-{kind}", ["--exec-hook", kind])
        try:
            other.start()
            c.true(f"--exec-hook {kind}: the agent should say it attached {kind}",
                   f"exec hook: {kind}/sched_process_exec" in other.log())
            c.eq(f"--exec-hook {kind}: tracefs/debugfs mounted where the agent runs",
                 sorted(other.mounts() & {"tracefs", "debugfs"}), [])
            # A C library no directory watch covers: only the exec hook can find it.
            copy = os.path.join(args.tmp, f"libc-{kind}.so.6")
            shutil.copy2(glibc_path(), copy)
            script = (f'mount --bind "{copy}" "{glibc_path()}" && exec "{own_calls(kind)}" '
                      f'--wait "@GO@" --only getaddrinfo {OK_NAME}')
            pid, _, line = run_calls_waiting(in_ns("unshare", "-m", "sh", "-c", script), copy,
                                             of=other)
            c.true(f"--exec-hook {kind}: found through the exec of pid {pid}: {line!r}",
                   f"seen in pid {pid})" in line)
            evs = Events(other.events_path, relevant=None, alive_check=other.check_running)
            evs.wait(f"--exec-hook {kind}: the getaddrinfo event of pid {pid}",
                     lambda e: is_call(e, pid) and e["call"]["name"] == OK_NAME)
        except Fail as err:
            c.fail(f"--exec-hook {kind}: {err}")
        finally:
            c.eq(f"--exec-hook {kind}: exit status after SIGTERM", other.stop(), 0)
    c.done()


def exec_hook_refused_leaves_start_time_uprobes_tracing():
    """Without an exec hook (a kernel refusing all three, as --exec-hook none makes it) the
    agent says what it loses and still traces the C libraries it found at start."""
    other = Agent("agent-noexec", ["--exec-hook", "none"])
    try:
        other.start()
        c = Checks()
        c.true("the agent should warn that new programs are not followed",
               "warning: resolver: new programs are not followed (no exec hook)" in other.log())
        c.done()
        evs = Events(other.events_path, relevant=None, alive_check=other.check_running)
        first_getaddrinfo(evs, in_ns(args.calls, "--only", "getaddrinfo", OK_NAME), OK_NAME,
                          OK_ADDRS)
        first_getaddrinfo(evs, in_ns(args.calls_musl, "--only", "getaddrinfo", OK_NAME),
                          OK_NAME, OK_ADDRS)
    finally:
        rc = other.stop()
    c = Checks()
    c.eq("exit status after SIGTERM", rc, 0)
    c.done()


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
    c.eq("resolver_exec_hook", s.get("resolver_exec_hook"), "tp_btf", ev)
    c.eq("resolver_libc_detached (the removed layer's copy)", s.get("resolver_libc_detached"),
         1, ev)
    c.true(f"resolver_libdir_watches > 0, got {s.get('resolver_libdir_watches')}",
           (s.get("resolver_libdir_watches") or 0) > 0, ev)
    c.true(f"resolver_libdir_entries > 0, got {s.get('resolver_libdir_entries')}",
           (s.get("resolver_libdir_entries") or 0) > 0, ev)
    for key in ("resolver_libdir_watch_failures", "resolver_libdir_overflows"):
        c.eq(key, s.get(key), 0, ev)
    c.eq("resolver_libdir_start_scan_truncated", s.get("resolver_libdir_start_scan_truncated"),
         False, ev)
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
           "exec_btf" in names and names & {"leave", "leave_multi"})
    c.eq("agent exit status after SIGTERM", agent.stop(), 0)
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
    agent_runs_without_tracefs_or_debugfs,
    musl_program_run_first_time_has_its_first_call_reported,  # before any other musl program
    glibc_calls_match_what_the_program_got,
    glibc_calls_tag_their_dns_messages_with_call_id,
    musl_calls_match_what_the_program_got,
    python_getaddrinfo_is_seen,
    getent_ahosts_is_seen,
    libc_copy_in_another_mount_namespace_is_seen,
    libc_appearing_under_watched_root_is_attached_before_use,
    library_removed_from_watched_root_is_detached,
    container_root_on_overlay_is_traced_through_its_layer_file,
    exec_hook_fallbacks_follow_new_programs,
    exec_hook_refused_leaves_start_time_uprobes_tracing,
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
    seen["musl_before"] = musl_mappers()
    os.makedirs(os.path.join(args.tmp, "store"))
    agent = Agent(options=["--lib-root", os.path.join(args.tmp, "store", "*", "diff")])
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
