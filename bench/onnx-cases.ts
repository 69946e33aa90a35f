// The benchmarks' ONNX-file cases (issue 57, item 5): files the reference libraries' exporters
// wrote (test/fixtures/onnx, scripts/fixtures/onnx/README.md), run as they are by ours
// (loadModel on the file) and by ONNX Runtime (Web's WebGPU provider in the page, onnxruntime-node
// in Node). The fixtures keep the large networks' weights as external data; here each file is
// written self-contained (its weights from the PRNG, embedded), since a page takes one file.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readOnnxCase, writeOnnxCase } from '../test/onnx-fixture.js';

export interface OnnxBenchCase {
  /** The case's name in the benchmarks (`--models`). */
  name: string;
  /** Its folder in test/fixtures/onnx: a file exported with free height and width. */
  fixture: string;
  /** Square input size on the software adapters (--browser-size sets another). */
  size: number;
}

/** Full-size networks whose files take any input size; sizes a 2-core software adapter gets through. */
export const ONNX_BENCH_CASES: OnnxBenchCase[] = [
  { name: 'onnx-tv-deeplabv3-resnet50', fixture: 'tv-deeplabv3-resnet50-full', size: 65 },
  { name: 'onnx-vainf-v3plus-mobilenet', fixture: 'vainf-v3plus-mobilenet', size: 129 },
  { name: 'onnx-smp-v3plus-resnet18', fixture: 'smp-v3plus-resnet18', size: 128 },
  { name: 'onnx-mmseg-deeplabv3-m-v2-d8', fixture: 'mmseg-deeplabv3-m-v2-d8', size: 65 },
];

export interface OnnxBenchFile {
  /** The self-contained .onnx, written into the folder given. */
  path: string;
  /** Its graph input and the output that holds the logits. */
  inputName: string;
  outputName: string;
  /** The normalisation its network expects, on [0, 1] RGB values. */
  mean: number[];
  std: number[];
  /** Where it came from, for the report. */
  note: string;
}

/** Writes the case's file (weights embedded) into a folder of its own under `dir`. */
export function writeOnnxBenchFile(c: OnnxBenchCase, dir: string): OnnxBenchFile {
  const meta = readOnnxCase(c.fixture);
  if (!meta.dynamic_hw) throw new Error(`bench: ${c.fixture} was exported at fixed sizes: the benchmarks need a file of free height and width`);
  const p = meta.preprocessing;
  if (p.scale !== 1 / 255 || p.channel_order !== 'RGB') throw new Error(`bench: ${c.fixture} expects another input scaling or channel order than [0, 1] RGB`);
  const sub = join(dir, c.name);
  mkdirSync(sub, { recursive: true });
  const { files } = writeOnnxCase(c.fixture, sub, { embed: true });
  const src = meta.source;
  return {
    path: Object.values(files)[0],
    inputName: meta.input_name,
    outputName: meta.output_names[0],
    mean: p.mean,
    std: p.std,
    note: `ONNX file (${meta.exporter_name} exporter, opset ${meta.opset}) of ${src.library}'s network, random weights (test/fixtures/onnx/${c.fixture})`,
  };
}
