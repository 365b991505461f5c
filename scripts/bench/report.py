#!/usr/bin/env python3
"""Turns the raw files of one scripts/bench.sh run into one markdown table and the raw numbers.

    report.py RESULTS_DIR

RESULTS_DIR holds what bench.sh collected (env.txt, fixed-*, sat-*, parse.txt,
machine.txt); the output goes to stdout. Every figure is computed here, from those files
only, so that a run can be re-reported from BUILD_DIR/bench-last/.
"""
import json
import os
import re
import statistics
import sys

BPF_TARGET_NS = 300
ALLIN_TARGET_NS = 1000
SAT_TARGET = 0.80
PARSE_TARGET_NS = 150
MIN_RUNS = 100  # fewer runs than this in the window: the ns/run figure is not judged
# Programs listed first, in this order; any other program of the agent that ran follows.
PROG_ORDER = ["wire_egress", "wire_ingress", "sendmsg4", "recvmsg4", "sendmsg6", "recvmsg6",
              "connect4", "connect6", "sock_create"]
LOST_FIELDS = ["ringbuf_full", "load_bytes_failed", "capture_nested"]


def read(res, name, default=None):
    try:
        with open(os.path.join(res, name)) as f:
            return f.read()
    except OSError:
        if default is None:
            raise
        return default


def read_int(res, name):
    return int(read(res, name).split()[0])


def env(res):
    out = {}
    for line in read(res, "env.txt").splitlines():
        key, _, value = line.partition(" ")
        out[key] = value
    return out


def stats(res, name):
    """The "stats" object of a stats event line, or None when the file is empty."""
    text = read(res, name, "").strip()
    if not text:
        return None
    return json.loads(text)["stats"]


def dnsperf(res, name):
    text = read(res, name)
    out = {}
    for key, pat in (("sent", r"Queries sent:\s+(\d+)"),
                     ("completed", r"Queries completed:\s+(\d+)"),
                     ("lost", r"Queries lost:\s+(\d+)"),
                     ("qps", r"Queries per second:\s+([\d.]+)"),
                     ("latency", r"Average Latency \(s\):\s+([\d.]+)")):
        m = re.search(pat, text)
        out[key] = float(m.group(1)) if m else None
    return out


def progs(res, name):
    return {p["id"]: p for p in json.loads(read(res, name))}


def agent_prog_ids(res):
    ids = [int(x) for x in read(res, "fixed-prog-ids.txt", "").split()]
    if ids:
        return ids
    # Fallback: programs that appeared after the agent started.
    pre = progs(res, "fixed-bpf-pre-agent.json")
    before = progs(res, "fixed-bpf-before.json")
    return [i for i, p in before.items() if i not in pre and p.get("name") in PROG_ORDER]


def bpf_deltas(res):
    before = progs(res, "fixed-bpf-before.json")
    after = progs(res, "fixed-bpf-after.json")
    rows = []
    for pid in agent_prog_ids(res):
        if pid not in before or pid not in after:
            continue
        b, a = before[pid], after[pid]
        rows.append({
            "name": a.get("name", "id%d" % pid),
            "run_ns": a.get("run_time_ns", 0) - b.get("run_time_ns", 0),
            "runs": a.get("run_cnt", 0) - b.get("run_cnt", 0),
        })
    order = {n: i for i, n in enumerate(PROG_ORDER)}
    rows.sort(key=lambda r: (order.get(r["name"], len(order)), r["name"]))
    return rows


def delta(after, before, key):
    return after.get(key, 0) - (before or {}).get(key, 0)


def drops(after, before):
    out = {}
    for key in after.get("kernel_drops", {}):
        out[key] = after["kernel_drops"][key] - (before or {}).get("kernel_drops", {}).get(key, 0)
    return out


def yes(ok):
    return "yes" if ok else "no"


def entries(res, name):
    """{syscr, syscw, voluntary_ctxt_switches, nonvoluntary_ctxt_switches} of lab_kernel_entries."""
    out = {}
    for line in read(res, name, "").splitlines():
        key, _, value = line.partition(":")
        out[key.strip()] = int(value)
    return out


def fmt(x, digits=0):
    if x is None:
        return "n/a"
    return "%.*f" % (digits, x)


def main():
    res = sys.argv[1]
    e = env(res)
    table = []  # (figure, value, target, met)
    raw = []

    # 1. fixed rate
    fixed = dnsperf(res, "fixed-dnsperf.txt")
    s0 = stats(res, "fixed-stats-before.json")
    s1 = stats(res, "fixed-stats-final.json")
    clk = int(e["clk_tck"])
    ticks = read_int(res, "fixed-cpu-after.txt") - read_int(res, "fixed-cpu-before.txt")
    agent_ns = ticks * 1e9 / clk
    rows = bpf_deltas(res)
    bpf_ns = sum(r["run_ns"] for r in rows)
    qps = e["qps"]
    for r in rows:
        if r["runs"] > 0:
            ns = r["run_ns"] / r["runs"]
            label = "BPF %s ns/run @%s qps" % (r["name"], qps)
            met = yes(ns <= BPF_TARGET_NS)
            if r["runs"] < MIN_RUNS:
                # Socket set-up by whatever else ran on the host: a handful of cold runs
                # measure cache misses, not the program.
                label += " (%d runs)" % r["runs"]
                met = "n/a (< %d runs)" % MIN_RUNS
            table.append((label, fmt(ns), "<= %d" % BPF_TARGET_NS, met))
    if s1 is None:
        messages = None
        table.append(("all-in CPU ns/message @%s qps" % qps, "n/a (no final stats event)",
                      "<= %d" % ALLIN_TARGET_NS, "no"))
        table.append(("events lost @%s qps" % qps, "n/a (no final stats event)", "0", "no"))
        lost = None
    else:
        messages = delta(s1, s0, "messages")
        allin = (bpf_ns + agent_ns) / messages if messages > 0 else None
        table.append(("all-in CPU ns/message @%s qps" % qps, fmt(allin),
                      "<= %d" % ALLIN_TARGET_NS, yes(allin is not None and allin <= ALLIN_TARGET_NS)))
        d = drops(s1, s0)
        lost = sum(d.get(k, 0) for k in LOST_FIELDS) + delta(s1, s0, "incomplete_packets")
        table.append(("events lost @%s qps" % qps, "%d" % lost, "0", yes(lost == 0)))

    # 2. saturation
    rounds = int(e["rounds"])
    qps_by = {"a": [], "b": [], "c": [], "d": []}
    order = []
    for r in range(1, rounds + 1):
        for cfg in "abcd":
            q = dnsperf(res, "sat-%d%s-dnsperf.txt" % (r, cfg))["qps"]
            qps_by[cfg].append(q)
            load = read(res, "sat-%d%s-loadavg.txt" % (r, cfg), "").strip()
            order.append("%d%s=%s%s" % (r, cfg, fmt(q), " (load %s)" % load if load else ""))
    med = {cfg: statistics.median(v) for cfg, v in qps_by.items()}
    ba = med["b"] / med["a"] if med["a"] else None
    ca = med["c"] / med["a"] if med["a"] else None
    table.append(("saturation b/a (agent)", fmt(ba, 2), ">= %.2f and > c/a" % SAT_TARGET,
                  yes(ba is not None and ca is not None and ba >= SAT_TARGET and ba > ca)))
    table.append(("saturation c/a (dnscap)", fmt(ca, 2), "reference", "-"))
    # Lost events make a round cheaper (a failed reservation costs little): read b/a with them.
    lost_pct = {cfg: [] for cfg in "bd"}
    for r in range(1, rounds + 1):
        for cfg in "bd":
            sb = stats(res, "sat-%d%s-stats-final.json" % (r, cfg))
            if sb is not None:
                d = drops(sb, None)
                lost = sum(d.get(k, 0) for k in LOST_FIELDS) + sb.get("incomplete_packets", 0)
                total = lost + sb.get("messages", 0)
                lost_pct[cfg].append(100.0 * lost / total if total else 0.0)
    if lost_pct["b"]:
        table.append(("saturation events lost in b (median)",
                      "%.1f%%" % statistics.median(lost_pct["b"]), "reference", "-"))
    da = med["d"] / med["a"] if med["a"] else None
    table.append(("saturation d/a (agent, --overload keep)", fmt(da, 2), "reference", "-"))
    if lost_pct["d"]:
        table.append(("saturation events lost in d (median)",
                      "%.1f%%" % statistics.median(lost_pct["d"]), "reference", "-"))
    hwm = read(res, "fixed-rss.txt", "").split()
    table.append(("agent peak RSS @%s qps (VmHWM)" % qps,
                  "%.1f MB" % (int(hwm[1]) / 1024) if len(hwm) > 1 else "n/a", "reference", "-"))

    # 3. parser
    ptext = read(res, "parse.txt")
    parse_lines = [l.split() for l in ptext.splitlines() if l.startswith("parse ")]
    a_ns = float(parse_lines[0][3]) if parse_lines else None
    a_name = os.path.basename(parse_lines[0][1]) if parse_lines else "?"
    table.append(("parse ns/msg (%s)" % a_name, fmt(a_ns, 1), "<= %d" % PARSE_TARGET_NS,
                  yes(a_ns is not None and a_ns <= PARSE_TARGET_NS)))

    # 0. the machine: the units the figures above are made of
    machine = dict(l.split() for l in read(res, "machine.txt", "").splitlines()
                   if len(l.split()) == 2)
    table.append(("this machine: null system call ns", machine.get("syscall", "n/a"),
                  "reference", "-"))
    table.append(("this machine: context switch ns", machine.get("switch", "n/a"),
                  "reference", "-"))
    table.append(("this machine: memory load missing every cache ns", machine.get("miss", "n/a"),
                  "reference", "-"))

    # Output
    print("## dnsvigil benchmark (scripts/bench.sh)")
    print()
    print("%s, kernel %s, %s CPUs (%s), commit %s, load average at start %s, "
          "agent JSONL and pcap on %s, %s cgroup_skb programs of others." % (
              e["date"], e["kernel"], e["cpus"].split(" ", 1)[0], e["cpus"].split(" ", 1)[-1],
              e["commit"], e["loadavg_at_start"], e.get("tmpdir", "? ").split(" ")[0],
              e.get("other_cgroup_skb_progs", "?")))
    print()
    width = [max(len(row[i]) for row in table + [("figure", "value", "target", "met")])
             for i in range(4)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, width)) + " |"
    print(line(("figure", "value", "target", "met")))
    print("|" + "|".join("-" * (w + 2) for w in width) + "|")
    for row in table:
        print(line(row))
    print()

    met_n = sum(1 for r in table if r[3] == "yes")
    judged = sum(1 for r in table if r[3] in ("yes", "no"))
    print("Targets met: %d of %d." % (met_n, judged))
    print()
    print("Raw numbers:")
    print("- fixed rate: dnsperf -Q %s -l %s: sent %s, completed %s, lost %s, %s qps, avg latency %s ms" % (
        qps, e["fixed_s"], fmt(fixed["sent"]), fmt(fixed["completed"]), fmt(fixed["lost"]),
        fmt(fixed["qps"]), fmt(fixed["latency"] * 1e3 if fixed["latency"] is not None else None, 3)))
    if s1 is not None:
        per_q = messages / fixed["completed"] if fixed["completed"] else None
        print("- agent: messages %d (%s per completed query), packets %d, records %d, "
              "parse_errors %d, unattributed_packets %d, tcp_gaps %d, exit status %s" % (
                  messages, fmt(per_q, 2), delta(s1, s0, "packets"), delta(s1, s0, "records"),
                  delta(s1, s0, "parse_errors"), delta(s1, s0, "unattributed_packets"),
                  delta(s1, s0, "tcp_gaps"), read(res, "fixed-agent-rc.txt", "?").strip()))
        print("- kernel_drops: %s; incomplete_packets %d; ringbuf_drops_per_cpu %s" % (
            ", ".join("%s %d" % kv for kv in drops(s1, s0).items()),
            delta(s1, s0, "incomplete_packets"), s1.get("ringbuf_drops_per_cpu")))
        jbytes = read(res, "fixed-jsonl-bytes.txt", "").strip()
        if jbytes and s1.get("events_written"):
            print("- JSONL written: %s bytes, %d events (%.0f bytes/event)" % (
                jbytes, s1["events_written"], int(jbytes) / s1["events_written"]))
    print("- agent CPU user+sys: %.0f ms (%d ticks at %d Hz) = %.1f%% of one CPU over the window; "
          "BPF run time total %.0f ms" % (agent_ns / 1e6, ticks, clk,
                                         100.0 * agent_ns / (float(e["fixed_s"]) * 1e9), bpf_ns / 1e6))
    if messages:
        print("- per message: BPF %.0f ns + agent %.0f ns" % (bpf_ns / messages, agent_ns / messages))
    n0, n1 = entries(res, "fixed-entries-before.txt"), entries(res, "fixed-entries-after.txt")
    if messages and n0 and n1:
        per = lambda key: (n1.get(key, 0) - n0.get(key, 0)) / messages
        print("- agent kernel entries per message: system calls %.4f, voluntary switches %.4f, "
              "involuntary switches %.4f" % (per("syscr") + per("syscw"),
                                              per("voluntary_ctxt_switches"),
                                              per("nonvoluntary_ctxt_switches")))
    if fixed["completed"]:
        print("- per completed query (query + response, each seen on egress and ingress): "
              "%.0f ns all-in" % ((bpf_ns + agent_ns) / fixed["completed"]))
    for r in rows:
        per_q = r["runs"] / fixed["completed"] if fixed["completed"] else 0
        print("- BPF %s: run_cnt %d (%.2f per completed query), run_time %.1f ms, %s ns/run" % (
            r["name"], r["runs"], per_q, r["run_ns"] / 1e6,
            fmt(r["run_ns"] / r["runs"]) if r["runs"] else "n/a (no runs)"))
    print("- saturation (dnsperf -c %s -q %s -l %s, rounds in run order): %s" % (
        e["clients"], e["outstanding"], e["sat_s"], ", ".join(order)))
    print("- saturation medians: a %s, b %s, c %s, d %s qps" % (
        fmt(med["a"]), fmt(med["b"]), fmt(med["c"]), fmt(med["d"])))
    for r in range(1, rounds + 1):
        for cfg in "bd":
            sb = stats(res, "sat-%d%s-stats-final.json" % (r, cfg))
            pb = dnsperf(res, "sat-%d%s-dnsperf.txt" % (r, cfg))
            if sb is not None:
                d = drops(sb, None)
                lost = sum(d.get(k, 0) for k in LOST_FIELDS) + sb.get("incomplete_packets", 0)
                print("- round %d%s agent: messages %d for %s completed queries, lost events %d "
                      "(ringbuf_full %d), exit status %s" % (
                          r, cfg, sb.get("messages", 0), fmt(pb["completed"]), lost,
                          d.get("ringbuf_full", 0),
                          read(res, "sat-%d%s-agent-rc.txt" % (r, cfg), "?").strip()))
        dc = read(res, "sat-%dc-dnscap.log" % r, "")
        m = re.search(r"(\d+) recv (\d+) drop", dc)
        if m:
            print("- round %dc dnscap: %s packets received, %s dropped by the kernel, pcap %s bytes" % (
                r, m.group(1), m.group(2), read(res, "sat-%dc-pcap-bytes.txt" % r, "?").strip()))
    for l in parse_lines:
        print("- parse %s (%s bytes): %s ns/msg" % (os.path.basename(l[1]), l[2], l[3]))
    discarded = read(res, "discarded.txt", "").split()
    print("- measurements discarded and repeated because another dnsvigil started during the "
          "load: %d%s" % (len(discarded), " (pids %s)" % " ".join(discarded) if discarded else ""))

if __name__ == "__main__":
    main()
