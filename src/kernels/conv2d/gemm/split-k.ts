// The GEMM's split-K policy (the family's rule, src/kernels/conv2d/split.ts, at the GEMM's
// figures): split the input channels where the output alone gives too few workgroups.
import { reductionSplits } from '../split.js';
import type { ConvGeometry } from '../params.js';
import { gemmTiles } from './geometry.js';
import type { GemmVariant } from './types.js';

// Below this many workgroups the GEMM leaves a large GPU mostly idle (an H100 holds ~4000 of
// these 32-lane groups at once); split until it is reached, at most MAX_SPLITS ways, each split
// keeping at least MIN_SPLIT_CHANNELS input channels.
const SPLIT_TARGET_GROUPS = 1024;
const MAX_SPLITS = 16;
const MIN_SPLIT_CHANNELS = 32;

/** Split-K where the output alone gives too few workgroups to fill a GPU (1: none). */
export function autoSplits(g: ConvGeometry, v: GemmVariant): number {
  return reductionSplits(g.cin, gemmTiles(g, v), SPLIT_TARGET_GROUPS, MAX_SPLITS, Math.floor(g.cin / MIN_SPLIT_CHANNELS));
}

