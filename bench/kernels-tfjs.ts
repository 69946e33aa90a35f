// TensorFlow.js' WebGPU backend as the kernel benchmark's peer (bench/kernels.ts): one conv2d
// layer prepared once, then timed run by run as ours is, so the two engines' runs can alternate.
import type { Layer, PreparedKernel } from './kernel-layers.js';
import type { GpuContext } from '../src/gpu/context.js';

type Tfjs = typeof import('@tensorflow/tfjs-core');
type TfTensor4D = import('@tensorflow/tfjs-core').Tensor4D;

export interface TfjsEngine {
  tf: Tfjs;
  device: GPUDevice;
  submitQueue(): void;
  timestamps: boolean;
}

/** Loads TensorFlow.js' WebGPU backend on our Dawn instance (it looks for navigator.gpu at import). */
export async function loadTfjs(ctx: GpuContext): Promise<TfjsEngine> {
  // Node 21+ defines a read-only navigator; defineProperty works on every version.
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: ctx.gpu }, configurable: true, writable: true });
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('bench:kernels: TensorFlow.js could not start its WebGPU backend');
  await tf.ready();
  const backend = tf.backend() as unknown as { device: GPUDevice; submitQueue(): void };
  return { tf, device: backend.device, submitQueue: () => backend.submitQueue(), timestamps: backend.device.features.has('timestamp-query') };
}

/**
 * `layer` in TF.js on inputs `x` and HWIO weights `w`: each `time()` runs it once, timed by its
 * kernels' GPU time (tf.time's kernelMs, timestamps) or by wall time around submit and done.
 */
export function prepareTfjs(e: TfjsEngine, layer: Layer, x: Float32Array, w: Float32Array, useTimestamps: boolean): PreparedKernel {
  const { tf } = e;
  const p = layer.p;
  const depthwise = p.groups > 1;
  if (depthwise && p.groups !== layer.input[3]) throw new Error(`bench:kernels: tfjs has no general grouped conv (${layer.name})`);
  const [KH, KW, I, C] = layer.weight;
  const xt = tf.tensor4d(x, layer.input as [number, number, number, number]);
  // tfjs depthwise filters are [KH, KW, C, multiplier]; ours are HWIO [KH, KW, 1, C].
  const ft = tf.tensor4d(w, depthwise ? [KH, KW, C, 1] : [KH, KW, I, C]);
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [p.padTop, p.padBottom],
    [p.padLeft, p.padRight],
    [0, 0],
  ];
  const run = (): TfTensor4D =>
    depthwise
      ? tf.depthwiseConv2d(xt, ft, [p.strideH, p.strideW], pad, 'NHWC', [p.dilationH, p.dilationW])
      : tf.conv2d(xt, ft, [p.strideH, p.strideW], pad, 'NHWC', [p.dilationH, p.dilationW]);
  return {
    async time(): Promise<number> {
      if (useTimestamps) {
        let y: TfTensor4D | undefined;
        const info = await tf.time(() => {
          y = run();
        });
        y?.dispose();
        return info.kernelMs as number;
      }
      const t0 = performance.now();
      const y = run();
      e.submitQueue();
      await e.device.queue.onSubmittedWorkDone();
      const ms = performance.now() - t0;
      y.dispose();
      return ms;
    },
    async output(): Promise<Float32Array> {
      const y = run();
      try {
        return (await y.data()) as Float32Array;
      } finally {
        y.dispose();
      }
    },
    dispose(): void {
      xt.dispose();
      ft.dispose();
    },
  };
}
