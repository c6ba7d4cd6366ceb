#!/usr/bin/env python3
# The package pool of the fleet benchmarks (bench/fleet.sh, bench/serve.sh):
# (purl, name, version) triples from the real package names of the OSV data.
#
# usage: fleet-pool.py OSV_DIR OUT.tsv
import json, os, sys, random
osv, out = sys.argv[1], sys.argv[2]
random.seed(11)
rows = []
def purl(eco, name, version):
    if eco == "PyPI":
        return f"pkg:pypi/{name.lower()}@{version}"
    if eco == "npm":
        if name.startswith("@") and "/" in name:
            scope, base = name.split("/", 1)
            return f"pkg:npm/%40{scope[1:]}/{base}@{version}"
        return f"pkg:npm/{name}@{version}"
    if eco == "crates.io":
        return f"pkg:cargo/{name}@{version}"
    if eco == "Go":
        ns, _, base = name.rpartition("/")
        return f"pkg:golang/{ns}/{base}@v{version}" if ns else None
names = {}
for eco in ["PyPI", "npm", "crates.io", "Go"]:
    folder = os.path.join(osv, eco)
    for file in sorted(os.listdir(folder)):
        record = json.load(open(os.path.join(folder, file)))
        for affected in record.get("affected", []):
            package = affected.get("package", {})
            name = package.get("name")
            versions = affected.get("versions") or []
            if not name or not versions:
                continue
            fixed = [e["fixed"] for r in affected.get("ranges", []) for e in r.get("events", []) if "fixed" in e]
            entry = names.setdefault((eco, name), {"affected": [], "fixed": []})
            entry["affected"].extend(versions)
            entry["fixed"].extend(fixed)
# Per package name: its newest fixed version (usually clean); for one name
# in three also one affected version, so that images carry a realistic
# number of findings (about a hundred) rather than every advisory.
for (eco, name), entry in sorted(names.items()):
    picks = []
    if entry["fixed"]:
        picks.append(entry["fixed"][-1])
    if random.random() < 1 / 3 or not picks:
        picks.append(random.choice(entry["affected"]))
    for version in picks:
        p = purl(eco, name, version)
        if p:
            rows.append((p, name if eco != "Go" else name.rpartition("/")[2], version))
seen = set(); unique = []
for row in rows:
    if row not in seen:
        seen.add(row); unique.append(row)
random.shuffle(unique)
with open(out, "w") as f:
    for row in unique:
        f.write("\t".join(row) + "\n")
print(f"pool: {len(unique)} (purl, version) pairs", file=sys.stderr)
