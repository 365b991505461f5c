#!/usr/bin/python3
"""The RR type cases: a zone (rr.lab.) with records of every RR type of the IANA registry that
dig 9.18 decodes into presentation form (several where the presentation has variants, one
type nothing knows), served by one nsd in the namespace tests/e2e/rrtypes.sh made. dig asks
nsd for each owner name and type; the agent, in the host namespace, sees each response on the
namespace's loopback. For every query the agent's event for the response dig received (same
DNS id, qr, client side, ingress) must hold dig's answer records: the same type mnemonic and
rdata text, byte for byte, but for whitespace inside a trailing base64 or hex block. What nsd
cannot parse is written in RFC 3597 generic syntax; nsd answers no NSEC3 query, so those come
by AXFR of a zone of their own.

Started by tests/e2e/rrtypes.sh, which owns the namespace, the temp dir and the teardown; this
script writes the zone, starts nsd and the agent (their pids go to $tmp/pids, which the
shell's trap kills), sends every query in one batch, stops the agent and compares. One case
per RR type: "ok TYPE", or one "DIFF TYPE name: dig=<...> agent=<...>" line per record that
differs (MISSING, FAIL: no event, or dig itself did not get the records). Prints
"rrtypes-e2e: N passed, M failed" last. Stdlib and labprocs only; no name is ever looked up on
the host.
"""
import argparse
import base64
import concurrent.futures
import ipaddress
import json
import re
import struct
import subprocess
import sys
import time

import labprocs

ORIGIN = "rr.lab."
# nsd answers no query for type NSEC3 (NODATA, also for ANY: query.c answer_domain), so the
# NSEC3 records sit in a zone of their own, delegated from ORIGIN, and come by AXFR.
NSEC3_ZONE = "nsec3.rr.lab."
NSD4 = "127.54.0.1"
QID0 = 20000  # dig's query ids: QID0 + the query's index, unique in the run
WAIT_S = 5.0  # for the last events after the last dig (the agent flushes within 1 s)

args = None


class Fail(Exception):
    pass


def ns_exec(*argv):
    return ["ip", "netns", "exec", args.netns, *argv]


# ---------------------------------------------------------------------------------------------
# Record data. A str is presentation form, which nsd parses; Wire is RFC 3597 generic syntax
# (TYPEnnn \# len hex) for what nsd 4.6 cannot parse, built here byte by byte.

class Wire:
    def __init__(self, *parts):
        self.data = b"".join(parts)

    def text(self):
        return f"\\# {len(self.data)} {self.data.hex()}" if self.data else "\\# 0"


def u8(v):
    return struct.pack("!B", v)


def u16(v):
    return struct.pack("!H", v)


def u32(v):
    return struct.pack("!I", v)


def name(n):
    """A name without escapes in wire form, uncompressed."""
    labels = [lb.encode() for lb in n.rstrip(".").split(".")] if n != "." else []
    return b"".join(u8(len(lb)) + lb for lb in labels) + b"\0"


def cs(s):
    """A character-string."""
    s = s if isinstance(s, bytes) else s.encode()
    return u8(len(s)) + s


def ip4(a):
    return ipaddress.IPv4Address(a).packed


def ip6(a):
    return ipaddress.IPv6Address(a).packed


def blob(n, seed):
    """n bytes of some fixed pattern: key, signature and digest material."""
    return bytes((seed * 37 + i * 11 + (i >> 3)) & 0xFF for i in range(n))


def b64(n, seed):
    return base64.b64encode(blob(n, seed)).decode()


def hx(n, seed):
    return blob(n, seed).hex()


HIT = bytes.fromhex("200100107B1A74DF365639CC39F1D578")
HIP_PK = ("AwEAAbdxyhNuSutc5EMzxTs9LBPCIkOFH8cIvM4p9+LrV4e19WzK00+CI6zBCQTdtWsuxKbWIy87UOoJTwk"
          "Us7lBu+Upr1gsNrut79ryra+bSRGQb1slImA8YVJyuIDsj7kwzG7jnERNqnWxZ48AWkskmdHaVDP4Bcel"
          "rTI3rMXdXF5D")
IPSEC_PK = "AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ=="
ECH = "AEP+DQA/BAAgACD/AAEAAQ=="

# (mnemonic as dig prints it, type number, {owner: [record data, ...]}): one case per type,
# one query per owner. Owners are relative to ORIGIN ("@": the apex).
RRTYPES = [
    ("A", 1, {"a": ["192.0.2.1", "0.0.0.0", "255.255.255.255"]}),
    ("NS", 2, {"@": ["ns1.rr.lab.", "ns2.example."]}),
    ("MD", 3, {"md": ["mail.example."]}),
    ("MF", 4, {"mf": ["mail.example."]}),
    ("CNAME", 5, {"cname": ["target.example."]}),
    ("SOA", 6, {"@": ["ns1.rr.lab. hostmaster.rr.lab. 2024010101 3600 600 86400 300"]}),
    ("MB", 7, {"mb": ["mbox.example."]}),
    ("MG", 8, {"mg": ["mgroup.example."]}),
    ("MR", 9, {"mr": ["rename.example."]}),
    ("NULL", 10, {"null": [Wire(bytes.fromhex("deadbeef")), Wire()]}),
    ("WKS", 11, {"wks": ["192.0.2.2 6 25 80 443", "192.0.2.3 17 53 123",
                         "192.0.2.6 udp 0 1 7 8 1023",
                         # no ports (nsd's parser would take the next line for them), and
                         # a protocol nsd does not know by name (SCTP)
                         Wire(ip4("192.0.2.5"), u8(6)),
                         Wire(ip4("192.0.2.7"), u8(132), bytes.fromhex("0040"))]}),
    # nsd reads "\\." as a backslash and a dot in the label: no escaped backslash before a dot
    ("PTR", 12, {"ptr": ["host.example.", ".", r"we\.ird\032name\@\$\;\(\)\"\\x.example.",
                         r"UPPER\255\000.example."]}),
    ("HINFO", 13, {"hinfo": ['"PC-Intel-700mhz" "NetBSD 1.4"',
                             r'"a \"quoted\" cpu" "back\\slash os"',
                             r'"caf\195\169" "\255\000\127\009tab"', '"" ""', "x86 unix"]}),
    ("MINFO", 14, {"minfo": ["rmail.example. email.example.", ". ."]}),
    ("MX", 15, {"mx": ["10 mail.example.", "0 ."]}),
    ("TXT", 16, {"txt": ['"hello world"', r'"a \"quote\" and back\\slash"',
                         '"semi;colon (paren) @at $dollar"', r'"caf\195\169 \255\000\127\009"',
                         '"one" "two" "three"', '""', "plain"],
                 "txt-long": ['"' + "x" * 255 + '" "' + "y" * 200 + '"']}),
    ("RP", 17, {"rp": ["mbox.example. txt.example.", ". ."]}),
    ("AFSDB", 18, {"afsdb": ["1 afs.example.", "2 dce.example."]}),
    ("X25", 19, {"x25": ['"311061700956"']}),
    ("ISDN", 20, {"isdn": ['"150862028003217" "004"', '"150862028003217"']}),
    ("RT", 21, {"rt": ["10 relay.example."]}),
    ("NSAP", 22, {"nsap": ["0x47.0005.80.005a00.0000.0001.e133.ffffff000161.00", "0x4700"]}),
    ("NSAP-PTR", 23, {"nsap-ptr": [Wire(name("host.example."))]}),
    ("SIG", 24, {"sig": [f"A 5 3 86400 20300101000000 20200101000000 12345 rr.lab. {b64(64, 1)}",
                         f"NXT 15 2 300 20250601000000 20250501000000 7 . {b64(64, 2)}"]}),
    ("KEY", 25, {"key": [f"256 3 5 {b64(68, 3)}", f"512 3 15 {b64(32, 4)}",
                         Wire(u16(0xC000), u8(3), u8(0))]}),
    ("PX", 26, {"px": ["10 map822.example. mapx400.example."]}),
    ("GPOS", 27, {"gpos": [Wire(cs("-32.6882"), cs("116.8652"), cs("10.0")),
                           Wire(cs("0"), cs("-180"), cs("-10"))]}),
    ("AAAA", 28, {"aaaa": ["2001:db8::1", "::", "::ffff:192.0.2.1", "2001:db8:0:0:1:0:0:1",
                           "fe80::", "1::", "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff", "::1",
                           "::1.2.3.4", "64:ff9b::192.0.2.33", "1:0:0:1:0:0:0:1",
                           "1:0:0:2:0:0:3:4", "0:0:1::"]}),
    ("LOC", 29, {"loc": ["52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m",
                         "33 51 S 151 12 E 10m",
                         "0 0 0.001 N 0 0 0.001 W 0m 1m 1m 1m",
                         "90 S 180 W -100000.00m 90000000m 90000000m 90000000m",
                         "42 21 54 N 71 6 18 W -24m 30m",
                         "59 19 48.123 N 18 4 6.500 E 42849672.95m 0.50m 0.10m 5m"]}),
    ("NXT", 30, {"nxt": ["next.rr.lab. A NS SOA MX SIG KEY NXT", "rr.lab. A"]}),
    ("EID", 31, {"eid": [Wire(bytes.fromhex("0102abcdef"))]}),
    ("NIMLOC", 32, {"nimloc": [Wire(bytes.fromhex("3216120201"))]}),
    ("SRV", 33, {"srv": ["0 5 5060 sip.example.", "1 0 0 .", "65535 65535 65535 x.example."]}),
    ("ATMA", 34, {"atma": [Wire(u8(1), b"16135551234"),
                           Wire(u8(0),
                                bytes.fromhex("47000580ffde0000000001e133ffffff00016100"))]}),
    ("NAPTR", 35, {"naptr": ['100 10 "u" "E2U+sip" "!^.*$!sip:info@example.com!" .',
                             '100 50 "s" "http+I2L+I2C+I2R" "" _http._tcp.example.',
                             r'10 0 "u" "E2U+sip" "!^\\+?(.*)$!sip:\\1@example.com!" .',
                             '0 0 "" "" "" replacement.example.']}),
    ("KX", 36, {"kx": ["10 kx.example."]}),
    ("CERT", 37, {"cert": [f"PKIX 0 0 {b64(40, 5)}", f"1 12345 8 {b64(20, 6)}",
                           f"65280 0 0 {b64(12, 7)}", "URI 0 0 aHR0cDovL2V4YW1wbGUuY29tL2NlcnQ=",
                           f"IPGP 1 253 {b64(10, 8)}", f"PKIX 2 RSASHA256 {b64(9, 9)}"]}),
    ("A6", 38, {"a6": [Wire(u8(0), ip6("2001:db8::1")),
                       Wire(u8(64), ip6("::1:2:3:4")[8:], name("prefix.example.")),
                       Wire(u8(65), ip6("::1:2:3:4")[8:], name("prefix.example.")),
                       Wire(u8(128), name("prefix.example."))]}),
    ("DNAME", 39, {"dname": ["target.example."]}),
    ("SINK", 40, {"sink": [Wire(u8(1), u8(2), u8(3), bytes.fromhex("010203")),
                           Wire(u8(0), u8(0), u8(0))]}),
    ("APL", 42, {"apl": ["1:192.0.2.0/24 !1:198.51.100.0/24 2:2001:db8::/32 !2:fe80::/10 "
                         "1:0.0.0.0/0 1:10.0.0.1/32 2:::/0 !2:2001:db8:1:2:3:4:5:6/128 "
                         "1:192.0.2.128/25"],
                 "apl-empty": [Wire()]}),
    # DS belongs to the parent side of a delegation: ds. is one (see zone_texts).
    ("DS", 43, {"ds": [f"12345 8 2 {hx(32, 10)}",
                       "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118",
                       f"1 13 4 {hx(48, 11)}", "3 10 240 abcdef"]}),
    ("SSHFP", 44, {"sshfp": [f"1 1 {hx(20, 12)}", f"4 2 {hx(32, 13)}", f"2 1 {hx(20, 14)}"]}),
    ("IPSECKEY", 45, {"ipseckey": [f"10 0 2 . {IPSEC_PK}", f"10 1 2 192.0.2.38 {IPSEC_PK}",
                                   f"10 2 2 2001:db8:0:8002::2000:1 {IPSEC_PK}",
                                   f"10 3 2 mygateway.example.com. {IPSEC_PK}",
                                   "20 0 0 . AQID"]}),
    # Times within 68 years of now, so that dig's serial arithmetic around the current time
    # (RFC 4034 3.1.5) reads them as the agent does, as seconds since 1970: the agent's text
    # must not depend on when it is read, and only dig's would change for times further out.
    ("RRSIG", 46, {"rrsig": [
        f"A 8 3 300 20300101000000 20240101000000 12345 rr.lab. {b64(128, 15)}",
        f"TYPE65280 13 4 86400 20380119031407 19700101000000 1 rr.lab. {b64(64, 16)}",
        f"NSEC3PARAM 15 2 0 20250101120000 20250101000000 65535 . {b64(64, 17)}"]}),
    ("NSEC", 47, {"nsec": ["next.rr.lab. A NS SOA MX RRSIG NSEC DNSKEY TYPE1234 TYPE65280",
                           r"next\032x\.y.rr.lab. TYPE1234"]}),
    ("DNSKEY", 48, {"dnskey": [f"257 3 8 {b64(132, 18)}", f"256 3 13 {b64(64, 19)}",
                               "256 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
                               # PRIVATEDNS: the key starts with the algorithm's name
                               "385 3 253 " + base64.b64encode(name("private.example.") +
                                                               blob(20, 20)).decode()]}),
    ("DHCID", 49, {"dhcid": ["AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA=",
                             "AAEBOSD+XR3Os/0LozeXVqcNc7FwCfQdWL3b/NaiUDlW2No="]}),
    # In a zone of its own, fetched by AXFR (see NSEC3_ZONE).
    ("NSEC3", 50, {"2vptu5timamqttgl4luu9kg21e0aor3s.nsec3": [
                       "1 1 12 aabbccdd 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG",
                       "1 0 0 - 2vptu5timamqttgl4luu9kg21e0aor3s"],
                   "2t7b4g4vsa5smi47k61mv5bv1a22bojr.nsec3": [
                       "1 0 65535 - 2t7b4g4vsa5smi47k61mv5bv1a22bojr NS SOA MX TXT AAAA RRSIG "
                       "DNSKEY NSEC3PARAM TYPE65280"]}),
    ("NSEC3PARAM", 51, {"nsec3param": ["1 0 0 -", "1 1 10 aabbccdd"]}),
    ("TLSA", 52, {"tlsa": [f"3 1 1 {hx(32, 21)}", f"0 0 2 {hx(64, 22)}", f"2 1 0 {hx(40, 23)}"]}),
    ("SMIMEA", 53, {"smimea": [f"3 0 1 {hx(32, 24)}"]}),
    ("HIP", 55, {"hip": [
        Wire(u8(len(HIT)), u8(2), u16(len(base64.b64decode(HIP_PK))), HIT,
             base64.b64decode(HIP_PK), name("rvs1.example.com."), name("rvs2.example.com.")),
        Wire(u8(len(HIT)), u8(2), u16(len(base64.b64decode(HIP_PK))), HIT,
             base64.b64decode(HIP_PK))]}),
    ("NINFO", 56, {"ninfo": [Wire(cs("ZONE=example"), cs(b'a "quote" \\ \xc3\xa9'))]}),
    ("RKEY", 57, {"rkey": [Wire(u16(0), u8(3), u8(5), blob(36, 25))]}),
    ("TALINK", 58, {"talink": [Wire(name("prev.example."), name("next.example.")),
                               Wire(name("."), name("trust.example."))]}),
    ("CDS", 59, {"cds": [f"12345 13 2 {hx(32, 26)}", "0 0 0 00"]}),
    ("CDNSKEY", 60, {"cdnskey": [f"257 3 13 {b64(64, 27)}", "0 3 0 AA=="]}),
    ("OPENPGPKEY", 61, {"openpgpkey": [b64(100, 28)]}),
    ("CSYNC", 62, {"csync": ["66 3 A NS AAAA", "2018031500 1 A TYPE65280"]}),
    ("ZONEMD", 63, {"zonemd": [f"2018031500 1 1 {hx(48, 29)}",
                               "1 1 240 0123456789abcdef01234567"]}),
    ("SVCB", 64, {"svcb-alias": ["0 svc.example."],
                  "svcb": [r'1 . alpn="h2\\,x,h3" port=8443',
                           "16 foo.example.org. mandatory=alpn,ipv4hint alpn=h2,h3-19 "
                           "no-default-alpn port=53 ipv4hint=192.0.2.1,192.0.2.2 "
                           f"ech={ECH} ipv6hint=2001:db8::1,2001:db8::53:1",
                           '2 . key65333="ex" key667=hello key65444',
                           "3 . ipv6hint=::ffff:198.51.100.100",
                           r'4 . alpn="f\\\\oo\\,bar,h2" dohpath=/dns-query{?dns}',
                           r'5 . key8 key9="a\"b"',
                           r"6 svc.example. key65535=\001\255"]}),
    ("HTTPS", 65, {"https-alias": ["0 www.example."],
                   "https": ["1 . alpn=h3,h2 ipv4hint=192.0.2.7 ipv6hint=2001:db8::7",
                             rf'2 . alpn="h2\\,x,h3" ech="{ECH}"',
                             "3 . port=443 no-default-alpn alpn=h2"]}),
    # Recent registrations, decoded by dig 9.18.49 too.
    ("DSYNC", 66, {"dsync": [Wire(u16(59), u8(1), u16(5359), name("ds-boot.example.")),
                             Wire(u16(65280), u8(2), u16(53), name("."))]}),
    ("HHIT", 67, {"hhit": [Wire(blob(24, 30))]}),
    ("BRID", 68, {"brid": [Wire(blob(30, 31))]}),
    ("SPF", 99, {"spf": ['"v=spf1 -all"', '"v=spf1 " "ip4:192.0.2.0/24 -all"']}),
    ("UINFO", 100, {"uinfo": [Wire(cs("root user"))]}),
    ("UID", 101, {"uid": [Wire(u32(501)), Wire(u32(0))]}),
    ("GID", 102, {"gid": [Wire(u32(20))]}),
    ("UNSPEC", 103, {"unspec": [Wire(bytes.fromhex("00ff4142"))]}),
    ("NID", 104, {"nid": ["10 0014:4fff:ff20:ee64", "20 0015:5fff:fe3b:b8a4"]}),
    ("L32", 105, {"l32": ["10 10.1.2.0", "20 0.0.0.0"]}),
    ("L64", 106, {"l64": ["10 2001:0db8:1140:1000"]}),
    ("LP", 107, {"lp": ["10 l64-subnet1.example.com.", "20 ."]}),
    ("EUI48", 108, {"eui48": ["00-00-5e-00-53-2a"]}),
    ("EUI64", 109, {"eui64": ["00-00-5e-ef-10-00-00-2a"]}),
    ("URI", 256, {"uri": ['10 1 "ftp://ftp1.example.com/public"',
                          r'1 0 "https://example.com/a\"b\\c"', '0 0 ""']}),
    ("CAA", 257, {"caa": ['0 issue "ca.example.net"', '0 issue "ca.example.net; account=230123"',
                          '0 issuewild ";"', '0 iodef "mailto:security@example.com"',
                          '128 tbs "Unknown"', '0 issue ""', r'0 issue "a\"b\\c\195\169"',
                          Wire(u8(0), cs("Issue"), b"x")]}),  # nsd refuses capitals
    ("AVC", 258, {"avc": ['"app-name:WOLFGANG|app-class:OAM" "business=yes"']}),
    ("DOA", 259, {"doa": [Wire(u32(0), u32(1), u8(2), cs(""), b"hello"),
                          Wire(u32(1234567890), u32(4294967295), u8(255), cs("image/png"),
                               bytes.fromhex("89504e470d0a1a0a")),
                          Wire(u32(0), u32(0), u8(0), cs("text/plain"))]}),
    ("AMTRELAY", 260, {"amtrelay": [Wire(u8(0), u8(0)),
                                    Wire(u8(10), u8(0x81), ip4("203.0.113.15")),
                                    Wire(u8(10), u8(0x02), ip6("2001:db8::15")),
                                    Wire(u8(128), u8(0x83), name("amtrelays.example.com."))]}),
    ("RESINFO", 261, {"resinfo": [Wire(cs("qnamemin"), cs("exterr=15-17"),
                                       cs("infourl=https://resolver.example.com/guide"))]}),
    # A recent registration, decoded by dig 9.18.49 too.
    ("WALLET", 262, {"wallet": [Wire(cs("BTC"),
                                     cs("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"))]}),
    ("TA", 32768, {"ta": [Wire(u16(12345), u8(8), u8(2), blob(32, 32))]}),
    ("DLV", 32769, {"dlv": [f"12345 8 2 {hx(32, 33)}"]}),
    ("TYPE65280", 65280, {"type65280": [Wire(bytes.fromhex("abcdef")), Wire()]}),
]

# Fields before a trailing base64 or hex block, per type: the only place where whitespace is
# not compared (a decoder may split the block). RFC 3597 text: "\# len" then hex.
BLOB_AFTER = {
    "KEY": 3, "DNSKEY": 3, "CDNSKEY": 3, "RKEY": 3, "DS": 3, "CDS": 3, "DLV": 3, "TA": 3,
    "SIG": 8, "RRSIG": 8, "SSHFP": 2, "TLSA": 3, "SMIMEA": 3, "CERT": 3, "ZONEMD": 3,
    "SINK": 3, "IPSECKEY": 4, "DOA": 4, "DHCID": 0, "OPENPGPKEY": 0, "EID": 0, "NIMLOC": 0,
    "HHIT": 0, "BRID": 0,
}


def qname(owner):
    return ORIGIN if owner == "@" else f"{owner}.{ORIGIN}"


def record_lines(mnemonic, number, owners):
    for owner, rdatas in owners.items():
        for rd in rdatas:
            if isinstance(rd, Wire):
                yield f"{qname(owner)} TYPE{number} {rd.text()}"
            else:
                yield f"{qname(owner)} {mnemonic} {rd}"


def zone_texts():
    """{origin: zone file text}: ORIGIN with every type but NSEC3, NSEC3_ZONE with NSEC3."""
    soa = "SOA ns1.rr.lab. hostmaster.rr.lab. 2024010101 3600 600 86400 300"
    main = [f"$ORIGIN {ORIGIN}", "$TTL 300", f"ns1 A {NSD4}",
            "ds NS ns1.rr.lab.",  # a delegation: its DS records are this zone's (the parent's)
            f"{NSEC3_ZONE} NS ns1.rr.lab."]
    child = [f"$ORIGIN {NSEC3_ZONE}", "$TTL 300", f"@ {soa}", "@ NS ns1.rr.lab."]
    for mnemonic, number, owners in RRTYPES:
        (child if mnemonic == "NSEC3" else main).extend(record_lines(mnemonic, number, owners))
    return {ORIGIN: "\n".join(main) + "\n", NSEC3_ZONE: "\n".join(child) + "\n"}


def queries():
    """[(mnemonic, dig's -t, qname, how many mnemonic records the answer must hold)]"""
    out = []
    for mnemonic, number, owners in RRTYPES:
        if mnemonic == "NSEC3":
            out.append((mnemonic, "AXFR", NSEC3_ZONE, sum(len(r) for r in owners.values())))
            continue
        out += [(mnemonic, f"TYPE{number}", qname(owner), len(rdatas))
                for owner, rdatas in owners.items()]
    return out


def normalise(rrtype, data):
    """data with whitespace removed inside a trailing base64/hex block; the rest untouched."""
    n = 2 if data.startswith("\\# ") else BLOB_AFTER.get(rrtype)
    if n is None:
        return data
    m = re.match(r"((?:[^ \t]+ ){%d})(.*)\Z" % n, data, re.S)
    if not m:
        return data
    return m.group(1) + re.sub(r"\s+", "", m.group(2))


# ---------------------------------------------------------------------------------------------
# nsd, the agent, dig

procs = None  # labprocs.Procs, once args.tmp is known


def start_nsd():
    t = args.tmp
    zones = []
    for origin, text in zone_texts().items():
        zfile = f"{t}/{origin}zone"
        with open(zfile, "w") as f:
            f.write(text)
        r = subprocess.run(["nsd-checkzone", origin, zfile], capture_output=True, text=True)
        with open(f"{t}/nsd-checkzone.log", "a") as f:
            f.write(r.stdout + r.stderr)
        if r.returncode != 0 or "error" in r.stdout + r.stderr:
            raise Fail(f"nsd-checkzone refuses {zfile}: {(r.stdout + r.stderr)[-3000:]}")
        zones += ["zone:", f'  name: "{origin}"', f'  zonefile: "{zfile}"']
        if origin == NSEC3_ZONE:
            zones.append("  provide-xfr: 127.0.0.0/8 NOKEY")
    conf = f"{t}/nsd.conf"
    with open(conf, "w") as f:
        f.write("\n".join([
            "server:", "  port: 53", '  username: ""', '  chroot: ""', f'  zonesdir: "{t}"',
            '  database: ""', f'  zonelistfile: "{t}/zone.list"', f'  xfrdfile: "{t}/xfrd.state"',
            f'  pidfile: "{t}/nsd.pid"', f'  logfile: "{t}/nsd.log"', "  server-count: 1",
            "  minimal-responses: yes", "  verbosity: 1", f"  ip-address: {NSD4}",
            "remote-control:", "  control-enable: no", *zones]) + "\n")
    procs.start("nsd", ns_exec("nsd", "-d", "-c", conf))
    loaded = [f"zone {origin} read with success" for origin in (ORIGIN, NSEC3_ZONE)]
    for _ in range(100):
        out = subprocess.run(ns_exec("dig", f"@{NSD4}", "+norec", "+short", "+time=1", "+tries=1",
                                     "-t", "SOA", "-q", NSEC3_ZONE),
                             capture_output=True, text=True).stdout
        if out.strip() and all(w in read_log("nsd") for w in loaded):
            break
        if procs["nsd"].poll() is not None:
            raise Fail(f"nsd exited with {procs['nsd'].returncode}: {read_log('nsd')}")
        time.sleep(0.1)
    else:
        raise Fail(f"nsd did not load and serve both zones: {read_log('nsd')}")
    bad = [ln for ln in read_log("nsd").splitlines() if "error" in ln.lower()]
    if bad:
        raise Fail("nsd logged errors loading the zones:\n  " + "\n  ".join(bad[:20]))


def read_log(pname):
    try:
        with open(f"{args.tmp}/{pname}.log", errors="replace") as f:
            return f.read()[-3000:]
    except OSError:
        return ""


def start_agent():
    log = f"{args.tmp}/agent.log"
    p = procs.start("agent", [args.agent, "--jsonl", f"{args.tmp}/events.jsonl", "-s", "0",
                              "--no-resolver"])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with open(log, errors="replace") as f:
            if "ready" in f.read():
                return
        if p.poll() is not None:
            break
        time.sleep(0.1)
    raise Fail(f"the agent did not log ready: {read_log('agent')}")


def dig(qid, qtype, qn):
    """dig's answer to one query: (what is wrong with it or None, [(owner, type, rdata)],
    the command and its output)."""
    argv = ns_exec("dig", f"@{NSD4}", "+norec", "+nosplit", "+nomultiline", "+nocmd", "+noall",
                   "+answer", "+comments", "+time=2", "+tries=1", f"+qid={qid}",
                   "-t", qtype, "-q", qn)
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=15)
    out = r.stdout.decode("utf-8", "replace")
    rrs, problems = [], []
    heads = re.findall(r"status: (\S+), id: (\d+)", out)
    flags = re.findall(r";; flags:([^;]*);", out)
    if r.returncode != 0 or len(heads) != 1:
        problems.append(f"dig exited {r.returncode}, {len(heads)} header(s): "
                        f"{r.stderr.decode('utf-8', 'replace')}")
    else:
        if heads[0][0] != "NOERROR" or int(heads[0][1]) != qid:
            problems.append(f"status {heads[0][0]}, id {heads[0][1]} (sent {qid})")
        if not flags or "aa" not in flags[0].split():
            problems.append("not an authoritative answer")
    for bad in ("malformed", "extra bytes", "Got bad packet", "Truncated", "WARNING"):
        if bad in out:
            problems.append(f"dig says {bad!r}")
    for line in out.splitlines():
        if not line.strip() or line.startswith(";"):
            continue
        m = re.match(r"(\S+)\s+(\d+)\s+(\S+)\s+(\S+)(?:\s(.*))?\Z", line)
        if not m or m.group(3) != "IN":
            problems.append(f"unparsed answer line {line!r}")
            continue
        rrs.append((m.group(1), m.group(4), m.group(5) or ""))
    return ("; ".join(problems) or None), rrs, " ".join(argv) + "\n" + out


class Events:
    """The agent's JSONL file: the client side's response events to our queries, by DNS id."""

    def __init__(self, path):
        self.tail = labprocs.LineTail(path)
        self.by_id = {}

    def refresh(self):
        for line in self.tail.new_lines():
            if b"rr.lab" not in line or b'"type":"dns"' not in line:
                continue
            e = json.loads(line.decode("utf-8", "replace"))
            d, n = e.get("dns") or {}, e.get("net") or {}
            if (d.get("qr") is True and n.get("direction") == "ingress"
                    and n.get("role") == "client" and n.get("src_ip") == NSD4
                    and n.get("src_port") == 53):
                self.by_id.setdefault(d.get("id"), []).append(e)

    def response(self, qid, qn):
        """The response to query qid for qn: the full one if a truncated one came first."""
        got = [e for e in self.by_id.get(qid, [])
               if (e["dns"].get("qname") or "").rstrip(".").lower() == qn.rstrip(".").lower()]
        full = [e for e in got if "tc" not in (e["dns"].get("flags") or [])]
        return (full or got or [None])[-1]


# ---------------------------------------------------------------------------------------------
# The comparison

def compare(qs, answers, events):
    """{mnemonic: [problem lines]}, in the order of RRTYPES; no lines is a pass."""
    results = {}
    for i, (mnemonic, qtype, qn, want_n) in enumerate(qs):
        qid = QID0 + i
        lines = results.setdefault(mnemonic, [])
        problem, rrs, _ = answers[i]
        # An AXFR holds the zone's SOA and NS too: only the records of the type are compared.
        ours = [k for k, (owner, t, _) in enumerate(rrs)
                if t == mnemonic and (qtype == "AXFR" or owner.lower() == qn.lower())]
        if problem or len(ours) != want_n or (qtype != "AXFR" and len(rrs) != want_n):
            lines.append(f"FAIL {mnemonic} {qn}: dig did not get the zone's {want_n} "
                         f"{mnemonic} record(s): {problem or ''} answer {rrs}")
            continue
        e = events.response(qid, qn)
        if e is None:
            lines.append(f"MISSING {mnemonic} {qn}: no agent event for the response "
                         f"(dns.id {qid}, qr, client ingress from {NSD4}:53)")
            continue
        if "malformed" in e:
            lines.append(f"DIFF {mnemonic} {qn}: the agent calls the response malformed: "
                         f"{e['malformed']!r}")
        have = [(a.get("name"), a.get("type"), a.get("data"))
                for a in e["dns"].get("answers") or []]
        if len(have) != len(rrs):
            lines.append(f"DIFF {mnemonic} {qn}: dig has {len(rrs)} answer records, the agent "
                         f"{len(have)}: agent={have}")
            continue
        for k in ours:
            owner, dt, dd = rrs[k]
            _, at, ad = have[k]
            if at != dt:
                lines.append(f"DIFF {mnemonic} {owner}: type dig={dt} agent={at}")
            if not isinstance(ad, str) or normalise(dt, dd) != normalise(dt, ad):
                lines.append(f"DIFF {mnemonic} {owner}: dig=<{dd}> agent=<{ad}>")
    return results


def main():
    global args, procs
    ap = argparse.ArgumentParser()
    ap.add_argument("--netns", required=True)
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--agent", required=True)
    args = ap.parse_args()
    procs = labprocs.Procs(args.tmp)
    passed = failed = 0
    qs = queries()
    try:
        t0 = time.monotonic()
        start_nsd()
        start_agent()
        t1 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda iq: dig(QID0 + iq[0], iq[1][1], iq[1][2]),
                                    enumerate(qs)))
        t2 = time.monotonic()
        with open(f"{args.tmp}/dig.log", "w") as f:
            f.write("\n".join(a[2] for a in answers))
        events = Events(f"{args.tmp}/events.jsonl")
        want = {QID0 + i for i, a in enumerate(answers) if a[0] is None}
        deadline = time.monotonic() + WAIT_S
        while not want <= set(events.by_id) and time.monotonic() < deadline:
            time.sleep(0.1)
            events.refresh()
        rc = procs.stop("agent")
        if rc != 0:
            raise Fail(f"the agent exited with {rc}: {read_log('agent')}")
        events.refresh()
        t3 = time.monotonic()
        for mnemonic, lines in compare(qs, answers, events).items():
            if lines:
                failed += 1
                print("\n".join(lines))
            else:
                passed += 1
                print(f"ok   {mnemonic}")
        print(f"(nsd and the agent {t1 - t0:.1f} s, {len(qs)} queries {t2 - t1:.1f} s, "
              f"the last events and the agent's stop {t3 - t2:.1f} s)")
    except (Fail, subprocess.SubprocessError, OSError) as err:
        failed += 1
        print(f"FAIL lab_setup: {err}")
    finally:
        procs.stop_all()
    print(f"rrtypes-e2e: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
