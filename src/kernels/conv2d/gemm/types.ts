// The implicit GEMM's variants: one record per kernel (what it tiles and how), and the sizes its
// shaders' arrays allow. The kernels are described in candidates.ts; gemm.ts compiles them.

/** conv2d_gemm.wgsl: registers only. */
export interface RegisterGemm {
  kind: 'register';
  /** Output pixels per workgroup. */
  R: number;
  /** Output channels per lane. */
  CN: number;
  /** Lanes per workgroup (the workgroup size). */
  lanes: number;
  /** Ways the input channels are split (1: no split-K). */
  splits: number;
}

/** conv2d_gemm_subgroup.wgsl: the register tile, each input value loaded once per subgroup. */
export type SubgroupGemm = Omit<RegisterGemm, 'kind'> & { kind: 'subgroup' };

/** conv2d_gemm_tiled.wgsl: workgroup tiles staged in workgroup memory. */
export interface TiledGemm {
  kind: 'tiled';
  /** Output pixels and channels per workgroup. */
  BM: number;
  BN: number;
  /** Reduction step staged at once. */
  BK: number;
  /** Pixels and channels per thread. */
  TM: number;
  TN: number;
  /** Tiles staged four channels a thread (conv2d_gemm_tiled_vec4.wgsl; channel counts multiples of 4). */
  vec4: boolean;
  splits: number;
}

/**
 * conv2d_gemm_matrix.wgsl: a workgroup tile multiplied on subgroup matrices. A workgroup is
 * SGM x SGN subgroups, each holding TMS x TNS result matrices of m x n (f32); inputs are the
 * program's storage type (f32, or f16 in half-precision programs), staged KS matrix steps of k
 * at a time. Block: SGM * TMS * m pixels by SGN * TNS * n channels.
 */
export interface MatrixGemm {
  kind: 'matrix';
  m: number;
  n: number;
  k: number;
  SGM: number;
  SGN: number;
  TMS: number;
  TNS: number;
  KS: number;
  /** Lanes per subgroup the workgroup is sized for: the adapter's largest subgroup. */
  lanes: number;
  /**
   * The subgroup-matrix built-ins replaced by plain WGSL doing the same arithmetic
   * (conv2d_gemm_matrix_emulated.wgsl): how the kernel's tiling runs on adapters without them
   * (tests on lavapipe). Never a production choice.
   */
  emulated: boolean;
  splits: number;
}

/**
 * conv2d_gemm_unrolled.wgsl: the register tile as straight-line code, PX pixels (workgroup-uniform)
 * by CG channels a lane, each accumulator a variable of its own.
 */
export interface UnrolledGemm {
  kind: 'unrolled';
  /** Output pixels per workgroup. */
  PX: number;
  /** Output channels per lane. */
  CG: number;
  /** Lanes per workgroup; with `subgroups`, exactly one subgroup. */
  lanes: number;
  /** The input shared through the subgroup by broadcasts (conv2d_gemm_unrolled_subgroup.wgsl). */
  subgroups: boolean;
  splits: number;
}

export type GemmVariant = RegisterGemm | SubgroupGemm | TiledGemm | MatrixGemm | UnrolledGemm;

/** The register kernel's arrays: R_MAX x CN_MAX accumulators (conv2d_gemm.wgsl). */
export const GEMM_R_MAX = 16;
export const GEMM_CN_MAX = 8;
/** The tiled kernel's per-thread arrays: TM, TN at most 8 (conv2d_gemm_tiled.wgsl). */
export const GEMM_T_MAX = 8;
/**
 * The unrolled kernel's accumulators (PX * CG) at most: each is written out in the source, so a
 * larger tile compiles slowly and spills. Its subgroup variant writes out one broadcast per lane:
 * subgroups of at most UNROLLED_SUBGROUP_MAX lanes.
 */
export const UNROLLED_ACCUMULATORS_MAX = 64;
/** The unrolled kernel's pixels a workgroup on layers that are not pointwise (their offsets are worked out every step). */
export const UNROLLED_TAP_PIXELS_MAX = 4;
export const UNROLLED_SUBGROUP_MAX = 8;

/** The matrix kernel's arrays: at most this many result matrices per subgroup (conv2d_gemm_matrix.wgsl). */
export const MATRIX_TILES_MAX = 16;

