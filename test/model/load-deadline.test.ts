// Tuning as a deadline on the whole load (src/model/load-deadline.ts): the program compiled with
// the stored choices first, tuning given only what is left before the deadline less that compile's
// time, and a second compile only where a choice changed and it still fits.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder } from '../../src/graph/builder.js';
import type { Graph } from '../../src/graph/ir.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { fileTuneStore } from '../../src/gpu/tune-store.js';
import { KernelTuning } from '../../src/gpu/tuning.js';
import { compileWithinDeadline } from '../../src/model/load-deadline.js';
import { expectRejects, testContext } from '../helpers.js';

/** One GEMM convolution (sizes off every tile): a layer shape with candidates to time. */
function convGraph(): Graph {
  const g = new GraphBuilder();
  const x = g.input('image', [1, 9, 11, 13]);
  g.output('out', g.conv2d('a', x, g.param('a.w', [3, 3, 13, 24]), { padding: 1 }));
  return g.build();
}

/** Runs `fn` on the shared context in mode 'full' with an empty store in a fresh folder. */
async function withFullTuning(fn: (ctx: GpuContext) => Promise<void>): Promise<void> {
  const ctx = await testContext();
  const dir = mkdtempSync(join(tmpdir(), 'deeplab-deadline-'));
  const before = ctx.tuning;
  try {
    ctx.tuning = await KernelTuning.open(before.identity, 'full', fileTuneStore(dir));
    await fn(ctx);
  } finally {
    ctx.tuning = before;
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('model: tuning within a deadline on the whole load', function () {
  this.timeout(300_000);

  it('a deadline already past: compiled with the stored choices, nothing timed, no second compile', async () => {
    await withFullTuning(async (ctx) => {
      const modes: string[] = [];
      let recompiles = 0;
      const r = await compileWithinDeadline(ctx, performance.now() - 1, convGraph, async () => void modes.push(ctx.tuning.mode), async () => void recompiles++);
      expect(r.recompiled).to.equal(false);
      expect(r.report.tuned, 'nothing timed').to.deep.equal([]);
      expect(r.report.skipped, 'the one layer shape left').to.equal(1);
      expect(modes, 'the compile runs with the stored choices, not tuning itself').to.deep.equal(['cached']);
      expect(recompiles).to.equal(0);
      expect(ctx.tuning.recorded, 'nothing timed').to.equal(0);
      expect(ctx.tuning.mode, 'the mode is restored').to.equal('full');
    });
  });

  it('tunes within what is left, ends by the deadline, recompiles only where a choice changed', async () => {
    await withFullTuning(async (ctx) => {
      const deadline = performance.now() + 60_000;
      let recompileMode = '';
      const r = await compileWithinDeadline(ctx, deadline, convGraph, async () => {}, async () => void (recompileMode = ctx.tuning.mode));
      expect(performance.now(), 'done by the deadline').to.be.at.most(deadline);
      expect(r.report.tuned.length, 'tuned').to.equal(1);
      const layer = r.report.tuned[0];
      const changed = layer.entry.variant !== Object.keys(layer.times)[0];
      expect(r.recompiled, 'recompiled exactly when the choice is not the default').to.equal(changed);
      if (changed) expect(recompileMode).to.equal('cached');
      expect(ctx.tuning.mode).to.equal('full');
    });
  });

  it('a compile that fails is not swallowed, and the mode is restored', async () => {
    await withFullTuning(async (ctx) => {
      const fails = async (): Promise<void> => {
        throw new Error('no pipeline');
      };
      await expectRejects(compileWithinDeadline(ctx, performance.now() + 60_000, convGraph, fails, async () => {}), 'no pipeline');
      expect(ctx.tuning.mode).to.equal('full');
    });
  });
});
