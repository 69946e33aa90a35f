// One plain SGD step (no momentum, no weight decay: after = before - lr g) read back as the
// gradient it took, from the parameters before and after it: how a test sees the gradient of a
// step taken inside fineTune. Free of Node's modules: the page tests bundle it.
import type { Value } from '../../src/graph/ir.js';
import type { HostParams } from '../../src/graph/params.js';
import { hwioToOihw } from '../../src/model/weights/layouts.js';

/** A gradient in PyTorch's layout (convolution kernels OIHW), rounded to float32. */
export function torchLayout(data: ArrayLike<number>, shape: readonly number[]): Float32Array {
  const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
  return shape.length === 4 ? hwioToOihw(f32, shape).data : f32;
}

/**
 * The gradients of one plain SGD step (no momentum, no weight decay: `after = before - lr g`)
 * from the parameters before and after it, as (before - after) / lr in float64, in PyTorch's
 * layout; with the running statistics after it. `lr` is a power of two large enough that the
 * rounding of `after` is far below the differences looked for (updateRounding says how far).
 */
export function updateGradients(before: HostParams, after: HostParams, lr: number, params: readonly Value[], statistics: readonly Value[]): { grads: Map<string, Float32Array>; stats: Map<string, ArrayLike<number>> } {
  const grads = new Map<string, Float32Array>();
  for (const p of params) {
    const [b, a] = [before.get(p.name)!.data, after.get(p.name)!.data];
    grads.set(p.name, torchLayout(Float64Array.from(b, (v, i) => (v - a[i]) / lr), p.shape));
  }
  return { grads, stats: new Map(statistics.map((v) => [v.name, after.get(v.name)!.data])) };
}

/**
 * The largest relative error that rounding `after` to float32 can put into a tensor's update
 * (half an ulp of each value, against the update's norm), over the tensors but `exactZeros`
 * (gradients 0 in exact arithmetic, rounding noise in any float32 step: checked absolutely).
 */
export function updateRounding(before: HostParams, after: HostParams, params: readonly Value[], exactZeros: ReadonlySet<string>): { name: string; bound: number } {
  let worst = { name: '-', bound: 0 };
  for (const p of params) {
    if (exactZeros.has(p.name)) continue;
    const [b, a] = [before.get(p.name)!.data, after.get(p.name)!.data];
    let ulp2 = 0;
    let d2 = 0;
    for (let i = 0; i < a.length; i++) {
      ulp2 += (Math.abs(a[i]) * 2 ** -24) ** 2;
      d2 += (a[i] - b[i]) ** 2;
    }
    const bound = Math.sqrt(ulp2 / d2);
    if (!(bound <= worst.bound)) worst = { name: p.name, bound };
  }
  return worst;
}

