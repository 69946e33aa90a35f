// The state of a training run on the CPU, in host buffers the runtime reads and writes in place
// (cpu-training.ts runs the graphs). Each state value has the buffer holding its value and,
// where one graph both reads and writes it, a second buffer its new value goes into; the two
// swap after that graph runs. The trained parameters, their gradients and momentum are views of
// one buffer per optimizer group (the same learning-rate and decay scales), so the optimizer
// runs once over each group's values (stacked-sgd.ts), not several operators per parameter (the
// per-parameter form spent 4.7 s a step of DeepLabv3-ResNet-50 on the 2-core EPYC host).
import type { Value } from '../../../graph/ir.js';
import { defaultLayout, fromLayout, shapeIn, toLayout } from '../../../graph/onnx/layout.js';
import type { HostParams } from '../../../graph/params.js';
import type { OrtModule, OrtTensor } from './ort-module.js';
import { type SgdGroupPlan, gradientsName, nextStackName, stackName } from './stacked-sgd.js';

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** One state value's buffers: `current` holds its value, `spare` takes its next one where a graph reads and writes it. */
export interface StateBuffers {
  readonly value: Value;
  readonly layout: readonly number[];
  current: OrtTensor;
  spare: OrtTensor | null;
}

/** The state values of a run by name, with their buffers. */
export class TrainingState {
  private readonly buffers = new Map<string, StateBuffers>();

  constructor(
    private readonly ort: OrtModule,
    private readonly layoutOf: (v: Value) => readonly number[] | undefined,
    private readonly params: HostParams,
  ) {}

  get(name: string): StateBuffers | undefined {
    return this.buffers.get(name);
  }

  /** The layout a state value is held in. */
  layout(v: Value): readonly number[] {
    return this.layoutOf(v) ?? defaultLayout(v.shape.length);
  }

  /** `v`'s buffers over `data` (and `spare`), filled with its weights where the run starts from some (params, statistics). */
  private place(v: Value, data: Float32Array, spare?: Float32Array): StateBuffers {
    const layout = this.layout(v);
    const dims = shapeIn(v.shape, layout);
    const given = this.params.get(v.name);
    if (given) data.set(toLayout(given.data, v.shape, layout));
    const b: StateBuffers = { value: v, layout, current: new this.ort.Tensor('float32', data, dims), spare: spare ? new this.ort.Tensor('float32', spare, dims) : null };
    this.buffers.set(v.name, b);
    return b;
  }

  /** Buffers for `v` unless it has some; a second one where `twice` (a graph reads and writes it). */
  ensure(v: Value, twice: boolean): void {
    const b = this.buffers.get(v.name) ?? this.place(v, new Float32Array(numel(v.shape)));
    if (twice && !b.spare) b.spare = new this.ort.Tensor('float32', new Float32Array(numel(v.shape)), [...b.current.dims]);
  }

  /**
   * The buffers of the optimizer's groups (stacked-sgd.ts): each group's parameters, momentum
   * and gradients as the rows of one buffer [p; m; g] (each parameter in its own layout: SGD is
   * elementwise), twice (the update reads one and writes the other), every parameter's values
   * views of them; gradients in buffers of their own, twice, where the step adds into them
   * (`accumulated`: micro-batches).
   */
  stack(groups: readonly SgdGroupPlan[], accumulated: boolean): void {
    groups.forEach((g, k) => {
      const T = g.total;
      const rows = accumulated ? 2 : 3;
      const stacks = [new Float32Array(rows * T), new Float32Array(rows * T)];
      const gradients = accumulated ? [new Float32Array(T), new Float32Array(T)] : stacks.map((a) => a.subarray(2 * T));
      const whole = (name: string, pair: Float32Array[], dims: number[], twice = true): void => {
        this.buffers.set(name, { value: { id: -1, shape: dims, dtype: 'f32', kind: 'state', name }, layout: dims.map((_, i) => i), current: new this.ort.Tensor('float32', pair[0], dims), spare: twice ? new this.ort.Tensor('float32', pair[1], dims) : null });
      };
      whole(stackName(k), stacks, [rows, T]);
      whole(nextStackName(k), stacks.map((a) => a.subarray(0, 2 * T)), [2, T]);
      if (accumulated) whole(gradientsName(k), gradients, [T]);
      let offset = 0;
      for (const op of g.ops) {
        const n = numel(op.param.shape);
        const view = (pair: Float32Array[], base: number): [Float32Array, Float32Array] => [pair[0].subarray(base + offset, base + offset + n), pair[1].subarray(base + offset, base + offset + n)];
        this.place(op.param, ...view(stacks, 0));
        this.place(op.momentum, ...view(stacks, T));
        this.place(op.grad, ...view(gradients, 0));
        offset += n;
      }
      // The update swaps the stack with its views (the gradients' with it where they are a row of it).
      const ofStack = [nextStackName(k), ...g.ops.flatMap((op) => [op.param.name, op.momentum.name, ...(accumulated ? [] : [op.grad.name])])];
      this.setFamily(stackName(k), ofStack);
      if (accumulated) this.setFamily(gradientsName(k), g.ops.map((op) => op.grad.name));
    });
  }

  private setFamily(root: string, members: string[]): void {
    this.members.set(root, members);
    for (const m of members) this.family.set(m, root);
  }

  /** Each flat buffer's views, by the flat buffer's name; each view's flat buffer, by the view's name. */
  private readonly members = new Map<string, string[]>();
  private readonly family = new Map<string, string>();

  /**
   * After a graph that read and wrote the values `names`, their new values (in `spare`) made
   * current: a flat buffer swaps with all its views where the graph wrote it, or all of them;
   * a view written alone (a gradient shared by two parameters) has its new value copied back.
   */
  swapped(names: Iterable<string>): void {
    const written = new Set(names);
    const swap = (n: string): void => {
      const b = this.buffers.get(n)!;
      [b.current, b.spare] = [b.spare!, b.current];
    };
    const done = new Set<string>();
    for (const name of written) {
      const root = this.family.get(name) ?? name;
      if (done.has(root)) continue;
      const members = this.members.get(root) ?? [];
      if (written.has(root) || (members.length > 0 && members.every((m) => written.has(m)))) {
        for (const n of [root, ...members]) swap(n);
        done.add(root);
      } else if (this.family.has(name)) {
        const b = this.buffers.get(name)!;
        (b.current.data as Float32Array).set(b.spare!.data as Float32Array);
      } else swap(name);
    }
  }

  /** `v`'s value now, in our layout (a copy); zeros for state no graph of the run touches. */
  read(v: Value): Float32Array {
    const b = this.buffers.get(v.name);
    return b ? fromLayout(b.current.data as Float32Array, v.shape, b.layout).slice() : new Float32Array(numel(v.shape));
  }

  /** Sets state `name` (our layout) where the run holds it. */
  write(name: string, data: Float32Array): void {
    const b = this.buffers.get(name);
    if (!b) return;
    const into = b.current.data as Float32Array;
    if (data.length !== into.length) throw new Error(`state ${name}: ${data.length} values for [${b.value.shape.join(',')}]`);
    into.set(toLayout(data, b.value.shape, b.layout));
  }
}
