#!/usr/bin/python3
"""The lab DNS hierarchy's cases: a root, a TLD (lab.), an authoritative server for the
providers' and customers' zones (nsd, three instances) and a recursive unbound whose root
hints name the lab root, in the namespace tests/e2e/hier.sh made. Clients (dig) ask unbound;
unbound walks the hierarchy and its referrals carry the NS names and glue the agent learns.

Started by tests/e2e/hier.sh, which owns the namespace, the temp dir and the teardown; this
script starts and restarts the servers and the agent inside them (their pids go to files the
shell's trap kills). One function per case, in the order of CASES: the later ones build on
the earlier (the delegation cases on the state of the agent's first run). Prints
"hier-e2e: N passed, M failed" last. Stdlib and labprocs only.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import labprocs

WAIT_S = 5.0
ROOT4, TLD4, UNBOUND4 = "127.53.0.1", "127.53.0.2", "127.53.0.53"
# The authoritative server's addresses: every nameserver name of the lab has one of them.
NS_ADDR = {
    "ns1.goodhost.lab": "127.53.1.1", "ns2.goodhost.lab": "127.53.1.2",
    "ns3.goodhost.lab": "127.53.1.3", "ns1.otherhost.lab": "127.53.2.1",
    "ns1.evil-dns.lab": "127.53.3.1", "ns1.badnet.lab": "127.53.9.9",
    "ns1.v6host.lab": "fd53::66",
}
# Customer domains: their delegation (in the TLD zone) and one A record each.
CUSTOMERS = {
    "nsdname.lab": ["ns1.evil-dns.lab"],
    "allowed.lab": ["ns1.evil-dns.lab"],
    "nsip4.lab": ["ns1.badnet.lab"],
    "nsip6.lab": ["ns1.v6host.lab"],
    "qname.lab": ["ns1.goodhost.lab"],
    "answerip.lab": ["ns1.goodhost.lab"],
    "stable.lab": ["ns1.goodhost.lab", "ns2.goodhost.lab"],
    "neighbour.lab": ["ns1.otherhost.lab"],  # otherhost.lab: a provider known for a while
}
ANSWER = {"answerip.lab": "198.51.100.7"}  # listed by rpz-ip
INTEL = """$ORIGIN rpz.lab.
@ SOA a. b. 1 3600 600 86400 300
ns1.evil-dns.lab.rpz-nsdname CNAME .
24.0.9.53.127.rpz-nsip CNAME .
128.66.zz.fd53.rpz-nsip CNAME .
www.qname.lab CNAME .
32.7.100.51.198.rpz-ip CNAME .
www.allowed.lab CNAME rpz-passthru.
"""

args = None
results = []


class Fail(Exception):
    pass


def ns_exec(*argv):
    return ["ip", "netns", "exec", args.netns, *argv]


# ---------------------------------------------------------------------------------------------
# The lab's servers

def zone(origin, records):
    head = [f"$ORIGIN {origin}", "$TTL 300",
            f"@ SOA ns.nic.lab. hostmaster.nic.lab. {int(time.time())} 3600 600 86400 300"]
    return "\n".join(head + records) + "\n"


def addr_rr(name):
    a = NS_ADDR[name]
    return f"{name}. {'AAAA' if ':' in a else 'A'} {a}"


def write_zones(d):
    """The root, the TLD and the authoritative server's zones for delegations d."""
    z = args.tmp
    with open(f"{z}/root.zone", "w") as f:
        f.write(zone(".", ["@ NS ns.root.", f"ns.root. A {ROOT4}", "lab. NS ns.nic.lab.",
                           f"ns.nic.lab. A {TLD4}"]))
    tld = ["@ NS ns.nic.lab.", f"ns.nic.lab. A {TLD4}"]
    for provider in ("goodhost", "otherhost", "evil-dns", "badnet", "v6host"):
        names = [n for n in NS_ADDR if n.endswith(f".{provider}.lab")]
        tld += [f"{provider}.lab. NS {n}." for n in names] + [addr_rr(n) for n in names]
    for dom, nss in d.items():
        tld += [f"{dom}. NS {n}." for n in nss]
    with open(f"{z}/lab.zone", "w") as f:
        f.write(zone("lab.", tld))
    auth = []
    for provider in ("goodhost", "otherhost", "evil-dns", "badnet", "v6host"):
        names = [n for n in NS_ADDR if n.endswith(f".{provider}.lab")]
        auth.append((f"{provider}.lab.", [f"@ NS {n}." for n in names] +
                     [addr_rr(n) for n in names]))
    for dom, nss in d.items():
        auth.append((f"{dom}.", [f"@ NS {n}." for n in nss] +
                     [f"www A {ANSWER.get(dom, '192.0.2.80')}"]))
    for origin, recs in auth:
        with open(f"{z}/auth-{origin.rstrip('.')}.zone", "w") as f:
            f.write(zone(origin, recs))
    return [origin for origin, _ in auth]


def nsd_conf(name, addrs, zones):
    d = f"{args.tmp}/{name}"
    os.makedirs(d, exist_ok=True)
    lines = ["server:", "  port: 53", '  username: ""', '  chroot: ""', f'  zonesdir: "{args.tmp}"',
             '  database: ""', f'  zonelistfile: "{d}/zone.list"', f'  xfrdfile: "{d}/xfrd.state"',
             f'  pidfile: "{d}/nsd.pid"', f'  logfile: "{d}/nsd.log"', "  server-count: 1",
             "  minimal-responses: yes", "  verbosity: 0"]
    lines += [f"  ip-address: {a}" for a in addrs]
    lines += ["remote-control:", "  control-enable: no"]
    for origin, file in zones:
        lines += ["zone:", f'  name: "{origin}"', f'  zonefile: "{file}"']
    with open(f"{d}/nsd.conf", "w") as f:
        f.write("\n".join(lines) + "\n")
    return f"{d}/nsd.conf"


procs = None  # labprocs.Procs, once args.tmp is known


def start_servers(delegations):
    auth_zones = write_zones(delegations)
    for name, addrs, zones in (
            ("root", [ROOT4], [(".", "root.zone")]),
            ("tld", [TLD4], [("lab.", "lab.zone")]),
            ("auth", sorted(set(NS_ADDR.values())),
             [(o, f"auth-{o.rstrip('.')}.zone") for o in auth_zones])):
        if name in procs:
            procs.stop(name)
        procs.start(name, ns_exec("nsd", "-d", "-c", nsd_conf(name, addrs, zones)))
    if "unbound" in procs:
        procs.stop("unbound")  # its cache holds the delegations
    conf = f"{args.tmp}/unbound.conf"
    with open(f"{args.tmp}/root.hints", "w") as f:
        f.write(f". 3600000 NS ns.root.\nns.root. 3600000 A {ROOT4}\n")
    with open(conf, "w") as f:
        f.write("\n".join([
            "server:", "  do-daemonize: no", '  username: ""', '  chroot: ""',
            f'  directory: "{args.tmp}"', '  pidfile: ""', '  logfile: ""', "  use-syslog: no",
            "  verbosity: 0", '  module-config: "iterator"', f"  interface: {UNBOUND4}",
            "  port: 53", f'  root-hints: "{args.tmp}/root.hints"',
            "  access-control: 127.0.0.0/8 allow", "  do-ip6: yes", "  prefer-ip6: no",
            # the lab's servers are on loopback, which unbound does not ask by default
            "  do-not-query-localhost: no", "  do-not-query-address: ::1",
            # the whole name at every level: the referrals are for the client's question,
            # so origin names the client on unbound's upstream exchanges
            "  qname-minimisation: no", "  harden-referral-path: no", "  prefetch: no",
            "  target-fetch-policy: \"0 0 0 0 0\"", "  local-zone: \"lab.\" nodefault",
            "remote-control:", "  control-enable: no"]) + "\n")
    procs.start("unbound", ns_exec("unbound", "-d", "-c", conf))
    for _ in range(100):
        out = subprocess.run(ns_exec("dig", "+short", "+time=1", "+tries=1", f"@{UNBOUND4}",
                                     "ns1.goodhost.lab"), capture_output=True, text=True).stdout
        if out.strip():
            return
        time.sleep(0.1)
    raise Fail("the lab hierarchy did not answer ns1.goodhost.lab through unbound")


# ---------------------------------------------------------------------------------------------
# The agent and its events

class Agent:
    def __init__(self):
        self.tail = None  # the events file, once args.tmp is known; read on across restarts
        self.items = []
        self.p = None

    def start(self, extra=()):
        log = f"{args.tmp}/agent.log"
        mark = os.path.getsize(log) if os.path.exists(log) else 0
        self.p = procs.start("agent", [args.agent, "--jsonl", f"{args.tmp}/events.jsonl",
                                       "-s", "0", "--intel", f"{args.tmp}/intel",
                                       "--state-dir", f"{args.tmp}/state",
                                       "--ns-change-min-age", "2", *extra])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with open(log) as f:
                f.seek(mark)
                if "ready" in f.read():
                    return
            if self.p.poll() is not None:
                break
            time.sleep(0.1)
        raise Fail(f"the agent did not log ready: {open(log).read()[-2000:]}")

    def stop(self):
        procs.stop("agent")
        if self.p.returncode != 0:
            raise Fail(f"the agent exited with {self.p.returncode}")

    def refresh(self):
        self.tail = self.tail or labprocs.LineTail(f"{args.tmp}/events.jsonl")
        for line in self.tail.new_lines():
            if b'"type":"finding"' in line:
                self.items.append(json.loads(line))

    def findings(self, pred, n=1, timeout=WAIT_S):
        deadline = time.monotonic() + timeout
        while True:
            self.refresh()
            found = [e for e in self.items if pred(e)]
            if len(found) >= n or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


agent = Agent()


def dig(qname, qtype="A"):
    p = subprocess.Popen(ns_exec("dig", "+time=3", "+tries=1", qname, qtype),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    out, _ = p.communicate(timeout=15)
    if p.returncode != 0 or "status: NOERROR" not in out:
        raise Fail(f"dig {qname} {qtype}: {out}")
    return p.pid


def of_domain(domain):
    return lambda e: e["finding"].get("registered_domain") == domain


def expect_only(domain, pid, rule, severity, evidence=None, settle=0.5):
    """Exactly one finding about domain: rule, on dig's lookup (pid), with T1584.002 or
    T1071.004 as the rule has it, and evidence items as given."""
    got = agent.findings(lambda e: of_domain(domain)(e) and e["finding"]["rule"] == rule)
    time.sleep(settle)  # anything else it fired is written by now
    got = agent.findings(of_domain(domain), timeout=0)
    rules = sorted(e["finding"]["rule"] for e in got)
    if rules != [rule]:
        raise Fail(f"{domain}: expected one {rule} finding, got {rules}: {got}")
    e = got[0]
    f, p = e["finding"], e.get("process") or {}
    attack = ["T1584.002"] if rule.startswith(("intel.ns", "ns.")) else ["T1071.004"]
    want = {"severity": severity, "attack": attack, "pid": pid, "comm": "dig"}
    have = {"severity": f.get("severity"), "attack": f.get("attack"), "pid": p.get("pid"),
            "comm": p.get("comm")}
    if want != have:
        raise Fail(f"{domain} {rule}: expected {want}, got {have}: {e}")
    for k, v in (evidence or {}).items():
        if f.get("evidence", {}).get(k) != v:
            raise Fail(f"{domain} {rule} evidence.{k}: expected {v!r}, got "
                       f"{f.get('evidence', {}).get(k)!r}: {e}")
    return e


def no_findings(domain, settle=1.0):
    time.sleep(settle)
    got = agent.findings(of_domain(domain), timeout=0)
    if got:
        raise Fail(f"{domain}: expected no finding, got {got}")


def no_high_findings():
    """No high or critical finding about anything but what the cases are about."""
    agent.refresh()
    ours = set(CUSTOMERS)
    bad = [e for e in agent.items if e["finding"].get("severity") in ("high", "critical")
           and e["finding"].get("registered_domain") not in ours]
    if bad:
        raise Fail(f"unrelated high-severity findings: {bad}")


# ---------------------------------------------------------------------------------------------
# Cases

def nameserver_listed_by_nsdname_is_found_on_the_clients_lookup():
    pid = dig("www.nsdname.lab")
    expect_only("nsdname.lab", pid, "intel.nsdname", "medium",
                {"nameserver": "ns1.evil-dns.lab", "seen_in": "learned infrastructure",
                 "indicator": "ns1.evil-dns.lab"})


def nameserver_address_in_nsip_cidr_v4_is_found():
    pid = dig("www.nsip4.lab")
    expect_only("nsip4.lab", pid, "intel.nsip", "medium",
                {"nameserver": "ns1.badnet.lab", "address": "127.53.9.9",
                 "seen_in": "learned infrastructure"})


def nameserver_address_in_nsip_cidr_v6_glue_aaaa_is_found():
    pid = dig("www.nsip6.lab")
    expect_only("nsip6.lab", pid, "intel.nsip", "medium",
                {"nameserver": "ns1.v6host.lab", "address": "fd53::66"})


def listed_qname_fires_once_on_the_client_not_on_unbounds_upstream():
    pid = dig("www.qname.lab")
    expect_only("qname.lab", pid, "intel.qname", "medium")


def listed_answer_address_fires_once_on_the_client():
    pid = dig("www.answerip.lab")
    expect_only("answerip.lab", pid, "intel.ip", "medium", {"address": "198.51.100.7"})


def passthru_name_under_a_listed_nameserver_is_silent():
    dig("www.allowed.lab")
    no_findings("allowed.lab")


def stable_domain_renamed_within_its_provider_is_no_change():
    dig("www.stable.lab")
    dig("www.neighbour.lab")
    time.sleep(2.5)  # past --ns-change-min-age
    start_servers(dict(CUSTOMERS, **{"stable.lab": ["ns1.goodhost.lab", "ns3.goodhost.lab"]}))
    dig("www.stable.lab")
    no_findings("stable.lab")


def passive_dns_and_the_judgement_survive_a_restart():
    agent.stop()
    out = subprocess.run([args.agent, "pdns", "--state-dir", f"{args.tmp}/state"],
                         capture_output=True, text=True, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    want = {("stable.lab", "NS", "ns3.goodhost.lab"), ("ns1.badnet.lab", "A", "127.53.9.9"),
            ("ns1.v6host.lab", "AAAA", "fd53::66"), ("www.answerip.lab", "A", "198.51.100.7")}
    have = {(r.get("rrname"), r.get("rrtype"), r.get("rdata")) for r in rows}
    if not want <= have:
        raise Fail(f"pdns export lacks {sorted(want - have)}; it has {len(rows)} rows")
    agent.start()
    # the move to another provider, judged against the set learned before the restart
    start_servers(dict(CUSTOMERS, **{"stable.lab": ["ns1.otherhost.lab"]}))
    dig("www.stable.lab")
    e = agent.findings(lambda e: of_domain("stable.lab")(e) and e["finding"]["rule"] == "ns.change")
    if not e:
        raise Fail("no ns.change for stable.lab after the move")
    f = e[0]["finding"]
    ev = f.get("evidence", {})
    # medium: not watched, otherhost.lab seen (neighbour.lab) before the restart, not in intel
    want = {"severity": "medium", "attack": ["T1584.002"], "reasons": [],
            "old_ns": ["ns1.goodhost.lab", "ns3.goodhost.lab"], "new_ns": ["ns1.otherhost.lab"],
            "old_providers": ["goodhost.lab"], "new_providers": ["otherhost.lab"]}
    have = {"severity": f.get("severity"), "attack": f.get("attack"),
            "reasons": ev.get("reasons"), "old_ns": ev.get("old_ns"),
            "new_ns": ev.get("new_ns"), "old_providers": ev.get("old_providers"),
            "new_providers": ev.get("new_providers")}
    if want != have:
        raise Fail(f"ns.change: expected {want}, got {have}: {e[0]}")
    if (ev.get("stable_s") or 0) < 2:
        raise Fail(f"ns.change stable_s {ev.get('stable_s')}: the pre-restart age was lost")


def malformed_and_huge_intel_files_are_refused_and_the_intel_before_stays():
    bad = f"{args.tmp}/bad"
    os.makedirs(bad, exist_ok=True)
    with open(f"{bad}/broken.rpz", "w") as f:  # more bad records than a file may have
        f.write("$ORIGIN rpz.lab.\n@ SOA a. b. 1 2 3 4 5\nx.lab CNAME .\n" +
                "".join(f"bad..{i} CNAME .\n" for i in range(150)))
    with open(f"{bad}/huge.rpz", "w") as f:  # over the 1 GiB a file may be: sparse
        f.truncate(1100 << 20)
    with open(f"{bad}/onebad.rpz", "w") as f:  # the agent would skip it; a check says so
        f.write("$ORIGIN rpz.lab.\n@ SOA a. b. 1 2 3 4 5\nx.lab CNAME .\ny.lab CNAME\n")
    for name, want in (("broken.rpz", "broken.rpz:4: owner"), ("huge.rpz", "File too large"),
                       ("onebad.rpz", "onebad.rpz:4: CNAME record without data")):
        r = subprocess.run([args.agent, "--check", "--intel", f"{bad}/{name}"],
                           capture_output=True, text=True)
        if r.returncode == 0 or want not in r.stderr or name not in r.stderr:
            raise Fail(f"--check --intel {name}: rc {r.returncode}, expected {want!r} in "
                       f"stderr: {r.stderr[-500:]}")
    os.replace(f"{bad}/broken.rpz", f"{args.tmp}/intel/broken.rpz")
    log = f"{args.tmp}/agent.log"
    mark = os.path.getsize(log)
    agent.p.send_signal(1)
    deadline = time.monotonic() + WAIT_S
    while "stays in use" not in open(log).read()[mark:]:
        if time.monotonic() > deadline:
            raise Fail(f"no failed reload in the agent's log: {open(log).read()[mark:]}")
        time.sleep(0.1)
    # the intel before still matches (another dig: a process of its own for the dedup)
    pid = dig("www.qname.lab")
    if not agent.findings(lambda e: e["finding"]["rule"] == "intel.qname"
                          and (e.get("process") or {}).get("pid") == pid):
        raise Fail("after the failed reload, www.qname.lab no longer fires intel.qname")


CASES = [
    nameserver_listed_by_nsdname_is_found_on_the_clients_lookup,
    nameserver_address_in_nsip_cidr_v4_is_found,
    nameserver_address_in_nsip_cidr_v6_glue_aaaa_is_found,
    listed_qname_fires_once_on_the_client_not_on_unbounds_upstream,
    listed_answer_address_fires_once_on_the_client,
    passthru_name_under_a_listed_nameserver_is_silent,
    stable_domain_renamed_within_its_provider_is_no_change,
    passive_dns_and_the_judgement_survive_a_restart,
    malformed_and_huge_intel_files_are_refused_and_the_intel_before_stays,
]


def main():
    global args, procs
    ap = argparse.ArgumentParser()
    ap.add_argument("--netns", required=True)
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--agent", required=True)
    args = ap.parse_args()
    procs = labprocs.Procs(args.tmp)
    passed = failed = 0
    os.makedirs(f"{args.tmp}/intel", exist_ok=True)
    os.makedirs(f"{args.tmp}/state", exist_ok=True)
    with open(f"{args.tmp}/intel/lab.rpz", "w") as f:
        f.write(INTEL)
    try:
        start_servers(CUSTOMERS)
        agent.start()
        for case in CASES:
            t = time.monotonic()
            try:
                case()
                no_high_findings()
                passed += 1
                print(f"ok   {case.__name__} ({time.monotonic() - t:.1f} s)")
            except (Fail, subprocess.SubprocessError, OSError) as err:
                failed += 1
                print(f"FAIL {case.__name__}: {err}")
    except Fail as err:
        failed += 1
        print(f"FAIL lab_setup: {err}")
    finally:
        procs.stop_all()
    print(f"hier-e2e: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
