// A loaded model's network is built once per load: loadedNetwork hands out the graph it built
// last for the same size and options, each loader checks the weights on the graph at the probe
// network size, and a model's session and first program ask for that same graph.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder } from '../../src/graph/builder.js';
import type { Graph } from '../../src/graph/ir.js';
import { type LoadedWeights, checkedWeights, loadedNetwork, probeNetworkSize } from '../../src/model/loading/loaded-weights.js';
import { loadWeights, saveCheckpoint } from '../../src/model/loading/load-weights.js';
import { DeepLabModel } from '../../src/model/model.js';
import { defaultConfig } from '../../src/model/backbones/config.js';
import { adaptWeights } from '../../src/train/adapt.js';
import { expectThrows, testContext } from '../helpers.js';
import { sharedPath } from '../shared.js';

const MNV3_RANDOM = sharedPath('fixtures', 'torchvision', 'deeplabv3_mobilenet_v3_large_random.pth');
const MOBILEVIT = sharedPath('fixtures', 'hf', 'deeplabv3-mobilevit-xx-small');

describe('model: the network built once per load', function () {
  this.timeout(120_000);

  it('hands out the graph built last for the same size and options, and builds afresh for others', () => {
    const { buildGraph } = loadedNetwork(defaultConfig('mobilenet_v3_large'));
    const a = buildGraph({ height: 33, width: 41 });
    expect(buildGraph({ batch: 1, height: 33, width: 41 }), 'batch 1 is the default').to.equal(a);
    const training = buildGraph({ height: 33, width: 41 }, { training: true });
    expect(training).to.not.equal(a);
    expect(training.nodes.some((n) => n.op.type === 'dropout'), 'dropout in the training graph').to.equal(true);
    expect(a.nodes.some((n) => n.op.type === 'dropout'), 'no dropout in the inference graph').to.equal(false);
    const b = buildGraph({ height: 33, width: 41 });
    expect(b, 'only the last graph is kept').to.not.equal(a);
    expect(b.nodes.length).to.equal(a.nodes.length);
    expect(buildGraph({ batch: 2, height: 33, width: 41 }).inputs[0].shape).to.deep.equal([2, 33, 41, 3]);
    expect(buildGraph({ height: 41, width: 33 }).inputs[0].shape).to.deep.equal([1, 41, 33, 3]);
  });

  it("the probe network size is the input policy's for the probe size; weights that do not fit it are refused, named", async () => {
    const w = await loadWeights(MOBILEVIT);
    expect(probeNetworkSize(w)).to.deep.equal({ height: 512, width: 512 });
    const stem = 'mobilevit.conv_stem.convolution.weight';
    const params = new Map(w.params);
    params.delete(stem);
    expectThrows(() => checkedWeights({ ...w, params }, 'hub folder'), /^hub folder: [\s\S]*missing \(1\): mobilevit\.conv_stem\.convolution\.weight/);
  });

  /** What `f` returns, and how many graphs were built (GraphBuilder.build) while it ran. */
  function counted<T>(f: () => T): { value: T; built: number } {
    const build = GraphBuilder.prototype.build;
    let built = 0;
    GraphBuilder.prototype.build = function (this: GraphBuilder) {
      built++;
      return build.call(this);
    };
    try {
      return { value: f(), built };
    } finally {
      GraphBuilder.prototype.build = build;
    }
  }

  it('every loader leaves the graph at the probe network size built: asking for it builds nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loaded-network-'));
    try {
      const tflite = await loadWeights('mobilenetv2-pascal-257');
      const checkpoint = join(dir, 'mnv3.safetensors');
      saveCheckpoint(checkpoint, await loadWeights(MNV3_RANDOM, { shortSide: 81 }));
      const loaded: [string, LoadedWeights][] = [
        ['TF Lite', tflite],
        ['torchvision .pth', await loadWeights(MNV3_RANDOM, { shortSide: 81 })],
        ['hub folder', await loadWeights(MOBILEVIT)],
        ['our checkpoint', await loadWeights(checkpoint)],
        ['adapted to new classes', adaptWeights(tflite, { classes: { names: ['a', 'b'], colors: [[0, 0, 0], [1, 1, 1]] }, seed: 1 }).weights],
      ];
      for (const [what, w] of loaded) expect(counted(() => w.buildGraph(probeNetworkSize(w))).built, what).to.equal(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const [what, source, opts] of [
    ['a torchvision .pth', MNV3_RANDOM, { shortSide: 81 }],
    ['a TF Lite file', 'mobilenetv2-pascal-257', {}],
  ] as const) {
    it(`${what}: the model's session and first program use the graph the loader checked`, async () => {
      const w = await loadWeights(source, opts);
      const { value: checked, built } = counted(() => w.buildGraph(probeNetworkSize(w)));
      expect(built, 'graphs built after the load').to.equal(0);
      const asked = new Set<Graph>();
      const watched: LoadedWeights = {
        ...w,
        buildGraph: (size, o) => {
          const g = w.buildGraph(size, o);
          asked.add(g);
          return g;
        },
      };
      const model = await DeepLabModel.fromWeights(watched, { ctx: await testContext() });
      try {
        expect(asked.size, 'graphs asked for').to.equal(1);
        expect([...asked][0]).to.equal(checked);
      } finally {
        model.dispose();
      }
    });
  }
});
