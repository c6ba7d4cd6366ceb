#!/usr/bin/env python3
"""Generates maven.tsv: `a<TAB>b<TAB>-1|0|1` as Maven's own
`org.apache.maven.artifact.versioning.ComparableVersion` says (its `main`
prints `a < b`, `a == b` or `a > b` for each consecutive pair of its
arguments; the jar ships with Debian's `maven` package).

Versions: real-world shapes (`1.0-SNAPSHOT`, `2.5.RELEASE`, `5.3.Final`,
`31.1-jre`, `9.4.51.v20230217`, `1.0-20230101.123456-1`, ...) plus random
strings built from numbers (with leading zeros), every special qualifier
and its aliases, unknown qualifiers, `.`/`-` separators and digit/letter
transitions, and small mutations of each (so close pairs are common).

Usage: python3 gen_maven.py > maven.tsv
"""
import glob
import random
import subprocess

REAL = [
    "1.0", "1.0.0", "1", "1.0-SNAPSHOT", "1.0-alpha-1", "1.0-alpha1", "1.0-a1", "1.0-beta-2", "1.0-b2",
    "1.0-M1", "1.0-milestone-1", "1.0-rc1", "1.0-RC1", "1.0-cr1", "1.0.RELEASE", "1.0.Final", "1.0.GA",
    "1.0-sp1", "1.0-SP2", "2.5.RELEASE", "5.3.Final", "31.1-jre", "31.1-android", "9.4.51.v20230217",
    "1.0-20230101.123456-1", "2.12.7.1", "1.2.3-1", "1.2.3.4.5.6", "1.0.0-0", "1-0.1", "1.0-", "1.0.",
    "1..0", "-1", ".1", "1-.1", "1.0-alpha.1", "1.0-alpha-1-SNAPSHOT", "1.0.0.RC1", "1.0.0-M2-SNAPSHOT",
    "0.9.9-dev", "1.0-incubating", "2.0.0-beta.3", "1.0-foo", "1.0-foo-1", "1.0-1-foo", "1.0.foo",
    "1.0-sp", "1.0-ga-1", "1.0-final-1", "1.0-release", "1.0.0.0.0-0-0", "1.000", "1.0001",
    "123456789012345678901234567890", "1.2147483648", "1.9223372036854775808", "1x", "x1", "a", "A",
]
TOKENS = ["0", "1", "2", "10", "01", "00", "007", "3", "alpha", "a", "beta", "b", "milestone", "m",
          "rc", "cr", "RC", "snapshot", "SNAPSHOT", "ga", "GA", "final", "Final", "release", "sp", "SP",
          "foo", "jre", "v", "x", "z", "abc", "pre", "dev", ""]


def random_version(rng):
    parts = [rng.choice(["0", "1", "2", "10", "01"])]
    for _ in range(rng.randint(0, 5)):
        parts.append(rng.choice([".", "-", "", ".", "-"]))
        parts.append(rng.choice(TOKENS))
    return "".join(parts)


def mutate(rng, version):
    choice = rng.randint(0, 4)
    if choice == 0:
        return version + rng.choice([".0", "-0", ".1", "-1", "-SNAPSHOT", "-ga", ".final", "-sp1", "-a1"])
    if choice == 1:
        return version.replace(".", "-", 1)
    if choice == 2:
        return version.replace("-", ".", 1)
    if choice == 3:
        return version.upper()
    return version.rstrip(".-0123456789") or version


def main():
    rng = random.Random(440)
    pool = REAL + [random_version(rng) for _ in range(2500)]
    pool = [v for v in pool if v and " " not in v]
    sequence = []
    for a in pool:
        sequence += [a, mutate(rng, a)]
    for _ in range(3000):
        sequence.append(rng.choice(pool))
    for a in REAL:
        for b in rng.sample(REAL, 20):
            sequence += [a, b]
    jar = glob.glob("/usr/share/maven/lib/maven-artifact-*.jar")[0]
    version = subprocess.run(["unzip", "-p", jar, "META-INF/maven/org.apache.maven/maven-artifact/pom.properties"],
                             capture_output=True, text=True).stdout
    print("# maven-artifact " + [l for l in version.splitlines() if l.startswith("version=")][0][8:])
    for start in range(0, len(sequence) - 1, 2000):
        chunk = sequence[start:start + 2001]
        out = subprocess.run(["java", "-cp", jar, "org.apache.maven.artifact.versioning.ComparableVersion", *chunk],
                             check=True, capture_output=True, text=True).stdout
        results = [line for line in out.splitlines() if line.startswith("   ")]
        assert len(results) == len(chunk) - 1, (len(results), len(chunk))
        for a, b, line in zip(chunk, chunk[1:], results):
            for op, value in (("<", -1), ("==", 0), (">", 1)):
                if line == f"   {a} {op} {b}":
                    print(f"{a}\t{b}\t{value}")
                    break
            else:
                raise SystemExit(f"cannot read {line!r} for {a!r} {b!r}")


if __name__ == "__main__":
    main()
