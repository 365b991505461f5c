#!/usr/bin/python3
"""Regenerates the DNS parser test corpus (tests/unit/data/*.bin) from a real server.

Runs unbound as an answer-only server for example.test. inside a network namespace it creates
(and always removes), sends it queries built with dnslib and saves each raw query and response
as <name>-query.bin and <name>-response.bin. What unbound 1.17 cannot send (ECS scope, a server
COOKIE, PADDING in an answer) is built with dnslib alone and saved as <name>.bin. Needs root,
unbound and Debian's python3-dnslib: run it as  /usr/bin/python3 scripts/gen-dns-corpus.py [OUTDIR]
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from dnslib import (CLASS, EDNS0, EDNSOption, QTYPE, RR, A, DNSHeader, DNSLabel, DNSQuestion,
                    DNSRecord)

ZONE = "example.test."
# local-data lines, one record each; every type the parser decodes has one
RECORDS = [
    "example.test. 3600 SOA ns1.example.test. hostmaster.example.test. 2024010101 3600 900 604800 300",
    "example.test. 3600 NS ns1.example.test.",
    "example.test. 3600 MX 10 mail.example.test.",
    'example.test. 3600 CAA 0 issue "ca.example.net"',
    "example.test. 3600 DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==",
    "example.test. 3600 NSEC3PARAM 1 0 10 AABBCCDD",
    "example.test. 3600 HTTPS 1 . alpn=h3,h2 ipv4hint=192.0.2.1 ech=AEX+DQBB ipv6hint=2001:db8::1",
    "ns1.example.test. 3600 A 192.0.2.53",
    "www.example.test. 300 A 192.0.2.1",
    "www.example.test. 300 A 192.0.2.2",
    "www.example.test. 300 AAAA 2001:db8::1",
    "alias.example.test. 300 CNAME www.example.test.",
    'txt.example.test. 300 TXT "hello world" "quote\\" back\\\\ semi; \\200"',
    "_sip._tcp.example.test. 300 SRV 10 60 5060 sip.example.test.",
    "svc.example.test. 300 SVCB 2 svc1.example.test. mandatory=alpn,port alpn=h2 port=8443 key667=hello",
    "child.example.test. 3600 DS 60485 13 2 2BB183AF5F22588179A53B0A98631FAD1A292118F2A1E3C6F6D4C4B1E1E2D3C4",
    "sig.example.test. 300 RRSIG A 13 3 300 20240201000000 20240101000000 12345 example.test. MTIzNDU2Nzg5MGFiY2RlZg==",
    "nsec.example.test. 300 NSEC www.example.test. A MX RRSIG NSEC TYPE1234",
    "2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.test. 300 NSEC3 1 1 10 AABBCCDD 2T7B4G4VSA5SMI47K61MV5BV1A22BOJS A RRSIG",
    "salt.example.test. 300 NSEC3PARAM 1 0 0 -",
    "big.example.test. 300 TXT " + " ".join(['"' + c * 200 + '"' for c in "xyz"]),
    "unknown.example.test. 300 TYPE65534 \\# 3 ABCDEF",
    "esc\\.dot.example.test. 300 A 192.0.2.7",
    "1.2.0.192.in-addr.arpa. 300 PTR www.example.test.",
]


def edns(do=False, version=0, opts=()):
    return EDNS0(udp_len=1232, version=version, flags="do" if do else "", opts=list(opts))


# name, qname, qtype, EDNS (None for a plain query)
QUERIES = [
    ("a", "www.example.test.", "A", edns()),
    ("a-noedns", "www.example.test.", "A", None),
    ("a-do", "www.example.test.", "A", edns(do=True)),
    ("aaaa", "www.example.test.", "AAAA", edns()),
    ("cname", "alias.example.test.", "A", edns()),
    ("ns", "example.test.", "NS", edns()),
    ("soa", "example.test.", "SOA", edns()),
    ("mx", "example.test.", "MX", edns()),
    ("txt", "txt.example.test.", "TXT", edns()),
    ("ptr", "1.2.0.192.in-addr.arpa.", "PTR", edns()),
    ("srv", "_sip._tcp.example.test.", "SRV", edns()),
    ("caa", "example.test.", "CAA", edns()),
    ("svcb", "svc.example.test.", 64, edns()),
    ("https", "example.test.", 65, edns()),
    ("ds", "child.example.test.", "DS", edns()),
    ("dnskey", "example.test.", "DNSKEY", edns(do=True)),
    ("rrsig", "sig.example.test.", "RRSIG", edns(do=True)),
    ("nsec", "nsec.example.test.", "NSEC", edns(do=True)),
    ("nsec3", "2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.test.", 50, edns(do=True)),
    ("nsec3param", "example.test.", 51, edns(do=True)),
    ("nsec3param-nosalt", "salt.example.test.", 51, edns()),
    ("unknown", "unknown.example.test.", 65534, edns()),
    # dnslib splits text names on every dot, so the escaped one is given as labels
    ("escaped", DNSLabel([b"esc.dot", b"example", b"test"]), "A", edns()),
    ("nxdomain", "missing.example.test.", "A", edns()),
    ("refused", "example.com.", "A", edns()),
    ("truncated", "big.example.test.", "TXT", None),
    ("badvers", "www.example.test.", "A", edns(version=1)),
    ("nsid", "www.example.test.", "A", edns(opts=[EDNSOption(3, b"")])),
    ("ecs", "www.example.test.", "A", edns(opts=[EDNSOption(8, bytes.fromhex("00011800c00002"))])),
    ("cookie", "www.example.test.", "A", edns(opts=[EDNSOption(10, bytes.fromhex("0102030405060708"))])),
    ("padding", "www.example.test.", "A", edns(opts=[EDNSOption(12, bytes(16))])),
]


def unbound_conf(workdir):
    lines = [
        "server:",
        "  interface: 127.0.0.1",
        "  port: 53",
        "  do-ip6: no",
        "  do-daemonize: no",
        '  username: ""',
        '  chroot: ""',
        f'  directory: "{workdir}"',
        '  pidfile: ""',
        '  logfile: ""',
        "  use-syslog: no",
        "  verbosity: 1",
        '  auto-trust-anchor-file: ""',
        '  module-config: "iterator"',
        "  access-control: 127.0.0.0/8 allow",
        "  rrset-roundrobin: no",
        '  nsid: "ascii_dvcorpus"',
        '  local-zone: "." refuse',
        # unbound answers NXDOMAIN for test. and the TEST-NET reverse zone by default
        '  local-zone: "test." nodefault',
        '  local-zone: "2.0.192.in-addr.arpa." static',
        f'  local-zone: "{ZONE}" static',
    ]
    lines += [f"  local-data: '{r}'" for r in RECORDS]
    return "\n".join(lines) + "\n"


def build_query(i, qname, qtype, opt):
    if isinstance(qtype, str):
        qtype = getattr(QTYPE, qtype)
    q = DNSRecord(DNSHeader(id=0x1000 + i, rd=1), q=DNSQuestion(qname, qtype))
    if opt is not None:
        q.add_ar(opt)
    return q.pack()


def exchange(packet, timeout=2.0):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, ("127.0.0.1", 53))
        return s.recv(65535)


def client(outdir):
    """Runs inside the namespace: waits for unbound, then asks every query."""
    probe = build_query(0, "www.example.test.", "A", None)
    for _ in range(100):
        try:
            exchange(probe, 0.1)
            break
        except OSError:
            time.sleep(0.05)
    else:
        sys.exit("unbound did not answer")
    for i, (name, qname, qtype, opt) in enumerate(QUERIES):
        query = build_query(i, qname, qtype, opt)
        response = exchange(query)
        for kind, data in (("query", query), ("response", response)):
            with open(os.path.join(outdir, f"{name}-{kind}.bin"), "wb") as f:
                f.write(data)
        print(f"{name}: {DNSRecord.parse(response).header.rcode} {len(response)} bytes")


def synthetic(outdir):
    """Messages unbound 1.17 cannot give: an answer with ECS scope, a server cookie, padding and
    an unknown option; a query with an IPv6 ECS."""
    header = DNSHeader(id=0x2000, qr=1, aa=1, rd=1, ra=1)
    q = DNSRecord(header, q=DNSQuestion("www.example.test.", QTYPE.A))
    q.add_answer(RR("www.example.test.", QTYPE.A, CLASS.IN, 300, A("192.0.2.1")))
    q.add_ar(EDNS0(udp_len=1232, opts=[
        EDNSOption(8, bytes.fromhex("00011818c00002")),
        EDNSOption(10, bytes.fromhex("0102030405060708" "1000000065a1b2c3d4e5f60718293a4b")),
        EDNSOption(12, bytes(7)),
        EDNSOption(15, bytes.fromhex("0011") + b"blocked"),
    ]))
    with open(os.path.join(outdir, "edns-options-response.bin"), "wb") as f:
        f.write(q.pack())

    q = DNSRecord(DNSHeader(id=0x2001, rd=1), q=DNSQuestion("www.example.test.", QTYPE.AAAA))
    q.add_ar(EDNS0(udp_len=4096, opts=[EDNSOption(8, bytes.fromhex("0002300020010db80001"))]))
    with open(os.path.join(outdir, "ecs6-query.bin"), "wb") as f:
        f.write(q.pack())


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--client":
        client(sys.argv[2])
        return
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(repo, "tests/unit/data")
    outdir = os.path.abspath(outdir)
    os.makedirs(outdir, exist_ok=True)
    ns = f"dvcorpus{os.getpid()}"
    workdir = tempfile.mkdtemp(prefix="dvcorpus.")
    server = None
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        conf = os.path.join(workdir, "unbound.conf")
        with open(conf, "w") as f:
            f.write(unbound_conf(workdir))
        subprocess.run(["unbound-checkconf", conf], check=True, stdout=subprocess.DEVNULL)
        server = subprocess.Popen(["ip", "netns", "exec", ns, "unbound", "-d", "-c", conf])
        subprocess.run(["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__),
                        "--client", outdir], check=True)
        synthetic(outdir)
    finally:
        if server:
            server.terminate()
            server.wait()
        subprocess.run(["ip", "netns", "del", ns])
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
