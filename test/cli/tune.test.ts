// `deeplab tune` as a user runs it: times a model's layers, stores the choices under the cache
// folder, reports them, and finds them stored on the next run.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { messages, runCli } from './run-cli.js';

describe('cli: deeplab tune', function () {
  this.timeout(300_000);
  let cache: string;
  before(() => (cache = mkdtempSync(join(tmpdir(), 'deeplab-tune-cli-'))));
  after(() => rmSync(cache, { recursive: true, force: true }));

  it('times the default model within its budget, stores the choices, and finds them on the next run', async () => {
    const env = { DEEPLAB_CACHE_DIR: cache, DEEPLAB_TUNE: undefined };
    const first = await runCli(['tune', '--budget', '2', '--json'], env);
    expect(first.code, messages(first.stderr)).to.equal(0);
    const report = JSON.parse(first.stdout) as { tuned: { shape: string; candidates: number; entry: { ms: number; defaultMs: number; timed: number } }[]; cached: number; skipped: number; ms: number; store: string };
    expect(report.tuned.length, 'at least one layer shape timed').to.be.greaterThan(0);
    expect(report.tuned.length + report.skipped, "MobileNetV2's layer shapes: 23 GEMM, 8 depthwise, 2 resizes").to.equal(33);
    for (const t of report.tuned) expect(t.entry.ms, t.shape).to.be.at.most(t.entry.defaultMs);
    expect(report.store.startsWith(join(cache, 'tuning'))).to.equal(true);
    expect(existsSync(report.store)).to.equal(true);
    expect(readdirSync(join(cache, 'tuning')).filter((f) => f.endsWith('.tmp')), 'no temporary files left').to.deep.equal([]);

    const second = await runCli(['tune', '--budget', '1'], env);
    expect(second.code, messages(second.stderr)).to.equal(0);
    // A layer the budget cut short is timed again, whole; the others are found stored.
    const complete = report.tuned.filter((t) => t.entry.timed === t.candidates).length;
    expect(second.stdout).to.match(new RegExp(`; ${complete} already tuned`));
  });

  it('refuses a bad budget with exit code 2', async () => {
    const r = await runCli(['tune', '--budget', '0'], { DEEPLAB_CACHE_DIR: cache });
    expect(r.code).to.equal(2);
    expect(messages(r.stderr)).to.match(/--budget: '0' is not a positive integer/);
  });
});
