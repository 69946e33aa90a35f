// mmsegmentation's DeepLabv3+ (DepthwiseSeparableASPPHead) on its ResNets, and its MobileNetV2
// DeepLabv3 and DeepLabv3+, against test/fixtures/mmseg-v3plus (scripts/fixtures/mmseg-v3plus
// made them with a PyTorch re-implementation of mmseg under its exact keys): the PRNG of
// ../shared/fixtures/mmseg rebuilds each state dict from the reference's key list; our graph
// declares exactly those tensors; the head's and the auxiliary head's logits match the float64
// references at two input sizes; a `.pth` in mmseg's {'meta', 'state_dict'} layout loads and
// segments as mmseg's slide inference does; combinations not built are refused naming what is.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../../src/graph/compile.js';
import type { Graph } from '../../src/graph/ir.js';
import { type HostParams, checkParams } from '../../src/graph/params.js';
import { Program } from '../../src/graph/program.js';
import { Session } from '../../src/graph/session.js';
import { defaultConfig } from '../../src/model/backbones/config.js';
import { buildDeepLab } from '../../src/model/backbones/network.js';
import { resizeRgbBilinear } from '../../src/io/mmseg-input.js';
import { describeCommand } from '../../src/cli/commands/describe.js';
import { describeModel } from '../../src/model/analysis/describe.js';
import { checkpointContents } from '../../src/model/loading/checkpoint-contents.js';
import { checkpointModel } from '../../src/model/loading/checkpoint-schema.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { DeepLabModel } from '../../src/model/model.js';
import { mmsegMobilenetV2Plan } from '../../src/model/networks/mmseg-mobilenet-v2.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import type { TensorMap } from '../../src/model/weights/import/tensor-map.js';
import { type MmsegSettings, resolveSettings, settingsFromConfigText, settingsFromName } from '../../src/model/weights/mmseg-config.js';
import { mmsegConfig, mmsegNetwork, mmsegParams } from '../../src/model/weights/mmseg.js';
import { expectClose, expectThrows, relativeError, testContext } from '../helpers.js';
import { type Saved, savedTensor, torchSaveZip } from '../import/torch-save.js';
import { sharedPath } from '../shared.js';
import { nchwToNhwc } from './layout.js';
import { NUM_BATCHES_TRACKED, prngValues } from './mmseg-prng.js';

/** test/fixtures/mmseg-v3plus (this file is dist/test/model/ once built). */
const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'mmseg-v3plus');
const fixture = (file: string): string => join(FIXTURES, file);

const referenceStates = new Map<string, TensorMap>();

/**
 * The reference's state dict: its keys and shapes in its order, values from the PRNG (seed 1).
 * Made once per model (the values are tens of MB); each caller gets a map of its own.
 */
function referenceState(model: string): TensorMap {
  let state = referenceStates.get(model);
  if (!state) {
    const keys = JSON.parse(readFileSync(fixture(`${model}_keys.json`), 'utf8')) as [string, number[]][];
    state = new Map();
    for (const [name, shape] of keys) {
      state.set(name, name.endsWith('num_batches_tracked') ? { shape, data: Float32Array.of(NUM_BATCHES_TRACKED), sourceDType: 'i64' } : { shape, data: prngValues(name, shape, 1), sourceDType: 'f32' });
    }
    referenceStates.set(model, state);
  }
  return new Map(state);
}

/** Each reference model: what mmseg's config name says of it, or the settings themselves (D16 MobileNetV2 is not a zoo config). */
const MODELS: { model: string; settings: Partial<MmsegSettings>; backbone: string; decoder: string; c1Channels?: number; auxChannels?: number }[] = [
  { model: 'v3plus_r18-d8_c19', settings: settingsFromName('deeplabv3plus_r18-d8_512x1024_80k_cityscapes'), backbone: 'resnet18', decoder: 'deeplabv3plus', c1Channels: 12 },
  { model: 'v3plus_r50-d16-mg124_c21', settings: settingsFromName('deeplabv3plus_r101-d16-mg124_512x1024_80k_cityscapes'), backbone: 'resnet50', decoder: 'deeplabv3plus' },
  { model: 'v3_m-v2-d8_c19', settings: settingsFromName('deeplabv3_m-v2-d8_512x1024_80k_cityscapes'), backbone: 'mmseg_mobilenet_v2', decoder: 'none', auxChannels: 256 },
  { model: 'v3plus_m-v2-d8_c19', settings: settingsFromName('deeplabv3plus_m-v2-d8_512x512_160k_ade20k'), backbone: 'mmseg_mobilenet_v2', decoder: 'deeplabv3plus', auxChannels: 256 },
  { model: 'v3plus_m-v2-d16_c21', settings: { outputStride: 16, multiGrid: null, asppRates: [6, 12, 18] }, backbone: 'mmseg_mobilenet_v2', decoder: 'deeplabv3plus', auxChannels: 256 },
];

function modelOf(m: (typeof MODELS)[number]) {
  const state = referenceState(m.model);
  const net = mmsegNetwork(state, m.model);
  const config = mmsegConfig(net, resolveSettings(m.settings), { aux: true }, m.model);
  return { state, net, config };
}

async function runGraph(graph: Graph, params: HostParams | Session, image: Float32Array): Promise<Map<string, Float32Array>> {
  const program = await Program.create(await testContext(), compile(graph, { mode: 'inference' }), params, 'mmseg v3+ test');
  try {
    const out = await program.run({ image });
    return new Map([...out].map(([k, v]) => [k, v as Float32Array]));
  } finally {
    program.dispose();
  }
}

/** A state dict as mmseg's checkpoint file holds it: {'meta', 'state_dict'}, num_batches_tracked int64. */
function mmsegFile(state: TensorMap, meta: Map<string, Saved> = new Map()): Uint8Array {
  const dict = new Map<string, Saved>();
  for (const [name, t] of state) dict.set(name, name.endsWith('num_batches_tracked') ? savedTensor([], BigInt64Array.of(40000n)) : savedTensor([...t.shape], t.data as Float32Array));
  return torchSaveZip(new Map<string, Saved>([['meta', meta], ['state_dict', dict]]));
}

describe("mmseg DeepLabv3+ and MobileNetV2: structure, files, refusals", () => {
  for (const m of MODELS) {
    it(`${m.model}: recognised as ${m.backbone}, decoder ${m.decoder}; our graph declares exactly the reference's tensors`, () => {
      const { state, net, config } = modelOf(m);
      expect(net).to.deep.include({ backbone: m.backbone, decoder: m.decoder, hasAux: true });
      expect([net.c1Channels, net.auxChannels], 'c1 and aux channels where not 48 and in / 4').to.deep.equal([m.c1Channels, m.auxChannels]);
      expect(config).to.deep.include({ head: 'mmseg', decoder: m.decoder, outputStride: m.settings.outputStride });
      const graph = buildDeepLab(config, { height: 33, width: 45 });
      checkParams(graph, mmsegParams(state, config), m.model);
      const declared = graph.state.map((v) => v.name).sort();
      const stored = [...state.keys()].filter((k) => !k.endsWith('num_batches_tracked')).sort();
      expect(declared).to.deep.equal(stored);
    });
  }

  it("r18b: DeepLabv3+ on mmseg's V1b ResNet (a 7x7 conv1 and bn1 for the deep stem) is recognised and declares exactly its tensors", () => {
    const state: TensorMap = new Map([...referenceState('v3plus_r18-d8_c19')].filter(([k]) => !k.startsWith('backbone.stem.')));
    state.set('backbone.conv1.weight', { shape: [64, 3, 7, 7], data: prngValues('backbone.conv1.weight', [64, 3, 7, 7], 1), sourceDType: 'f32' });
    for (const p of ['weight', 'bias', 'running_mean', 'running_var']) state.set(`backbone.bn1.${p}`, { shape: [64], data: prngValues(`backbone.bn1.${p}`, [64], 1), sourceDType: 'f32' });
    const net = mmsegNetwork(state, 'r18b');
    expect(net).to.deep.include({ backbone: 'resnet18', stem: 'v1b', decoder: 'deeplabv3plus', c1Channels: 12 });
    const config = mmsegConfig(net, resolveSettings(settingsFromName('deeplabv3plus_r18b-d8_512x1024_80k_cityscapes')), { aux: true }, 'r18b');
    const graph = buildDeepLab(config, { height: 33, width: 45 });
    checkParams(graph, mmsegParams(state, config), 'r18b');
    expect(graph.state.map((v) => v.name).sort()).to.deep.equal([...state.keys()].filter((k) => !k.endsWith('num_batches_tracked')).sort());
  });

  it('describe: the parameters of the reference state dicts, the DeepLabv3+ decoder in its own group; deeplab describe takes mmseg_mobilenet_v2 under its head', async () => {
    for (const m of [MODELS[0], MODELS[3]]) {
      const { state, config } = modelOf(m);
      const d = describeModel(config, 49, 65);
      const stored = [...state].filter(([k]) => !k.endsWith('num_batches_tracked')).reduce((n, [, t]) => n + t.shape.reduce((a, b) => a * b, 1), 0);
      expect(d.totals.params, m.model).to.equal(stored);
      expect(d.blocks.map((b) => b.name), m.model).to.include.members(['stem', 'block1', 'aspp', 'decoder', 'head', 'aux']);
      expect(d.layers.filter((l) => l.group === 'decoder').map((l) => l.name), m.model).to.include.members(['decode_head.c1_bottleneck.conv', 'decode_head.sep_bottleneck.1.pointwise_conv.conv']);
    }    let text = '';
    const code = await describeCommand(['--backbone', 'mmseg_mobilenet_v2', '--decoder', 'deeplabv3plus', '--output-stride', '8', '--aspp-rates', '12,24,36', '--classes', '19', '--input', '65x49'], (t) => (text += t));
    expect(code).to.equal(0);
    expect(text).to.match(/^mmseg_mobilenet_v2, .*DeepLabv3\+ decoder \(stride 4\), 19 classes, mmseg rates/);
    expect(text).to.match(/^block4 .* 2,1,1,1 /m);
  });

  it("mmseg's MobileNetV2 strides and dilations: D8 as configs/mobilenet_v2 gives them, a layer's first block alone dilated", () => {
    expect(mmsegMobilenetV2Plan(8)).to.deep.equal({ strides: [1, 2, 2, 1, 1, 1, 1], dilations: [1, 1, 1, 2, 2, 4, 4] });
    expect(mmsegMobilenetV2Plan(32)).to.deep.equal({ strides: [1, 2, 2, 2, 1, 2, 1], dilations: [1, 1, 1, 1, 1, 1, 1] });
    const graph = buildDeepLab(defaultConfig('mmseg_mobilenet_v2'), { height: 33, width: 45 });
    const depthwise = graph.nodes.filter((n) => n.op.type === 'conv2d' && /layer4\.\d\.conv\.1\.conv$/.test(n.name));
    expect(depthwise.map((n) => (n.op.type === 'conv2d' ? n.op.attrs.dilationH : 0))).to.deep.equal([2, 1, 1, 1]);
    const text = "backbone=dict(type='MobileNetV2', widen_factor=1., strides=(1, 2, 2, 1, 1, 1, 1), dilations=(1, 1, 1, 2, 2, 4, 4), out_indices=(1, 2, 4, 6))";
    expect(settingsFromConfigText(text)).to.deep.include({ outputStride: 8, multiGrid: null });
    expectThrows(() => settingsFromConfigText(text.replace('2, 2, 4, 4', '2, 2, 4, 8')), /MobileNetV2 dilations \(1, 1, 1, 2, 2, 4, 8\) .* are not D8's \(1, 1, 1, 2, 2, 4, 4\)/);
  });

  it('a head and backbone combination not built is refused, naming what is', () => {
    expectThrows(() => defaultConfig('mmseg_mobilenet_v2', { head: 'torchvision' }), /head 'torchvision' heads are built on .*, not mmseg_mobilenet_v2 \(which takes mmseg\)/);
    expectThrows(() => defaultConfig('mobilenet_v2', { head: 'mmseg', decoder: 'deeplabv3plus' }), /'mmseg' heads are built on resnet18, resnet50, resnet101, mmseg_mobilenet_v2, not mobilenet_v2/);
    expectThrows(() => defaultConfig('resnet50', { c1Channels: 12 }), /c1Channels is mmseg's DeepLabv3\+ head's, not torchvision's DeepLabHead's/);
    // An mmseg backbone we do not build (its keys renamed as another backbone's) and a separable head without its c1 decoder.
    const state = referenceState('v3plus_m-v2-d8_c19');
    const other: TensorMap = new Map([...state].map(([k, t]) => [k.replace(/^backbone\.layer(\d)/, 'backbone.stage$1').replace('backbone.conv1.', 'backbone.stem.'), t]));
    expectThrows(() => mmsegNetwork(other, 'hrnet.pth'), /^hrnet\.pth: the mmseg backbone \(first tensor backbone\.stem\.conv\.weight\) is none of those built: ResNet-18, ResNet-50, ResNet-101, mmseg's MobileNetV2$/);
    const noC1: TensorMap = new Map([...state].filter(([k]) => !k.startsWith('decode_head.c1_bottleneck.')));
    expectThrows(() => mmsegNetwork(noC1, 'noc1.pth'), /^noc1\.pth: a DepthwiseSeparableASPPHead without c1_bottleneck \(c1_in_channels 0\) is not built; the heads built are mmseg's ASPPHead and DepthwiseSeparableASPPHead with its c1 decoder$/);
  });

  it("loads from a .pth in mmseg's {'meta', 'state_dict'} layout: the network, its settings from the file name and meta, the params", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmseg-v3plus-'));
    try {
      for (const m of MODELS.slice(0, 4)) {
        const { state, config } = modelOf(m);
        const name = `deeplab${m.model.startsWith('v3plus') ? 'v3plus' : 'v3'}_${m.model.replace(/^v3(plus)?_/, '').replace(/_c\d+$/, '')}_512x1024_80k_cityscapes_20200825_124836-d256dd4b.pth`;
        const path = join(dir, name);
        writeFileSync(path, mmsegFile(state, new Map<string, Saved>([['mmseg_version', '0.6.0+unknown']])));
        const w = await loadWeights(path);
        expect(w.config, name).to.deep.include({ backbone: m.backbone, head: 'mmseg', decoder: m.decoder, outputStride: config.outputStride, asppRates: config.asppRates, aux: false });
        expect(w.inputPolicy, name).to.deep.equal({ kind: 'keep-ratio', long: 2048, short: 1024 });
        const expected = mmsegParams(state, { ...config, aux: false });
        expect([...w.params.keys()].sort(), name).to.deep.equal([...expected.keys()].sort());
        for (const [k, t] of expected) expect(relativeError(w.params.get(k)!.data, t.data), `${name}: ${k}`).to.equal(0);
        // Our checkpoint keeps the head's c1 and aux channels with the rest of the config.
        const back = checkpointModel(w.name, `${m.model}.safetensors`, checkpointContents(w), {});
        expect(back.config, `${name}: through our checkpoint`).to.deep.equal(w.config);
        expect([...back.params.keys()].sort()).to.deep.equal([...w.params.keys()].sort());
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('mmseg DeepLabv3+ and MobileNetV2: logits against the float64 references', function () {
  this.timeout(900_000);
  const INPUTS: [string, () => { data: Float32Array; shape: number[] }][] = [
    ['49x65', () => readNpy(sharedPath('fixtures', 'mmseg', 'input_49x65.npy')) as { data: Float32Array; shape: number[] }],
    ['48x64', () => readNpy(fixture('input_48x64.npy')) as { data: Float32Array; shape: number[] }],
  ];

  for (const m of MODELS) {
    it(`${m.model}: the head's and the auxiliary head's logits at 49x65 and 48x64, and the logits at the input's size`, async () => {
      const { state, config } = modelOf(m);
      const params = mmsegParams(state, config);
      const graphs = INPUTS.map(([size, read]) => {
        const input = read();
        const [, , h, w] = input.shape;
        return { size, input, h, w, graph: buildDeepLab(config, { height: h, width: w }, { extraOutputs: true }) };
      });
      // One upload of the weights for both sizes: the programs share a session.
      const session = Session.create(await testContext(), graphs[0].graph, params, 'mmseg v3+ test');
      try {
        for (const { size, input, h, w, graph } of graphs) {
          const out = await runGraph(graph, session, nchwToNhwc(input.data, input.shape));
          for (const [output, file] of [['logits_raw', `${m.model}_seed1_${size}_out_raw.npy`], ['aux_raw', `${m.model}_seed1_${size}_aux_raw.npy`]] as const) {
            const ref = readNpy(fixture(file));
            const nhwc = nchwToNhwc(ref.data, ref.shape);
            const ours = out.get(output)!;
            expect(ours.length, file).to.equal(nhwc.length);
            console.log(`      ${file}: relative error ${relativeError(ours, nhwc).toExponential(2)}`);
            expectClose(ours, nhwc, file);
          }
          expect(out.get('logits')!.length).to.equal(h * w * config.numClasses);
        }
      } finally {
        session.dispose();
      }
    });
  }
});

describe("mmseg DeepLabv3+ and MobileNetV2: segment() as mmseg's slide inference", function () {
  this.timeout(900_000);
  const image = () => {
    const t = readNpy(sharedPath('fixtures', 'mmseg', 'input_97x129_uint8.npy'));
    return { width: 129, height: 97, data: Uint8Array.from(t.data) };
  };

  it("mmseg's resize is OpenCV's INTER_LINEAR bit for bit: cv2.resize of the 49x65 crop to 80x60, 37x29, 151x113", () => {
    const t = readNpy(sharedPath('fixtures', 'mmseg', 'input_49x65_uint8.npy'));
    const crop = { width: 65, height: 49, data: Uint8Array.from(t.data) };
    for (const [w, h] of [[80, 60], [37, 29], [151, 113]]) {
      const ref = readNpy(fixture(`cv2_resize_49x65_to_${w}x${h}.npy`));
      expect(ref.shape).to.deep.equal([h, w, 3]);
      const ours = resizeRgbBilinear(crop, w, h);
      let differing = 0;
      for (let i = 0; i < ref.data.length; i++) if (ours.data[i] !== ref.data[i]) differing++;
      expect(differing, `${w}x${h}: values differing from OpenCV's`).to.equal(0);
    }
  });

  for (const m of [MODELS[0], MODELS[3]]) {
    it(`${m.model}: a 769x769-style file (align corners, slide) resized to fit 160x120, windows of 64 every 43: the labels of the reference`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mmseg-v3plus-slide-'));
      const name = m.model.replace(/^v3(plus)?_/, '').replace(/_c\d+$/, '');
      const path = join(dir, `deeplabv3plus_${name}_769x769_80k_cityscapes.pth`);
      writeFileSync(path, mmsegFile(referenceState(m.model)));
      try {
        const loaded = await loadWeights(path, { testScale: [160, 120] });
        expect(loaded.slide).to.deep.equal({ crop: 769, stride: 513 });
        expect(loaded.config.resizeMode).to.equal('align_corners');
        const model = await DeepLabModel.fromWeights({ ...loaded, slide: { crop: 64, stride: 43 } }, { ctx: await testContext() });
        try {
          const { classes } = await model.segment(image());
          const ref = readNpy(fixture(`${m.model}_seed1_97x129_slide_labels.npy`)).data;
          let same = 0;
          for (let i = 0; i < ref.length; i++) if (classes[i] === ref[i]) same++;
          console.log(`      ${m.model}: ${((100 * same) / ref.length).toFixed(3)} % of the pixels as the reference`);
          expect(same / ref.length).to.be.at.least(0.999);
        } finally {
          model.dispose();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
