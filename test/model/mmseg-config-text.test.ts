// The config text an mmseg checkpoint saves in its meta, read as the Python literals it is
// (src/util/python-literal.ts, src/model/weights/mmseg-config.ts): the literals of every layout
// mmcv and mmengine write, bounded against hostile texts; the texts mmcv 1.7 and mmengine 0.7,
// 0.8 and 0.10 wrote for three configs (test/fixtures/mmseg-configs, made by their own code:
// scripts/fixtures/mmseg-configs) give each config's settings; checkpoints holding them load with
// their test scale and windows, and one saved by mmengine 0.8 segments as mmseg's slide inference
// does; loads refused in a process leave the next valid load there its labels.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { loadModel } from '../../src/model/model.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import type { TensorMap } from '../../src/model/weights/import/tensor-map.js';
import { type MmsegSettings, settingsFromConfigText } from '../../src/model/weights/mmseg-config.js';
import { MAX_LITERAL_DEPTH, MAX_LITERAL_TEXT, type PyValue, parsePythonLiterals } from '../../src/util/python-literal.js';
import { expectThrows } from '../helpers.js';
import { type Saved, savedTensor, torchSaveZip } from '../import/torch-save.js';
import { sharedPath } from '../shared.js';
import { prngValues } from './mmseg-prng.js';

const TEST_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test');
const CONFIGS = join(TEST_DIR, 'fixtures', 'mmseg-configs');
const V3PLUS = join(TEST_DIR, 'fixtures', 'mmseg-v3plus');

/** The plain value of a parsed literal (dicts as objects), for comparisons. */
function plain(v: PyValue): unknown {
  switch (v.type) {
    case 'number':
    case 'string':
    case 'bool':
      return v.value;
    case 'none':
      return null;
    case 'list':
      return v.items.map(plain);
    case 'tuple':
      return { tuple: v.items.map(plain) };
    case 'dict':
      return Object.fromEntries([...v.entries].map(([k, x]) => [k, plain(x)]));
    case 'call':
      return { call: v.callee, args: v.args.map(plain), kwargs: Object.fromEntries([...v.kwargs].map(([k, x]) => [k, plain(x)])) };
    case 'name':
      return { name: v.name };
    case 'opaque':
      return { opaque: v.text };
  }
}

const parsed = (text: string): Record<string, unknown> => Object.fromEntries([...parsePythonLiterals(text, 'text')].map(([k, v]) => [k, plain(v)]));

describe('Python literals as mmcv and mmengine write config texts', () => {
  it('strings of every quote style, prefix and escape; adjacent strings joined', () => {
    const text = [
      "a = 'single \\'quoted\\' \\\\ \\n\\t\\x41\\u00e9\\101 \\q'",
      'b = "double \\"quoted\\" it\'s"',
      "c = r'raw \\n \\d+'",
      "c2 = r'a' + 'b'",
      "d = '''triple\nlines 'a' \"b\"'''",
      'e = """also\\\njoined"""',
      "f = b'bytes' u'unicode' f'{x}'",
      "g = ('one '\n     'string')",
    ].join('\n');
    expect(parsed(text)).to.deep.equal({
      a: "single 'quoted' \\ \n\tAé\x41 \\q",
      b: 'double "quoted" it\'s',
      c: 'raw \\n \\d+',
      c2: { opaque: "r'a' + 'b'" },
      d: 'triple\nlines \'a\' "b"',
      e: 'alsojoined',
      f: 'bytesunicode{x}',
      g: 'one string',
    });
  });

  it("numbers, True/False/None, tuples, lists, dict() and {...} with any keys, trailing commas, comments, continuations, earlier names", () => {
    const text = [
      'n = [1, -2, +3, 1_000, 0x1F, 0o17, 0b101, 1., .5, 1e-05, -2.5E+3, 1 / 255, 2 ** -2, -2 ** 2, 7 // 2, -7 % 3]',
      't = ((), (1,), (1, 2,), ([],))',
      "norm_cfg = dict(type='SyncBN', requires_grad=True)  # a comment, with ( and '",
      'model = dict(',
      '    backbone=dict(',
      '        strides=(',
      '            1,',
      '            2,',
      '        ),',
      '        norm_cfg=norm_cfg,',
      '    ),',
      "    mapping={'decode_head.conv_seg': dict(lr_mult=10.0), 0: None, 'x': True, },",
      "    merged=dict(a=1, **dict(b=2)), gpu_ids=range(0, 1), flag = False)",
      'long = 1 + \\',
      '    2',
      'import os',
      'from x import (y,',
      '   z)',
      'if True:',
      '    inner = 3',
    ].join('\n');
    expect(parsed(text)).to.deep.equal({
      n: [1, -2, 3, 1000, 31, 15, 5, 1, 0.5, 1e-5, -2500, 1 / 255, 0.25, -4, 3, 2],
      t: { tuple: [{ tuple: [] }, { tuple: [1] }, { tuple: [1, 2] }, { tuple: [[]] }] },
      norm_cfg: { type: 'SyncBN', requires_grad: true },
      model: {
        backbone: { strides: { tuple: [1, 2] }, norm_cfg: { type: 'SyncBN', requires_grad: true } },
        mapping: { 'decode_head.conv_seg': { lr_mult: 10 }, 0: null, x: true },
        merged: { a: 1, b: 2 },
        gpu_ids: { call: 'range', args: [0, 1], kwargs: {} },
        flag: false,
      },
      long: 3,
      inner: 3,
    });
    const numbers = parsePythonLiterals('i = 3\nf = 3.0\nbig = 9007199254740993', 'text');
    expect([...numbers.values()].map((v) => v.type === 'number' && v.integer)).to.deep.equal([true, false, true]);
  });

  it('what is not a literal is an opaque excerpt, and the statements around it are read', () => {
    const text = [
      "act = dict(type=<class 'torch.nn.modules.activation.ReLU'>, fn=<function f at 0x7f>, inplace=True)",
      'inf_value = -inf',
      '[x for x in y]',
      'ratios = [dict(scale_factor=r) for r in img_ratios]',
      'a = b = 2',
      'after = (1, 2)',
    ].join('\n');
    const out = parsed(text);
    expect(out.act).to.deep.equal({ type: { opaque: "<class 'torch.nn.modules.activation.ReLU'>" }, fn: { opaque: '<function f at 0x7f>' }, inplace: true });
    expect(out.inf_value).to.deep.equal({ opaque: '-inf' });
    expect(out.ratios).to.deep.equal([{ opaque: 'dict(scale_factor=r) for r in img_ratios' }]);
    expect(out.a).to.deep.equal({ opaque: 'b = 2' });
    expect(out.after).to.deep.equal({ tuple: [1, 2] });
  });

  it('hostile texts: too long, too deep (brackets, signs, powers), unclosed or crossed brackets and strings are refused with the line, column and a short excerpt', () => {
    const cases: [string, RegExp][] = [
      ['x = ' + '['.repeat(5000) + ']'.repeat(5000), /^cfg: line 1, column 69: nested more than 64 deep/],
      ['x = ' + '-'.repeat(5000) + '1', /nested more than 64 deep/],
      ['x = 2' + ' ** 2'.repeat(5000), /nested more than 64 deep/],
      ['x = dict(' + 'a=dict('.repeat(MAX_LITERAL_DEPTH) + ')'.repeat(MAX_LITERAL_DEPTH + 1), /nested more than 64 deep/],
      ["a = 1\nb = (1,\n  2\nc = 'x'", /^cfg: line 2, column 5: 1 bracket\(s\) never closed|^cfg: line 4, column \d+: 1 bracket/],
      ['a = (1, 2]', /^cfg: line 1, column 10: '\]' closes no bracket opened before it: "a = \(1, 2\]"$/],
      ["a = 1\nb = 'open", /^cfg: line 2, column 5: a string opened with ' is never closed/],
      ['a = """never', /a string opened with """ is never closed/],
      ['x'.repeat(MAX_LITERAL_TEXT + 1), /^cfg: 1048577 characters, over the 1048576 this reader takes$/],
    ];
    for (const [text, pattern] of cases) {
      const e = expectThrows(() => parsePythonLiterals(text, 'cfg'), pattern, text.slice(0, 30));
      expect(e, e.message).to.not.be.instanceOf(RangeError);
      expect(e.message.length, 'a bounded message').to.be.below(300);
    }
    // 64 deep is read.
    expect(parsed(`x = ${'['.repeat(64)}${']'.repeat(64)}`).x).to.be.an('array');
  });

  it('settings refuse values out of type or range, naming the field', () => {
    const cases: [string, RegExp][] = [
      ['model = dict(backbone=dict(strides=(1, 2, 1, 4294967297), dilations=(1, 1, 2, 4)))', /^mmseg config: model\.backbone\.strides\[3\] is 4294967297, not a whole number from 1 to 65536$/],
      ['model = dict(backbone=dict(strides=(1, 2.0, 1, 1)))', /model\.backbone\.strides\[1\] is 2\.0, not a whole number/],
      ["model = dict(backbone=dict(strides='1, 2, 1, 1'))", /model\.backbone\.strides is '1, 2, 1, 1', not a tuple of whole numbers/],
      ['model = dict(decode_head=dict(dilations=(1, 12, -24, 36)))', /model\.decode_head\.dilations\[2\] is -24, not/],
      ["model = dict(decode_head=dict(align_corners='yes'))", /model\.decode_head\.align_corners is 'yes', not True or False/],
      ["model = dict(test_cfg=dict(mode='slide', crop_size=(769, 513), stride=(513, 513)))", /model\.test_cfg\.crop_size \(769, 513\) is not square/],
      ["model = dict(test_cfg=dict(mode='slide', crop_size=(0, 0), stride=(513, 513)))", /model\.test_cfg\.crop_size\[0\] is 0, not a whole number from 1 to 65536/],
      ["model = dict(test_cfg=dict(mode='slide', crop_size=769))", /model\.test_cfg mode 'slide' without a crop_size and stride/],
      ["test_pipeline = [dict(type='Resize', scale=(512, 512), keep_ratio=False)]", /test_pipeline\[0\]'s Resize has keep_ratio=False/],
      ["test_pipeline = [dict(type='Resize', scale=(2048, 512, 3), keep_ratio=True)]", /test_pipeline\[0\]\.scale is \(2048, 512, 3\), not a \(width, height\) pair/],
      ['model = dict(backbone=dict(strides=(' + '1, '.repeat(17) + ')))', /model\.backbone\.strides is \(1, 1, 1, 1, 1, 1, 1, 1, \.\.\.\), not a tuple/],
    ];
    for (const [text, pattern] of cases) expectThrows(() => settingsFromConfigText(text), pattern, text);
  });
});

/** What each fixture config says, as settingsFromConfigText gives it. */
const EXPECTED: Record<string, Partial<MmsegSettings> & { backbone: object }> = {
  'v3plus_r18-d8_slide': { backbone: { type: 'ResNetV1c', depth: 18 }, outputStride: 8, multiGrid: null, asppRates: [12, 24, 36], alignCorners: true, slide: { crop: 64, stride: 43 }, testScale: [160, 120] },
  'v3plus_m-v2-d8_slide': { backbone: { type: 'MobileNetV2' }, outputStride: 8, multiGrid: null, asppRates: [12, 24, 36], alignCorners: true, slide: { crop: 64, stride: 43 }, testScale: [160, 120] },
  'v3_r50-d16-mg124_whole': { backbone: { type: 'ResNetV1c', depth: 50 }, outputStride: 16, multiGrid: [1, 2, 4], asppRates: [6, 12, 18], alignCorners: false, slide: null, testScale: [2048, 1024] },
};
const WRITERS = ['mmcv-1.7.2_yapf-0.32.0', 'mmcv-1.7.2_yapf-0.40.2', 'mmengine-0.7.4_yapf-0.32.0', 'mmengine-0.8.4_yapf-0.40.1', 'mmengine-0.10.7_yapf-0.43.0', 'mmengine-0.10.7_unformatted'];
const configText = (model: string, writer: string): string => readFileSync(join(CONFIGS, `${model}.${writer}.py.txt`), 'utf8');

/** The reference's state dict (test/fixtures/mmseg-v3plus): its keys, values from the fixture PRNG (seed 1). */
function referenceState(model: string): TensorMap {
  const keys = JSON.parse(readFileSync(join(V3PLUS, `${model}_keys.json`), 'utf8')) as [string, number[]][];
  return new Map(keys.map(([name, shape]) => [name, { shape, data: prngValues(name, shape, 1), sourceDType: 'f32' as const }]));
}

/** A checkpoint as mmseg saves one: the config text in meta 'config' (mmcv, 0.x) or 'cfg' (mmengine, 1.x). */
function checkpointFile(state: TensorMap, text: string, writer: string): Uint8Array {
  const dict = new Map<string, Saved>();
  for (const [name, t] of state) dict.set(name, name.endsWith('num_batches_tracked') ? savedTensor([], BigInt64Array.of(40000n)) : savedTensor(t.shape, t.data as Float32Array));
  const meta = new Map<string, Saved>(writer.startsWith('mmcv') ? [['config', text], ['mmseg_version', '0.30.0']] : [['cfg', text], ['mmengine_version', writer.split('_')[0].slice('mmengine-'.length)]]);
  return torchSaveZip(new Map<string, Saved>([['meta', meta], ['state_dict', dict]]));
}

describe('mmseg config texts as mmcv 1.x and mmengine 0.7, 0.8+ write them (test/fixtures/mmseg-configs)', () => {
  it('every writer: the fixture files are all there, and each gives its config\'s settings', () => {
    const files = readdirSync(CONFIGS).filter((f) => f.endsWith('.py.txt'));
    expect(files.length).to.equal(Object.keys(EXPECTED).length * WRITERS.length);
    for (const [model, settings] of Object.entries(EXPECTED)) {
      for (const writer of WRITERS) {
        const got = settingsFromConfigText(configText(model, writer));
        expect(got, `${model}, ${writer}`).to.deep.include({ ...settings, backbone: got.backbone });
        expect(got.backbone, `${model}, ${writer}`).to.deep.include(settings.backbone);
      }
    }
    // mmengine 0.8 and later write a tuple an item a line, with a trailing comma.
    expect(configText('v3plus_r18-d8_slide', 'mmengine-0.8.4_yapf-0.40.1')).to.match(/scale=\(\n\s+160,\n\s+120,\n\s+\)/);
  });
});

describe('mmseg checkpoints saved by mmengine 0.8, 0.7 and mmcv 1.7: segment() as mmseg; refused loads before it', function () {
  this.timeout(600_000);
  let dir: string;
  let state: TensorMap;
  let labels: Uint8Array;
  const reference = (): Uint8Array => Uint8Array.from(readNpy(join(V3PLUS, 'v3plus_r18-d8_c19_seed1_97x129_slide_labels.npy')).data);
  const image = (): { width: number; height: number; data: Uint8Array } => ({ width: 129, height: 97, data: Uint8Array.from(readNpy(sharedPath('fixtures', 'mmseg', 'input_97x129_uint8.npy')).data) });
  const agreement = (ours: Uint8Array, ref: Uint8Array): number => ours.reduce((n, c, i) => n + (c === ref[i] ? 1 : 0), 0) / ref.length;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mmseg-config-text-'));
    state = referenceState('v3plus_r18-d8_c19');
    const writer = 'mmengine-0.8.4_yapf-0.40.1';
    const text = configText('v3plus_r18-d8_slide', writer);
    writeFileSync(join(dir, 'r18.pth'), checkpointFile(state, text, writer));
    // The same weights with a sliding window no device binds (its input alone is 12.9 GB).
    const huge = text.replace(/crop_size=\(\s*64,\s*64,\s*\)/g, 'crop_size=(32768, 32768)').replace(/scale=\(\s*160,\s*120,\s*\)/g, 'scale=(32768, 32768)');
    expect(huge, 'the window and scale replaced').to.not.equal(text);
    writeFileSync(join(dir, 'r18-huge-window.pth'), checkpointFile(state, huge, writer));
    const model = await loadModel(join(dir, 'r18.pth'));
    try {
      labels = (await model.segment(image())).classes;
    } finally {
      model.dispose();
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("loadModel(path) + segment(): resized to fit (160, 120), windows of 64 every 43, align corners: mmseg's labels", () => {
    const same = agreement(labels, reference());
    console.log(`      ${(100 * same).toFixed(3)} % of the pixels as mmseg's slide inference`);
    expect(same).to.be.at.least(0.999);
  });

  it("the same checkpoint saved by mmcv 1.7 (0.x meta 'config') and by mmengine 0.7: the test scale, windows and align corners, and loadModel(path) + segment() gives mmseg's labels", async () => {
    for (const writer of ['mmcv-1.7.2_yapf-0.32.0', 'mmengine-0.7.4_yapf-0.32.0']) {
      const bytes = checkpointFile(state, configText('v3plus_r18-d8_slide', writer), writer);
      const w = await loadWeights(bytes, { name: `r18.${writer}` });
      expect(w.inputPolicy, writer).to.deep.equal({ kind: 'keep-ratio', long: 160, short: 120 });
      expect(w.slide, writer).to.deep.equal({ crop: 64, stride: 43 });
      expect(w.config, writer).to.deep.include({ backbone: 'resnet18', decoder: 'deeplabv3plus', outputStride: 8, asppRates: [12, 24, 36], resizeMode: 'align_corners' });
      const path = join(dir, `r18.${writer}.pth`);
      writeFileSync(path, bytes);
      const model = await loadModel(path);
      try {
        const same = agreement((await model.segment(image())).classes, reference());
        console.log(`      ${writer}: ${(100 * same).toFixed(3)} % of the pixels as mmseg's slide inference`);
        expect(same, writer).to.be.at.least(0.999);
      } finally {
        model.dispose();
      }
    }
  });

  it('after a missing file, a window over the storage-binding limit (on an owned and on a caller\'s context) and a memory budget under the weights were refused in a process, a valid load there gives the labels of this one', async () => {
    const child = join(TEST_DIR, '..', 'dist', 'test', 'model', 'refused-load-child.js');
    const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', child, join(dir, 'r18.pth'), join(dir, 'r18-huge-window.pth'), join(dir, 'missing.pth')], {
      timeout: 300_000,
      maxBuffer: 16 << 20,
    });
    const out = JSON.parse(stdout.trim().split('\n').pop()!) as { refusals: string[]; buffers: number; buffersAfter: number; labels: string };
    expect(out.refusals).to.have.length(4);
    expect(out.refusals[0]).to.match(/missing\.pth/);
    expect(out.refusals[1]).to.match(/^r18-huge-window\.pth: .*exceeds the device's storage-binding limit/);
    expect(out.refusals[2]).to.match(/memoryBudget/);
    expect(out.refusals[3]).to.match(/^r18-huge-window\.pth: .*exceeds the device's storage-binding limit/);
    expect(out.buffersAfter, "the caller's context's buffers after its refused load").to.equal(out.buffers);
    const theirs = new Uint8Array(Buffer.from(out.labels, 'base64'));
    expect(theirs.length).to.equal(labels.length);
    expect(theirs.every((c, i) => c === labels[i]), 'the same labels, pixel for pixel').to.equal(true);
  });
});
