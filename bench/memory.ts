// Memory-bound kernels in GB/s against the adapter's own copy bandwidth (the runner's kernels
// part). WebGPU does not say how fast an adapter's memory is, so it is measured: a buffer copy
// (copyBufferToBuffer, read + write) of a large buffer, wall time around submit-to-done. Each
// kernel's rate counts the bytes it must move at the least (every input read once, every output
// written once), so the fraction is how close it comes to streaming.
import { pad } from './common.js';
import { type SettleOptions, type Settled, describeSpread, describeWarmup, measureSettled } from './settle.js';
import type { GpuContext } from '../src/gpu/context.js';
import { type Dispatch, disposeDispatch } from '../src/gpu/dispatch.js';
import { type GpuTensor, type Shape, createTensor, numel, writeTensor } from '../src/gpu/tensor.js';
import { convParams, samePadding } from '../src/kernels/conv2d/params.js';
import { prepareConv2d } from '../src/kernels/conv2d/conv2d.js';
import { prepareElementwise } from '../src/kernels/elementwise/elementwise.js';
import { prepareResizeBilinear } from '../src/kernels/resize/resize.js';

export interface MemoryKernel {
  name: string;
  what: string;
  /** Operand shapes: inputs (filled) then the output. */
  shapes: Shape[];
  prepare(ctx: GpuContext, t: GpuTensor[]): Dispatch[];
}

const [padTop, padBottom] = samePadding(65, 3, 1, 1);

export const MEMORY_KERNELS: MemoryKernel[] = [
  {
    name: 'dw960',
    what: 'depthwise 3x3 960 @65x65',
    shapes: [[1, 65, 65, 960], [3, 3, 1, 960], [1, 65, 65, 960]],
    prepare: (ctx, [input, weight, out]) => prepareConv2d(ctx, { input, weight, out }, convParams({ groups: 960, padTop, padBottom, padLeft: padTop, padRight: padBottom })),
  },
  {
    name: 'add-relu',
    what: 'add + relu 256 @129x129',
    shapes: [[1, 129, 129, 256], [1, 129, 129, 256], [1, 129, 129, 256]],
    prepare: (ctx, [a, b, out]) => [prepareElementwise(ctx, { a, b, out }, { op: 'add', activation: 'relu' })],
  },
  {
    name: 'upsample',
    what: 'bilinear 21 @65x65 -> 513x513',
    shapes: [[1, 65, 65, 21], [1, 513, 513, 21]],
    prepare: (ctx, [input, out]) => [prepareResizeBilinear(ctx, { input, out }, { outH: 513, outW: 513, mode: 'align_corners' })],
  },
];

export interface MemoryRow extends Settled {
  kernel: string;
  description: string;
  megabytes: number;
  gbps: number;
  /** gbps over the adapter's copy bandwidth. */
  fractionOfCopy: number;
}

/** GB/s of a buffer-to-buffer copy of `bytes` (read and written), median of `repeats` after the warm-up. */
async function copyBandwidth(ctx: GpuContext, repeats: number, settle: SettleOptions): Promise<{ gbps: number; bytes: number }> {
  const bytes = Math.min(256 * 2 ** 20, ctx.limits.maxBufferSize) & ~3;
  const src = ctx.createBuffer(bytes, GPUBufferUsage.COPY_SRC | GPUBufferUsage.STORAGE, 'bench:copy-src');
  const dst = ctx.createBuffer(bytes, GPUBufferUsage.COPY_DST | GPUBufferUsage.STORAGE, 'bench:copy-dst');
  try {
    const once = async () => {
      const encoder = ctx.device.createCommandEncoder({ label: 'bench:copy' });
      encoder.copyBufferToBuffer(src, 0, dst, 0, bytes);
      const t0 = performance.now();
      await ctx.submitAndWait([encoder.finish()]);
      return performance.now() - t0;
    };
    const [copy] = await measureSettled([once], repeats, settle);
    return { gbps: (2 * bytes) / (copy.medianMs * 1e6), bytes };
  } finally {
    ctx.destroyBuffer(src);
    ctx.destroyBuffer(dst);
  }
}

/**
 * Times each memory-bound kernel with `time` (the kernel benchmark's timer: GPU timestamps where
 * the adapter has them) and the adapter's copy bandwidth, printing a table.
 */
export async function benchMemoryKernels(
  ctx: GpuContext,
  time: (d: Dispatch[]) => Promise<number>,
  o: { repeats: number; settle: SettleOptions },
): Promise<{ copyGbps: number; copyBytes: number; rows: MemoryRow[] }> {
  const copy = await copyBandwidth(ctx, Math.max(3, o.repeats), o.settle);
  console.log(`\ncopy bandwidth: ${copy.gbps.toFixed(1)} GB/s (copyBufferToBuffer of ${(copy.bytes / 2 ** 20).toFixed(0)} MiB, read + write, wall time)`);
  console.log(`${pad('kernel', 11)} ${pad('shape', 30)} ${pad('MB moved', 9)} ${pad('ms', 14)} ${pad('GB/s', 9)} ${pad('of copy', 8)} warm-up`);
  const rows: MemoryRow[] = [];
  for (const k of MEMORY_KERNELS) {
    const tensors = k.shapes.map((s, i) => createTensor(ctx, s, 'f32', `bench:${k.name}:${i}`));
    let dispatches: Dispatch[] = [];
    try {
      for (const t of tensors.slice(0, -1)) writeTensor(ctx, t, Float32Array.from({ length: t.size }, (_, j) => Math.sin(j)));
      dispatches = await ctx.checked(k.name, () => k.prepare(ctx, tensors));
      const d = dispatches;
      const [timed] = await ctx.checked(k.name, () => measureSettled([() => time(d)], o.repeats, o.settle));
      const bytes = k.shapes.reduce((a, s) => a + 4 * numel(s), 0);
      const gbps = bytes / (timed.medianMs * 1e6);
      rows.push({ kernel: k.name, description: k.what, megabytes: bytes / 1e6, ...timed, gbps, fractionOfCopy: gbps / copy.gbps });
      console.log(
        `${pad(k.name, 11)} ${pad(k.what, 30)} ${pad((bytes / 1e6).toFixed(1), 9)} ${pad(`${timed.medianMs.toFixed(2)} ${describeSpread(timed)}`, 14)} ` +
          `${pad(gbps.toFixed(1), 9)} ${pad(`${((100 * gbps) / copy.gbps).toFixed(0)} %`, 8)} ${describeWarmup(timed)}`,
      );
    } finally {
      for (const d of dispatches) disposeDispatch(ctx, d);
      for (const t of tensors) t.dispose();
    }
  }
  return { copyGbps: copy.gbps, copyBytes: copy.bytes, rows };
}
