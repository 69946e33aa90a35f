// The training-step profile (bench part profile) tells forward, loss, backward and gradient
// accumulation apart by the names autograd and the training graph give their nodes: every node
// of a real step graph must land in the phase its op says.
import { expect } from 'chai';
import { stepPhase } from '../../bench/train.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { buildTrainingGraphs, trainingBatchNorms } from '../../src/train/training-graph.js';

describe('bench: training-step phases by layer name', () => {
  it('puts every node of a step graph in its phase', () => {
    const g = new GraphBuilder();
    const x = g.input('image', [2, 5, 5, 3]);
    let y = g.conv2d('conv', x, g.param('conv.w', [3, 3, 3, 4]), { padding: 1 });
    y = g.batchNorm('bn', y, { gamma: g.param('bn.gamma', [4]), beta: g.param('bn.beta', [4]), mean: g.statistic('bn.mean', [4]), variance: g.statistic('bn.var', [4]) });
    y = g.activation('relu', y, 'relu');
    g.output('logits', g.conv2d('classifier', y, g.param('classifier.w', [1, 1, 4, 3]), { bias: g.param('classifier.b', [3]) }));
    const { step } = buildTrainingGraphs(trainingBatchNorms(g.build()), { ignoreIndex: 255, microBatches: 2 }, () => ({}));
    const phases = step.nodes.map((n) => [n.op.type, stepPhase(n.name)] as const);
    for (const [type, phase] of phases) {
      const expected = type === 'accumulate' ? 'accumulate' : type === 'softmax_cross_entropy' ? 'loss' : type.includes('grad') ? 'backward' : null;
      if (expected) expect(phase, type).to.equal(expected);
      else expect(phase, type).to.be.oneOf(['forward', 'backward']);
    }
    expect(new Set(phases.map(([, p]) => p))).to.deep.equal(new Set(['forward', 'loss', 'backward', 'accumulate']));
    // The forward layers are the network's own.
    expect(step.nodes.filter((n) => stepPhase(n.name) === 'forward').map((n) => n.name)).to.deep.equal(['conv', 'bn', 'relu', 'classifier']);
  });
});
