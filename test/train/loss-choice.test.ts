import { expect } from 'chai';
import { TRAINING_LOSSES, lossTerms } from '../../src/train/loss-choice.js';
import { buildTrainingGraphs } from '../../src/train/training-graph.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { expectThrows } from '../helpers.js';

/** A one-conv network: logits [1, 4, 4, classes]. */
function tinyNetwork(classes: number) {
  const b = new GraphBuilder();
  const x = b.input('image', [1, 4, 4, 3]);
  const w = b.param('head.weight', [1, 1, 3, classes]);
  b.output('logits', b.conv2d('head', x, w));
  return b.build();
}

describe('training losses: --loss ce|bce|dice|ce+dice|bce+dice', () => {
  it('the terms of each choice; cross-entropy by default', () => {
    expect(lossTerms(undefined, false)).to.deep.equal({ crossEntropy: true, dice: false });
    expect(lossTerms('dice', false)).to.deep.equal({ crossEntropy: false, dice: true });
    expect(lossTerms('ce+dice', false)).to.deep.equal({ crossEntropy: true, dice: true });
    expect(lossTerms('bce', true)).to.deep.equal({ crossEntropy: true, dice: false });
    expect(lossTerms('bce+dice', true)).to.deep.equal({ crossEntropy: true, dice: true });
    expect(TRAINING_LOSSES).to.have.length(5);
  });

  it('refuses an unknown loss naming the choices, and BCE on a model of several classes', () => {
    expectThrows(() => lossTerms('focal', false), /loss must be one of ce, bce, dice, ce\+dice, bce\+dice, got 'focal'/);
    expectThrows(() => lossTerms('bce+dice', false), /loss 'bce\+dice': BCE is a binary model's loss .* use 'ce\+dice'/);
  });

  it('the training graph holds one loss node per term, their gradients summed into one seed', () => {
    const count = (g: { nodes: readonly { op: { type: string } }[] }, type: string) => g.nodes.filter((n) => n.op.type === type).length;
    const both = buildTrainingGraphs(tinyNetwork(3), { ignoreIndex: 255, terms: { crossEntropy: true, dice: true } }, () => ({ lrScale: 1 })).step;
    expect([count(both, 'softmax_cross_entropy'), count(both, 'softmax_dice')]).to.deep.equal([1, 1]);
    const dice = buildTrainingGraphs(tinyNetwork(3), { ignoreIndex: 255, terms: { crossEntropy: false, dice: true } }, () => ({ lrScale: 1 })).step;
    expect([count(dice, 'softmax_cross_entropy'), count(dice, 'softmax_dice')]).to.deep.equal([0, 1]);
    expectThrows(() => buildTrainingGraphs(tinyNetwork(3), { ignoreIndex: 255, terms: { crossEntropy: false, dice: true }, hardFraction: 0.5 }, () => ({ lrScale: 1 })), /class weights and hard-pixel mining weigh the cross-entropy/);
  });
});
