#!/usr/bin/env python3
"""Generates dpkg.tsv: `a<TAB>b<TAB>-1|0|1` as `dpkg --compare-versions` says.

Versions: every `Version:` and `Source: x (version)` of Debian bookworm's
main Packages index (bookworm, -updates, -security; `apt-get update` first),
plus hand-written edge cases. Pairs: each adjacent pair of the whole list
sorted (so every version appears), plus random pairs. The sort only arranges
the pairs; every expected value comes from dpkg.

Usage: python3 gen_dpkg.py > dpkg.tsv
"""
import functools
import glob
import random
import re
import subprocess
import sys

EDGE = [
    "1.0", "1.0-0", "0:1.0", "1:1.0", "1.0~", "1.0~~", "1.0~~a", "1.0a", "1.0+", "1.0.",
    "1.0-1", "1.0-1+b1", "1.0-1.1", "1.0-1~bpo12+1", "1.0-1+deb12u1", "1.0+dfsg-1",
    "1.0+really0.9-1", "2:0", "10:0.1", "1.00001", "1.000000000000000000000000001",
    "99999999999999999999999999", "1.0~rc1", "1.0~rc1-1", "1.0-a", "1.0-A", "1.0-~",
    "a", "A", "1.0+b1", "1.0-0+b1", "1.2.3-4ubuntu5", "1:2.3~4-5~6+7", "0", "0~", "00",
]


def lines(path):
    out = subprocess.run(["/usr/lib/apt/apt-helper", "cat-file", path], check=True,
                         capture_output=True, text=True).stdout
    return out.splitlines()


def order(c):
    if c is None or c.isdigit():
        return 0
    if c.isalpha():
        return ord(c)
    if c == "~":
        return -1
    return ord(c) + 256


def verrevcmp(a, b):
    # Only used to arrange pairs; expected values come from dpkg below.
    i = j = 0
    while i < len(a) or j < len(b):
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            x = order(a[i] if i < len(a) else None)
            y = order(b[j] if j < len(b) else None)
            if x != y:
                return x - y
            i += 1
            j += 1
        si = i
        while i < len(a) and a[i].isdigit():
            i += 1
        sj = j
        while j < len(b) and b[j].isdigit():
            j += 1
        x, y = int(a[si:i] or 0), int(b[sj:j] or 0)
        if x != y:
            return x - y
    return 0


def split(v):
    epoch, _, rest = v.rpartition(":") if ":" in v else ("0", "", v)
    up, _, rev = rest.rpartition("-") if "-" in rest else (rest, "", "")
    return int(epoch.split(":")[0] or 0), up, rev


def cmp(a, b):
    ea, ua, ra = split(a)
    eb, ub, rb = split(b)
    return (ea > eb) - (ea < eb) or verrevcmp(ua, ub) or verrevcmp(ra, rb)


def main():
    versions = set(EDGE)
    for path in glob.glob("/var/lib/apt/lists/*bookworm*_Packages*"):
        for line in lines(path):
            if line.startswith("Version: "):
                versions.add(line[9:].strip())
            m = re.match(r"Source: \S+ \((.+)\)$", line)
            if m:
                versions.add(m.group(1))
    ordered = sorted(versions, key=functools.cmp_to_key(cmp))
    pairs = list(zip(ordered, ordered[1:]))
    rng = random.Random(440)
    pairs += [(rng.choice(ordered), rng.choice(ordered)) for _ in range(3000)]
    pairs += [(a, b) for a in EDGE for b in EDGE]
    # One shell per batch; dpkg decides every pair.
    script = []
    for a, b in pairs:
        # Exit status 0: true, 1: false, anything else: dpkg refused the
        # version (the pair is then left out).
        script.append(
            f"dpkg --compare-versions '{a}' lt '{b}' 2>/dev/null; r=$?; "
            f"if [ $r = 0 ]; then echo -1; elif [ $r != 1 ]; then echo E; "
            f"elif dpkg --compare-versions '{a}' eq '{b}' 2>/dev/null; then echo 0; else echo 1; fi")
    results = []
    for start in range(0, len(script), 2000):
        chunk = "\n".join(script[start:start + 2000])
        out = subprocess.run(["sh"], input=chunk, check=True, capture_output=True, text=True)
        results += out.stdout.split()
        print(f"{start + 2000}/{len(script)}", file=sys.stderr)
    assert len(results) == len(pairs)
    for (a, b), r in zip(pairs, results):
        if r != "E":
            print(f"{a}\t{b}\t{r}")


if __name__ == "__main__":
    main()
