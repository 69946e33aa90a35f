// Left-right mirror of NHWC tensors (flipped inference: the flipped view's logits are mirrored
// back before they are averaged with the others).
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, linearGrid, makeDispatch } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, numel, shapeString, validateShape } from '../../gpu/tensor.js';
import { expectRank, expectShape } from '../checks.js';
import { type FloatArray, zerosLike } from '../cpu-arrays.js';

const WG = 256;

export function flipWidthSpec(): KernelSpec {
  return { shader: 'flip.wgsl', constants: { WG } };
}

function checkInput(shape: Shape): void {
  expectRank(shape, 4, 'flipWidth', 'input');
  validateShape(shape, 'flipWidth: input');
}

export function prepareFlipWidth(ctx: GpuContext, t: { input: GpuTensor; out: GpuTensor }): Dispatch {
  checkInput(t.input.shape);
  expectShape(t.out.shape, t.input.shape, 'flipWidth', 'out');
  const [, , W, C] = t.input.shape;
  return makeDispatch(ctx, {
    label: `flipWidth ${shapeString(t.input.shape)}`,
    spec: flipWidthSpec(),
    uniforms: new Uniforms().u32(t.input.size).u32(W).u32(C),
    buffers: [t.input, t.out],
    workgroups: linearGrid(ctx, t.input.size, WG),
  });
}

/** CPU reference. */
export function flipWidthCpu<T extends FloatArray>(x: T, shape: Shape): T {
  checkInput(shape);
  const [N, H, W, C] = shape;
  if (x.length !== numel(shape)) throw new Error(`flipWidth: ${x.length} values for ${shapeString(shape)}`);
  const out = zerosLike(x, x.length);
  for (let row = 0; row < N * H; row++)
    for (let px = 0; px < W; px++)
      for (let c = 0; c < C; c++) out[(row * W + px) * C + c] = x[(row * W + (W - 1 - px)) * C + c];
  return out;
}
