// scripts/device/gpu-run.sh's plan, read from its dry run (which runs nothing and needs no GPU):
// the steps in order of importance, each under a lent machine's 10 minutes a command, all of
// them within 12 of its 15 minutes; what each step writes is what the summary reads; the f32
// peak taken from the script's table by the GPU's name, or none.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ROOT } from '../../bench/model.js';

const SCRIPT = join(ROOT, 'scripts', 'device', 'gpu-run.sh');

function dryRun(...args: string[]) {
  const r = spawnSync('bash', [SCRIPT, '--dry-run', '--out', '/tmp/gpu-run-plan', ...args], { encoding: 'utf8' });
  const steps = [...r.stdout.matchAll(/^== (\w+) \(limit (\d+) s\): (.*)$/gm)].map(([, name, limit, command]) => ({ name, limit: Number(limit), command }));
  return { ...r, steps, command: (name: string) => steps.find((s) => s.name === name)?.command ?? '' };
}

describe('bench: the GPU run\'s plan (scripts/device/gpu-run.sh --dry-run)', () => {
  it('runs the steps most wanted first, the summary last, each under 600 s and all within 12 minutes', () => {
    const r = dryRun('--gpu-name', 'NVIDIA H200');
    expect(r.status, r.stderr).to.equal(0);
    expect(r.steps.map((s) => s.name)).to.deep.equal(['tests', 'kernels', 'networks', 'tune', 'train', 'torch', 'ort', 'summary']);
    for (const s of r.steps) expect(s.limit, s.name).to.be.above(0).and.below(600);
    const total = r.steps.reduce((a, s) => a + s.limit, 0);
    expect(total, 'the whole plan, seconds').to.be.at.most(12 * 60);
    expect(r.stdout).to.include(`at most ${Math.floor(total / 60)} min ${total % 60} s`);
  });

  it('each step writes <out>/<gpu>-<step>.json, the tests as mocha\'s JSON; the summary reads them back', () => {
    const r = dryRun('--gpu-name', 'NVIDIA H200', '--commit', 'abc1234');
    expect(r.command('tests')).to.equal('bash scripts/device/gpu-tests.sh /tmp/gpu-run-plan/h200-tests.json');
    for (const step of ['kernels', 'networks', 'tune', 'train', 'torch', 'ort']) expect(r.command(step), step).to.include(`--out /tmp/gpu-run-plan/h200-${step}.json`);
    expect(r.command('summary')).to.match(/^node dist\/bench\/summary\.js --dir \/tmp\/gpu-run-plan --gpu h200 --gpu-name 'NVIDIA H200' .*--commit abc1234/);
    // The layers and networks at the class defaults; f32 against f16 untuned; both GPU peers' precisions.
    expect(r.command('kernels')).to.match(/^DEEPLAB_TUNE=off /);
    expect(r.command('networks')).to.match(/^DEEPLAB_TUNE=off .*--parts model,precision,profile .*--tune-budget 0/);
    expect(r.command('torch')).to.include('--precisions f32,f16');
    expect(r.command('ort')).to.include('--ort-providers webgpu,cuda');
  });

  it('passes the f32 peak of the GPUs in its table, and none for others (or what --peak-tflops says)', () => {
    const peakOf = (...args: string[]) => dryRun('--steps', 'kernels,networks', ...args).command('kernels').match(/--peak-tflops (\S+)/)?.[1] ?? null;
    expect(peakOf('--gpu-name', 'NVIDIA H100 PCIe')).to.equal('51');
    expect(peakOf('--gpu-name', 'NVIDIA H100 80GB HBM3')).to.equal('67');
    expect(peakOf('--gpu-name', 'NVIDIA H200')).to.equal('67');
    expect(peakOf('--gpu-name', 'NVIDIA H200 NVL')).to.equal(null);
    expect(peakOf('--gpu-name', 'NVIDIA A100-SXM4-80GB')).to.equal(null);
    expect(dryRun('--steps', 'kernels', '--gpu-name', 'NVIDIA A100-SXM4-80GB').stdout).to.include('f32 peak unknown');
    expect(peakOf('--gpu-name', 'NVIDIA A100-SXM4-80GB', '--peak-tflops', '19.5')).to.equal('19.5');
    expect(dryRun('--steps', 'networks', '--gpu-name', 'NVIDIA H200').command('networks')).to.include('--peak-tflops 67');
  });

  it('the tests step writes mocha\'s JSON, which the summary counts, and prints the counts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gpu-tests-'));
    try {
      const file = join(dir, 'h200-tests.json');
      // One quick file of this suite in place of the tier (the stand-in the script takes).
      const r = spawnSync('bash', [join(ROOT, 'scripts', 'device', 'gpu-tests.sh'), file, 'dist/test/bench/train-phase.test.js'], { cwd: ROOT, encoding: 'utf8' });
      expect(r.status, r.stderr).to.equal(0);
      const stats = JSON.parse(readFileSync(file, 'utf8')).stats;
      expect(stats.passes).to.be.above(0);
      expect(stats.failures).to.equal(0);
      expect(r.stdout).to.include(`tests: ${stats.passes} passing, 0 failing`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown step or a peak that is not a number, naming it', () => {
    const bad = dryRun('--steps', 'tests,bench');
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.include("unknown step 'bench'");
    expect(bad.steps, 'nothing planned').to.deep.equal([]);
    const peak = dryRun('--peak-tflops', 'fast');
    expect(peak.status).to.equal(2);
    expect(peak.stderr).to.include("--peak-tflops must be a number, got 'fast'");
  });
});
