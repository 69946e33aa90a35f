// TFLite metadata for a segmentation .tflite: what `deeplab export --format tflite` writes into its
// files, and what the bench adds to TF's official model (part browser's MediaPipe engines).
// MediaPipe Tasks' ImageSegmenter refuses a float model that does not say how to normalise its
// input ("it requires specifying NormalizationOptions metadata"), and reads its output tensor's
// metadata for labels; TF's official deeplabv3_257_mv_gpu.tflite carries none. This module writes
// it as tflite-support's MetadataPopulator does: a ModelMetadata flatbuffer (tflite-support's
// metadata_schema.fbs, file identifier "M001") stored as an entry of the model's `buffers`,
// named by a `metadata` entry "TFLITE_METADATA"; the labels as an associated file
// (TENSOR_AXIS_LABELS) the output's metadata names, its bytes in a zip appended to the model.
//
// How the model is rewritten. FlatBuffers offsets only point forward, so a new root table can
// reach the old file's tables only if it sits before them. The new file is built with the
// flatbuffers Builder, which writes back to front: first the old file's bytes whole (a byte vector
// nothing refers to, its start 16-byte aligned, so each old buffer keeps its alignment), then the new buffer
// and metadata entries and the two vectors that list old and new entries, then a new Model table
// whose other fields point at the old file's own vectors and strings. The old bytes are not
// changed (every offset inside them is relative), so every tensor, operator and weight is read
// from them as before; only the old root table is left unreferenced.
//
// Field ids, from tensorflow/lite/schema/schema.fbs and tflite-support's metadata_schema.fbs (a
// field's slot is its id; a union field takes two ids, its type then its value).
import { zipSync, unzipSync } from 'fflate';
import { Builder, ByteBuffer } from 'flatbuffers';

type Offset = number;

/** Model (schema.fbs): its fields, in id order. */
const MODEL_FIELDS = ['version', 'operator_codes', 'subgraphs', 'description', 'buffers', 'metadata_buffer', 'metadata', 'signature_defs'] as const;
const MODEL = Object.fromEntries(MODEL_FIELDS.map((f, i) => [f, i])) as Record<(typeof MODEL_FIELDS)[number], number>;
/** Buffer: data ([ubyte], force_align 16), offset and size (ulong: data outside the flatbuffer, for files over 2 GB). */
const BUFFER = { data: 0, offset: 1, size: 2 } as const;
/** Metadata: name (string), buffer (uint, an index into Model.buffers). */
const METADATA = { name: 0, buffer: 1 } as const;

/** metadata_schema.fbs' tables (the fields written here). */
const MODEL_METADATA = { name: 0, description: 1, version: 2, subgraph_metadata: 3, author: 4, license: 5, associated_files: 6, min_parser_version: 7 } as const;
const SUBGRAPH_METADATA = { name: 0, description: 1, input_tensor_metadata: 2, output_tensor_metadata: 3 } as const;
const TENSOR_METADATA = { name: 0, description: 1, dimension_names: 2, content: 3, process_units: 4, stats: 5, associated_files: 6 } as const;
const CONTENT = { content_properties_type: 0, content_properties: 1, range: 2 } as const;
const IMAGE_PROPERTIES = { color_space: 0, default_size: 1 } as const;
const PROCESS_UNIT = { options_type: 0, options: 1 } as const;
const NORMALIZATION_OPTIONS = { mean: 0, std: 1 } as const;
const ASSOCIATED_FILE = { name: 0, description: 1, type: 2 } as const;
/** enum AssociatedFileType: a file of one label per line, one per index of a tensor's axis. */
const TENSOR_AXIS_LABELS = 2;
/** The name the output's labels travel under (tflite-support's examples use it). */
export const LABELS_FILE = 'labels.txt';
/** Union ContentProperties' member ids, enum ColorSpaceType, union ProcessUnitOptions' member ids. */
const CONTENT_PROPERTIES_IMAGE = 2;
const COLOR_SPACE = { RGB: 1, GRAYSCALE: 2 } as const;
const PROCESS_UNIT_NORMALIZATION = 1;

/** The key MediaPipe and tflite-support look the metadata up by, and the metadata's file identifier. */
export const METADATA_KEY = 'TFLITE_METADATA';
const METADATA_IDENTIFIER = 'M001';
/** The oldest metadata parser that reads every field written here (all from schema 1.0.0). */
const MIN_PARSER_VERSION = '1.0.0';

const voffset = (id: number): number => 4 + 2 * id;

/** What a segmenter needs to know of a float image model. */
export interface SegmenterMetadata {
  /** The model's name and a line on what it is. */
  name: string;
  description: string;
  /** (pixel - mean) / std, per channel or one value for all (for inputs in [-1, 1]: 127.5 and 127.5). */
  mean: number[];
  std: number[];
  /** Names of the input image and output logits tensors in the metadata (not the graph's tensor names). */
  inputName?: string;
  outputName?: string;
  /** The output's class names, one per channel: written as LABELS_FILE, which appendAssociatedFiles must add. */
  labels?: readonly string[];
}

/** A ModelMetadata flatbuffer (identifier "M001"): one subgraph, an RGB input with its normalisation, one output. */
export function segmenterMetadata(m: SegmenterMetadata): Uint8Array {
  if (!m.mean.length || m.mean.length !== m.std.length) throw new Error(`tflite metadata: mean (${m.mean.length} values) and std (${m.std.length}) must be the same, non-empty length`);
  if (m.std.some((s) => s === 0)) throw new Error('tflite metadata: a std of 0');
  const b = new Builder(1024);
  const floats = (xs: number[]): Offset => {
    b.startVector(4, xs.length, 4);
    for (let i = xs.length - 1; i >= 0; i--) b.addFloat32(xs[i]);
    return b.endVector();
  };
  const tables = (xs: Offset[]): Offset => {
    b.startVector(4, xs.length, 4);
    for (let i = xs.length - 1; i >= 0; i--) b.addOffset(xs[i]);
    return b.endVector();
  };
  const imageContent = (colorSpace: number): Offset => {
    b.startObject(2);
    b.addFieldInt8(IMAGE_PROPERTIES.color_space, colorSpace, 0);
    const properties = b.endObject();
    b.startObject(3);
    b.addFieldInt8(CONTENT.content_properties_type, CONTENT_PROPERTIES_IMAGE, 0);
    b.addFieldOffset(CONTENT.content_properties, properties, 0);
    return b.endObject();
  };
  // Children first: a table cannot be built while another is open.
  const mean = floats(m.mean);
  const std = floats(m.std);
  b.startObject(2);
  b.addFieldOffset(NORMALIZATION_OPTIONS.mean, mean, 0);
  b.addFieldOffset(NORMALIZATION_OPTIONS.std, std, 0);
  const normalization = b.endObject();
  b.startObject(2);
  b.addFieldInt8(PROCESS_UNIT.options_type, PROCESS_UNIT_NORMALIZATION, 0);
  b.addFieldOffset(PROCESS_UNIT.options, normalization, 0);
  const processUnits = tables([b.endObject()]);

  const tensor = (name: string, description: string, content: Offset, units: Offset, files = 0): Offset => {
    const n = b.createString(name);
    const d = b.createString(description);
    b.startObject(7);
    b.addFieldOffset(TENSOR_METADATA.name, n, 0);
    b.addFieldOffset(TENSOR_METADATA.description, d, 0);
    b.addFieldOffset(TENSOR_METADATA.content, content, 0);
    if (units) b.addFieldOffset(TENSOR_METADATA.process_units, units, 0);
    if (files) b.addFieldOffset(TENSOR_METADATA.associated_files, files, 0);
    return b.endObject();
  };
  let labelFiles = 0;
  if (m.labels) {
    const fileName = b.createString(LABELS_FILE);
    const fileDescription = b.createString('The class of each channel of the output, one per line');
    b.startObject(5);
    b.addFieldOffset(ASSOCIATED_FILE.name, fileName, 0);
    b.addFieldOffset(ASSOCIATED_FILE.description, fileDescription, 0);
    b.addFieldInt8(ASSOCIATED_FILE.type, TENSOR_AXIS_LABELS, 0);
    labelFiles = tables([b.endObject()]);
  }
  const input = tensor(m.inputName ?? 'image', `RGB image, each value (pixel - ${m.mean.join(',')}) / ${m.std.join(',')}`, imageContent(COLOR_SPACE.RGB), processUnits);
  const output = tensor(m.outputName ?? 'segmentation_logits', 'Per-pixel class logits, one channel per class', imageContent(COLOR_SPACE.GRAYSCALE), 0, labelFiles);
  const inputs = tables([input]);
  const outputs = tables([output]);
  b.startObject(4);
  b.addFieldOffset(SUBGRAPH_METADATA.input_tensor_metadata, inputs, 0);
  b.addFieldOffset(SUBGRAPH_METADATA.output_tensor_metadata, outputs, 0);
  const subgraphs = tables([b.endObject()]);

  const name = b.createString(m.name);
  const description = b.createString(m.description);
  const parser = b.createString(MIN_PARSER_VERSION);
  b.startObject(8);
  b.addFieldOffset(MODEL_METADATA.name, name, 0);
  b.addFieldOffset(MODEL_METADATA.description, description, 0);
  b.addFieldOffset(MODEL_METADATA.subgraph_metadata, subgraphs, 0);
  b.addFieldOffset(MODEL_METADATA.min_parser_version, parser, 0);
  b.finish(b.endObject(), METADATA_IDENTIFIER);
  return b.asUint8Array().slice();
}

/** A root table's fields: where each present field's value is (absolute), by id. */
function fields(bb: ByteBuffer, table: number): Map<number, number> {
  const vtable = table - bb.readInt32(table);
  const count = (bb.readUint16(vtable) - 4) / 2;
  const out = new Map<number, number>();
  for (let id = 0; id < count; id++) {
    const o = bb.__offset(table, voffset(id));
    if (o) out.set(id, table + o);
  }
  return out;
}

/** The tables a vector of tables points at (absolute positions). */
function tableVector(bb: ByteBuffer, at: number): number[] {
  const vec = bb.__indirect(at);
  const n = bb.readUint32(vec);
  return Array.from({ length: n }, (_, i) => bb.__indirect(vec + 4 + 4 * i));
}

/**
 * The .tflite with `metadata` (a ModelMetadata flatbuffer) added under TFLITE_METADATA, replacing
 * an entry of that name if there is one. Refuses a file that is not a TFLite model, one with
 * Model fields this writer does not know (a newer schema), and one whose buffers lie outside the
 * flatbuffer (files over 2 GB: their offsets are from the file's start, which moves).
 */
export function addTfliteMetadata(tflite: Uint8Array, metadata: Uint8Array): Uint8Array {
  const bb = new ByteBuffer(tflite);
  if (tflite.length < 8 || !bb.__has_identifier('TFL3')) throw new Error('tflite metadata: not a TFLite model (no TFL3 identifier)');
  if (!new ByteBuffer(metadata).__has_identifier(METADATA_IDENTIFIER)) throw new Error(`tflite metadata: the metadata is not a ModelMetadata flatbuffer (no ${METADATA_IDENTIFIER} identifier)`);
  const root = bb.readUint32(0);
  const model = fields(bb, root);
  const unknown = [...model.keys()].filter((id) => id >= MODEL_FIELDS.length);
  if (unknown.length) throw new Error(`tflite metadata: the model has fields ${unknown.join(', ')} beyond schema.fbs' ${MODEL_FIELDS.length}; not rewritten`);
  const oldBuffers = model.has(MODEL.buffers) ? tableVector(bb, model.get(MODEL.buffers)!) : [];
  for (const buf of oldBuffers) {
    const f = fields(bb, buf);
    if (f.has(BUFFER.offset) && bb.readUint64(f.get(BUFFER.offset)!) > 1n) throw new Error('tflite metadata: the model keeps buffers outside its flatbuffer (a file over 2 GB); not rewritten');
  }
  const oldMetadata = (model.has(MODEL.metadata) ? tableVector(bb, model.get(MODEL.metadata)!) : []).filter((entry) => {
    const name = fields(bb, entry).get(METADATA.name);
    return name === undefined || bb.__string(name) !== METADATA_KEY;
  });

  const b = new Builder(tflite.length + metadata.length + 4096);
  // The old file first (it ends up last), its start 16-byte aligned counting from the end, which
  // finish() makes the same as counting from the start (the Builder aligns the whole to 16): every
  // position in it keeps its alignment, as TFLite's buffers (force_align 16) need.
  b.prep(16, tflite.length);
  const blob = b.createByteVector(tflite);
  // Where old position p is in the Builder's terms (its offsets count from the buffer's end).
  const old = (p: number): Offset => blob - 4 - p;

  b.startVector(1, metadata.length, 16);
  for (let i = metadata.length - 1; i >= 0; i--) b.addInt8(metadata[i]);
  const data = b.endVector();
  b.startObject(3);
  b.addFieldOffset(BUFFER.data, data, 0);
  const buffer = b.endObject();
  const key = b.createString(METADATA_KEY);
  b.startObject(2);
  b.addFieldOffset(METADATA.name, key, 0);
  b.addFieldInt32(METADATA.buffer, oldBuffers.length, 0);
  const entry = b.endObject();
  const vector = (items: Offset[]): Offset => {
    b.startVector(4, items.length, 4);
    for (let i = items.length - 1; i >= 0; i--) b.addOffset(items[i]);
    return b.endVector();
  };
  const buffers = vector([...oldBuffers.map(old), buffer]);
  const entries = vector([...oldMetadata.map(old), entry]);

  b.startObject(MODEL_FIELDS.length);
  for (const [id, at] of model) {
    if (id === MODEL.version) b.addFieldInt32(id, bb.readUint32(at), 0);
    else if (id !== MODEL.buffers && id !== MODEL.metadata) b.addFieldOffset(id, old(bb.__indirect(at)), 0);
  }
  b.addFieldOffset(MODEL.buffers, buffers, 0);
  b.addFieldOffset(MODEL.metadata, entries, 0);
  b.finish(b.endObject(), 'TFL3');
  return b.asUint8Array().slice();
}

/** What a reader finds under TFLITE_METADATA: the subgraph's input normalisation and tensor counts (for checks). */
export interface ReadMetadata {
  name: string;
  mean: number[];
  std: number[];
  inputs: number;
  outputs: number;
  /** The associated files the output's metadata names (its labels). */
  outputFiles: string[];
}

/** Reads back the metadata addTfliteMetadata wrote (or any with the same fields); null where the model has none. */
export function readTfliteMetadata(tflite: Uint8Array): ReadMetadata | null {
  const bb = new ByteBuffer(tflite);
  const model = fields(bb, bb.readUint32(0));
  if (!model.has(MODEL.metadata)) return null;
  const entry = tableVector(bb, model.get(MODEL.metadata)!).find((e) => {
    const name = fields(bb, e).get(METADATA.name);
    return name !== undefined && bb.__string(name) === METADATA_KEY;
  });
  if (entry === undefined) return null;
  const index = bb.readUint32(fields(bb, entry).get(METADATA.buffer)!);
  const buffer = tableVector(bb, model.get(MODEL.buffers)!)[index];
  const data = bb.__vector(fields(bb, buffer).get(BUFFER.data)!);
  const length = bb.readUint32(data - 4);
  const mb = new ByteBuffer(tflite.subarray(data, data + length));
  if (!mb.__has_identifier(METADATA_IDENTIFIER)) throw new Error(`tflite metadata: ${METADATA_KEY} holds no ${METADATA_IDENTIFIER} flatbuffer`);
  const meta = fields(mb, mb.readUint32(0));
  const subgraph = fields(mb, tableVector(mb, meta.get(MODEL_METADATA.subgraph_metadata)!)[0]);
  const inputs = tableVector(mb, subgraph.get(SUBGRAPH_METADATA.input_tensor_metadata)!);
  const outputs = subgraph.has(SUBGRAPH_METADATA.output_tensor_metadata) ? tableVector(mb, subgraph.get(SUBGRAPH_METADATA.output_tensor_metadata)!) : [];
  const unit = fields(mb, tableVector(mb, fields(mb, inputs[0]).get(TENSOR_METADATA.process_units)!)[0]);
  if (mb.readUint8(unit.get(PROCESS_UNIT.options_type)!) !== PROCESS_UNIT_NORMALIZATION) throw new Error('tflite metadata: the input\'s first process unit is not NormalizationOptions');
  const norm = fields(mb, mb.__indirect(unit.get(PROCESS_UNIT.options)!));
  const floats = (at: number): number[] => {
    const v = mb.__vector(at);
    return Array.from({ length: mb.__vector_len(at) }, (_, i) => mb.readFloat32(v + 4 * i));
  };
  const outputFiles = outputs.length && fields(mb, outputs[0]).has(TENSOR_METADATA.associated_files) ? tableVector(mb, fields(mb, outputs[0]).get(TENSOR_METADATA.associated_files)!) : [];
  return {
    name: mb.__string(meta.get(MODEL_METADATA.name)!) as string,
    mean: floats(norm.get(NORMALIZATION_OPTIONS.mean)!),
    std: floats(norm.get(NORMALIZATION_OPTIONS.std)!),
    inputs: inputs.length,
    outputs: outputs.length,
    outputFiles: outputFiles.map((f) => mb.__string(fields(mb, f).get(ASSOCIATED_FILE.name)!) as string),
  };
}

/**
 * The model with `files` after it as a zip (stored, not compressed), as MetadataPopulator packs
 * associated files: TF Lite reads the flatbuffer and ignores what follows it; MediaPipe's
 * metadata extractor finds the zip from its end.
 */
export function appendAssociatedFiles(tflite: Uint8Array, files: Record<string, Uint8Array>): Uint8Array {
  const zip = zipSync(files, { level: 0 });
  const out = new Uint8Array(tflite.length + zip.length);
  out.set(tflite);
  out.set(zip, tflite.length);
  return out;
}

/** The associated files zipped after a model (none where nothing follows it): the zip found by its end record. */
export function associatedFiles(bytes: Uint8Array): Record<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The end of central directory record: signature 0x06054b50, 22 bytes with no comment.
  const end = bytes.length - 22;
  if (end < 0 || view.getUint32(end, true) !== 0x06054b50) return {};
  const directorySize = view.getUint32(end + 12, true);
  const directoryOffset = view.getUint32(end + 16, true);
  const start = end - directorySize - directoryOffset;
  if (start < 0) throw new Error('tflite metadata: the zip after the model states a directory outside the file');
  return unzipSync(bytes.subarray(start));
}
