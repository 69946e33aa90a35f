// Tuning over the hardware class's spaces completes under wgpu (Deno) and changes no answer: the
// tuner's flow, its GEMM tiles among the candidates it times, and its timestamp queries under wgpu.
// Each layer shape is timed until 3 candidates in a row were no faster than its best (every
// candidate of every space took 186 s of the suite on the EPYC 2-core host); that every candidate's
// module compiles and its pipeline is created under naga (the GEMM's tiled kernels once made naga
// panic, and Firefox lose every tab) is naga.test.ts', candidate by candidate. The network runs at
// 33x33, not at its own 257x257:
// its layer shapes are the same but for their pixel counts, and tuning them there creates the
// same pipelines (measured under Dawn: the same 61 at both sizes, 799 and 796 candidates) at a
// sixtieth of the pixels (97 s of tuning at 257x257 under Deno, 48 s at 33x33, most of it waiting).
// It times on the GPU's clock (timestamp queries, a context's default under wgpu): the tuner's one
// test of that path (85 s at 33x33, against 56 s timed on the host, whose waits carry ~11 ms there).
import { expect } from 'chai';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sharedPath } from '../shared.js';
import { runDeno } from './deno.js';
import type { TuneResult } from './deno-tune.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'deno-tune.js');

/** Candidates in a row no faster than a layer's best before its timing stops. */
const PATIENCE = 3;

describe('wgpu (Deno): tuning the default model over the hardware-class spaces @slow @extended', function () {
  // Cold, on a loaded 2-core host, 622 s (stress runs, docs/testing.md): the child's kill at over
  // twice that, the test's timeout after it.
  this.timeout(1_800_000);

  it(`times every layer shape at 33x33 until ${PATIENCE} candidates in a row are no faster, then labels its pixels as before tuning`, async () => {
    const run = await runDeno(SCRIPT, [sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite'), '33', String(PATIENCE)], { timeoutMs: 1_500_000 });
    const line = run.stdout.split('\n').find((l) => l.startsWith('{"result"'));
    if (!line) throw new Error(`tuning under Deno gave no result (exit ${run.code ?? run.signal}):\n${run.stdout}\n${run.stderr}`);
    const r = (JSON.parse(line) as { result: TuneResult }).result;
    console.log(`      (${r.shapes} layer shapes, ${r.timed} candidates timed in ${(r.ms / 1000).toFixed(0)} s; ${r.changed} shapes chose other than their default)`);
    expect(r.shapes, 'layer shapes tuned').to.be.at.least(10);
    expect(r.skipped, 'shapes the budget did not reach').to.equal(0);
    // Each shape timed at least one candidate, and no more than its space holds.
    expect(r.timed, 'candidates timed').to.be.at.least(r.shapes).and.at.most(r.candidates);
    expect(r.agreement, 'pixels as before tuning').to.be.at.least(0.999);
  });
});
