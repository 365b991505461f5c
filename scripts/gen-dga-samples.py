#!/usr/bin/python3
"""DGA sample labels to measure the DGA score's detection (lib/dgascore.h, build/bench_dga).

    scripts/gen-dga-samples.py [OUT]        (default data/dga/dga-samples.txt, committed)

Four families, each re-implemented here in our own code from the public descriptions of the
malware's domain generation (not from their code), seeded by the dates of 2026: 1000 labels
each, written as "family<TAB>label" lines, sorted. Only the registered label is written (the
score sees nothing else); deterministic.

  random-letter  Conficker/Ramnit-like: a PRNG seeded by the date draws a length of 8 to 15
                 and as many letters a-z, uniformly.
  hash-hex       Bamital-like: the 32 hex digits of MD5(date, index, a fixed campaign key).
  lcg            Cryptolocker-like: three words seeded from the date (and the label's
                 sequence number), stirred per character by shifts and xors, each character
                 a letter (their xor % 26); 12 to 15 letters.
  wordlist       Suppobox/Matsnu-like: two (Suppobox) or three (Matsnu) English words from a
                 fixed list, picked by a date-seeded PRNG, concatenated. Character statistics
                 are not expected to catch it: it reads as a human-chosen name.
"""
import datetime
import hashlib
import random
import sys

PER_FAMILY = 1000
ALPHA = "abcdefghijklmnopqrstuvwxyz"
WORDS = """able about above across action after again against agent almost along also always
among animal answer apple around autumn back basic beach become before begin behind below
better between black board bottom bread bring brother brown build business butter cabin
camera candle carry catch cause center chair change charge check child circle clean clear
close cloud coast color common corner cotton country course cover cross dance danger dark
daughter decide deep desert design dinner doctor double dream drive early earth east eight
energy enough evening every family farmer father feather field figure finger finish flower
follow forest forward fresh friend front garden gather gentle glass golden govern great green
ground guide happen harbor heavy hidden history honey horse house hunter island jacket
journey kitchen knife ladder language laugh leader letter light little market master matter
meadow middle minute mirror modern money morning mother motion mountain music narrow nature
never night north number ocean office orange order paper party pencil people picture planet
pocket police power pretty public purple question quick quiet rabbit river rocket round
saddle school season second seven shadow silver simple sister small smile south spring
square stone story street strong summer sunset table teacher thunder tiger together travel
winter window wonder yellow young""".split()


def dates():
    day = datetime.date(2026, 1, 1)
    while True:
        yield day
        day += datetime.timedelta(days=1)


def random_letter(day, i):
    rng = random.Random("conficker-like %s %d" % (day, i))
    return "".join(rng.choice(ALPHA) for _ in range(rng.randint(8, 15)))


def hash_hex(day, i):
    return hashlib.md5(("bamital-like %s %d campaign-7" % (day, i)).encode()).hexdigest()


def lcg(day, i):
    # the date and sequence number spread over the word, or the shifts below drop them
    d = (day.toordinal() * 0x9E3779B1 + i * 0x85EBCA6B) & 0xFFFFFFFF
    m, y = day.month, day.year
    length = 12 + (d * m + y) % 4
    out = []
    for _ in range(length):
        d = ((d ^ (8 * d)) >> 11) ^ ((d & 0xFFFFFFF0) << 17)
        m = ((m ^ (4 * m)) >> 25) ^ (16 * (m & 0xFFFFFFF8))
        y = ((y ^ (y << 13)) >> 19) ^ ((y & 0xFFFFFFFE) << 12)
        d, m, y = d & 0xFFFFFFFF, m & 0xFFFFFFFF, y & 0xFFFFFFFF
        out.append(ALPHA[(d ^ m ^ y) % 26])
    return "".join(out)


def wordlist(day, i):
    rng = random.Random("suppobox-like %s %d" % (day, i))
    return "".join(rng.choice(WORDS) for _ in range(rng.choice((2, 2, 3))))


FAMILIES = (("random-letter", random_letter), ("hash-hex", hash_hex), ("lcg", lcg),
            ("wordlist", wordlist))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "data/dga/dga-samples.txt"
    lines = set()
    for family, gen in FAMILIES:
        labels = {}  # in the order generated: the first PER_FAMILY distinct ones
        for day in dates():
            for i in range(10):
                labels.setdefault(gen(day, i)[:63], None)
            if len(labels) >= PER_FAMILY:
                break
        lines.update("%s\t%s\n" % (family, l) for l in list(labels)[:PER_FAMILY])
    with open(out, "w", encoding="ascii") as f:
        f.writelines(sorted(lines))


if __name__ == "__main__":
    main()
