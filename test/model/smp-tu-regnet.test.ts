// smp's tu-regnetx_*/tu-regnety_* encoders (002..032; smp's old timm-regnet* names build the same)
// as graphs, without a fixture: the encoder's state dict and every conv's geometry are derived here
// from the module structure of timm's regnet.py (RegNet, RegStage, Bottleneck, create_shortcut,
// SEModule, ConvNormAct) with timm's output_stride rule, and the graph must declare exactly that;
// the derivation itself is checked against timm's published parameter counts. The device program
// against the CPU interpreter; the training graph reaching every parameter; smp's key renaming of
// old timm-regnet files.
import { expect } from 'chai';
import { rmSync } from 'node:fs';
import type { Graph } from '../../src/graph/ir.js';
import { SMP_ENCODERS } from '../../src/model/backbones/smp-encoders.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { encoderTraining, expectEncoderAsCpu } from './smp-encoder-run.js';
import { derivedEncoderFolder, encoderGraph } from './smp-fixture.js';
import type { TorchConv } from './float64-maps.js';

/** regnet.py's model_cfgs: w0, wa, wm, group_size, depth; se_ratio 0.25 for RegNetY. */
const CFGS: Record<string, [number, number, number, number, number]> = {
  regnetx_002: [24, 36.44, 2.49, 8, 13],
  regnetx_004: [24, 24.48, 2.54, 16, 22],
  regnetx_006: [48, 36.97, 2.24, 24, 16],
  regnetx_008: [56, 35.73, 2.28, 16, 16],
  regnetx_016: [80, 34.01, 2.25, 24, 18],
  regnetx_032: [88, 26.31, 2.25, 48, 25],
  regnety_002: [24, 36.44, 2.49, 8, 13],
  regnety_004: [48, 27.89, 2.09, 8, 16],
  regnety_006: [48, 32.54, 2.32, 16, 15],
  regnety_008: [56, 38.84, 2.4, 16, 14],
  regnety_016: [48, 20.71, 2.65, 24, 27],
  regnety_032: [80, 42.63, 2.66, 24, 21],
};

/** timm's published ImageNet parameter counts (results/results-imagenet.csv, millions; the 1000-class head included). */
const PUBLISHED: Record<string, number> = {
  regnetx_002: 2.68,
  regnetx_004: 5.16,
  regnetx_006: 6.2,
  regnetx_008: 7.26,
  regnetx_016: 9.19,
  regnetx_032: 15.3,
  regnety_002: 3.16,
  regnety_004: 4.34,
  regnety_006: 6.06,
  regnety_008: 6.26,
  regnety_016: 11.2,
  regnety_032: 19.44,
};

/** Python's round (halves to even). */
function pyRound(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
}

/** timm's get_padding for create_conv2d's default padding: ((stride - 1) + dilation * (k - 1)) // 2. */
const getPadding = (k: number, stride: number, dilation: number) => Math.floor((stride - 1 + dilation * (k - 1)) / 2);

/** The state dict (torch shapes) and convs of timm's RegNet(cfg, output_stride) as features_only keeps it (head optional). */
function timmRegNet(name: string, outputStride: number, withHead = false): { state: Map<string, number[]>; convs: Map<string, TorchConv>; channels: number[] } {
  const [w0, wa, wm, groupSize, depth] = CFGS[name];
  const seRatio = name.startsWith('regnety') ? 0.25 : 0;
  const state = new Map<string, number[]>();
  const convs = new Map<string, TorchConv>();
  const convNormAct = (m: string, cin: number, cout: number, k: number, stride = 1, dilation = 1, groups = 1) => {
    convs.set(`${m}.conv`, { cin, cout, k, stride, padding: getPadding(k, stride, dilation), dilation, groups });
    state.set(`${m}.conv.weight`, [cout, cin / groups, k, k]);
    for (const t of ['weight', 'bias', 'running_mean', 'running_var']) state.set(`${m}.bn.${t}`, [cout]);
    state.set(`${m}.bn.num_batches_tracked`, []);
  };
  // generate_regnet (quant 8), np.unique, adjust_widths_groups_comp (bottle_ratio 1).
  const widths = Array.from({ length: depth }, (_, i) => {
    const exp = pyRound(Math.log((i * wa + w0) / w0) / Math.log(wm));
    return pyRound((w0 * wm ** exp) / 8) * 8;
  });
  const stageWidths = [...new Set(widths)].sort((a, b) => a - b);
  const stageDepths = stageWidths.map((w) => widths.filter((v) => v === w).length);
  const stageGs = stageWidths.map((w) => Math.min(groupSize, w));
  const stageOut = stageWidths.map((w, s) => pyRound(w / stageGs[s]) * stageGs[s]);
  convNormAct('stem', 3, 32, 3, 2);
  const channels = [32];
  let netStride = 2;
  let dilation = 1;
  let prev = 32;
  stageOut.forEach((out, s) => {
    let stride = 2;
    if (netStride >= outputStride) {
      dilation *= 2;
      stride = 1;
    } else netStride *= stride;
    // RegStage.
    let firstDilation = dilation === 1 || dilation === 2 ? 1 : 2;
    for (let i = 0; i < stageDepths[s]; i++) {
      const m = `s${s + 1}.b${i + 1}`;
      const cin = i === 0 ? prev : out;
      const blockStride = i === 0 ? stride : 1;
      const blockDilation = [firstDilation, dilation];
      // Bottleneck: bottleneck_chs = out, groups = out // group_size.
      convNormAct(`${m}.conv1`, cin, out, 1);
      convNormAct(`${m}.conv2`, out, out, 3, blockStride, blockDilation[0], Math.floor(out / stageGs[s]));
      if (seRatio) {
        const rd = pyRound(cin * seRatio);
        state.set(`${m}.se.fc1.weight`, [rd, out, 1, 1]);
        state.set(`${m}.se.fc1.bias`, [rd]);
        state.set(`${m}.se.fc2.weight`, [out, rd, 1, 1]);
        state.set(`${m}.se.fc2.bias`, [out]);
        convs.set(`${m}.se.fc1`, { cin: out, cout: rd, k: 1, stride: 1, padding: 0, dilation: 1, groups: 1 });
        convs.set(`${m}.se.fc2`, { cin: rd, cout: out, k: 1, stride: 1, padding: 0, dilation: 1, groups: 1 });
      }
      convNormAct(`${m}.conv3`, out, out, 1);
      // create_shortcut('conv1x1', ...): downsample_conv's kernel 1, dilation 1.
      if (cin !== out || blockStride !== 1 || blockDilation[0] !== blockDilation[1]) convNormAct(`${m}.downsample`, cin, out, 1, blockStride);
      firstDilation = dilation;
    }
    prev = out;
    channels.push(out);
  });
  if (withHead) {
    state.set('head.fc.weight', [1000, prev]);
    state.set('head.fc.bias', [1000]);
  }
  return { state, convs, channels };
}

const numel = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);

/** Our state's shapes in torch's layout: conv weights HWIO -> OIHW, the rest as they are. */
function torchShapes(graph: Graph): Map<string, number[]> {
  return new Map(graph.state.map((v) => [v.name, v.shape.length === 4 ? [v.shape[3], v.shape[2], v.shape[0], v.shape[1]] : [...v.shape]]));
}

const P = 'encoder.model.';

describe('smp tu-regnet encoders (graph)', () => {
  for (const [name, millions] of Object.entries(PUBLISHED)) {
    it(`the derivation of timm's modules gives timm's ${name} its published ${millions} M parameters`, () => {
      const { state } = timmRegNet(name, 32, true);
      const params = [...state].filter(([k]) => !/running_(mean|var)$|num_batches_tracked$/.test(k)).reduce((n, [, s]) => n + numel(s), 0);
      expect((params / 1e6).toFixed(2)).to.equal(millions.toFixed(2));
    });
  }

  for (const name of Object.keys(CFGS)) {
    const smpName = `tu-${name}`;
    it(`${smpName}: exactly the state-dict entries of timm's features_only model (counters aside), at torch's shapes, and its convs at OS 32, 16, 8`, () => {
      const want = new Map([...timmRegNet(name, 32).state].filter(([k]) => !k.endsWith('.num_batches_tracked')).map(([k, s]) => [P + k, s]));
      const ours = torchShapes(encoderGraph(smpName, { outputStride: 32, depth: 5 }).graph);
      expect([...ours.keys()].sort()).to.deep.equal([...want.keys()].sort());
      for (const [k, s] of want) expect(ours.get(k), k).to.deep.equal(s);
      for (const os of [32, 16, 8]) {
        const t = timmRegNet(name, os);
        const convs = encoderGraph(smpName, { outputStride: os, depth: 5 }).graph.nodes.filter((n) => n.op.type === 'conv2d');
        expect(convs.map((n) => n.name).sort(), `OS ${os}`).to.deep.equal([...t.convs.keys()].map((k) => P + k).sort());
        for (const n of convs) {
          if (n.op.type !== 'conv2d') continue;
          const c = t.convs.get(n.name.slice(P.length))!;
          const a = n.op.attrs;
          const got = [n.op.weight.shape, a.strideH, a.strideW, a.padTop, a.padBottom, a.padLeft, a.padRight, a.dilationH, a.dilationW, a.groups];
          const expected = [[c.k, c.k, c.cin / c.groups, c.cout], c.stride, c.stride, c.padding, c.padding, c.padding, c.padding, c.dilation, c.dilation, c.groups];
          expect(got, `OS ${os} ${n.name}`).to.deep.equal(expected);
        }
      }
    });

    it(`${smpName}: feature_info's channels at /2../32 at OS 32, 16 and 8, and the first three at depth 3`, () => {
      const channels = timmRegNet(name, 32).channels;
      for (const [os, sides] of [
        [32, [32, 16, 8, 4, 2]],
        [16, [32, 16, 8, 4, 4]],
        [8, [32, 16, 8, 8, 8]],
      ] as const) {
        expect(encoderGraph(smpName, { outputStride: os, depth: 5 }).features, `OS ${os}`).to.deep.equal(channels.map((c, i) => [1, sides[i], sides[i], c]));
      }
      expect(encoderGraph(smpName, { outputStride: 16, depth: 3 }).features.map((s) => s[3])).to.deep.equal(channels.slice(0, 3));
    });
  }

  it("timm's output_stride dilations: a stage dilated to 2 keeps dilation 1 in its first block's conv2, one dilated to 4 takes 2 there", () => {
    // regnetx_004's s3 has 7 blocks, s4 12: at OS 8, s3 runs at 2 (b1: 1), s4 at 4 (b1: 2).
    const dil = (os: number, conv: string) => {
      const n = encoderGraph('tu-regnetx_004', { outputStride: os, depth: 5 }).graph.nodes.find((m) => m.name === `${P}${conv}.conv2.conv`)!;
      return n.op.type === 'conv2d' ? [n.op.attrs.strideH, n.op.attrs.dilationH] : [];
    };
    expect([dil(16, 's3.b1'), dil(16, 's4.b1'), dil(16, 's4.b2')]).to.deep.equal([[2, 1], [1, 1], [1, 2]]);
    expect([dil(8, 's3.b1'), dil(8, 's3.b2'), dil(8, 's4.b1'), dil(8, 's4.b2')]).to.deep.equal([[1, 1], [1, 2], [1, 2], [1, 4]]);
  });

  it("smp's old timm-regnet* names build the same encoder, and old files' encoder.X keys move to encoder.model.X", () => {
    for (const name of Object.keys(CFGS)) expect(SMP_ENCODERS[`timm-${name}`]).to.equal(SMP_ENCODERS[`tu-${name}`]);
    const key = SMP_ENCODERS['timm-regnety_002'].fileKey!;
    expect(['encoder.s1.b1.se.fc1.weight', 'encoder.model.stem.conv.weight', 'decoder.aspp.0.0.weight'].map(key)).to.deep.equal([
      'encoder.model.s1.b1.se.fc1.weight',
      'encoder.model.stem.conv.weight',
      'decoder.aspp.0.0.weight',
    ]);
  });

  it('tu-regnety_002 (64x64, OS 8) on the device, compiled for inference, equals the CPU interpreter', async () => {
    await expectEncoderAsCpu('tu-regnety_002', 8);
  });

  it('tu-regnety_002 trains as built: every encoder parameter (the SE gates too) gets a gradient', () => {
    const { encoder, withoutGradient } = encoderTraining('tu-regnety_002');
    expect(encoder).to.include('encoder.model.s4.b7.se.fc2.weight');
    expect(withoutGradient).to.deep.equal([]);
  });

  it("an smp folder of timm-regnety_002 written with the old encoder.X keys (resnet34's decoder, its input widths to regnety_002's 368 and 24) loads: every tensor read under encoder.model.", async () => {
    const derived = [...timmRegNet('regnety_002', 16).state].map(([k, s]): [string, number[]] => [`encoder.${k}`, s]);
    // The ASPP branches read the /32 feature (512 -> 368), block1 the /4 one (64 -> 24).
    const { dir, state } = derivedEncoderFolder('deeplabv3plus-resnet34', 'timm-regnety_002', derived, (name, s) => {
      if (/^decoder\.aspp\.0\.convs\.(\d\.0|4\.1)\.weight$/.test(name)) s[1] = 368;
      if (name === 'decoder.block1.0.weight') s[1] = 24;
      return s;
    });
    try {
      const w = await loadWeights(dir);
      const counters = [...state.keys()].filter((k) => k.endsWith('.num_batches_tracked'));
      expect(w.params.size + counters.length).to.equal(state.size);
      expect(w.params.has('encoder.model.s4.b7.se.fc2.weight')).to.equal(true);
      expect([...w.params.keys()].filter((k) => k.startsWith('encoder.') && !k.startsWith('encoder.model.'))).to.deep.equal([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
