#!/usr/bin/env python3
"""Generates rubygems.tsv: `a<TAB>b<TAB>-1|0|1` from RubyGems'
`Gem::Version#<=>` (Debian's `ruby` package), or `a<TAB>E` when
`Gem::Version.correct?` rejects the string.

Versions: real-world shapes (Rails-style `7.0.4.3`, `1.0.0.pre`, `2.0.0.rc1`,
`1.0.0-beta.2`, ...) plus random strings of numbers (with leading zeros),
letters and `.`/`-` separators, and small mutations of each.

Usage: python3 gen_rubygems.py > rubygems.tsv
"""
import random
import subprocess

REAL = [
    "1.0.0", "1.0", "1", "0", "", "1.0.0.pre", "1.0.0.pre1", "1.0.0.rc1", "1.0.0.RC1", "1.0.0-beta",
    "1.0.0-beta.2", "2.0.0.beta.1", "0.1.0.a", "1.0.a.2", "1.0.b1", "1.0.a10", "1.0.a9", "5.2.4.3",
    "6.1.7.6", "7.0.4.3", "1.10", "1.9", "1.0.0.0.0", "1.0.0.a.0", "1.0.0.a", "1.a", "1.0.A", "1.0.z",
    "1.0-1", "1.0-a-b", "1.0-", "1..0", "1.0.", ".1", "a", "1 0", " 1.0 ", "01.02", "1.0.0001",
    "123456789012345678901234567890", "1.0a", "1.0a1", "1.0.0.pre.1", "1.0-pre-1", "2.0.0.pre.alpha",
    "3.2.22.5", "0.0.1", "0.0.0.1", "1.0.0.dev", "1.0.0.alpha", "1.0.0.Alpha", "1.0_1", "1.0+1",
]
TOKENS = ["0", "1", "2", "10", "01", "00", "a", "b", "pre", "rc", "alpha", "beta", "Z", "dev", "x1", "1a"]


def random_version(rng):
    parts = [rng.choice(["0", "1", "2", "10", "01"])]
    for _ in range(rng.randint(0, 5)):
        parts.append(rng.choice([".", ".", ".", "-", ""]))
        parts.append(rng.choice(TOKENS))
    return "".join(parts)


def mutate(rng, version):
    choice = rng.randint(0, 3)
    if choice == 0:
        return version + rng.choice([".0", ".1", ".a", ".pre", "-1", ".0.0"])
    if choice == 1:
        return version.replace("-", ".pre.", 1)
    if choice == 2:
        return version.rstrip(".0") or version
    return version.replace(".", ".0", 1)


RUBY = r"""
STDIN.each_line do |line|
  a, b = line.chomp("\n").split("\t", -1)
  if b.nil?
    puts(Gem::Version.correct?(a) ? "ok" : "E")
  else
    puts(Gem::Version.new(a) <=> Gem::Version.new(b))
  end
end
"""


def main():
    rng = random.Random(440)
    pool = REAL + [random_version(rng) for _ in range(2000)]
    pool += [mutate(rng, v) for v in pool]
    pool = sorted(set(pool))
    checks = subprocess.run(["ruby", "-e", RUBY], input="".join(f"{v}\n" for v in pool),
                            check=True, capture_output=True, text=True).stdout.split("\n")
    valid = [v for v, ok in zip(pool, checks) if ok == "ok"]
    invalid = [v for v, ok in zip(pool, checks) if ok == "E"]
    pairs = [(a, mutate(rng, a)) for a in valid]
    pairs = [(a, b) for a, b in pairs if b in valid or b == a]
    pairs += [(rng.choice(valid), rng.choice(valid)) for _ in range(4000)]
    real_valid = [v for v in REAL if v in valid]
    pairs += [(a, b) for a in real_valid for b in real_valid]
    out = subprocess.run(["ruby", "-e", RUBY], input="".join(f"{a}\t{b}\n" for a, b in pairs),
                         check=True, capture_output=True, text=True).stdout.split()
    assert len(out) == len(pairs)
    gem = subprocess.run(["ruby", "-e", "puts Gem::VERSION"], capture_output=True, text=True).stdout.strip()
    print(f"# rubygems {gem}")
    for (a, b), r in zip(pairs, out):
        print(f"{a}\t{b}\t{r}")
    for v in invalid:
        print(f"{v}\tE")


if __name__ == "__main__":
    main()
