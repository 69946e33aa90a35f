// Weights made ready for fine-tuning: another class set (a new classifier, everything else
// loaded), the training output stride, and the decoder (DeepLabv3+'s, new on weights without
// one). Parameters whose shape no longer matches the network (the classifier's, when the class
// count changes) or that the weights lack (a decoder added) are initialised afresh as PyTorch's
// layers initialise themselves, so "size mismatch for classifier" never stops a fine-tune.
import type { Graph, Value } from '../graph/ir.js';
import type { HostParams } from '../graph/params.js';
import { type LoadedWeights, scaledRates } from '../model/loading/load-weights.js';
import { loadedNetwork, probeNetworkSize } from '../model/loading/loaded-weights.js';
import type { DecoderName } from '../model/networks/config.js';
import { defaultConfig } from '../model/backbones/config.js';
import type { ClassSet } from '../model/voc.js';
import { Rng } from '../util/random.js';

export interface AdaptOptions {
  /** The data set's classes (default: the weights' own). */
  classes?: ClassSet;
  /** Output stride to train at (default: the weights' own). */
  outputStride?: number;
  /** The decoder to train with (default: the weights' own); a new one starts afresh. */
  decoder?: DecoderName;
  /** Seed of the fresh initialisation. */
  seed: number;
}

export interface Adapted {
  weights: LoadedWeights;
  /** Parameters initialised afresh (empty when neither the class set nor the decoder changed). */
  reinitialised: string[];
}

/** fan_in of the conv whose weight or bias `v` is (kh * kw * cin / groups). */
function fanIn(graph: Graph, v: Value): number {
  for (const n of graph.nodes) {
    if (n.op.type === 'conv2d' && (n.op.weight.id === v.id || n.op.bias?.id === v.id)) {
      const [kh, kw, cin] = n.op.weight.shape;
      return kh * kw * cin;
    }
  }
  return v.shape[0];
}

/**
 * PyTorch's defaults: conv weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (Conv2d's
 * kaiming_uniform_ with a = sqrt(5) and its bias rule); BN gamma 1, beta 0, mean 0, var 1.
 */
export function freshTensor(graph: Graph, v: Value, rng: Rng): Float32Array {
  const n = v.shape.reduce((a, b) => a * b, 1);
  if (/(running_var|\/variance|moving_variance)$/.test(v.name)) return new Float32Array(n).fill(1);
  if (v.role === 'statistic') return new Float32Array(n);
  const isBnScale = graph.nodes.some((m) => m.op.type === 'batchnorm' && m.op.gamma.id === v.id);
  if (isBnScale) return new Float32Array(n).fill(1);
  const isBnShift = graph.nodes.some((m) => m.op.type === 'batchnorm' && m.op.beta.id === v.id);
  if (isBnShift) return new Float32Array(n);
  const bound = 1 / Math.sqrt(fanIn(graph, v));
  return Float32Array.from({ length: n }, () => rng.uniform(-bound, bound));
}

/** Every parameter and statistic of `graph` initialised afresh, as PyTorch's layers initialise themselves. */
export function freshParams(graph: Graph, seed: number): HostParams {
  const rng = Rng.derive(seed, 0x1a17);
  const params: HostParams = new Map();
  for (const v of graph.state) {
    if (v.role === 'param' || v.role === 'statistic') params.set(v.name, { shape: [...v.shape], data: freshTensor(graph, v, rng) });
  }
  return params;
}

export function adaptWeights(w: LoadedWeights, o: AdaptOptions): Adapted {
  const classes = o.classes ?? w.classes;
  const numClasses = classes.names.length;
  const outputStride = o.outputStride ?? w.config.outputStride;
  const decoder = o.decoder ?? w.config.decoder;
  const config = defaultConfig(w.config.backbone, {
    ...w.config,
    numClasses,
    outputStride,
    asppRates: scaledRates(w.config.asppRates, w.config.outputStride, outputStride),
    decoder,
  });
  const network = loadedNetwork(config, w.architecture);
  // Built at the probe size, the graph the model's first program reuses.
  const probe = network.buildGraph(probeNetworkSize(w));
  const params: HostParams = new Map();
  const reinitialised: string[] = [];
  const rng = Rng.derive(o.seed, 0x1a17);
  for (const v of probe.state) {
    if (v.role !== 'param' && v.role !== 'statistic') continue;
    const have = w.params.get(v.name);
    if (have && have.shape.join() === v.shape.join()) {
      params.set(v.name, have);
    } else {
      params.set(v.name, { shape: [...v.shape], data: freshTensor(probe, v, rng) });
      reinitialised.push(v.name);
    }
  }
  // With the classes and the decoder unchanged every parameter must load; a decoder of another
  // kind brings its own layers, which the weights lack.
  const unexplained = decoder === w.config.decoder ? reinitialised : reinitialised.filter((name) => w.params.has(name));
  if (unexplained.length && numClasses === w.config.numClasses) {
    throw new Error(`fine-tune: ${unexplained.join(', ')} do not match the network although the classes did not change`);
  }
  return { weights: { ...w, config, ...network, params, classes }, reinitialised };
}
