// The tuner's rule for choosing among one layer's timed candidates (src/graph/tune.ts,
// timeCandidates), on stand-in timings: no GPU. The fastest challenger is timed again beside the
// default and must keep a lead of 5 %; where the budget leaves no time for that, it must have won
// by twice that margin in its one timing. Which path runs depends on the time left: the stand-in
// bench keeps a clock of its own, which each timing moves on by its cost (50 ms a timing against
// a budget of 120 ms), so the host's speed decides nothing.
import { expect } from 'chai';
import { timeCandidates } from '../../src/graph/tune.js';

/** Each candidate's timings in turn (the last repeats), each moving the bench's clock on by `costMs`, and its error for the accuracy check; `calls` records the order. */
function standInBench(timings: Record<string, number[]>, costMs: number, errors: Record<string, number> = {}) {
  const calls: string[] = [];
  const seen = new Map<string, number>();
  let clock = 0;
  return {
    calls,
    now: () => clock,
    async time(c: { name: string }): Promise<number> {
      calls.push(c.name);
      const i = seen.get(c.name) ?? 0;
      seen.set(c.name, i + 1);
      clock += costMs;
      const list = timings[c.name];
      return list[Math.min(i, list.length - 1)];
    },
    async error(c: { name: string }): Promise<number | null> {
      return errors[c.name] ?? null;
    },
  };
}

const layer = { candidates: ['default', 'challenger'].map((name) => ({ name, prepare: () => [] })) };
/** The default's first timing, taken before timeCandidates (as tuneGraph does): 10 ms, costing 1 ms of the clock. */
const TIMED = { defaultMs: 10, cost: 1 };
const PATIENCE = 3;
const TRIALS = 1;

describe('tuning: the choice among a layer\'s timed candidates', () => {
  it('without time left to time them again, takes a challenger that won by over twice the margin (8 ms against 10: 20 %)', async () => {
    const bench = standInBench({ challenger: [8] }, 50);
    const r = await timeCandidates(bench, layer, TIMED, 120, PATIENCE, TRIALS);
    expect(bench.calls, 'the challenger timed once, nothing timed again').to.deep.equal(['challenger']);
    expect(r.choice).to.equal('challenger');
    expect([...r.times]).to.deep.equal([['default', 10], ['challenger', 8]]);
    expect(r.complete, 'every candidate timed').to.equal(true);
  });

  it('without time left to time them again, keeps the default against a lead under twice the margin (9.2 ms against 10: 8 %)', async () => {
    const bench = standInBench({ challenger: [9.2] }, 50);
    const r = await timeCandidates(bench, layer, TIMED, 120, PATIENCE, TRIALS);
    expect(bench.calls).to.deep.equal(['challenger']);
    expect(r.choice).to.equal('default');
  });

  it('with time left, times the default and the challenger again in turn, and keeps the default when the lead does not hold', async () => {
    const bench = standInBench({ default: [10], challenger: [8, 11] }, 1);
    const r = await timeCandidates(bench, layer, TIMED, 60_000, PATIENCE, TRIALS);
    expect(bench.calls).to.deep.equal(['challenger', 'default', 'challenger', 'default', 'challenger']);
    expect(r.choice).to.equal('default');
  });

  it('with time left, takes the challenger when it keeps a lead over the margin (8 ms against 10 again)', async () => {
    const bench = standInBench({ default: [10], challenger: [8] }, 1);
    const r = await timeCandidates(bench, layer, TIMED, 60_000, PATIENCE, TRIALS);
    expect(bench.calls).to.deep.equal(['challenger', 'default', 'challenger', 'default', 'challenger']);
    expect(r.choice).to.equal('challenger');
  });

  it('sets aside untimed a candidate whose accuracy check fails or gives no answer, and times one within it', async () => {
    // Three f16-summing stand-ins allowed an error of 4e-3: over it, no output to compare (null), within it.
    const checked = { candidates: [{ name: 'default' }, ...['over', 'unknown', 'within'].map((name) => ({ name, accuracy: 4e-3 }))].map((c) => ({ ...c, prepare: () => [] })) };
    const bench = standInBench({ default: [10], over: [1], unknown: [1], within: [10.5] }, 1, { over: 4e-3, within: 3.9e-3 });
    const r = await timeCandidates(bench, checked, TIMED, 60_000, PATIENCE, TRIALS);
    expect(bench.calls, 'only the one within its check timed').to.deep.equal(['within']);
    expect([...r.rejected.keys()]).to.deep.equal(['over', 'unknown']);
    expect(r.rejected.get('over')).to.equal(4e-3);
    expect(r.rejected.get('unknown')).to.be.NaN;
    // The fastest stand-ins were never timed, so never chosen; the one timed was slower: the default stays.
    expect(r.choice).to.equal('default');
    expect([...r.times.keys()]).to.deep.equal(['default', 'within']);
  });
});
