// The leak check of the root hooks (test/leak-check.ts, test/setup.ts): a test that leaves GPU
// buffers or a context alive fails, naming them; what a context caches on purpose is not a leak.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { GpuContext } from '../src/gpu/context.js';
import { createTensor, uploadTensor } from '../src/gpu/tensor.js';
import { testContext } from './helpers.js';
import { gpuLeaksSince, gpuSnapshot } from './leak-check.js';

interface MochaJson {
  passes: { title: string }[];
  failures: { title: string; err: { message: string } }[];
}

describe('test kit: the GPU leak check', function () {
  this.timeout(120_000);

  it('names the buffers a test holds, and not those the pool keeps idle', async () => {
    const ctx = await testContext();
    createTensor(ctx, [8], 'f32', 'warm').dispose(); // an idle buffer in the pool
    const before = gpuSnapshot();
    const a = uploadTensor(ctx, new Float32Array(8), [8], 'held-a');
    const b = uploadTensor(ctx, new Float32Array(64), [64], 'held-b');
    try {
      const leaks = gpuLeaksSince(before);
      expect(leaks).to.have.length(1);
      expect(leaks[0]).to.match(/^2 GPU buffers left held \(.*held-b.*\)/);
    } finally {
      a.dispose();
      b.dispose();
    }
    expect(gpuLeaksSince(before), 'released: back in the pool').to.deep.equal([]);
  });

  it('names a context left alive, and forgets it once destroyed', async () => {
    const before = gpuSnapshot();
    const ctx = await GpuContext.create();
    try {
      expect(gpuLeaksSince(before).join('\n')).to.match(/a GpuContext made here was not destroyed/);
    } finally {
      ctx.destroy();
    }
    expect(gpuLeaksSince(before)).to.deep.equal([]);
  });

  it('fails the test that leaks, passes those that release, and runs the rest of the suite', () => {
    let out: string;
    // A measured run's timings file is this run's: the fixture's run adds neither a file's line
    // nor host probes to it (test/file-timings.ts, test/host-speed.ts).
    const env = { ...process.env };
    delete env.TEST_TIMINGS;
    try {
      out = execFileSync(process.execPath, [resolve('node_modules/mocha/bin/mocha.js'), '--require', 'dist/test/setup.js', '--reporter', 'json', 'dist/test/leak-check-fixture.js'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        env,
      });
    } catch (e) {
      out = (e as { stdout: string }).stdout; // mocha exits with the number of failures
    }
    const report = JSON.parse(out.slice(out.indexOf('\n{') + 1)) as MochaJson;
    const failed = new Map(report.failures.map((f) => [f.title, f.err.message]));
    expect([...failed.keys()].sort()).to.deep.equal(['fails on its own and leaves a tensor', 'leaves a context', 'leaves a tensor']);
    expect(failed.get('leaves a tensor')).to.match(/the test left GPU resources alive:\n {2}1 GPU buffers left held \(left-behind\)/);
    expect(failed.get('leaves a context')).to.match(/a GpuContext made here was not destroyed/);
    expect(failed.get('fails on its own and leaves a tensor'), 'its own failure, not a leak').to.equal('the failure of the test itself');
    // Mocha has reported a test passed before its afterEach hooks run: a leak then fails it too.
    expect(report.passes.map((p) => p.title).filter((t) => !failed.has(t)).sort()).to.deep.equal(['hands its tensors to disposeAfterTest', 'releases its tensor']);
  });
});
