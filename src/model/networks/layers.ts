// Building blocks shared by the model builders: a convolution, a batch norm and the
// conv -> BN -> activation unit, each declaring its parameters under the checkpoint's names.
// Naming is pluggable (ParamNaming) so the TF builders reuse these blocks with TF's variable
// names; layouts are ours whatever the source: conv weights HWIO, BN parameters 1-D.
import type { Activation } from '../../kernels/activation/activation.js';
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { shapeString } from '../../gpu/tensor.js';

/** How a layer's parameter names derive from its prefix. */
export interface ParamNaming {
  convWeight(prefix: string): string;
  convBias(prefix: string): string;
  bn(prefix: string): { gamma: string; beta: string; mean: string; variance: string };
}

/** PyTorch state-dict names: `conv.weight`, `conv.bias`, `bn.{weight,bias,running_mean,running_var}`. */
export const TORCH_NAMING: ParamNaming = {
  convWeight: (p) => `${p}.weight`,
  convBias: (p) => `${p}.bias`,
  bn: (p) => ({ gamma: `${p}.weight`, beta: `${p}.bias`, mean: `${p}.running_mean`, variance: `${p}.running_var` }),
};

/** TF slim variable names: `conv/weights`, `conv/biases`; a BN named `conv/BatchNorm` has `conv/BatchNorm/{gamma,beta,moving_mean,moving_variance}`. */
export const TF_NAMING: ParamNaming = {
  convWeight: (p) => `${p}/weights`,
  convBias: (p) => `${p}/biases`,
  bn: (p) => ({ gamma: `${p}/gamma`, beta: `${p}/beta`, mean: `${p}/moving_mean`, variance: `${p}/moving_variance` }),
};

export interface ConvSpec {
  /** Parameter prefix, also the layer's name in the graph (unique). */
  name: string;
  /** Square kernel size. */
  kernel: number;
  cout: number;
  stride?: number;
  dilation?: number;
  groups?: number;
  /** Default: PyTorch's symmetric (kernel-1)/2 * dilation, which is what every torchvision layer here uses. */
  padding?: number | [number, number, number, number] | 'same' | 'valid';
  /** Declare and add a bias parameter. */
  bias?: boolean;
  /** Fused into the conv (for convs not followed by BN). */
  activation?: Activation;
}

/** A conv declaring weight [k,k,cin/groups,cout] (and bias [cout]) under `naming`. */
export function conv(b: GraphBuilder, x: Value, spec: ConvSpec, naming: ParamNaming = TORCH_NAMING): Value {
  const cin = x.shape[3];
  const groups = spec.groups ?? 1;
  const dilation = spec.dilation ?? 1;
  if (!Number.isInteger(spec.kernel) || spec.kernel < 1) throw new Error(`${spec.name}: kernel must be a positive integer, got ${spec.kernel}`);
  if (cin % groups !== 0 || spec.cout % groups !== 0) {
    throw new Error(`${spec.name}: ${groups} groups do not divide ${cin} input / ${spec.cout} output channels (input ${shapeString(x.shape)})`);
  }
  const weight = b.param(naming.convWeight(spec.name), [spec.kernel, spec.kernel, cin / groups, spec.cout]);
  const bias = spec.bias ? b.param(naming.convBias(spec.name), [spec.cout]) : undefined;
  return b.conv2d(spec.name, x, weight, {
    stride: spec.stride ?? 1,
    dilation,
    groups,
    padding: spec.padding ?? ((spec.kernel - 1) >> 1) * dilation,
    activation: spec.activation ?? 'none',
    bias,
  });
}

/** Inference batch norm with the activation fused, parameters under `naming.bn(name)`. */
export function batchNorm(
  b: GraphBuilder,
  x: Value,
  name: string,
  opts: { eps: number; activation?: Activation; momentum?: number },
  naming: ParamNaming = TORCH_NAMING,
): Value {
  const c = x.shape[3];
  const n = naming.bn(name);
  return b.batchNorm(
    name,
    x,
    { gamma: b.param(n.gamma, [c]), beta: b.param(n.beta, [c]), mean: b.statistic(n.mean, [c]), variance: b.statistic(n.variance, [c]) },
    { eps: opts.eps, activation: opts.activation ?? 'none', momentum: opts.momentum },
  );
}

/**
 * conv (no bias) -> BN -> activation: torchvision's Conv2dNormActivation and every
 * conv/bn pair of ResNet and the heads. Kept as two ops so training can keep BN;
 * foldBatchNorms merges them for inference.
 */
export function convBnAct(
  b: GraphBuilder,
  x: Value,
  spec: Omit<ConvSpec, 'bias' | 'activation'> & { bn: string; eps: number; activation?: Activation; momentum?: number },
  naming: ParamNaming = TORCH_NAMING,
): Value {
  const { bn, eps, activation, momentum, ...convSpec } = spec;
  const y = conv(b, x, convSpec, naming);
  return batchNorm(b, y, bn, { eps, activation, momentum }, naming);
}
