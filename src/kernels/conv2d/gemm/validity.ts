// Whether a GEMM variant can run a layer on a device: its sizes within the shader's arrays and
// the device's limits, its subgroups or subgroup matrices present, its split leaving no split empty.
import type { KernelLimits } from '../../../gpu/kernel-limits.js';
import { normaliseSplits } from '../split.js';
import type { ConvGeometry } from '../params.js';
import { matrixWorkgroupBytes } from './geometry.js';
import { GEMM_CN_MAX, GEMM_R_MAX, GEMM_T_MAX, type GemmVariant, MATRIX_TILES_MAX, type MatrixGemm, UNROLLED_ACCUMULATORS_MAX, UNROLLED_SUBGROUP_MAX, UNROLLED_TAP_PIXELS_MAX } from './types.js';

/** Why `v` cannot run `g` within `limits` in a program whose tensors are `dtype`, or null. */
export function gemmVariantProblem(g: ConvGeometry, v: GemmVariant, limits: KernelLimits, dtype: 'f32' | 'f16' = 'f32'): string | null {
  const sizes =
    v.kind === 'matrix' ? [v.m, v.n, v.k, v.SGM, v.SGN, v.TMS, v.TNS, v.KS, v.lanes, v.splits]
    : v.kind === 'tiled' ? [v.BM, v.BN, v.BK, v.TM, v.TN, v.splits]
    : v.kind === 'unrolled' ? [v.PX, v.CG, v.lanes, v.splits]
    : [v.R, v.CN, v.lanes, v.splits];
  if (!sizes.every((x) => Number.isInteger(x) && x >= 1)) return 'sizes must be positive integers';
  if (v.splits > 1 && normaliseSplits(g.cin, v.splits) !== v.splits) return `${v.splits} splits leave an empty split of ${g.cin} input channels`;
  if (v.kind === 'matrix') return matrixVariantProblem(v, limits, dtype);
  if (v.kind === 'unrolled') {
    if (v.PX * v.CG > UNROLLED_ACCUMULATORS_MAX) return `the tile ${v.PX} x ${v.CG} has more than ${UNROLLED_ACCUMULATORS_MAX} accumulators`;
    // Where each step works out its pixels' tap offsets, more than 4 pixels made SwiftShader's
    // compile take 8-25 s (or fail) against 0.2 s.
    if (v.PX > UNROLLED_TAP_PIXELS_MAX && !g.pointwise) return `${v.PX} pixels a workgroup are for pointwise layers (1x1, no padding); others take at most ${UNROLLED_TAP_PIXELS_MAX}`;
    if (v.lanes > limits.maxComputeInvocationsPerWorkgroup) return `${v.lanes} lanes exceed the device's ${limits.maxComputeInvocationsPerWorkgroup} invocations per workgroup`;
    if (!v.subgroups) return null;
    // The workgroup is one full subgroup, whose broadcasts are written out lane by lane.
    const size = limits.subgroupSize ?? 0;
    if (!size) return 'the device has no subgroups of one fixed size';
    if (size > UNROLLED_SUBGROUP_MAX) return `its broadcasts are written out for subgroups of at most ${UNROLLED_SUBGROUP_MAX} lanes, not ${size}`;
    if (v.lanes !== size) return `${v.lanes} lanes are not one ${size}-wide subgroup`;
    return null;
  }
  if (v.kind !== 'tiled') {
    if (v.R > GEMM_R_MAX || v.CN > GEMM_CN_MAX) return `the tile ${v.R} x ${v.CN} exceeds the shader's ${GEMM_R_MAX} x ${GEMM_CN_MAX}`;
    if (v.lanes > limits.maxComputeInvocationsPerWorkgroup) return `${v.lanes} lanes exceed the device's ${limits.maxComputeInvocationsPerWorkgroup} invocations per workgroup`;
    if (v.kind === 'subgroup') {
      // The shader shuffles among every lane of a subgroup: each must be full.
      const size = limits.subgroupSize ?? 0;
      if (!size) return 'the device has no subgroups of one fixed size';
      if (v.lanes % size) return `${v.lanes} lanes are not a whole number of ${size}-wide subgroups`;
    }
    return null;
  }
  if (v.TM > GEMM_T_MAX || v.TN > GEMM_T_MAX) return `${v.TM} x ${v.TN} outputs per thread exceed the shader's ${GEMM_T_MAX} x ${GEMM_T_MAX}`;
  if (v.BM % v.TM || v.BN % v.TN) return `the ${v.BM} x ${v.BN} tile is not a whole number of ${v.TM} x ${v.TN} thread tiles`;
  const [x, y] = [v.BN / v.TN, v.BM / v.TM];
  if (x * y > limits.maxComputeInvocationsPerWorkgroup || x > limits.maxComputeWorkgroupSizeX || y > limits.maxComputeWorkgroupSizeY) {
    return `a ${x} x ${y} workgroup exceeds the device's limits`;
  }
  // Staged in f32 (a twin summing in f16 stages half as much: ../../precision.ts).
  const bytes = 2 * v.BK * (v.BM + v.BN) * 4;
  if (bytes > limits.maxComputeWorkgroupStorageSize) return `${bytes} bytes of staged tiles exceed the device's ${limits.maxComputeWorkgroupStorageSize} bytes of workgroup memory`;
  if (v.vec4) {
    // Four consecutive k of a tap must be four channels of one split, four outputs one vec4.
    if (g.cin % 4 || g.cout % 4) return `vec4 staging needs channel counts that are multiples of 4, not ${g.cin} -> ${g.cout}`;
    if (Math.ceil(g.cin / v.splits) % 4) return `vec4 staging needs splits of a multiple of 4 channels, not ${Math.ceil(g.cin / v.splits)}`;
    if (v.BK % 4 || v.BN % 4) return 'vec4 staging needs BK and BN multiples of 4';
  }
  return null;
}

function matrixVariantProblem(v: MatrixGemm, limits: KernelLimits, dtype: 'f32' | 'f16'): string | null {
  const matrix = limits.matrix;
  if (!matrix || !matrix.configs.length) return 'the device offers no subgroup matrices';
  if (v.emulated !== matrix.emulated) return v.emulated ? 'an emulated variant on a device with real subgroup matrices' : 'the device only emulates subgroup matrices';
  const shape = `${dtype} ${v.m} x ${v.n} x ${v.k}`;
  if (!matrix.configs.some((c) => c.component === dtype && c.m === v.m && c.n === v.n && c.k === v.k)) return `the device has no ${shape} subgroup matrices accumulating in f32`;
  if (v.TMS * v.TNS > MATRIX_TILES_MAX) return `${v.TMS} x ${v.TNS} matrices per subgroup exceed the shader's ${MATRIX_TILES_MAX}`;
  if (v.emulated) {
    // Each emulating lane holds an equal share of a result matrix.
    if ((v.m * v.n) % v.lanes) return `an ${v.m} x ${v.n} matrix does not split evenly over ${v.lanes} emulating lanes`;
  } else if (v.lanes !== matrix.subgroupMaxSize) {
    return `${v.lanes} lanes a subgroup, but the device's subgroups are up to ${matrix.subgroupMaxSize} wide`;
  }
  const threads = v.SGM * v.SGN * v.lanes;
  if (threads > limits.maxComputeInvocationsPerWorkgroup || threads > limits.maxComputeWorkgroupSizeX) return `${threads} invocations a workgroup exceed the device's limits`;
  const bytes = matrixWorkgroupBytes(v, dtype);
  if (bytes > limits.maxComputeWorkgroupStorageSize) return `${bytes} bytes of staged tiles exceed the device's ${limits.maxComputeWorkgroupStorageSize} bytes of workgroup memory`;
  return null;
}

