// A training step in TensorFlow.js: the peer of our Trainer in bench part `train`. It runs the
// network our trainer compiles (the canonical graph, batch norms on batch statistics) with the
// ops of bench/tfjs-graph.ts, the same loss (softmax cross-entropy, the mean over pixels whose
// label is a class), the gradients of every trained parameter through tf.variableGrads (TF.js'
// autograd), and the same SGD update (momentum, weight decay, PyTorch's rule as sgd.wgsl has it),
// with the batch norms' running statistics updated as ours are.
import type { Graph, Node, Value } from '../src/graph/ir.js';
import type { HostParams } from '../src/graph/params.js';
import { type Tfjs, type TfTensor, type TfTensor4D, lowerNode, tfParamShape } from './tfjs-graph.js';

type TfVariable = import('@tensorflow/tfjs-core').Variable;

export interface TfjsSgd {
  lr: number;
  momentum: number;
  weightDecay: number;
}

/** What one step gives back: the loss, and with `keepGrads` every trained parameter's gradient by name. */
export interface TfjsStepResult {
  loss: number;
  grads?: Map<string, Float32Array>;
}

export class TfjsTrainStep {
  /** Trained parameters (tfjs variables) by value id. */
  private readonly vars = new Map<number, TfVariable>();
  /** Everything else the graph reads from state: frozen parameters, running statistics. */
  private readonly consts = new Map<number, TfVariable>();
  private readonly momentum = new Map<number, TfVariable>();
  private readonly logits: Value;

  /**
   * `graph`: the canonical network in training mode (trainingBatchNorms), input 'image', output
   * 'logits'; `trained`: the names of the parameters that learn (the trainer's).
   */
  constructor(
    private readonly tf: Tfjs,
    private readonly graph: Graph,
    host: HostParams,
    trained: ReadonlySet<string>,
    private readonly numClasses: number,
  ) {
    const logits = graph.outputs.get('logits');
    if (!logits) throw new Error("tfjs training step: the graph has no 'logits' output");
    this.logits = logits;
    try {
      for (const p of graph.state) {
        const t = host.get(p.name);
        if (!t) throw new Error(`tfjs training step: no host data for ${p.name}`);
        const learns = trained.has(p.name);
        const v = tf.variable(tf.tensor(t.data, tfParamShape(this.graph, p), 'float32'), learns, `s${p.id}`);
        (learns ? this.vars : this.consts).set(p.id, v);
      }
      for (const n of graph.nodes) {
        if (n.op.type === 'dropout') throw new Error(`tfjs training step: layer ${n.name}: dropout masks cannot match ours; build the network without dropout`);
      }
    } catch (e) {
      this.dispose();
      throw e;
    }
  }


  /** The loss of the network on `image` (tfjs' autograd records it); batch statistics go to `stats`. */
  private loss(image: TfTensor4D, labels: TfTensor, stats: { node: Node; mean: TfTensor; variance: TfTensor; rows: number }[]): TfTensor {
    const { tf } = this;
    const env = new Map<number, TfTensor>([[this.graph.inputs[0].id, image]]);
    const get = (v: Value): TfTensor => {
      const t = v.kind === 'state' ? (this.vars.get(v.id) ?? this.consts.get(v.id)) : env.get(v.id);
      if (!t) throw new Error(`tfjs training step: ${v.name} is not available`);
      return t;
    };
    for (const node of this.graph.nodes) {
      let y: TfTensor;
      if (node.op.type === 'batchnorm_train') {
        const op = node.op;
        const x = get(op.input) as TfTensor4D;
        const { mean, variance } = tf.moments(x, [0, 1, 2]);
        y = tf.batchNorm(x, mean, variance, get(op.beta), get(op.gamma), op.attrs.eps);
        const rows = x.shape[0] * x.shape[1] * x.shape[2];
        stats.push({ node, mean: tf.keep(mean), variance: tf.keep(variance), rows });
      } else {
        y = lowerNode(tf, node, get, { forGradients: true });
      }
      env.set(node.outputs[0].id, y);
    }
    const logits = env.get(this.logits.id)!;
    const C = this.numClasses;
    // Softmax cross-entropy over the pixels whose label is a class (the rest, the ignore index, count for nothing).
    const valid = tf.cast(tf.less(labels, C), 'float32');
    const onehot = tf.oneHot(tf.cast(tf.mul(labels, tf.cast(valid, 'int32')), 'int32'), C);
    const perPixel = tf.sub(tf.logSumExp(logits, -1), tf.sum(tf.mul(logits, onehot), -1));
    return tf.div(tf.sum(tf.mul(perPixel, valid)), tf.maximum(tf.sum(valid), 1));
  }

  /**
   * One step: forward, loss, backward, SGD update (and running statistics). `images` NHWC
   * normalised, `labels` [N,H,W]. With `keepGrads`, the gradients come back as host arrays.
   */
  async step(images: Float32Array, labels: Uint32Array, sgd: TfjsSgd, keepGrads = false): Promise<TfjsStepResult> {
    const { tf } = this;
    const [N, H, W, Cin] = this.graph.inputs[0].shape;
    const stats: { node: Node; mean: TfTensor; variance: TfTensor; rows: number }[] = [];
    const { loss, grads } = tf.tidy(() => {
      const image = tf.tensor4d(images, [N, H, W, Cin]);
      const y = tf.tensor(Int32Array.from(labels), [N, H, W], 'int32');
      const { value, grads } = tf.variableGrads(() => this.loss(image, y, stats) as import('@tensorflow/tfjs-core').Scalar, [...this.vars.values()]);
      for (const [id, v] of this.vars) {
        const g = grads[v.name];
        if (!g) continue; // nothing flows to it
        const d = sgd.weightDecay ? tf.add(g, tf.mul(v, sgd.weightDecay)) : g;
        // The first step starts the momentum buffer at the gradient (as ours and PyTorch's do).
        const m = this.momentum.get(id);
        const buf = m ? tf.add(tf.mul(m, sgd.momentum), d) : d;
        if (m) m.assign(buf);
        else this.momentum.set(id, tf.variable(buf, false, `m${id}`));
        v.assign(tf.sub(v, tf.mul(buf, sgd.lr)));
      }
      return { loss: tf.keep(value), grads: keepGrads ? Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.keep(g)])) : {} };
    });
    try {
      // Running statistics, as batchnorm_train updates them (unbiased variance).
      tf.tidy(() => {
        for (const s of stats) {
          if (s.node.op.type !== 'batchnorm_train') continue;
          const { mean, variance, attrs } = s.node.op;
          const m = attrs.momentum;
          const rm = this.consts.get(mean.id)!;
          const rv = this.consts.get(variance.id)!;
          rm.assign(tf.add(tf.mul(rm, 1 - m), tf.mul(s.mean, m)));
          rv.assign(tf.add(tf.mul(rv, 1 - m), tf.mul(s.variance, (m * s.rows) / Math.max(s.rows - 1, 1))));
        }
      });
      const out: TfjsStepResult = { loss: (await loss.data())[0] };
      if (keepGrads) {
        out.grads = new Map();
        for (const p of this.graph.state) {
          const g = grads[this.vars.get(p.id)?.name ?? ''];
          if (g) out.grads.set(p.name, (await g.data()) as Float32Array);
        }
      }
      return out;
    } finally {
      loss.dispose();
      for (const g of Object.values(grads)) g.dispose();
      for (const s of stats) tf.dispose([s.mean, s.variance]);
    }
  }

  dispose(): void {
    for (const v of [...this.vars.values(), ...this.consts.values(), ...this.momentum.values()]) v.dispose();
    this.vars.clear();
    this.consts.clear();
    this.momentum.clear();
  }
}
