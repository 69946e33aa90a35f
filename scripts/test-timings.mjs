#!/usr/bin/env node
// Tabulates a test run's per-file timings (the JSON lines TEST_TIMINGS makes test/setup.ts write):
// the slowest files first, with wall time, CPU time (the worker's own and its finished children's)
// and the number of tests, as a Markdown table. Usage:
//   TEST_TIMINGS=/tmp/t.jsonl npm test; node scripts/test-timings.mjs /tmp/t.jsonl [--top N]
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--'));
const topIndex = args.indexOf('--top');
const top = topIndex >= 0 ? Number(args[topIndex + 1]) : Infinity;
if (!file || !(top > 0)) {
  console.error('usage: node scripts/test-timings.mjs TIMINGS.jsonl [--top N]');
  process.exit(2);
}

const rows = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
rows.sort((a, b) => b.wallMs - a.wallMs);
const seconds = (ms) => (ms / 1000).toFixed(1);
const total = (key) => rows.reduce((s, r) => s + r[key], 0);

console.log('| file | wall s | CPU s | children\'s CPU s | tests |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows.slice(0, top)) {
  console.log(`| ${r.file.replace(/^dist\//, '').replace(/\.js$/, '.ts')} | ${seconds(r.wallMs)} | ${seconds(r.cpuMs)} | ${seconds(r.childCpuMs)} | ${r.tests} |`);
}
console.log(`| all ${rows.length} files | ${seconds(total('wallMs'))} | ${seconds(total('cpuMs'))} | ${seconds(total('childCpuMs'))} | ${total('tests')} |`);
