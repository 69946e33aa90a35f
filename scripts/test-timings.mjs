#!/usr/bin/env node
// Tabulates a test run's per-file timings (the JSON lines TEST_TIMINGS makes test/setup.ts write):
// the slowest files first, with wall time, CPU time (the worker's own and its finished children's)
// and the number of tests, as a Markdown table, then the host-speed probes of the run
// (test/host-speed.ts), where it has any. Usage:
//   TEST_TIMINGS=/tmp/t.jsonl npm test; node scripts/test-timings.mjs /tmp/t.jsonl [--top N]
// With --costs it prints instead the JSON of test/file-costs.json (each file's wall seconds),
// by which test/test-files.cjs orders the tiers longest first; with --quick QUICK.jsonl, the
// timings of a run with `--grep @slow --invert`, it adds each such file's quick-part seconds,
// by which test/quick-tier.cjs picks the quick tier's files.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const quickIndex = args.indexOf('--quick');
const topIndex = args.indexOf('--top');
// The first argument that is neither an option nor an option's value.
const file = args.find((a, i) => !a.startsWith('--') && (quickIndex < 0 || i !== quickIndex + 1) && (topIndex < 0 || i !== topIndex + 1));
const top = topIndex >= 0 ? Number(args[topIndex + 1]) : Infinity;
if (!file || !(top > 0)) {
  console.error('usage: node scripts/test-timings.mjs TIMINGS.jsonl [--top N | --costs [--quick QUICK.jsonl]]');
  process.exit(2);
}

// The files' lines; the host-speed probes' lines (test/host-speed.ts: {probe, at, ...}) apart.
const readLines = (path) => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
const readRows = (path) => readLines(path).filter((r) => !r.probe);
const probes = readLines(file).filter((r) => r.probe);
const rows = readRows(file);
rows.sort((a, b) => b.wallMs - a.wallMs);
const seconds = (ms) => (ms / 1000).toFixed(1);
const source = (f) => f.replace(/^dist\//, '').replace(/\.js$/, '.ts');

if (args.includes('--costs')) {
  // A file run by two tiers (the kernel tier, then with default limits) counts once: its longest run.
  const costsOf = (list) => {
    const costs = {};
    for (const r of list) costs[source(r.file)] = Math.max(costs[source(r.file)] ?? 0, Math.round(r.wallMs / 1000));
    return costs;
  };
  const table = { about: 'wall seconds per test file of one measured run (scripts/test-timings.mjs --costs)', seconds: costsOf(rows) };
  if (quickIndex >= 0) {
    table.aboutQuick = "quickSeconds: wall seconds of the files' quick parts (--grep @slow --invert) in one measured run (--costs --quick)";
    table.quickSeconds = costsOf(readRows(args[quickIndex + 1]));
  }
  console.log(JSON.stringify(table, null, 2));
  process.exit(0);
}
const total = (key) => rows.reduce((s, r) => s + r[key], 0);

console.log('| file | wall s | CPU s | children\'s CPU s | tests |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows.slice(0, top)) {
  console.log(`| ${source(r.file)} | ${seconds(r.wallMs)} | ${seconds(r.cpuMs)} | ${seconds(r.childCpuMs)} | ${r.tests} |`);
}
console.log(`| all ${rows.length} files | ${seconds(total('wallMs'))} | ${seconds(total('cpuMs'))} | ${seconds(total('childCpuMs'))} | ${total('tests')} |`);
if (probes.length) {
  // The host's speed as each mocha invocation (tier) started and ended: fixed work, best of three.
  console.log('\n| host probe | at | integer loop ms | fresh page µs | copy GB/s |');
  console.log('|---|---|---:|---:|---:|');
  for (const p of probes) console.log(`| ${p.probe} | ${p.at} | ${p.loopMs.toFixed(1)} | ${p.faultUs.toFixed(2)} | ${p.copyGBs.toFixed(1)} |`);
}
