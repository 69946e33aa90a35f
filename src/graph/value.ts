// Values of the graph IR (see src/graph/ir.ts for the kinds): kept apart from the node and op
// types so op definitions (src/graph/ops/) can name values without importing the IR.

/** 'f16' only in half-precision programs (src/graph/half.ts). */
export type DType = 'f32' | 'f16' | 'u32';

export type ValueKind = 'input' | 'state' | 'activation';

/**
 * What a state value is for: 'param' is trained; 'statistic' (BN running mean / variance) is
 * updated by training but not by gradients; 'derived' is recomputed from others (folded
 * weights); 'gradient' accumulates gradients over micro-batches; 'optimizer' is optimizer state
 * (momentum buffers). A checkpoint's weights are the params and statistics.
 */
export type StateRole = 'param' | 'statistic' | 'derived' | 'gradient' | 'optimizer';

/** Roles whose tensors start at zero in a session instead of being uploaded. */
export const ZERO_INITIALISED: readonly StateRole[] = ['derived', 'gradient', 'optimizer'];

export interface Value {
  readonly id: number;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly kind: ValueKind;
  /** Inputs and state: the external name (checkpoint key). Activations: the producing layer's name. */
  readonly name: string;
  /** State values only. */
  readonly role?: StateRole;
}
