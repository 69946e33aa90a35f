// The page side of the kernel-candidate test (kernel-candidates.test.ts): the convolution
// candidates the page's adapter class offers a layer (all, or those a pattern names, and the
// default), run on the page's WebGPU against the CPU reference, on random data with a
// NaN-poisoned output. Bundled by the test with the browser
// build's plugin.
import { GpuContext } from '../../src/gpu/context.js';
import { runOnce } from '../../src/gpu/dispatch.js';
import { type GpuTensor, createTensor, fillTensor, readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { adapterClass } from '../../src/kernels/candidates.js';
import { conv2dSpace, prepareConv2d } from '../../src/kernels/conv2d/conv2d.js';
import { convLayer } from '../../src/kernels/conv2d/family.js';
import { type Conv2dParams, conv2dOutputShape, convParams } from '../../src/kernels/conv2d/params.js';
import { conv2dCpu } from '../../src/kernels/conv2d/reference.js';
import { Rng } from '../../src/util/random.js';
import { relativeError } from '../../src/util/relative-error.js';

export interface CandidateCase {
  input: number[];
  kernel: [number, number];
  cout: number;
  p: Partial<Conv2dParams>;
  bias?: boolean;
  residual?: boolean;
}

export interface CandidateResult {
  name: string;
  /** Relative error against the CPU reference (NaN where the poisoned output was not written). */
  error: number;
}

declare global {
  interface Window {
    runConvCandidates(cases: CandidateCase[], seed: number, only?: string): Promise<{ adapterClass: string; subgroupSize: number; cases: CandidateResult[][] }>;
  }
}

window.runConvCandidates = async (cases, seed, only) => {
  const wanted = only ? new RegExp(only) : null;
  const ctx = await GpuContext.create({ tune: 'off' });
  const rng = new Rng(seed);
  const random = (n: number, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => rng.uniform(lo, hi));
  try {
    const results: CandidateResult[][] = [];
    for (const c of cases) {
      const p = convParams(c.p);
      const weightShape = [c.kernel[0], c.kernel[1], c.input[3] / p.groups, c.cout];
      const outShape = conv2dOutputShape(c.input, weightShape, p);
      const input = random(c.input.reduce((a, b) => a * b, 1));
      const weight = random(weightShape.reduce((a, b) => a * b, 1));
      const bias = c.bias ? random(c.cout, -2, 2) : undefined;
      const residual = c.residual ? random(outShape.reduce((a, b) => a * b, 1), -3, 3) : undefined;
      const ref = conv2dCpu(input, c.input, weight, weightShape, p, { bias, residual });
      const tensors: GpuTensor[] = [];
      const up = (a: Float32Array, s: number[]) => {
        const t = uploadTensor(ctx, a, s, 'candidate test');
        tensors.push(t);
        return t;
      };
      try {
        const operands = { input: up(input, c.input), weight: up(weight, weightShape), bias: bias && up(bias, [c.cout]), residual: residual && up(residual, outShape) };
        const out = createTensor(ctx, outShape, 'f32', 'out');
        tensors.push(out);
        const caseResults: CandidateResult[] = [];
        // The default, and the candidates `only` names (all where it is not given).
        const candidates = conv2dSpace(convLayer(ctx, c.input, weightShape, p)).candidates.filter((x, i) => i === 0 || !wanted || wanted.test(x.name));
        for (const candidate of candidates) {
          fillTensor(ctx, out, NaN);
          await runOnce(ctx, candidate.name, () => prepareConv2d(ctx, { ...operands, out }, p, candidate.variant));
          const got = await readTensor(ctx, out);
          caseResults.push({ name: candidate.name, error: got.some(Number.isNaN) ? NaN : relativeError(got, ref) });
        }
        results.push(caseResults);
      } finally {
        for (const t of tensors) t.dispose();
      }
    }
    return { adapterClass: adapterClass(ctx), subgroupSize: ctx.kernelLimits.subgroupSize ?? 0, cases: results };
  } finally {
    ctx.destroy();
  }
};
