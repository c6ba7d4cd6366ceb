#!/usr/bin/env node
// Generates npm.tsv and npm_ranges.tsv with node-semver (default options).
//
// npm.tsv: `a<TAB>b<TAB>-1|0|1` from `semver.compare`, or `a<TAB>E` when
// `semver.valid` rejects the string. Versions: every version named in the
// OSV npm advisories (shared/data/osv/npm: `versions` and range events) plus
// edge cases; pairs: adjacent pairs of the sorted list plus random pairs.
//
// npm_ranges.tsv: `version<TAB>range<TAB>true|false` from
// `semver.satisfies`, or `range<TAB>E` when `new semver.Range` throws.
// Ranges: hand-written ones covering every syntax plus OSV ranges as
// `>=introduced <fixed`.
//
// Usage: (cd $CACHE && npm install semver) && NODE_PATH=$CACHE/node_modules node gen_npm.js DATA_DIR OUT_DIR
const fs = require('fs');
const path = require('path');
const semver = require('semver');

const [dataDir, outDir] = process.argv.slice(2);
let seed = 440;
const random = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const pick = (list) => list[Math.floor(random() * list.length)];

const EDGE = ['1.2.3', 'v1.2.3', ' 1.2.3 ', '=1.2.3', '01.2.3', '1.2', '1.2.3-0', '1.2.3-alpha',
  '1.2.3-alpha.1', '1.2.3-alpha.beta', '1.2.3-beta', '1.2.3-beta.2', '1.2.3-beta.11', '1.2.3-rc.1',
  '1.2.3+build', '1.2.3-alpha+build.5', '1.2.3-01', '1.2.3-a.01', '1.2.3-x-y', '1.2.3--',
  '0.0.0', '0.0.0-0', '9007199254740991.0.0', '9007199254740992.0.0', '1.2.3-9007199254740993',
  '2.0.0', '2.0.0-alpha', '1.3.0-beta', '0.2.4', '0.2.3-pre', '0.0.3', '0.0.4-alpha', 'a.b.c', ''];

const RANGES = ['*', '', 'x', '1', '1.x', '1.2.x', '1.2', '1.2.3', '=1.2.3', 'v1.2.3', '=v1.2.3',
  'v=1.2', '>1.2.3', '>=1.2.3', '<1.2.3', '<=1.2.3', '> 1.2.3', '>= 1.2.3 < 2', '>=1.2.3 <2.0.0',
  '>1', '>1.2', '<1', '<1.2', '<=1', '<=1.2', '>=1', '>=1.2', '<*', '>*', '>=*', '<=1.x',
  '~1.2.3', '~1.2', '~1', '~0.2.3', '~>1.2', '~ 1.2.3', '~1.2.3-beta.2', '~x',
  '^1.2.3', '^1.2', '^1', '^0.2.3', '^0.2', '^0.0.3', '^0.0', '^0', '^1.2.3-beta.2',
  '^0.0.3-beta', '^ 1.2', '^x', '1.2.3 - 2.3.4', '1.2 - 2.3.4', '1.2.3 - 2.3', '1.2.3 - 2',
  '1 - 2', '* - 2', '1.2.3-pre - 2.3.4-pre', '1.x || >=2.5.0 || 5.0.0 - 7.2.3',
  '>=1.0.0 <1.5.0 || >=2.0.0', '1.2.3 || 2.0.0-alpha', '>=1.2.3-alpha <1.2.3', '<2.0.0-0',
  '>=0.0.0', '>=0.0.0-0', '<0.0.0-0', '1.2.3 ||', '|| 1.2.3', '>=1.2.7 <1.3.0', '1.2.7 || >=1.2.9 <2.0.0',
  '>01.2.3', '>=a', '1.2.3.4', '>==1.2.3', '~1.2.3 >1.2.5', '^1.2.3 <1.3.0', '1.2.3-alpha.1',
  '<=1.2.3-beta', '>1.2.3-beta', '>=1.2.3+build', '1.x.3', '1.*.x', '~1.x', '^1.x.x', 'X.x.*',
  '>= 1.2 <= 2.3', '< 1', '>=1.2.3 <=1.2.3', '=1.2', '>=1.2.3-0 <1.2.4-0', 'x.1', '*.1.x', '1.2.x-beta',
  '1.x.x', '~1.2.3 || ^2 <2.5 || 3.0.0 - 3.2', '>=1.2.3 <1.2.3'];

function osv() {
  const versions = new Set();
  const ranges = [];
  for (const file of fs.readdirSync(dataDir)) {
    if (!file.endsWith('.json')) continue;
    const advisory = JSON.parse(fs.readFileSync(path.join(dataDir, file), 'utf8'));
    for (const affected of advisory.affected || []) {
      for (const v of affected.versions || []) versions.add(v);
      for (const range of affected.ranges || []) {
        let intro = null; let fixed = null;
        for (const event of range.events || []) {
          for (const [key, value] of Object.entries(event)) {
            versions.add(value);
            if (key === 'introduced') intro = value;
            if (key === 'fixed') fixed = value;
          }
        }
        if (intro && fixed) ranges.push(intro === '0' ? `<${fixed}` : `>=${intro} <${fixed}`);
      }
    }
  }
  versions.delete('0');
  return [versions, ranges];
}

const [versions, osvRanges] = osv();
for (const v of EDGE) versions.add(v);
const valid = [...versions].filter((v) => semver.valid(v) !== null);
const invalid = [...versions].filter((v) => semver.valid(v) === null);
valid.sort(semver.compare);
const pairs = [];
for (let i = 0; i + 1 < valid.length; i++) pairs.push([valid[i], valid[i + 1]]);
for (let i = 0; i < 3000; i++) pairs.push([pick(valid), pick(valid)]);
const edgeValid = EDGE.filter((v) => semver.valid(v) !== null);
for (const a of edgeValid) for (const b of edgeValid) pairs.push([a, b]);
let out = `# node-semver ${require('semver/package.json').version}\n`;
for (const [a, b] of pairs) out += `${a}\t${b}\t${semver.compare(a, b)}\n`;
for (const v of invalid) out += `${v}\tE\n`;
fs.writeFileSync(path.join(outDir, 'npm.tsv'), out);

const sample = edgeValid.concat(Array.from({ length: 120 }, () => pick(valid)));
out = `# node-semver ${require('semver/package.json').version}\n`;
const ranges = RANGES.concat(Array.from({ length: 300 }, () => pick(osvRanges)));
const seen = new Set();
for (const range of ranges) {
  if (seen.has(range)) continue;
  seen.add(range);
  let parsed;
  try { parsed = new semver.Range(range); } catch (e) { out += `${range}\tE\n`; continue; }
  const targets = RANGES.includes(range) ? sample : Array.from({ length: 20 }, () => pick(sample));
  for (const v of targets) out += `${v}\t${range}\t${parsed.test(v)}\n`;
}
fs.writeFileSync(path.join(outDir, 'npm_ranges.tsv'), out);
