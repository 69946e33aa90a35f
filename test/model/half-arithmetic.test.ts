// Whole networks computing in f16 against the same network in f32, on the VOC sample: every
// layer whose f16-accumulating default passes the tuner's accuracy check runs it (the most f16
// arithmetic tuning could choose), the rest keep f32 sums of f16 products.
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type VocItem, listVocSplit } from '../../src/data/formats/voc-split.js';
import { type Segmenter, evaluateVoc } from '../../src/eval/voc.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { fileTuneStore } from '../../src/gpu/tune-store.js';
import { KernelTuning } from '../../src/gpu/tuning.js';
import { opDef } from '../../src/graph/ops/registry.js';
import { candidateError } from '../../src/graph/tune.js';
import { readImage } from '../../src/io/image.js';
import { type DeepLabModel, type SegmentResult, loadModel } from '../../src/model/model.js';
import { relativeError, testContext } from '../helpers.js';
import { sharedPath } from '../shared.js';

const VOC = sharedPath('data', 'voc-sample');

/**
 * Stores, for every tunable layer of the model's f16 network at `size` x `size`, its default's
 * f16-accumulating variant as the choice where that passes its accuracy check. Returns the
 * layer shapes set so and those whose check set the variant aside.
 */
async function chooseHalfSums(ctx: GpuContext, model: DeepLabModel, size: number): Promise<{ chosen: string[]; refused: string[] }> {
  const graph = model.compiledGraph({ batch: 1, height: size, width: size }).graph;
  const chosen: string[] = [];
  const refused: string[] = [];
  const seen = new Set<string>();
  for (const n of graph.nodes) {
    const layer = opDef(n.op).tunable?.(n.op, ctx);
    if (!layer || seen.has(`${layer.kernel}/${layer.shape}`)) continue;
    seen.add(`${layer.kernel}/${layer.shape}`);
    const halfSums = layer.candidates.find((c) => c.name === `${layer.candidates[0].name}h`);
    if (!halfSums?.accuracy) continue;
    const error = await candidateError(ctx, layer, halfSums.name);
    if (error !== null && error < halfSums.accuracy) {
      ctx.tuning.record(layer.kernel, layer.shape, { variant: halfSums.name, ms: 0, defaultMs: 0, timed: 0, checksum: layer.checksum, settled: true });
      chosen.push(layer.shape);
    } else refused.push(`${layer.shape} (${error?.toExponential(2)})`);
  }
  return { chosen, refused };
}

/** Class maps of every item, and the VOC scores of those maps (mIoU over present classes, in percent). */
async function classify(model: DeepLabModel, items: readonly VocItem[]): Promise<{ maps: Uint8Array[]; mIoU: number }> {
  const results = new Map<string, SegmentResult>();
  for (const it of items) results.set(it.imagePath, await model.segment(it.imagePath));
  // Scored from the results already in hand (each image segmented once).
  const segmenter: Segmenter = { name: model.name, numClasses: model.numClasses, classNames: model.classNames, segment: async (image) => results.get(image)! };
  return { maps: items.map((it) => results.get(it.imagePath)!.classes), mIoU: (await evaluateVoc(segmenter, items)).mIoU };
}

function agreement(a: Uint8Array[], b: Uint8Array[]): number {
  let same = 0;
  let total = 0;
  a.forEach((m, i) => {
    for (let p = 0; p < m.length; p++) if (m[p] === b[i][p]) same++;
    total += m.length;
  });
  return same / total;
}

for (const { id, size } of [{ id: 'mobilenetv2-pascal-257', size: 257 }, { id: 'mobilenetv2-pascal-513', size: 513 }]) {
  describe(`model: f16 arithmetic on the VOC sample (${id}) @slow`, function () {
    this.timeout(1_800_000);
    let ctx: GpuContext;
    let dir: string;
    let saved: KernelTuning;

    before(async function () {
      ctx = await testContext();
      if (!ctx.hasHalf) this.skip();
      // The choices go to a store of this test's own.
      dir = mkdtempSync(join(tmpdir(), 'deeplab-f16-'));
      saved = ctx.tuning;
      ctx.tuning = await KernelTuning.open(saved.identity, 'cached', fileTuneStore(dir));
    });
    after(() => {
      if (saved) ctx.tuning = saved;
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('keeps >= 99.5 % of pixels and mIoU within 0.3 of f32, with f16 sums wherever their check allows', async () => {
      const items = listVocSplit(VOC, 'val');
      const single = await loadModel(id, { ctx });
      let f32: Awaited<ReturnType<typeof classify>>;
      try {
        f32 = await classify(single, items);
      } finally {
        single.dispose();
      }
      // f16 operands with f32 sums (the untuned default), run before any choice is stored.
      const jpg = `${VOC}/JPEGImages/${items[0].id}.jpg`;
      const image = await readImage(existsSync(jpg) ? jpg : items[0].imagePath);
      const plain = await loadModel(id, { ctx, precision: 'f16' });
      let plainScores: Awaited<ReturnType<typeof classify>>;
      let plainLogits: Float32Array;
      try {
        plainLogits = await plain.forwardToHost(plain.preprocess(image).input, size, size);
        plainScores = await classify(plain, items);
        // Then f16 sums wherever their check allows, stored before a model compiles with them
        // (a model compiles its program as it loads).
        const { chosen, refused } = await chooseHalfSums(ctx, plain, size);
        console.log(`      f16 sums in ${chosen.length} layer shapes; f32 sums kept in ${refused.length}: ${refused.join(', ')}`);
        expect(chosen.length, 'layer shapes summing in f16').to.be.at.least(1);
      } finally {
        plain.dispose();
      }
      const summed = await loadModel(id, { ctx, precision: 'f16' });
      try {
        const summedLogits = await summed.forwardToHost(summed.preprocess(image).input, size, size);
        // The choices took effect: f16 sums round differently.
        const changed = relativeError(summedLogits, plainLogits);
        expect(changed, 'logits with f16 sums against f32 sums').to.be.greaterThan(0);
        const f16 = await classify(summed, items);
        const agree = agreement(f16.maps, f32.maps);
        console.log(
          `      ${id}: f16 arithmetic agrees with f32 on ${(100 * agree).toFixed(3)} % of pixels (f32 sums of f16 products: ` +
            `${(100 * agreement(plainScores.maps, f32.maps)).toFixed(3)} %); mIoU ${f16.mIoU.toFixed(2)} against ${f32.mIoU.toFixed(2)} ` +
            `(f32 sums: ${plainScores.mIoU.toFixed(2)}); logits ${changed.toExponential(2)} from the f32-sum run`,
        );
        expect(agree).to.be.at.least(0.995);
        expect(Math.abs(f16.mIoU - f32.mIoU)).to.be.at.most(0.3);
      } finally {
        summed.dispose();
      }
    });
  });
}
