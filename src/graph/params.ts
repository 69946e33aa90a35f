// Parameters: host-side tensors matched against the graph's declared params, and their GPU
// copies. Matching reports every missing, unexpected and mis-shaped tensor in one error, so a
// wrong checkpoint is diagnosed in one go.
import type { GpuContext } from '../gpu/context.js';
import { type GpuTensor, shapeString, uploadTensor } from '../gpu/tensor.js';
import type { Graph } from './ir.js';
import { shapeEq } from './ir.js';

export interface HostParam {
  shape: number[];
  data: Float32Array;
}
export type HostParams = Map<string, HostParam>;

export class ParamMismatchError extends Error {
  constructor(
    readonly missing: string[],
    readonly unexpected: string[],
    readonly misShaped: { name: string; expected: readonly number[]; got: readonly number[] }[],
    what: string,
  ) {
    const lines: string[] = [`${what}: weights do not match the model`];
    const list = (title: string, items: string[]): void => {
      if (items.length === 0) return;
      const shown = items.slice(0, 40);
      lines.push(`  ${title} (${items.length}): ${shown.join(', ')}${items.length > shown.length ? ', ...' : ''}`);
    };
    list('missing', missing);
    list('unexpected', unexpected);
    list(
      'mis-shaped',
      misShaped.map((m) => `${m.name} expected ${shapeString(m.expected)} got ${shapeString(m.got)}`),
    );
    super(lines.join('\n'));
    this.name = 'ParamMismatchError';
  }
}

/** Throws a ParamMismatchError unless `host` holds exactly the graph's params, shapes included. */
export function checkParams(graph: Graph, host: HostParams, what = 'weights'): void {
  const missing: string[] = [];
  const misShaped: ParamMismatchError['misShaped'] = [];
  const declared = new Set<string>();
  for (const p of graph.params) {
    declared.add(p.name);
    const t = host.get(p.name);
    if (!t) missing.push(p.name);
    else if (!shapeEq(t.shape, p.shape)) misShaped.push({ name: p.name, expected: p.shape, got: t.shape });
    else if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) {
      misShaped.push({ name: `${p.name} (data length ${t.data.length})`, expected: p.shape, got: t.shape });
    }
  }
  const unexpected = [...host.keys()].filter((k) => !declared.has(k));
  if (missing.length || unexpected.length || misShaped.length) {
    throw new ParamMismatchError(missing, unexpected, misShaped, what);
  }
}

/** GPU copies of a graph's params, shared by every executor built for that graph's weights. */
export class ParamStore {
  private disposed = false;
  private constructor(private readonly tensors: Map<string, GpuTensor>) {}

  /** Checks the params against the graph, then uploads them. */
  static upload(ctx: GpuContext, graph: Graph, host: HostParams, what?: string): ParamStore {
    checkParams(graph, host, what);
    const tensors = new Map<string, GpuTensor>();
    try {
      for (const p of graph.params) tensors.set(p.name, uploadTensor(ctx, host.get(p.name)!.data, p.shape, p.name));
    } catch (e) {
      for (const t of tensors.values()) t.dispose();
      throw e;
    }
    return new ParamStore(tensors);
  }

  get(name: string): GpuTensor {
    if (this.disposed) throw new Error('ParamStore used after dispose()');
    const t = this.tensors.get(name);
    if (!t) throw new Error(`no parameter named ${name}`);
    return t;
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  get byteLength(): number {
    let n = 0;
    for (const t of this.tensors.values()) n += t.byteLength;
    return n;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
  }
}
