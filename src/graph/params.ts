// Host-side state (weights and statistics, by name) matched against what a graph declares.
// Matching reports every missing, unexpected and mis-shaped tensor in one error, so a wrong
// checkpoint is diagnosed in one go. The GPU copies live in a Session (src/graph/session.ts).
import { shapeString } from '../gpu/tensor.js';
import { type QuantizedValues, quantizedCount } from '../kernels/quantize/dequantize.js';
import type { Graph, Value } from './ir.js';
import { shapeEq } from './ir.js';

export interface HostParam {
  shape: number[];
  data: Float32Array;
  /**
   * The compact form a quantized checkpoint stored (src/model/weights/quantize.ts): a Session
   * uploads it and widens it on the GPU; `data` then decodes on the host only if read.
   */
  quantized?: QuantizedValues;
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

/** The state weights must provide: parameters and statistics (the rest is computed or starts at zero). */
export function storedState(graph: Graph): Value[] {
  return graph.state.filter((v) => v.role === 'param' || v.role === 'statistic');
}

/** How many values a host tensor holds (a quantized one is not decoded to count them). */
function valueCount(t: { data: ArrayLike<number>; quantized?: QuantizedValues }): number {
  return t.quantized ? quantizedCount(t.quantized) : t.data.length;
}

/** Throws a ParamMismatchError unless `host` holds exactly the graph's stored state, shapes included. */
export function checkParams(
  graph: Graph,
  host: ReadonlyMap<string, { shape: readonly number[]; data: ArrayLike<number>; quantized?: QuantizedValues }>,
  what = 'weights',
): void {
  const missing: string[] = [];
  const misShaped: ParamMismatchError['misShaped'] = [];
  const declared = new Set<string>();
  for (const p of storedState(graph)) {
    declared.add(p.name);
    const t = host.get(p.name);
    if (!t) missing.push(p.name);
    else if (!shapeEq(t.shape, p.shape)) misShaped.push({ name: p.name, expected: p.shape, got: t.shape });
    else if (valueCount(t) !== t.shape.reduce((a, b) => a * b, 1)) {
      misShaped.push({ name: `${p.name} (data length ${valueCount(t)})`, expected: p.shape, got: t.shape });
    }
  }
  const unexpected = [...host.keys()].filter((k) => !declared.has(k));
  if (missing.length || unexpected.length || misShaped.length) {
    throw new ParamMismatchError(missing, unexpected, misShaped, what);
  }
}
