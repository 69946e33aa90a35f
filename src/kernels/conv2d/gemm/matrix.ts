// The matrix kernel's variants (subgroup matrices, tensor cores): the tilings offered for each
// shape the device multiplies, and the one half-precision programs run by rule.
import type { KernelLimits } from '../../../gpu/kernel-limits.js';
import type { ConvGeometry } from '../params.js';
import type { MatrixGemm } from './types.js';
import { gemmVariantProblem } from './validity.js';

/** Lanes an emulated subgroup has (each holds an equal share of every result matrix). */
const EMULATED_LANES = 8;

/** Tilings the matrix kernel is offered in: [SGM, SGN, TMS, TNS, KS], the default first. */
const MATRIX_TILINGS: readonly (readonly [number, number, number, number, number])[] = [
  [2, 2, 2, 2, 2],
  [4, 2, 2, 2, 1],
  [2, 4, 2, 2, 1],
  [2, 2, 4, 2, 1],
  [1, 1, 2, 2, 2],
];

/** The matrix variants for `g` on `limits`' configurations of `dtype`, valid ones only, the preferred first. */
export function matrixCandidates(g: ConvGeometry, limits: KernelLimits, dtype: 'f32' | 'f16'): MatrixGemm[] {
  const matrix = limits.matrix;
  if (!matrix) return [];
  const out: MatrixGemm[] = [];
  for (const c of matrix.configs.filter((c) => c.component === dtype)) {
    const lanes = matrix.emulated ? EMULATED_LANES : matrix.subgroupMaxSize;
    for (const [SGM, SGN, TMS, TNS, KS] of MATRIX_TILINGS) {
      const v: MatrixGemm = { kind: 'matrix', m: c.m, n: c.n, k: c.k, SGM, SGN, TMS, TNS, KS, lanes, emulated: matrix.emulated, splits: 1 };
      if (!gemmVariantProblem(g, v, limits, dtype)) out.push(v);
    }
  }
  return out;
}

