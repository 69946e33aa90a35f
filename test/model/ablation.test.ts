// The paper's ablation knobs (cascaded block5..block7, output stride up to 256 with or without
// atrous convolution, multi-grid, ASPP rates, image pooling), `describe`, and the counting
// behind the valid-weights figure (paper Fig. 4).
//
// Expected sizes are computed here from the conv output formula, expected parameter counts from
// the layer shapes, never read back from the code under test.
import { expect } from 'chai';
import { validWeightStats, validWeightsTable } from '../../bench/valid-weights.js';
import { describeCommand } from '../../src/cli/commands/describe.js';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import { type CompiledGraph, compile } from '../../src/graph/compile.js';
import { Program } from '../../src/graph/program.js';
import type { Graph } from '../../src/graph/ir.js';
import type { HostParams } from '../../src/graph/params.js';
import { type DeepLabConfig, paperAsppRates } from '../../src/model/networks/config.js';
import { defaultConfig } from '../../src/model/backbones/config.js';
import { type ModelDescription, describeModel } from '../../src/model/analysis/describe.js';
import { resnetGeometry } from '../../src/model/networks/resnet.js';
import { buildDeepLab } from '../../src/model/backbones/network.js';
import { expectClose, randomArray, testContext, expectThrows } from '../helpers.js';
import { randomParams } from './random-params.js';

/** PyTorch's conv / pool output size. */
function convOut(n: number, k: number, stride: number, pad: number, dilation = 1): number {
  return Math.floor((n + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;
}

/** Map size after the stem: 7x7/2 pad 3, then 3x3/2 max-pool pad 1. */
function afterStem(n: number): number {
  return convOut(convOut(n, 7, 2, 3), 3, 2, 1);
}

/** Map size after a block that strides: its first 3x3 conv, stride 2, pad = rate = 1. */
function strided(n: number): number {
  return convOut(n, 3, 2, 1);
}

/** The paper's setting for the ablations: every unit of a dilated block gets the new rate. */
function paperConfig(backbone: 'resnet50' | 'resnet101', o: Partial<DeepLabConfig>): DeepLabConfig {
  const outputStride = o.outputStride ?? 16;
  return defaultConfig(backbone, { dilationConvention: 'paper', asppRates: paperAsppRates(outputStride), ...o, outputStride });
}

function block(d: ModelDescription, name: string): ModelDescription['blocks'][number] {
  const b = d.blocks.find((x) => x.name === name);
  expect(b, `block ${name} in ${d.blocks.map((x) => x.name).join(',')}`).to.not.equal(undefined);
  return b!;
}

/** Rates of the units' 3x3 convs of backbone stage `layer`, read off the graph. */
function unitRates(g: Graph, layer: number): number[] {
  return g.nodes
    .filter((n) => new RegExp(`^backbone\\.layer${layer}\\.\\d+\\.conv2$`).test(n.name))
    .map((n) => (n.op.type === 'conv2d' ? n.op.attrs.dilationH : NaN));
}

// Parameters of one cascaded block (a replica of block4: three bottleneck units, 2048 in and
// out, planes 512, no projection shortcut): per unit 1x1 2048->512, 3x3 512->512, 1x1 512->2048,
// each conv followed by BN (gamma, beta trainable; running mean, var statistics).
const UNIT_CONV = 2048 * 512 + 3 * 3 * 512 * 512 + 512 * 2048;
const UNIT_BN_CHANNELS = 512 + 512 + 2048;
const REPLICA_TRAINABLE = 3 * (UNIT_CONV + 2 * UNIT_BN_CHANNELS);
const REPLICA_STATISTICS = 3 * 2 * UNIT_BN_CHANNELS;

describe('model: paper ablations (cascaded blocks, output stride, multi-grid, ASPP)', function () {
  this.timeout(300_000);

  describe("the paper's worked examples, checked on the graph", () => {
    it('OS 16 with Multi_Grid (1,2,4): block4 rates 2,4,8 (paper Sec. 3.2)', () => {
      const cfg = paperConfig('resnet101', { outputStride: 16, multiGrid: [1, 2, 4] });
      const g = buildDeepLab(cfg, { height: 513, width: 513 });
      expect(unitRates(g, 4)).to.deep.equal([2, 4, 8]);
      expect(block(describeModel(cfg, 513, 513), 'block4').rates).to.deep.equal([2, 4, 8]);
      // Block3 is untouched at OS 16: rate 1 everywhere, and it still strides.
      expect(unitRates(g, 3).every((r) => r === 1)).to.equal(true);
    });

    it('ASPP rates: 6,12,18 at OS 16, doubled to 12,24,36 at OS 8 (describe applies the rule)', async () => {
      expect(paperAsppRates(16)).to.deep.equal([6, 12, 18]);
      expect(paperAsppRates(8)).to.deep.equal([12, 24, 36]);
      for (const [os, rates] of [[8, [12, 24, 36]], [16, [6, 12, 18]]] as const) {
        let text = '';
        const code = await describeCommand(['--backbone', 'resnet50', '--output-stride', String(os), '--json'], (t) => (text += t));
        expect(code).to.equal(0);
        const d = JSON.parse(text) as ModelDescription;
        expect(d.config.asppRates).to.deep.equal(rates);
        // Read off the graph: the 3x3 branches of ASPP.
        expect(block(d, 'aspp').rates).to.deep.equal(rates);
      }
    });

    it('block5..block7 at OS 16 keep the 33x33 map of a 513 input; their rates keep doubling (x multi-grid)', () => {
      const os16 = strided(strided(afterStem(513))); // 513 -> 257 -> 129 -> 65 -> 33
      expect(os16).to.equal(33);
      for (const blocks of [5, 6, 7] as const) {
        const cfg = paperConfig('resnet50', { outputStride: 16, multiGrid: [1, 2, 4], blocks });
        const d = describeModel(cfg, 513, 513);
        const g = buildDeepLab(cfg, { height: 513, width: 513 });
        for (let k = 4; k <= blocks; k++) {
          const b = block(d, `block${k}`);
          expect(b.output, `block${k}`).to.deep.equal([os16, os16, 2048]);
          expect(b.outputStride).to.equal(16);
          // Block4's rate is 2; each cascaded block doubles it (the stride it no longer takes).
          const rate = 2 ** (k - 3);
          expect(unitRates(g, k), `block${k} rates`).to.deep.equal([1, 2, 4].map((u) => u * rate));
        }
        expect(d.blocks.some((b) => b.name === `block${blocks + 1}`)).to.equal(false);
      }
    });

    it('without atrous convolution every block halves the map: OS 32, 64, 128, 256 with 4..7 blocks', () => {
      for (const blocks of [4, 5, 6, 7] as const) {
        const os = 2 ** (blocks + 1);
        const cfg = paperConfig('resnet50', { atrous: false, blocks, outputStride: os });
        const d = describeModel(cfg, 513, 513);
        let size = strided(afterStem(513)); // block2 output: 65
        for (let k = 3; k <= blocks; k++) {
          size = strided(size);
          const b = block(d, `block${k}`);
          expect(b.output, `OS ${os} block${k}`).to.deep.equal([size, size, k === 3 ? 1024 : 2048]);
          expect(b.outputStride).to.equal(2 ** (k + 1));
        }
        // 513 at OS 256: 257, 129, 65, 33, 17, 9, 5, 3.
        if (os === 256) expect(size).to.equal(3);
        const g = buildDeepLab(cfg, { height: 513, width: 513 });
        const backboneRates = g.nodes.filter((n) => n.name.startsWith('backbone.') && n.op.type === 'conv2d').map((n) => (n.op.type === 'conv2d' ? n.op.attrs.dilationH : 0));
        expect(backboneRates.every((r) => r === 1), `OS ${os}: no atrous conv in the backbone`).to.equal(true);
      }
    });

    it("torchvision's convention carries on into cascaded blocks: a block's first unit keeps the previous rate", () => {
      const g = resnetGeometry({ depth: 50, outputStride: 16, dilationConvention: 'torchvision', multiGrid: [1, 1, 1], blocks: 7 });
      expect(g.map((s) => s.map((u) => u.dilation)).slice(3)).to.deep.equal([
        [1, 2, 2],
        [2, 4, 4],
        [4, 8, 8],
        [8, 16, 16],
      ]);
      expect(g.slice(3).every((s) => s.every((u) => u.stride === 1))).to.equal(true);
    });

    it('bad combinations are refused with the field, the value and the limit', () => {
      expectThrows(() => defaultConfig('resnet50', { blocks: 8 as DeepLabConfig['blocks'] }), /blocks must be 4, 5, 6 or 7.*got 8/);
      expectThrows(() => defaultConfig('resnet50', { outputStride: 64 }), /outputStride must be 8, 16 or 32, got 64 \(resnet50 with 4 blocks; larger strides need cascaded blocks/);
      expectThrows(() => defaultConfig('resnet50', { outputStride: 512, blocks: 7 }), /outputStride must be 8, 16, 32, 64, 128 or 256, got 512/);
      expectThrows(() => defaultConfig('resnet101', { atrous: false, outputStride: 16 }), /outputStride must be 32 without atrous convolution \(4 blocks/);
      expectThrows(() => defaultConfig('resnet101', { atrous: false, blocks: 5, outputStride: 64, multiGrid: [1, 2, 4] }), /multiGrid must be \[1,1,1\] without atrous/);
      expectThrows(() => defaultConfig('mobilenet_v3_large', { blocks: 5 }), /blocks must be 4: cascaded blocks exist for ResNet backbones only/);
    });
  });

  describe('parameter counts', () => {
    const trainable = (g: Graph): number => {
      let n = 0;
      for (const p of g.state) if (!/\.running_(mean|var)$/.test(p.name)) n += p.shape.reduce((a, b) => a * b, 1);
      return n;
    };
    const all = (g: Graph): number => g.state.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);

    it("4 blocks: torchvision's published counts (aux head included); describe agrees with the graph", () => {
      for (const [backbone, count] of [['resnet50', 42004074], ['resnet101', 60996202]] as const) {
        const cfg = defaultConfig(backbone, { aux: true });
        const d = describeModel(cfg, 65, 65);
        expect(d.totals.trainableParams, backbone).to.equal(count);
        const g = buildDeepLab(cfg, { height: 65, width: 65 });
        expect(trainable(g)).to.equal(count);
        expect(d.totals.params).to.equal(all(g));
        expect(d.layers.reduce((a, l) => a + l.params, 0), 'per-layer params sum to the total').to.equal(all(g));
      }
    });

    it('each cascaded block adds exactly the parameters of a block4 replica, at every output stride', () => {
      expect(REPLICA_TRAINABLE).to.equal(13387776);
      for (const backbone of ['resnet50', 'resnet101'] as const) {
        const base = buildDeepLab(paperConfig(backbone, { outputStride: 16 }), { height: 65, width: 65 });
        for (const blocks of [5, 6, 7] as const) {
          const atrous = buildDeepLab(paperConfig(backbone, { outputStride: 16, blocks }), { height: 65, width: 65 });
          const strided = buildDeepLab(paperConfig(backbone, { outputStride: 2 ** (blocks + 1), atrous: false, blocks }), { height: 65, width: 65 });
          const extra = blocks - 4;
          expect(trainable(atrous) - trainable(base), `${backbone} blocks ${blocks}`).to.equal(extra * REPLICA_TRAINABLE);
          expect(all(atrous) - all(base)).to.equal(extra * (REPLICA_TRAINABLE + REPLICA_STATISTICS));
          // One set of weights for every stride: the same names and shapes with or without atrous.
          const sig = (g: Graph): string[] => g.state.map((p) => `${p.name}:${p.shape.join('x')}`).sort();
          expect(sig(strided)).to.deep.equal(sig(atrous));
        }
      }
      const g = buildDeepLab(paperConfig('resnet50', { outputStride: 64, atrous: false, blocks: 5 }), { height: 65, width: 65 });
      const shapes = new Map(g.state.map((p) => [p.name, p.shape]));
      expect(shapes.get('backbone.layer5.0.conv1.weight')).to.deep.equal([1, 1, 2048, 512]);
      expect(shapes.get('backbone.layer5.2.conv2.weight')).to.deep.equal([3, 3, 512, 512]);
      expect([...shapes.keys()].some((k) => k.startsWith('backbone.layer5.0.downsample'))).to.equal(false);
      // The strided shortcut only subsamples.
      expect(g.nodes.find((n) => n.name === 'backbone.layer5.0.subsample')?.op.type).to.equal('pool2d');
    });
  });

  describe('FLOPs', () => {
    it('a layer by hand: the stem conv at 520x520', () => {
      const d = describeModel(defaultConfig('resnet50'), 520, 520);
      const stem = d.layers.find((l) => l.name === 'backbone.conv1')!;
      const oh = convOut(520, 7, 2, 3);
      expect(stem.output).to.deep.equal([oh, oh, 64]);
      expect(stem.macs).to.equal(oh * oh * 64 * 7 * 7 * 3);
      expect(stem.flops).to.equal(2 * stem.macs);
      expect(d.totals.convFlops).to.equal(2 * d.totals.macs);
      expect(d.totals.flops).to.equal(d.totals.convFlops + d.totals.otherFlops);
    });

    it("torchvision's published cost at 520x520 (178.7 / 258.7 G) is the MAC count of the model with its aux head", () => {
      // torchvision's weight metadata: deeplabv3_resnet50 "GFLOPS" 178.722, _resnet101 258.743.
      for (const [backbone, published] of [['resnet50', 178.722], ['resnet101', 258.743]] as const) {
        const withAux = describeModel(defaultConfig(backbone, { aux: true }), 520, 520).totals;
        const noAux = describeModel(defaultConfig(backbone), 520, 520).totals;
        console.log(
          `      ${backbone} @520x520: ${(withAux.macs / 1e9).toFixed(3)} GMACs with aux (${(noAux.macs / 1e9).toFixed(3)} without), ` +
            `${(withAux.convFlops / 1e9).toFixed(3)} conv GFLOPs, ${(withAux.otherFlops / 1e9).toFixed(3)} other GFLOPs; published ${published}`,
        );
        expect(Math.abs(withAux.macs / 1e9 - published) / published, backbone).to.be.lessThan(1e-3);
      }
    });
  });

  describe('every configuration runs on the GPU (random weights, 65x65) @slow', () => {
    const H = 65;
    const W = 65;

    const cases: { what: string; cfg: () => DeepLabConfig; features: number; cpu?: boolean }[] = [
      // 65 -> 33 -> 17 (stem), 9 (block2), 5 (block3) = OS 16 map; 3, 2, 1, 1 for OS 32..256.
      { what: 'block4, OS 16, MG (1,2,4), ASPP 6,12,18,24', cfg: () => paperConfig('resnet50', { multiGrid: [1, 2, 4], asppRates: [6, 12, 18, 24] }), features: 5 },
      { what: 'block5, OS 16, no image pooling', cfg: () => paperConfig('resnet50', { blocks: 5, imagePooling: false }), features: 5, cpu: true },
      { what: 'block6, OS 16, MG (1,2,4)', cfg: () => paperConfig('resnet50', { blocks: 6, multiGrid: [1, 2, 4] }), features: 5 },
      { what: 'block7, OS 16, MG (1,2,4), ASPP 6,12,18,24', cfg: () => paperConfig('resnet50', { blocks: 7, multiGrid: [1, 2, 4], asppRates: [6, 12, 18, 24] }), features: 5 },
      { what: 'OS 32 without atrous (4 blocks)', cfg: () => paperConfig('resnet50', { outputStride: 32, atrous: false }), features: 3 },
      { what: 'OS 64 without atrous (5 blocks)', cfg: () => paperConfig('resnet50', { outputStride: 64, atrous: false, blocks: 5 }), features: 2 },
      { what: 'OS 128 without atrous (6 blocks)', cfg: () => paperConfig('resnet50', { outputStride: 128, atrous: false, blocks: 6 }), features: 1 },
      { what: 'OS 256 without atrous (7 blocks), ResNet-101', cfg: () => paperConfig('resnet101', { outputStride: 256, atrous: false, blocks: 7 }), features: 1, cpu: true },
    ];

    // The configurations without a CPU reference but block4's are the extended tier's (docs/testing.md):
    // their blocks, rates and strides are the shape checks' above and the referenced cases'.
    for (const c of cases) {
      const tier = c.cpu || c.what.startsWith('block4') ? '' : ' @extended';
      it(`${c.what}: finite logits of the right shape${c.cpu ? ', equal to the CPU reference, folded and fused too' : ''}${tier}`, async function () {
        const ctx = await testContext();
        const cfg = c.cfg();
        const graph = buildDeepLab(cfg, { height: H, width: W }, { extraOutputs: true });
        expect(graph.outputs.get('features')!.shape, 'features the head reads').to.deep.equal([1, c.features, c.features, 2048]);
        const params = randomParams(graph);
        const image = randomArray(H * W * 3);
        const t0 = performance.now();
        const runGpu = async (g: Graph | CompiledGraph, p: HostParams): Promise<Map<string, Float32Array | Uint32Array>> => {
          const exec = await Program.create(ctx, g, p, c.what);
          try {
            return await exec.run({ image });
          } finally {
            exec.dispose();
          }
        };
        const out = await runGpu(graph, params);
        const seconds = (performance.now() - t0) / 1000;
        const logits = out.get('logits') as Float32Array;
        expect(logits.length).to.equal(H * W * cfg.numClasses);
        expect(graph.outputs.get('logits')!.shape).to.deep.equal([1, H, W, cfg.numClasses]);
        const bad = logits.findIndex((v) => !Number.isFinite(v));
        expect(bad, `first non-finite logit at ${bad}`).to.equal(-1);
        expect(logits.some((v) => v !== logits[0]), 'logits vary').to.equal(true);
        let note = `GPU ${seconds.toFixed(1)} s`;
        if (c.cpu) {
          const t1 = performance.now();
          const ref = runGraphCpu(graph, params, { image });
          note += `, CPU reference ${((performance.now() - t1) / 1000).toFixed(1)} s`;
          expectClose(logits, ref.get('logits')!, `${c.what}: logits`);
          expectClose(out.get('features')!, ref.get('features')!, `${c.what}: features`);
          // The inference path (model.ts): BN folded, epilogues fused, shortcuts included.
          const fast = await runGpu(compile(graph, { mode: 'inference' }), params);
          expectClose(fast.get('logits')!, ref.get('logits')!, `${c.what}: folded + fused logits`);
        }
        console.log(`      (${note})`);
      });
    }
  });

  describe('describe (library and command)', () => {
    it('the block summary and totals of the paper\'s Table 3 network; per-block sums equal the totals', async () => {
      let text = '';
      const argv = ['--backbone', 'resnet101', '--output-stride', '16', '--multi-grid', '1,2,4', '--blocks', '7', '--json'];
      expect(await describeCommand(argv, (t) => (text += t))).to.equal(0);
      const d = JSON.parse(text) as ModelDescription;
      expect(d.config).to.include({ backbone: 'resnet101', outputStride: 16, blocks: 7, atrous: true, imagePooling: true });
      expect(d.blocks.map((b) => b.name)).to.deep.equal(['stem', 'block1', 'block2', 'block3', 'block4', 'block5', 'block6', 'block7', 'aspp', 'head', 'upsample']);
      expect(block(d, 'block7').rates).to.deep.equal([16, 32, 64]);
      expect(block(d, 'block3').rates).to.deep.equal(new Array(23).fill(1));
      expect(d.blocks.reduce((a, b) => a + b.params, 0)).to.equal(d.totals.params);
      expect(d.blocks.reduce((a, b) => a + b.macs, 0)).to.equal(d.totals.macs);
      expect(d.blocks.reduce((a, b) => a + b.layers, 0)).to.equal(d.layers.length);
      // The text form: summary rows and totals; --layers adds every layer.
      let summary = '';
      expect(await describeCommand(argv.slice(0, -1), (t) => (summary += t))).to.equal(0);
      expect(summary).to.match(/^block7\s+21\s+16\s+16,32,64\s+33x33x2048\s+13\.406\s/m);
      expect(summary).to.match(/Totals: 324 layers/);
      expect(summary).to.not.match(/backbone\.layer7\.2\.conv2/);
      let layers = '';
      expect(await describeCommand([...argv.slice(0, -1), '--layers'], (t) => (layers += t))).to.equal(0);
      expect(layers).to.match(/^backbone\.layer7\.2\.conv2\s+conv2d\s+3x3\s+1\s+64\s+33x33x512\s+2359296\s/m);
    });

    it('--no-atrous with --output-stride 256 implies 7 blocks; usage errors exit 2 with a message', async () => {
      let text = '';
      expect(await describeCommand(['--backbone', 'resnet50', '--no-atrous', '--output-stride', '256', '--input', '513', '--json'], (t) => (text += t))).to.equal(0);
      const d = JSON.parse(text) as ModelDescription;
      expect(d.config).to.include({ blocks: 7, atrous: false, outputStride: 256 });
      expect(block(d, 'block7').output).to.deep.equal([3, 3, 2048]);
      const errors: string[] = [];
      const fail = async (argv: string[]): Promise<string> => {
        errors.length = 0;
        expect(await describeCommand(argv, () => undefined, (t) => errors.push(t)), argv.join(' ')).to.equal(2);
        return errors.join('');
      };
      expect(await fail(['--blocks', '4', '--output-stride', '64'])).to.match(/outputStride must be 8, 16 or 32, got 64/);
      expect(await fail(['--blocks', '9'])).to.match(/blocks must be 4, 5, 6 or 7/);
      expect(await fail(['--multi-grid', '1,2'])).to.match(/multiGrid/);
      expect(await fail(['--input', '513by513'])).to.match(/--input: '513by513' is not WIDTHxHEIGHT/);
      expect(await fail(['--layer'])).to.match(/unknown option '--layer'.*did you mean --layers/);
      let help = '';
      expect(await describeCommand(['--help'], (t) => (help += t))).to.equal(0);
      expect(help).to.match(/--no-atrous/).and.match(/--aspp-rates LIST/);
    });
  });

  describe('valid weights of a 3x3 atrous filter (paper Fig. 4)', () => {
    it('5x5 map, rate 2, by hand: per axis 2,2,3,2,2 valid taps', () => {
      // Rows and columns are independent: a position's count is (valid rows) x (valid cols).
      // Per axis, position i has taps i-2, i, i+2 inside [0,4]: 2,2,3,2,2. So 9 valid only at
      // the centre (1 position), 6 on the centre row/column (8), 4 elsewhere (16).
      const s = validWeightStats(5, 2);
      const expected = new Array(10).fill(0);
      expected[9] = 1 / 25;
      expected[6] = 8 / 25;
      expected[4] = 16 / 25;
      expect(s.histogram).to.deep.equal(expected);
      expect(s.meanNormalized).to.be.closeTo(121 / 225, 1e-12); // (9 + 8*6 + 16*4) / (25*9)
    });

    it('rate 1 on 3x3: corners 4, edges 6, centre 9; a rate reaching the map leaves only the centre tap', () => {
      const s = validWeightStats(3, 1);
      expect([s.histogram[4], s.histogram[6], s.histogram[9]]).to.deep.equal([4 / 9, 4 / 9, 1 / 9]);
      for (const rate of [5, 6, 40]) expect(validWeightStats(5, rate).histogram[1]).to.equal(1);
      expectThrows(() => validWeightStats(5, 0), /rate must be a positive integer, got 0/);
    });

    it("65x65, the figure's ends: rate 1 has 9 valid on the 63x63 interior, rate 64 only the centre there", () => {
      const rows = validWeightsTable(65, 64);
      expect(rows.length).to.equal(64);
      expect(rows[0].nine).to.be.closeTo((63 * 63) / (65 * 65), 1e-12);
      expect(rows[0].four).to.be.closeTo(4 / (65 * 65), 1e-12);
      expect(rows[63].one).to.be.closeTo((63 * 63) / (65 * 65), 1e-12);
      for (const r of rows) expect(r.histogram.reduce((a, b) => a + b, 0)).to.be.closeTo(1, 1e-12);
    });
  });
});
