#!/usr/bin/env python3
"""Generates rpm.tsv: `a<TAB>b<TAB>-1|0|1` as rpm's own `rpm.vercmp` (rpm
4.18, EVR comparison) says, asked in one Lua chunk through `rpm --eval`.

EVRs: hand-written edge cases (`~` pre-releases, `^` snapshots, epochs,
missing releases, letters, separators, leading zeros), Fedora/RHEL-style
EVRs built from real upstream versions (Debian bookworm's, read as in
gen_dpkg.py, turned into `version-release` shapes), and their variants.
Pairs: every pair of edge cases, each EVR against its variants, random pairs.

Usage: python3 gen_rpm.py > rpm.tsv
"""
import glob
import os
import random
import subprocess
import tempfile

EDGE = [
    "1.0", "1.0-1", "0:1.0-1", "1:1.0-1", "1:1.0", ":1.0", "1.0~rc1", "1.0~rc1-1", "1.0~~", "1.0~",
    "1.0^", "1.0^git1", "1.0^git1~pre", "1.0^20230101.abc-1", "1.0.1", "1.0a", "1.0.a", "1.0-a",
    "1.00", "1.01", "1.001", "01.1", "1..0", "1.0.", ".1.0", "a", "A", "1.A", "1.a", "1_0", "1+0",
    "1.0-1.el9", "1.0-1.el9_2", "1.0-1.fc38", "1.0-10.el9", "1.0-2.el9", "2.0-1", "10.0-1", "9.9-1",
    "1.0-1.1", "1.0-1.1.el9", "1.0-0.1.rc1", "1.0-0.2.rc2", "1.0-1^post", "1.0-1~pre",
    "5.14.0-284.11.1.el9_2", "5.14.0-284.30.1.el9_2", "5.14.0-70.13.1.el9_0",
    "2:8.2.2637-20.el9_1", "2:8.2.2637-16.el9_0.3", "1:1.1.1k-7.el8_6", "1:1.1.1k-9.el8_7",
    "3.0.7-16.el9_2", "3.0.7-6.el9_2", "1.2.3~beta2", "1.2.3~beta10", "1.2.3^1", "1.2.3^2",
    "99999999999999999999", "99999999999999999998", "1.0~rc1^git", "1.0^git~rc1", "", "-", "1-", "1:",
    "1.0-1-1", "1.0--1", "é1.0", "1.0é", "1.0~é",
]


def bookworm_versions():
    versions = set()
    for path in glob.glob("/var/lib/apt/lists/*bookworm_main*_Packages*"):
        out = subprocess.run(["/usr/lib/apt/apt-helper", "cat-file", path], check=True,
                             capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Version: "):
                versions.add(line[9:].strip())
    return sorted(versions)


def main():
    rng = random.Random(440)
    upstream = [v.split(":")[-1].rsplit("-", 1)[0] for v in rng.sample(bookworm_versions(), 800)]
    evrs = []
    for u in upstream:
        u = u.replace("'", "")
        release = rng.choice(["1", "2.el9", "3.el9_2", "1.fc38", "0.1.rc1.el8", "12.1"])
        base = f"{u}-{release}"
        variants = [base, f"1:{base}", u, f"{u}~rc1-{release}", f"{u}^git1-{release}",
                    f"{u}.1-{release}", f"{u}-{release}.1", f"{u}a-{release}"]
        evrs.append(variants)
    pairs = [(a, b) for a in EDGE for b in EDGE]
    for variants in evrs:
        pairs += [(variants[0], v) for v in variants[1:]]
    flat = [v for variants in evrs for v in variants] + EDGE
    pairs += [(rng.choice(flat), rng.choice(flat)) for _ in range(4000)]
    with tempfile.TemporaryDirectory() as tmp:
        pairs_path = os.path.join(tmp, "pairs")
        with open(pairs_path, "w") as f:
            for a, b in pairs:
                f.write(f"{a}\t{b}\n")
        lua = (
            "%{lua: for line in io.lines('" + pairs_path + "') do "
            "local a, b = line:match('^(.-)\\t(.*)$'); "
            "local ok, r = pcall(rpm.vercmp, a, b); print((ok and tostring(r) or 'E') .. ' ') end}"
        )
        out = subprocess.run(["rpm", "--eval", lua], check=True, capture_output=True, text=True).stdout
    results = out.split()
    assert len(results) == len(pairs), (len(results), len(pairs))
    print("# rpm " + subprocess.run(["rpm", "--version"], capture_output=True, text=True).stdout.split()[-1])
    # `E`: rpm refused a version (empty parts); such pairs are left out.
    for (a, b), r in zip(pairs, results):
        if r != "E":
            print(f"{a}\t{b}\t{r}")


if __name__ == "__main__":
    main()
