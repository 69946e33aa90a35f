// Inverted dropout: the GPU draws the CPU reference's mask exactly; masks follow (seed, salt);
// the gradient is the same op on dy (checked against central differences and through autograd).
import { expect } from 'chai';
import { differentiate } from '../../src/graph/autograd.js';
import { DROPOUT_SEED, GraphBuilder } from '../../src/graph/builder.js';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import { Program } from '../../src/graph/program.js';
import { runOnce } from '../../src/gpu/dispatch.js';
import { readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { dropoutCpu, prepareDropout } from '../../src/kernels/elementwise/dropout.js';
import { GRADCHECK_TOLERANCE, dot, f64, numericGradient } from '../gradcheck.js';
import { expectClose, numel, poisonedTensor, randomArray, rng, testContext, expectThrows, disposeAfterTest } from '../helpers.js';
import { relativeError } from '../../src/util/relative-error.js';
import { defaultConfig } from '../../src/model/backbones/config.js';
import { buildDeepLab } from '../../src/model/backbones/network.js';

const dropped = (y: ArrayLike<number>): number => Array.from(y).filter((v) => v === 0).length;

describe('kernel: dropout', () => {
  for (const [shape, p] of [[[2, 13, 11, 21], 0.5], [[1, 7, 1, 3], 0.1], [[3, 5, 97, 2], 0.9]] as const) {
    it(`GPU equals the CPU reference on ${JSON.stringify(shape)}, p = ${p}`, async () => {
      const ctx = await testContext();
      const x = randomArray(numel(shape as unknown as number[]), 0.5, 1.5); // never 0, so a 0 out is a drop
      const seedValue = Math.floor(rng()() * 2 ** 32) >>> 0;
      const input = disposeAfterTest(uploadTensor(ctx, x, [...shape]));
      const seed = disposeAfterTest(uploadTensor(ctx, Uint32Array.of(seedValue), [1], 'u32'));
      const out = disposeAfterTest(poisonedTensor(ctx, [...shape]));
      await runOnce(ctx, 'dropout test', () => prepareDropout(ctx, { x: input, seed, out }, { p, salt: 3 }));
      const got = await readTensor(ctx, out);
      const want = dropoutCpu(x, seedValue, { p, salt: 3 });
      expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer)), 'bitwise equal').to.equal(true);
      // Kept elements are scaled by 1 / (1 - p); the dropped fraction is p within 5 standard deviations.
      want.forEach((v, i) => v !== 0 && expect(v).to.equal(Math.fround(x[i] * Math.fround(1 / (1 - p)))));
      const n = x.length;
      expect(Math.abs(dropped(want) - n * p)).to.be.at.most(5 * Math.sqrt(n * p * (1 - p)) + 1);
    });
  }

  for (const [shape, p] of [[[2, 5, 7, 19], 0.5], [[3, 1, 1, 64], 0.1]] as const) {
    it(`channelwise (Dropout2d): GPU equals the CPU reference on ${JSON.stringify(shape)}, p = ${p}, and every pixel of an image shares its channel's draw`, async () => {
      const ctx = await testContext();
      const [n, h, w, c] = shape;
      const x = randomArray(numel(shape as unknown as number[]), 0.5, 1.5);
      const seedValue = Math.floor(rng()() * 2 ** 32) >>> 0;
      const d = { p, salt: 2, channelwise: true };
      const input = disposeAfterTest(uploadTensor(ctx, x, [...shape]));
      const seed = disposeAfterTest(uploadTensor(ctx, Uint32Array.of(seedValue), [1], 'u32'));
      const out = disposeAfterTest(poisonedTensor(ctx, [...shape]));
      await runOnce(ctx, 'dropout test', () => prepareDropout(ctx, { x: input, seed, out }, d));
      const got = await readTensor(ctx, out);
      const want = dropoutCpu(x, seedValue, d, shape);
      expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer)), 'bitwise equal').to.equal(true);
      // One draw per (image, channel): each is all kept or all dropped over the pixels.
      for (let i = 0; i < n; i++) {
        for (let ch = 0; ch < c; ch++) {
          const first = want[i * h * w * c + ch] !== 0;
          for (let px = 1; px < h * w; px++) expect(want[(i * h * w + px) * c + ch] !== 0, `image ${i} channel ${ch} pixel ${px}`).to.equal(first);
        }
      }
      const draws = n * c;
      const droppedDraws = dropped(want) / (h * w);
      expect(Math.abs(droppedDraws - draws * p)).to.be.at.most(5 * Math.sqrt(draws * p * (1 - p)) + 1);
    });
  }

  it('channelwise: images draw apart, the gradient (the same mask on dy) matches central differences, and a tensor not NHWC is refused', () => {
    const shape = [2, 3, 3, 40];
    const ones = new Float32Array(numel(shape)).fill(1);
    const y = dropoutCpu(ones, 5, { p: 0.5, salt: 0, channelwise: true }, shape);
    const image = (i: number) => Array.from(y.subarray(i * 360, i * 360 + 40), (v) => (v ? 1 : 0)).join('');
    expect(image(0)).to.not.equal(image(1));
    const x = f64(randomArray(numel(shape)));
    const r = f64(randomArray(numel(shape)));
    const d = { p: 0.3, salt: 4, channelwise: true };
    const numeric = numericGradient((v) => dot(dropoutCpu(v, 999, d, shape), r), x);
    expect(relativeError(dropoutCpu(r, 999, d, shape), numeric)).to.be.below(GRADCHECK_TOLERANCE);
    expectThrows(() => dropoutCpu(new Float32Array(12), 1, d, [3, 4]), /channelwise dropout needs an NHWC tensor, got \[3,\s?4\]/);
  });

  it('masks change with the seed and the salt, never with the values; p = 0 is the identity; bad p is refused', () => {
    const ones = new Float32Array(4096).fill(1);
    const mask = (seed: number, salt: number): string => Array.from(dropoutCpu(ones, seed, { p: 0.5, salt }), (v) => (v ? 1 : 0)).join('');
    expect(mask(1, 0)).to.equal(mask(1, 0));
    expect(mask(1, 0)).to.not.equal(mask(2, 0));
    expect(mask(1, 0)).to.not.equal(mask(1, 1));
    const twos = dropoutCpu(new Float32Array(4096).fill(2), 1, { p: 0.5, salt: 0 });
    expect(Array.from(twos, (v) => (v ? 1 : 0)).join('')).to.equal(mask(1, 0));
    const x = randomArray(100);
    expect([...dropoutCpu(x, 9, { p: 0, salt: 0 })]).to.deep.equal([...x]);
    expectThrows(() => dropoutCpu(x, 9, { p: 1, salt: 0 }), /p must be in \[0, 1\), got 1/);
    expectThrows(() => dropoutCpu(x, 9, { p: -0.1, salt: 0 }), /p must be in \[0, 1\)/);
  });

  it('CPU reference: the analytic gradient (dropout of dy) matches central differences in float64', () => {
    const x = f64(randomArray(300));
    const r = f64(randomArray(300));
    const d = { p: 0.3, salt: 7 };
    const numeric = numericGradient((v) => dot(dropoutCpu(v, 12345, d), r), x);
    const analytic = dropoutCpu(r, 12345, d);
    expect(relativeError(analytic, numeric)).to.be.below(GRADCHECK_TOLERANCE);
  });

  it('autograd: the gradient through a dropout layer is the same mask on dy, on the CPU and the GPU; one seed input serves every layer', async () => {
    const b = new GraphBuilder();
    const w = b.param('w', [1, 4, 5, 6]);
    const dy = b.input('dy', [1, 4, 5, 6]);
    const y = b.dropout('drop2', b.dropout('drop1', w, 0.25), 0.5);
    b.output('y', y);
    const forward = b.build();
    expect(forward.inputs.filter((v) => v.name === DROPOUT_SEED)).to.have.length(1);
    const d = differentiate(forward, new Map([[y, dy]]), [w]);
    const out = GraphBuilder.extend(d.graph);
    out.output('dw', d.grads.get(w.id)!);
    const graph = out.build();
    const wData = randomArray(120);
    const r = randomArray(120);
    const seed = Uint32Array.of(77);
    const want = dropoutCpu(dropoutCpu(r, 77, { p: 0.5, salt: 1 }), 77, { p: 0.25, salt: 0 });
    const params = new Map([['w', { shape: [1, 4, 5, 6], data: wData }]]);
    const cpu = runGraphCpu(graph, params, { dy: r, [DROPOUT_SEED]: seed });
    expectClose(cpu.get('dw')!, want, 'CPU');
    expect(dropped(cpu.get('dw')!)).to.be.above(0);
    const program = disposeAfterTest(await Program.create(await testContext(), graph, params));
    const gpu = await program.run({ dy: r, [DROPOUT_SEED]: seed });
    expectClose(gpu.get('dw')!, want, 'GPU');
    expectClose(gpu.get('y')!, cpu.get('y')!, 'forward');
  });

  it("the networks place PyTorch's, TF's and mmseg's head dropouts only when training", () => {
    const layers = (g: ReturnType<typeof buildDeepLab>): [string, number][] =>
      g.nodes.flatMap((n) => (n.op.type === 'dropout' ? [[n.name, n.op.attrs.p] as [string, number]] : []));
    const size = { height: 65, width: 65 };
    const mv3 = defaultConfig('mobilenet_v3_large', { aux: true });
    expect(layers(buildDeepLab(mv3, size, { dropout: true }))).to.deep.equal([['classifier.0.project.3', 0.5], ['aux_classifier.3', 0.1]]);
    expect(layers(buildDeepLab(defaultConfig('mobilenet_v2'), size, { dropout: true }))).to.deep.equal([['concat_projection_dropout', 0.1]]);
    // mmseg's heads drop whole channels (Dropout2d), torchvision's and TF's elements.
    const mmseg = defaultConfig('resnet18', { head: 'mmseg', stem: 'v1c', dilationConvention: 'mmseg', asppChannels: 128, numClasses: 5, aux: true });
    const modes = buildDeepLab(mmseg, size, { dropout: true }).nodes.flatMap((n) => (n.op.type === 'dropout' ? [[n.name, n.op.attrs.p, n.op.attrs.channelwise === true]] : []));
    expect(modes).to.deep.equal([['decode_head.dropout', 0.1, true], ['auxiliary_head.dropout', 0.1, true]]);
    expect(buildDeepLab(mv3, size, { dropout: true }).nodes.some((n) => n.op.type === 'dropout' && n.op.attrs.channelwise)).to.equal(false);
    const inference = buildDeepLab(mv3, size);
    expect(layers(inference)).to.deep.equal([]);
    expect(inference.inputs.map((v) => v.name)).to.deep.equal(['image']);
  });
});
