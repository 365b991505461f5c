#!/usr/bin/python3
"""Builds the DGA score's benign name lists from what Debian ships (lib/dgascore.h).

    scripts/gen-dga-data.py [OUTDIR]        (default data/dga; the committed lists)

Sources, exactly:
  * the Packages index of Debian 12 "bookworm" main, amd64, as apt keeps it
    (/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4,
    read with lz4cat): every `Homepage:` field's host, reduced to its registered domain with
    libpsl (the library and Debian list lib/regdom.c uses, called through ctypes) and then to
    the registered label ("gnome" of www.gnome.org, "kernel" of git.kernel.org);
  * the same index's `Package:` names, split into tokens at '-', '.' and '+' ("libgtk-3-dev"
    -> "libgtk", "3", "dev"): how Debian's developers name things, for training only.

Kept: labels of a-z, 0-9 and '-' only, not IDN (xn--), 1 to 63 characters.

Split: a registered label is a test name when the first byte of its SHA-256 is below 86
(about a third), else a training name. Package tokens train, except one equal to a test
label: the false-positive rate is measured on labels the model never saw. Deterministic:
the same index gives the same files, sorted. The index's Date (its InRelease) is written in
each file's first line, a '#' comment.

Writes OUTDIR/benign-train.txt (labels and tokens, one a line) and OUTDIR/benign-test.txt.
"""
import ctypes
import hashlib
import os
import re
import subprocess
import sys
from urllib.parse import urlsplit

LISTS = "/var/lib/apt/lists"
INDEX = LISTS + "/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4"
RELEASE = LISTS + "/deb.debian.org_debian_dists_bookworm_InRelease"
LABEL = re.compile(r"^[a-z0-9-]{1,63}$")
IPV4 = re.compile(r"^[0-9.]+$")


def release_date():
    with open(RELEASE, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("Date:"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def registered_labels(hosts):
    psl = ctypes.CDLL("libpsl.so.5")
    psl.psl_latest.restype = ctypes.c_void_p
    psl.psl_latest.argtypes = [ctypes.c_char_p]
    psl.psl_registrable_domain.restype = ctypes.c_char_p
    psl.psl_registrable_domain.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    psl.psl_free.argtypes = [ctypes.c_void_p]
    ctx = psl.psl_latest(None)  # as regdom_open(NULL): the newest of Debian's and libpsl's
    if not ctx:
        sys.exit("gen-dga-data: libpsl loads no list")
    labels = set()
    for host in hosts:
        reg = psl.psl_registrable_domain(ctx, host.encode())
        if reg:
            labels.add(reg.decode().split(".", 1)[0])
    psl.psl_free(ctx)
    return labels


def good(label):
    return LABEL.match(label) and not label.startswith("xn--")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "data/dga"
    text = subprocess.run(["lz4cat", INDEX], check=True, capture_output=True,
                          text=True, errors="replace").stdout
    hosts, tokens = set(), set()
    for line in text.splitlines():
        if line.startswith("Homepage:"):
            host = (urlsplit(line.split(":", 1)[1].strip()).hostname or "").rstrip(".")
            if host and "." in host and not IPV4.match(host):
                hosts.add(host.lower())
        elif line.startswith("Package:"):
            tokens.update(re.split(r"[-.+]", line.split(":", 1)[1].strip().lower()))
    labels = {l for l in registered_labels(sorted(hosts)) if good(l)}
    test = {l for l in labels if hashlib.sha256(l.encode()).digest()[0] < 86}
    train = (labels - test) | {t for t in tokens if good(t) and t not in test}
    head = "# from Debian bookworm main amd64 Packages of %s (scripts/gen-dga-data.py)\n" % \
        release_date()
    os.makedirs(out, exist_ok=True)
    for name, names in (("benign-train.txt", train), ("benign-test.txt", test)):
        with open(os.path.join(out, name), "w", encoding="ascii") as f:
            f.write(head)
            f.writelines(n + "\n" for n in sorted(names))
    print("gen-dga-data: %d hosts, %d training names, %d test names" %
          (len(hosts), len(train), len(test)), file=sys.stderr)


if __name__ == "__main__":
    main()
