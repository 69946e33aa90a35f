// The weights formats' names: the keys of the format records (registry.ts, where a name without
// a record is a compile error). In the order a file's first bytes are tried: a gzip stream is
// told before safetensors' header test, which a large enough gzip header could also pass; and
// an ONNX file (a ModelProto's first field, ir_version) before a frozen TF graph (also protobuf); and
// the folder formats in the order a folder's files are tried: an smp folder (its config.json names
// its `_model_class`) before a hub folder of the same files, a transformers.js folder (its ONNX
// files, unless it also holds the PyTorch weights of a network we build) before a hub folder,
// .npy tensors, taking any folder, last.
export const WEIGHT_FORMAT_NAMES = ['tflite', 'pth', 'tf-zoo', 'safetensors', 'onnx', 'tf-graph', 'smp', 'transformers-js', 'hf-hub', 'tf-folder', 'npy-dir'] as const;

export type WeightFormatName = (typeof WEIGHT_FORMAT_NAMES)[number];
