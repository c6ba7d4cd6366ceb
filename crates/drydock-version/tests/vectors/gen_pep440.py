#!/usr/bin/env python3
"""Generates pep440.tsv and pep440_specifiers.tsv with Python `packaging`.

pep440.tsv: `a<TAB>b<TAB>-1|0|1`, or `a<TAB>E` for a string `packaging`
rejects. Versions: every version named in the OSV PyPI advisories under
shared/data/osv/PyPI (`versions` lists and range events) plus spelling edge
cases; pairs: adjacent pairs of the sorted list plus random pairs.

pep440_specifiers.tsv: `version<TAB>specifier set<TAB>true|false`, or
`specifier<TAB>E` for a rejected specifier set: OSV ranges turned into
`>=introduced,<fixed` sets plus hand-written ones with every operator,
against real and edge-case versions, as `SpecifierSet.contains` says with
default arguments.

Usage: python3 gen_pep440.py DATA_DIR OUT_DIR   (needs `pip install packaging`)
"""
import glob
import json
import os
import random
import sys

import packaging
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

EDGE = [
    "1.0", "1.0.0", "1", "1.0.0.0.0", "v1.0", "V1.0", " 1.0 ", "1!1.0", "0!1.0", "2!0.1",
    "1.0a1", "1.0alpha1", "1.0.a1", "1.0-a1", "1.0_a1", "1.0a", "1.0a.", "1.0A1", "1.0b2",
    "1.0beta2", "1.0c1", "1.0rc1", "1.0pre1", "1.0preview1", "1.0-rc-1", "1.0.rc.1",
    "1.0.post1", "1.0post1", "1.0-post1", "1.0-1", "1.0-r1", "1.0rev1", "1.0.post", "1.0.r",
    "1.0.dev1", "1.0dev1", "1.0-dev1", "1.0.dev", "1.0a1.dev1", "1.0a1.post1", "1.0a1.post1.dev1",
    "1.0.post1.dev1", "1.0+local", "1.0+local.1", "1.0+local-1", "1.0+local_1", "1.0+1",
    "1.0+abc.5", "1.0+abc.07", "1.0+5.abc", "1.0+ubuntu1", "1.0+ubuntu1.1", "1.01", "01.0",
    "1.0.0000000000000000000000000001", "123456789012345678901234567890",
    "1.0a-1", "1.0a.-1", "1.0rc", "1.0-", "1.0+", "1..0", "a", "", "1.0 1", "1.0+a..b",
    "1.0-dev", "1.0_dev_2", "1.0.post1-dev", "1.0-post-1", "1.0a1-1", "1.0.rc1.post2.dev3+x.y",
]

SPECIFIERS = [
    "", "==1.0", "==1.0.0", "!=1.0", "==1.*", "==1.0.*", "!=1.0.*", "==2.*", "~=1.0", "~=1.0.1",
    "~=1.4.5a4", "~=2.2.post3", "~=1", ">1.0", ">=1.0", "<1.0", "<=1.0", ">1.0a1", "<1.0rc1",
    ">1.0.post1", "<1.0.dev1", ">=1.0a1", "===1.0", "===1.0.0", "===foo", "==1.0+local",
    "!=1.0+local", "==1.0+local.1", ">=1.0,<2.0", ">=1.0, <2.0, !=1.5", ">=0", "<0.0.0",
    ">= 1.0", "== 1.0.*", "==1.0a1", ">1!0", ">=1.0.0.0.0", "<1.0.post1", ">1.0.dev1",
    "~=1.0.dev1", "==1.0a1.*", "<=1.0+local", ">=1.*", "==", "1.0", "=1.0", "~=1.0+local",
]


def osv_versions(data_dir):
    versions, ranges = set(), []
    for path in glob.glob(os.path.join(data_dir, "*.json")):
        with open(path) as f:
            advisory = json.load(f)
        for affected in advisory.get("affected", []):
            versions.update(affected.get("versions", []))
            for r in affected.get("ranges", []):
                if r.get("type") != "ECOSYSTEM":
                    continue
                intro = fixed = None
                for event in r.get("events", []):
                    for key, value in event.items():
                        versions.add(value)
                        if key == "introduced":
                            intro = value
                        elif key == "fixed":
                            fixed = value
                if intro and fixed:
                    ranges.append(f">={intro},<{fixed}" if intro != "0" else f"<{fixed}")
    versions.discard("0")
    return versions, ranges


def main():
    data_dir, out_dir = sys.argv[1], sys.argv[2]
    versions, ranges = osv_versions(data_dir)
    versions |= set(EDGE)
    valid, invalid = [], []
    for v in sorted(versions):
        try:
            valid.append((Version(v), v))
        except InvalidVersion:
            invalid.append(v)
    valid.sort()
    rng = random.Random(440)
    pairs = [(a[1], b[1]) for a, b in zip(valid, valid[1:])]
    pairs += [(rng.choice(valid)[1], rng.choice(valid)[1]) for _ in range(3000)]
    edge_valid = [v for v in EDGE if v not in invalid]
    pairs += [(a, b) for a in edge_valid for b in edge_valid]
    with open(os.path.join(out_dir, "pep440.tsv"), "w") as out:
        out.write(f"# packaging {packaging.__version__}\n")
        for a, b in pairs:
            va, vb = Version(a), Version(b)
            out.write(f"{a}\t{b}\t{(va > vb) - (va < vb)}\n")
        for v in invalid:
            out.write(f"{v}\tE\n")
    specs = SPECIFIERS + rng.sample(ranges, min(len(ranges), 400))
    sample = [v for _, v in rng.sample(valid, 150)] + edge_valid
    with open(os.path.join(out_dir, "pep440_specifiers.tsv"), "w") as out:
        out.write(f"# packaging {packaging.__version__}\n")
        for spec in specs:
            try:
                parsed = SpecifierSet(spec)
            except InvalidSpecifier:
                out.write(f"{spec}\tE\n")
                continue
            targets = sample if spec in SPECIFIERS else rng.sample(sample, 25)
            for v in targets:
                out.write(f"{v}\t{spec}\t{str(parsed.contains(v)).lower()}\n")


if __name__ == "__main__":
    main()
