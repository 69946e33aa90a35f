// An ONNX model as the reader gives it (src/graph/onnx/read.ts): plain, checked values, every
// tensor decoded, every count bounded, so the importer (src/graph/onnx/import/) never meets a
// protobuf message or an unchecked number.

/** ONNX's tensor element types that we read. */
export type OnnxDType = 'float' | 'float16' | 'bfloat16' | 'double' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'bool';

/**
 * A tensor's values in row-major order: float32 for 'float', 'float16' and 'bfloat16' (exact
 * widenings), float64 for the others (integers exact up to 2^53, beyond which only Slice's
 * "to the end" sentinels go).
 */
export interface OnnxTensor {
  name: string;
  dtype: OnnxDType;
  dims: number[];
  data: Float32Array | Float64Array;
}

export type OnnxAttr =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'floats'; value: number[] }
  | { kind: 'ints'; value: number[] }
  | { kind: 'strings'; value: string[] }
  | { kind: 'tensor'; value: OnnxTensor }
  /** A sub-graph (If, Loop, Scan): kept only to be refused by name. */
  | { kind: 'graph' };

export interface OnnxNode {
  /** The node's name, or `<op_type> #<index>` where the file gives none. */
  name: string;
  opType: string;
  /** '' for the default (ai.onnx) domain. */
  domain: string;
  /** Input tensor names; '' for an optional input left out. */
  inputs: string[];
  outputs: string[];
  attrs: ReadonlyMap<string, OnnxAttr>;
}

/** A graph input's or output's declared type: its element type and dims (a number, a symbolic name, or null where unknown). */
export interface OnnxValueInfo {
  name: string;
  dtype: OnnxDType | null;
  dims: (number | string | null)[] | null;
}

export interface OnnxGraph {
  name: string;
  /** In the file's order, which ONNX requires to be topological. */
  nodes: OnnxNode[];
  initializers: ReadonlyMap<string, OnnxTensor>;
  /** The inputs fed at run time (those that are not also initializers). */
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export interface OnnxModel {
  irVersion: number;
  /** The default (ai.onnx) domain's operator set. */
  opset: number;
  producer: string;
  producerVersion: string;
  graph: OnnxGraph;
  /** metadata_props. */
  metadata: ReadonlyMap<string, string>;
}
