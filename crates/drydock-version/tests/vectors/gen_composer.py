#!/usr/bin/env python3
"""Generates composer.tsv with Composer's own semver library (Debian's
`composer` package, PHP): each version is normalised with
`VersionParser::normalize` (`a<TAB>E` when it throws), and each pair of
normalised versions compared with `Comparator::lessThan / equalTo /
greaterThan` (what `Semver::sort` uses): `a<TAB>b<TAB>-1|0|1`, or `x` when
Composer leaves the pair unordered (two different `dev-` branches).

Versions: real-world shapes (`v1.2.3`, `1.0.0-beta2`, `1.0-RC1`, `1.0-pl1`,
`2.x-dev`, `dev-main`, dates, build metadata, stability flags) plus random
strings and mutations.

Usage: python3 gen_composer.py > composer.tsv
"""
import random
import subprocess

REAL = [
    "1.0", "1.0.0", "v1.0.0", "V1.0.0", "1", "1.0.0.0", "1.0.0.0.0", "1.0.0-beta2", "1.0.0-beta.2", "1.0-b2",
    "1.0-RC1", "1.0-rc1", "1.0-pl1", "1.0-p1", "1.0-patch1", "1.0.0-alpha", "1.0.0-a1", "1.0.0-dev",
    "1.0-stable", "1.0-STABLE", "1.0-stable-dev", "1.x-dev", "2.1.x-dev", "1.0.x-dev", "dev-master",
    "dev-main", "master", "dev-feature/foo", "DEV-foo", "20100102", "2010.01.02", "2010-01-02",
    "2010-01-02-beta", "201001021030", "123456", "1.0.0+build.5", "1.0.0-beta+exp", "1.0@dev",
    "1.0@stable", "1.0 as 2.0", "1.0.0-beta-dev", "1.0.0-beta1-dev", "1.0.0.RC.1", "1.0.0_RC1",
    "1.0.0-rc.1.2", "1.2.3-beta.1.2", "99999.0", "100000.0", "01.02.03", "1.0.0-0", "foo", "",
    "1.0-beta", "1.0-alpha", "1.0-dev", "1.0-beta-1", "1.0.0-stable1", "1.0-patch", "1.0.1", "1.1",
    "2.0.0-RC2", "2.0.0-RC10", "1.0.0.1-beta", "0.9", "0.0.1", "v2.0.0-alpha.3", "1.0.0.0-p2",
    "1.0-b", "1.0-a", "1.0b1", "1.0a", "1.0rc2", "1.0.0pl3", "1.0.0-dev2", "1.0.0.x-dev", "x-dev",
]
TOKENS = ["0", "1", "2", "10", "01", "alpha", "a", "beta", "b", "RC", "rc", "p", "pl", "patch",
          "stable", "dev", "x", "foo"]


def random_version(rng):
    parts = [rng.choice(["v", "", "", ""]), rng.choice(["0", "1", "2", "10", "01"])]
    for _ in range(rng.randint(0, 4)):
        parts.append(rng.choice([".", ".", "-", "_", ""]))
        parts.append(rng.choice(TOKENS))
    return "".join(parts)


def mutate(rng, version):
    choice = rng.randint(0, 3)
    if choice == 0:
        return version + rng.choice([".0", ".1", "-dev", "-beta", "-RC1", "-p1", ".0.0"])
    if choice == 1:
        return version.replace(".", "-", 1)
    if choice == 2:
        return version.upper()
    return "v" + version


PHP = r"""<?php
require '/usr/share/php/Composer/Semver/autoload.php';
use Composer\Semver\VersionParser;
use Composer\Semver\Comparator;
$parser = new VersionParser();
$norm = function ($v) use ($parser) { try { return $parser->normalize($v); } catch (\Exception $e) { return null; } };
while (($line = fgets(STDIN)) !== false) {
    $fields = explode("\t", rtrim($line, "\n"));
    if (count($fields) == 1) { echo $norm($fields[0]) === null ? "E" : "ok", "\n"; continue; }
    $a = $norm($fields[0]); $b = $norm($fields[1]);
    if (Comparator::lessThan($a, $b)) echo "-1\n";
    elseif (Comparator::equalTo($a, $b)) echo "0\n";
    elseif (Comparator::greaterThan($a, $b)) echo "1\n";
    else echo "x\n";
}
"""


def run(lines):
    out = subprocess.run(["php", "-r", PHP.replace("<?php", "", 1)], input="".join(lines),
                         check=True, capture_output=True, text=True).stdout
    return out.split("\n")[:-1]


def main():
    rng = random.Random(440)
    pool = REAL + [random_version(rng) for _ in range(2000)]
    pool += [mutate(rng, v) for v in pool]
    pool = sorted(set(v for v in pool if "\t" not in v and "\n" not in v))
    checks = run(f"{v}\n" for v in pool)
    valid = [v for v, ok in zip(pool, checks) if ok == "ok"]
    invalid = [v for v, ok in zip(pool, checks) if ok == "E"]
    valid_set = set(valid)
    pairs = [(a, b) for a in valid for b in [mutate(rng, a)] if b in valid_set]
    pairs += [(rng.choice(valid), rng.choice(valid)) for _ in range(4000)]
    real_valid = [v for v in REAL if v in valid_set]
    pairs += [(a, b) for a in real_valid for b in real_valid]
    results = run(f"{a}\t{b}\n" for a, b in pairs)
    assert len(results) == len(pairs)
    version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "php-composer-semver"],
                             capture_output=True, text=True).stdout
    print(f"# composer/semver {version}")
    for (a, b), r in zip(pairs, results):
        print(f"{a}\t{b}\t{r}")
    for v in invalid:
        print(f"{v}\tE")


if __name__ == "__main__":
    main()
