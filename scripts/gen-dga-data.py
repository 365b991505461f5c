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

Split, three ways, by the first byte b of a registered label's SHA-256: b < 86 (about a
third) a test name, 86 <= b < 128 (about a sixth) a validation name, else a training name.
The test names measure the false-positive rate; the validation names alone choose
DGASCORE_THRESHOLD (the rule is in lib/dgascore.h); neither is trained on. Package tokens
train, except one equal to a held-out (test or validation) label, and no training name is
a near-duplicate of one: a name whose form without a "lib" prefix and a digits suffix
("libgtk3" -> "gtk") is not empty and equals such a form of a held-out label ("gtk",
"gtk2") is dropped, so that "libfoo" does not teach the model the held-out "foo".
Deterministic: the same index gives the same files, sorted. The index's Date (its
InRelease) is written in each file's first line, a '#' comment.

Writes OUTDIR/benign-train.txt (labels and tokens, one a line), OUTDIR/benign-validation.txt
and OUTDIR/benign-test.txt.
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
TEST_BELOW, VALIDATION_BELOW = 86, 128  # SHA-256 first byte: test, then validation


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


def core(name):
    """The name without a "lib" prefix and a digits suffix: what near-duplicates share."""
    return re.sub(r"[0-9]+$", "", name[3:] if name.startswith("lib") else name)


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
    first = {l: hashlib.sha256(l.encode()).digest()[0] for l in labels}
    test = {l for l in labels if first[l] < TEST_BELOW}
    validation = {l for l in labels if TEST_BELOW <= first[l] < VALIDATION_BELOW}
    held = test | validation
    train = (labels - held) | {t for t in tokens if good(t) and t not in held}
    held_cores = {core(l) for l in held} - {""}
    near = {t for t in train if core(t) in held_cores}
    train -= near
    head = "# from Debian bookworm main amd64 Packages of %s (scripts/gen-dga-data.py)\n" % \
        release_date()
    os.makedirs(out, exist_ok=True)
    for name, names in (("benign-train.txt", train), ("benign-validation.txt", validation),
                        ("benign-test.txt", test)):
        with open(os.path.join(out, name), "w", encoding="ascii") as f:
            f.write(head)
            f.writelines(n + "\n" for n in sorted(names))
    print("gen-dga-data: %d hosts, %d training names (%d near-duplicates of held-out labels "
          "dropped), %d validation names, %d test names" %
          (len(hosts), len(train), len(near), len(validation), len(test)), file=sys.stderr)


if __name__ == "__main__":
    main()
