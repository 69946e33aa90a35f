// Subgroup matrices are checked on an adapter before any layer uses them. The matrix kernel's
// tiling is tested on lavapipe with the built-ins emulated, but the built-ins themselves (Dawn's
// experimental feature, a driver's cooperative matrices) run only on the adapter that has them.
// So each offered shape runs the kernel once on a small convolution that crosses tiles, K steps
// and edges, against the CPU reference; a shape that fails to compile or gives a wrong answer
// is dropped with a warning, and the layers run the other kernels instead of answering wrong.
import { type GpuContext, GpuError } from '../../../gpu/context.js';
import { runOnce } from '../../../gpu/dispatch.js';
import { roundToHalf } from '../../../gpu/half.js';
import { type KernelLimits, type MatrixConfig, matrixConfigName } from '../../../gpu/kernel-limits.js';
import { type GpuTensor, createTensor, fillTensor, readTensor, uploadTensor } from '../../../gpu/tensor.js';
import { Rng } from '../../../util/random.js';
import { relativeError } from '../../../util/relative-error.js';
import { convChoice } from '../algorithm.js';
import { conv2dOutputShape, convGeometry, convParams } from '../params.js';
import { conv2dCpu } from '../reference.js';
import { prepareConv2d } from '../conv2d.js';
import { gemmAlgorithm } from './gemm.js';
import { matrixCandidates } from './matrix.js';

/**
 * Relative error allowed, as the tests allow every kernel: f32 1e-4; f16 inputs, f32 sums and an
 * f16 output 5e-4 (only outputs rounding across an f16 boundary differ; test/helpers.ts).
 */
const TOLERANCE = { f32: 1e-4, f16: 5e-4 } as const;

export interface MatrixCheck {
  passed: MatrixConfig[];
  failed: { config: MatrixConfig; reason: string }[];
}

/** Where the shapes come from: the adapter's largest subgroup, and whether they are emulated. */
type MatrixSource = Omit<NonNullable<KernelLimits['matrix']>, 'configs'>;

/** One shape's check: null if it passed, else why not. */
async function checkConfig(ctx: GpuContext, config: MatrixConfig, source: MatrixSource): Promise<string | null> {
  // 3x3 with padding, 40 -> 36 channels on 13 x 11: edges in pixels and channels, several K steps.
  const inputShape = [1, 13, 11, 40];
  const weightShape = [3, 3, 40, 36];
  const p = convParams({ padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, activation: 'relu' });
  const g = convGeometry(inputShape, weightShape, p);
  const limits: KernelLimits = { ...ctx.kernelLimits, matrix: { ...source, configs: [config] } };
  const variant = matrixCandidates(g, limits, config.component)[0];
  if (!variant) return 'no tiling fits the device';
  const half = config.component === 'f16';
  const rng = new Rng(0x5eed);
  const random = (n: number) => {
    const a = Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
    return half ? roundToHalf(a) : a;
  };
  const input = random(13 * 11 * 40);
  const weight = random(3 * 3 * 40 * 36);
  const bias = random(36);
  const tensors: GpuTensor[] = [];
  const upload = (data: Float32Array, shape: number[], label: string) => {
    const t = uploadTensor(ctx, data, shape, `subgroup-matrix check: ${label}`, half);
    tensors.push(t);
    return t;
  };
  try {
    const outShape = conv2dOutputShape(inputShape, weightShape, p);
    const operands = { input: upload(input, inputShape, 'input'), weight: upload(weight, weightShape, 'weight'), bias: upload(bias, [36], 'bias') };
    const out = createTensor(ctx, outShape, half ? 'f16' : 'f32', 'subgroup-matrix check: out');
    tensors.push(out);
    fillTensor(ctx, out, NaN);
    await runOnce(ctx, 'subgroup-matrix check', () => prepareConv2d(ctx, { ...operands, out }, p, convChoice(gemmAlgorithm, variant)));
    const got = await readTensor(ctx, out);
    let ref = conv2dCpu(input, inputShape, weight, weightShape, p, { bias });
    if (half) ref = roundToHalf(ref);
    const error = relativeError(got, ref);
    return error < TOLERANCE[config.component] ? null : `relative error ${error.toExponential(2)} against the CPU reference`;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  } finally {
    for (const t of tensors) t.dispose();
  }
}

/**
 * Runs the matrix kernel on each of `configs` (the adapter's, or emulated ones) and sorts them
 * into those that matched the CPU reference and those that did not (with the reason).
 */
export async function checkMatrixConfigs(ctx: GpuContext, configs: readonly MatrixConfig[], source: MatrixSource): Promise<MatrixCheck> {
  const result: MatrixCheck = { passed: [], failed: [] };
  for (const config of configs) {
    if (config.component === 'f16' && !ctx.hasHalf) {
      result.failed.push({ config, reason: 'the device has no shader-f16' });
      continue;
    }
    const reason = await checkConfig(ctx, config, source);
    if (reason) result.failed.push({ config, reason });
    else result.passed.push(config);
  }
  return result;
}

/**
 * Checks the subgroup-matrix shapes the device offers, once per context, and records the result
 * on it (GpuContext.recordMatrixCheck): only shapes that gave the CPU reference's answers are
 * used; each one set aside is reported with its reason. Program.create runs this before it
 * lowers any layer.
 */
export async function verifySubgroupMatrices(ctx: GpuContext): Promise<void> {
  if (ctx.matrixChecked) return;
  const offered = ctx.offeredMatrixConfigs;
  if (!offered.length) {
    ctx.recordMatrixCheck([], []);
    return;
  }
  const check = await checkMatrixConfigs(ctx, offered, { subgroupMaxSize: ctx.subgroupMaxSize, emulated: false });
  // A driver that falls over on them takes the device with it: say what to turn off.
  if (ctx.isLost) {
    throw new GpuError(`the GPU device was lost while checking its subgroup matrices (${ctx.lostReason}); DEEPLAB_SUBGROUP_MATRIX=off skips them`, 'device-lost');
  }
  ctx.recordMatrixCheck(check.passed, check.failed);
  for (const { config, reason } of check.failed) {
    console.warn(`deeplab: subgroup matrices ${matrixConfigName(config)} not used on ${ctx.adapterInfo.name}: ${reason}`);
  }
}
