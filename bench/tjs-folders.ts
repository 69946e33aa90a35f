// The benchmarks' transformers.js-folder cases (issue 76): the folders of test/fixtures/hub-onnx
// (scripts/fixtures/hub-onnx/README.md: config.json, preprocessor_config.json and onnx/model.onnx
// as the hub's transformers.js repositories hold them, one per segmentation family, tiny widths,
// random weights, the processor at 64x64), run as a user of either library runs them: ours with
// loadModel(folder) and segment(), transformers.js with its image-segmentation pipeline (part
// browser), and ours beside onnxruntime-node on the folder's onnx/model.onnx (part ort-node).
//
// A case at another size is a copy of the folder whose preprocessor_config.json makes that size
// (the same config.json and ONNX file): only a file exported with free height and width that is
// right at other sizes (meta.json's right_at_other_sizes, SegFormer's two here) runs there; the
// others are fixed at the 64x64 they were traced at.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './model.js';
import type { FolderCaseSpec } from './tjs-folder-page.js';
import { compile } from '../src/graph/compile.js';
import { readImage } from '../src/io/image.js';
import { graphCost } from '../src/model/analysis/flops.js';
import { loadWeights } from '../src/model/loading/load-weights.js';

export interface TjsFolderCase {
  /** The case's name in the benchmarks (`--models`). */
  name: string;
  /** Its folder in test/fixtures/hub-onnx. */
  fixture: string;
  /** The square size its processor makes (the network's input size). */
  size: number;
}

/** The fixtures' processor size, at which every file was traced. */
const TRACED = 64;

/** A realistic size for the files that take one: SegFormer-B0's ADE20K processor (nvidia/segformer-b0-finetuned-ade-512-512) makes 512x512. */
const REALISTIC = 512;

const FIXTURES = ['segformer-torchscript', 'segformer-dynamo', 'upernet-convnext', 'upernet-swin', 'dpt', 'beit', 'mobilevit', 'mobilevitv2'];
/** The fixtures whose file is right at other sizes (meta.json's right_at_other_sizes). */
const FREE_SIZE = ['segformer-torchscript', 'segformer-dynamo'];

/** Every family at its file's 64x64, and the files of free size also at 512x512. */
export const TJS_FOLDER_CASES: TjsFolderCase[] = [
  ...FIXTURES.map((fixture) => ({ name: `tjs-${fixture}`, fixture, size: TRACED })),
  ...FREE_SIZE.map((fixture) => ({ name: `tjs-${fixture}-${REALISTIC}`, fixture, size: REALISTIC })),
];

/** A fixture folder's own path. */
export const tjsFixturePath = (fixture: string, ...parts: string[]): string => join(ROOT, 'test', 'fixtures', 'hub-onnx', fixture, ...parts);

export interface TjsFolder {
  /** The folder ours loads (config.json and onnx/model.onnx linked to the fixture's, the processor written at the case's size). */
  dir: string;
  /** Each file of the folder by its name in it: what a server gives under the folder's URL. */
  files: Map<string, string>;
  /** The processor flips the channels to BGR (MobileViT's): the file takes BGR, ours takes RGB. */
  bgr: boolean;
  /** The file's graph input and output, and its exporter, for the report. */
  note: string;
}

type Json = Record<string, unknown>;

/** The processor's JSON resized to `size` x `size`: its `size` (and `crop_size` where it crops). */
function resized(p: Json, size: number, what: string): Json {
  const s = p.size as Json | number;
  const out: Json = { ...p };
  if (typeof s === 'object' && 'shortest_edge' in s) {
    out.size = { shortest_edge: size };
    if (p.do_center_crop) out.crop_size = { height: size, width: size };
  } else if (typeof s === 'object' && 'height' in s && 'width' in s) {
    out.size = { height: size, width: size };
  } else {
    throw new Error(`bench: ${what}: a size of ${JSON.stringify(s)} is not one this bench resizes`);
  }
  return out;
}

/** Writes the case's folder into `dir`/<name>/ and returns it. */
export function writeTjsFolder(c: TjsFolderCase, dir: string): TjsFolder {
  const meta = JSON.parse(readFileSync(tjsFixturePath(c.fixture, 'meta.json'), 'utf8')) as Json;
  if (c.size !== TRACED && meta.right_at_other_sizes !== true) {
    throw new Error(`bench: ${c.name}: test/fixtures/hub-onnx/${c.fixture}'s file was traced at ${TRACED}x${TRACED} and is not right at other sizes (meta.json)`);
  }
  const folder = join(dir, c.name);
  mkdirSync(join(folder, 'onnx'), { recursive: true });
  const processorWhat = `test/fixtures/hub-onnx/${c.fixture}/preprocessor_config.json`;
  const processor = JSON.parse(readFileSync(tjsFixturePath(c.fixture, 'preprocessor_config.json'), 'utf8')) as Json;
  writeFileSync(join(folder, 'preprocessor_config.json'), JSON.stringify(c.size === TRACED ? processor : resized(processor, c.size, processorWhat), null, 2));
  symlinkSync(tjsFixturePath(c.fixture, 'config.json'), join(folder, 'config.json'));
  symlinkSync(tjsFixturePath(c.fixture, 'onnx', 'model.onnx'), join(folder, 'onnx', 'model.onnx'));
  const files = new Map(['config.json', 'preprocessor_config.json', 'onnx/model.onnx'].map((f) => [f, join(folder, f)]));
  return {
    dir: folder,
    files,
    bgr: processor.do_flip_channel_order === true,
    note: `transformers.js folder test/fixtures/hub-onnx/${c.fixture} (${String(meta.exporter)} exporter, opset ${String(meta.opset)}), processor at ${c.size}x${c.size}`,
  };
}

/** What part browser needs of a folder case: its files served, the page's spec, its GFLOP. */
export interface PreparedFolderCase {
  spec: FolderCaseSpec;
  gflop: number;
  note: string;
}

/**
 * Writes the case's folder into `dir`, serves it at /hub/<name>/ (`files`: URL path -> file) and
 * the photo's RGB bytes at /models/photo.rgb, and returns the page's spec. The GFLOP are our
 * compiled graph's at the network's size.
 */
export async function prepareFolderCase(
  c: TjsFolderCase,
  dir: string,
  files: Map<string, string>,
  o: { image: string; warmup: number; repeats: number; engines: readonly string[]; profile?: FolderCaseSpec['profile'] },
): Promise<PreparedFolderCase> {
  const folder = writeTjsFolder(c, dir);
  for (const [name, path] of folder.files) files.set(`/hub/${c.name}/${name}`, path);
  const img = await readImage(o.image);
  const photo = join(dir, 'photo.rgb');
  writeFileSync(photo, img.data);
  files.set('/models/photo.rgb', photo);
  const w = await loadWeights(folder.dir, { download: false });
  const gflop = graphCost(compile(w.buildGraph({ height: c.size, width: c.size }), { mode: 'inference' }).graph).flops / 1e9;
  const spec: FolderCaseSpec = {
    kind: 'tjs-folder', name: c.name, folder: `/hub/${c.name}/`, photo: { url: '/models/photo.rgb', width: img.width, height: img.height },
    size: c.size, bgr: folder.bgr, warmup: o.warmup, repeats: o.repeats, engines: o.engines, profile: o.profile,
  };
  return { spec, gflop, note: folder.note };
}
