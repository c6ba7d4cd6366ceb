#!/usr/bin/env python3
"""Generates go.tsv: `a<TAB>b<TAB>-1|0|1` as Go's own golang.org/x/mod/semver
`Compare` says, and `a<TAB>E` for versions its `IsValid` rejects. The Go side
is Debian's: package golang-golang-x-mod-dev (x/mod in /usr/share/gocode,
built in GOPATH mode) with Debian's `go`.

Versions: hand-written edge cases (shorthands `v1`/`v1.2`, pre-releases,
build metadata, `+incompatible`, leading zeros, bad shapes); real module
versions; pseudo-versions made by x/mod's own `module.PseudoVersion` over
those releases and pre-releases (the three pseudo-version forms), at several
times and revisions. Not asked: versions without the `v` (`1.0.0`), which x/mod rejects and
drydock accepts on purpose, as OSV's Go ecosystem writes them that way.

Pairs: every pair of edge cases, every pseudo-version
against its base and its neighbours, and seeded random pairs.

Usage: python3 gen_go.py > go.tsv
"""
import os
import subprocess
import sys
import tempfile

EDGE = [
    "v0.0.0", "v0.0.1", "v0.1.0", "v1", "v1.0", "v1.0.0", "v1.2", "v1.2.0", "v1.2.3", "v1.10.0", "v1.9.9",
    "v2.0.0", "v2.0.0+incompatible", "v2.0.1+incompatible", "v10.0.0", "v1.0.0-alpha", "v1.0.0-alpha.1",
    "v1.0.0-alpha.beta", "v1.0.0-beta", "v1.0.0-beta.2", "v1.0.0-beta.11", "v1.0.0-rc.1", "v1.0.0-0",
    "v1.0.0-0.3.7", "v1.0.0-x.7.z.92", "v1.0.0-alpha+001", "v1.0.0+20130313144700", "v1.0.0-beta+exp.sha.5114f85",
    "v1.0.0-a-b", "v1.0.0--", "v1.0.0-01", "v1.0.0-1", "v1.0.0-A", "v1.0.0-a", "v01.0.0", "v1.00.0",
    "v1.0.00", "v", "v1.", "v1.0.", "v1.0.0.0", "v1.0.0-", "v1.0.0+", "v1.0.0-alpha..1",
    "v1.0.0-alpha_1", "V1.0.0", "v1.0-beta", "v1-beta", "v1.2+meta", "v1.0.0-é", "v18446744073709551616.0.0",
    "v18446744073709551615.0.0", "v0.0.0-20191109021931-daa7c04131f5",
]

RELEASES = [
    "v0.0.0", "v0.1.0", "v0.4.0", "v0.17.0", "v1.0.0", "v1.2.3", "v1.9.0", "v2.0.0", "v2.3.4+incompatible",
    "v3.1.0", "v1.0.0-rc.1", "v1.3.0-pre", "v0.9.0-beta.2",
]

GO = r'''
package main

import (
	"bufio"
	"fmt"
	"math/rand"
	"os"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	var edge, releases []string
	section := &edge
	for in.Scan() {
		line := in.Text()
		if line == "--" {
			section = &releases
			continue
		}
		*section = append(*section, line)
	}
	// Pseudo-versions by x/mod itself: vX.0.0-… (no base), vX.Y.(Z+1)-0.… (after a
	// release), vX.Y.Z-pre.0.… (after a pre-release).
	times := []time.Time{
		time.Date(2019, 11, 9, 2, 19, 31, 0, time.UTC),
		time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC),
		time.Date(2023, 1, 2, 3, 4, 6, 0, time.UTC),
	}
	revs := []string{"daa7c04131f5", "0123456789ab", "ffffffffffff"}
	var pseudos [][2]string // (pseudo, base)
	for _, base := range append([]string{""}, releases...) {
		major := ""
		if base != "" && semver.Major(base) != "v0" && semver.Major(base) != "v1" && !strings.HasSuffix(base, "+incompatible") {
			major = semver.Major(base)
		}
		for _, t := range times {
			for _, rev := range revs {
				p := module.PseudoVersion(major, base, t, rev)
				if !module.IsPseudoVersion(p) {
					panic("not a pseudo-version: " + p)
				}
				pseudos = append(pseudos, [2]string{p, base})
			}
		}
	}
	seen := map[string]bool{}
	pair := func(a, b string) {
		if seen[a+"\t"+b] {
			return
		}
		seen[a+"\t"+b] = true
		fmt.Printf("%s\t%s\t%d\n", a, b, semver.Compare(a, b))
	}
	all := []string{}
	for _, v := range append(append([]string{}, edge...), releases...) {
		if !semver.IsValid(v) {
			if !seen[v] {
				seen[v] = true
				fmt.Printf("%s\tE\n", v)
			}
			continue
		}
		all = append(all, v)
	}
	for _, a := range all {
		for _, b := range all {
			pair(a, b)
		}
	}
	for i, p := range pseudos {
		all = append(all, p[0])
		if p[1] != "" {
			pair(p[0], p[1])
			pair(p[1], p[0])
		}
		if i > 0 {
			pair(p[0], pseudos[i-1][0])
		}
	}
	r := rand.New(rand.NewSource(13))
	for i := 0; i < 3000; i++ {
		pair(all[r.Intn(len(all))], all[r.Intn(len(all))])
	}
}
'''


def main():
    gopath = "/usr/share/gocode"
    if not os.path.isdir(os.path.join(gopath, "src/golang.org/x/mod/semver")):
        sys.exit("gen_go.py: needs Debian's golang-golang-x-mod-dev (apt-get install golang-golang-x-mod-dev)")
    with tempfile.TemporaryDirectory() as work:
        source = os.path.join(work, "gen.go")
        with open(source, "w") as f:
            f.write(GO)
        env = dict(os.environ, GO111MODULE="off", GOPATH=gopath, GOCACHE=os.path.join(work, "cache"))
        stdin = "\n".join(EDGE + ["--"] + RELEASES) + "\n"
        out = subprocess.run(["go", "run", source], input=stdin.encode(), env=env,
                             check=True, capture_output=True).stdout.decode()
    version = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip()
    print(f"# golang.org/x/mod/semver.Compare (Debian golang-golang-x-mod-dev, {version}); E = !IsValid")
    sys.stdout.write(out)


main()
