// Compares two coverage runs of src/ (npm run test:coverage's coverage/coverage-final.json) made
// on different commits, where line numbers have moved: each file's lines and branch points are
// matched by their source text (trimmed). Prints
//  - the lines and branch points of text the earlier tree also had ("old"), and the rest ("new"),
//    each with its coverage now;
//  - every old line covered then and not now (a line of that text that was also uncovered then
//    does not count, nor does a line of punctuation alone), and every old branch point missed more
//    often than then.
// Run as `node scripts/coverage-diff.mjs BEFORE_ROOT AFTER_ROOT`, each a checkout whose
// coverage/coverage-final.json a run wrote (the sources are read from the same checkout).
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Per file (path from its root): its source lines, hits per line, and branch points with their line's text. */
function readRun(root) {
  const coverage = JSON.parse(readFileSync(join(root, 'coverage', 'coverage-final.json'), 'utf8'));
  const files = new Map();
  for (const [file, c] of Object.entries(coverage)) {
    const src = readFileSync(file, 'utf8').split('\n');
    const text = (line) => (src[line - 1] ?? '').trim();
    const lines = new Map();
    for (const [id, loc] of Object.entries(c.statementMap)) lines.set(loc.start.line, Math.max(lines.get(loc.start.line) ?? 0, c.s[id]));
    const branches = [];
    for (const [id, b] of Object.entries(c.branchMap)) b.locations.forEach((loc, i) => branches.push({ line: loc.start.line, text: text(loc.start.line), hit: c.b[id][i] > 0 }));
    files.set(relative(root, file), { text, lines, branches });
  }
  return files;
}

/** A line of text that can identify a line: not a lone brace or bracket, which every file has many of. */
const NAMES_SOMETHING = /[A-Za-z0-9]/;

const [beforeRoot, afterRoot] = process.argv.slice(2);
if (!afterRoot) {
  console.error('usage: node scripts/coverage-diff.mjs BEFORE_ROOT AFTER_ROOT');
  process.exit(2);
}
const before = readRun(beforeRoot);
const after = readRun(afterRoot);
const count = { oldLines: [0, 0], newLines: [0, 0], oldBranches: [0, 0], newBranches: [0, 0] };
const lostLines = [];
const lostBranches = [];
for (const [file, now] of after) {
  const then = before.get(file);
  const linesThen = new Map(); // text -> { covered, uncovered } line counts
  for (const [line, hits] of then?.lines ?? []) {
    const e = linesThen.get(then.text(line)) ?? { covered: 0, uncovered: 0 };
    hits > 0 ? e.covered++ : e.uncovered++;
    linesThen.set(then.text(line), e);
  }
  for (const [line, hits] of now.lines) {
    const was = linesThen.get(now.text(line));
    const c = was ? count.oldLines : count.newLines;
    c[0] += hits > 0 ? 1 : 0;
    c[1]++;
    if (was && hits === 0 && was.covered > 0 && was.uncovered === 0 && NAMES_SOMETHING.test(now.text(line))) lostLines.push(`${file}:${line}: ${now.text(line)}`);
  }
  const missedThen = new Map(); // text -> branch points missed on lines of that text
  for (const b of then?.branches ?? []) missedThen.set(b.text, (missedThen.get(b.text) ?? 0) + (b.hit ? 0 : 1));
  const missedNow = new Map();
  for (const b of now.branches) {
    const old = missedThen.has(b.text);
    const c = old ? count.oldBranches : count.newBranches;
    c[0] += b.hit ? 1 : 0;
    c[1]++;
    if (old && !b.hit) missedNow.set(b.text, { line: b.line, missed: (missedNow.get(b.text)?.missed ?? 0) + 1 });
  }
  for (const [text, { line, missed }] of missedNow) if (missed > missedThen.get(text)) lostBranches.push(`${file}:${line}: ${missedThen.get(text)} -> ${missed} missed: ${text}`);
}
const pct = ([covered, total]) => `${covered} of ${total} (${((100 * covered) / total).toFixed(2)} %)`;
console.log(`old lines covered: ${pct(count.oldLines)}; new lines: ${pct(count.newLines)}`);
console.log(`old branch points covered: ${pct(count.oldBranches)}; new: ${pct(count.newBranches)}`);
console.log(`old lines covered before and not now: ${lostLines.length}`);
for (const l of lostLines) console.log(`  ${l}`);
console.log(`old branch points missed more often than before: ${lostBranches.length}`);
for (const l of lostBranches) console.log(`  ${l}`);
