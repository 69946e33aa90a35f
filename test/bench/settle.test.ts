// The benchmarks' warm-up rule (bench/settle.ts) on stand-in timings: no GPU. Each stand-in
// engine returns its times in turn and moves a stand-in clock on by the wall time a run takes,
// so the budget and the least warm-up time are tested without waiting.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';
import { ROOT } from '../../bench/model.js';
import { type SettleOptions, hasSettled, measureSettled, quantile, spread, warmUp } from '../../bench/settle.js';
import { expectRejects, expectThrows } from '../helpers.js';

/** Stand-in engines over one clock: engine k returns series[k] in turn (the last repeats), each run taking `wallMs`. */
function standIns(series: number[][], wallMs = 1) {
  let now = 0;
  const calls: number[] = [];
  const engines = series.map((times, k) => {
    let i = 0;
    return async () => {
      calls.push(k);
      now += wallMs;
      return times[Math.min(i++, times.length - 1)];
    };
  });
  return { engines, calls, clock: () => now };
}

const options = (o: Partial<SettleOptions> = {}): SettleOptions => ({ minRounds: 1, minMs: 0, maxRounds: 40, budgetMs: 1e9, ...o });
/** 10 and 20 ms in turn: the two windows' medians are always 10 against 20. */
const noise = Array.from({ length: 100 }, (_, i) => (i % 2 ? 20 : 10));

describe('bench: warm-up until the times settle', () => {
  it('settles when the last three rounds\' median is within 5 % of the three before: 5 % is in, 6 % is out', () => {
    expect(hasSettled([10, 10, 10, 10.5, 10.5, 10.5])).to.equal(true);
    expect(hasSettled([10, 10, 10, 10.6, 10.6, 10.6])).to.equal(false);
    expect(hasSettled([10, 10, 10, 9.5, 9.5, 9.5])).to.equal(true);
    expect(hasSettled([10, 10, 10, 9.4, 9.4, 9.4])).to.equal(false);
    // Medians, not means: one outlier in a window does not move it.
    expect(hasSettled([10, 10, 90, 10, 10, 10])).to.equal(true);
    expect(hasSettled([10, 10, 10, 10, 10]), 'five rounds are too few to compare two windows of three').to.equal(false);
  });

  it('a ramp from 50 to 30 ms settles after 9 rounds; with two engines, when the slower one settles', async () => {
    const ramp = [50, 45, 40, 35, 30, 30, 30, 30, 30, 30, 30, 30];
    const one = standIns([ramp]);
    const w = await warmUp(one.engines, options(), one.clock);
    expect(w).to.deep.include({ rounds: 9, settled: true });
    expect(w.timesMs[0]).to.deep.equal(ramp.slice(0, 9));
    const two = standIns([[20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20], ramp]);
    expect(await warmUp(two.engines, options(), two.clock)).to.deep.include({ rounds: 9, settled: true });
  });

  it('the engines alternate as in the timed rounds, the leading one swapped every round', async () => {
    const s = standIns([[5], [7]]);
    await warmUp(s.engines, options({ minRounds: 4, maxRounds: 4 }), s.clock);
    expect(s.calls).to.deep.equal([0, 1, 1, 0, 0, 1, 1, 0]);
  });

  it('noise that never settles stops at the round cap, settled false', async () => {
    const s = standIns([noise]);
    expect(await warmUp(s.engines, options({ maxRounds: 25 }), s.clock)).to.deep.include({ rounds: 25, settled: false });
  });

  it('the time budget stops it, settled false; the least rounds asked for run even past it', async () => {
    const s = standIns([noise], 100);
    const w = await warmUp(s.engines, options({ budgetMs: 1000 }), s.clock);
    expect(w).to.deep.include({ rounds: 10, settled: false, ms: 1000 });
    const slow = standIns([noise], 100);
    expect(await warmUp(slow.engines, options({ minRounds: 3, budgetMs: 0 }), slow.clock)).to.deep.include({ rounds: 3, settled: false });
  });

  it('steady times still warm up for at least minMs, and for at least minRounds', async () => {
    const s = standIns([[10]], 100);
    expect(await warmUp(s.engines, options({ minMs: 1500 }), s.clock)).to.deep.include({ rounds: 15, settled: true });
    const r = standIns([[10]]);
    expect(await warmUp(r.engines, options({ minRounds: 8 }), r.clock)).to.deep.include({ rounds: 8, settled: true });
    const six = standIns([[10]]);
    expect(await warmUp(six.engines, options(), six.clock), 'two windows of three are needed').to.deep.include({ rounds: 6, settled: true });
  });

  it('refuses options that are not non-negative numbers, naming them', async () => {
    const s = standIns([[1]]);
    await expectRejects(warmUp(s.engines, options({ budgetMs: -1 }), s.clock), /settle: budgetMs must be a non-negative number, got -1/);
    await expectRejects(warmUp(s.engines, options({ minRounds: 1.5 }), s.clock), /minRounds and maxRounds must be integers/);
    await expectRejects(measureSettled(s.engines, 0, options(), s.clock), /repeats must be a positive integer, got 0/);
  });
});

describe('bench: medians with their spread', () => {
  it('quartiles interpolate between the sorted samples', () => {
    expect(spread([4, 1, 3, 2])).to.deep.equal({ medianMs: 2.5, p25Ms: 1.75, p75Ms: 3.25 });
    expect(spread([7])).to.deep.equal({ medianMs: 7, p25Ms: 7, p75Ms: 7 });
    expect(quantile([10, 20, 30, 40, 50], 0.25)).to.equal(20);
    expectThrows(() => quantile([], 0.5), /quantile: no values/);
  });

  it('times the rounds after the warm-up, and reports each engine with the warm-up it had', async () => {
    // Settled after 9 rounds (the ramp above); the 5 timed rounds are the values after.
    const ramp = [50, 45, 40, 35, 30, 30, 30, 30, 30, 31, 29, 33, 28, 30];
    const s = standIns([ramp, [8]]);
    const [a, b] = await measureSettled(s.engines, 5, options(), s.clock);
    expect(a).to.deep.equal({ samplesMs: [31, 29, 33, 28, 30], medianMs: 30, p25Ms: 29, p75Ms: 31, warmupRounds: 9, settled: true });
    expect(b).to.deep.include({ medianMs: 8, warmupRounds: 9, settled: true });
    const n = standIns([noise]);
    const [u] = await measureSettled(n.engines, 4, options({ maxRounds: 7 }), n.clock);
    expect(u).to.deep.include({ warmupRounds: 7, settled: false });
    expect(u.samplesMs, 'the timed rounds follow the warm-up').to.deep.equal([20, 10, 20, 10]);
  });
});

describe('bench: the Python peers\' warm-up rule (bench/settle.py)', () => {
  /** The cases above, as [series, wall ms a run, options]: a ramp, noise at the cap, noise over the budget, steady times held by minMs, a step. */
  const cases: [number[], number, SettleOptions][] = [
    [[50, 45, 40, 35, 30, 30, 30, 30, 30, 30, 30, 30], 1, options()],
    [noise, 1, options({ maxRounds: 25 })],
    // Runs of 125 ms: sums of 0.125 s are exact in binary, as sums of 0.1 s are not.
    [noise, 125, options({ budgetMs: 1000 })],
    [[10], 125, options({ minMs: 1500 })],
    // A step of 6 %: settled once the window before lies past it too.
    [[10, 10, 10, 10.6, 10.6, 10.6, 10.6, 10.6, 10.6, 10.6], 1, options({ maxRounds: 9 })],
  ];

  it('stops where bench/settle.ts stops, on the same stand-in timings, and gives the same quartiles', async function () {
    // The stand-in clock in seconds, moved on by each run, as in the TypeScript cases.
    const script = `
import json, sys
sys.path.insert(0, ${JSON.stringify(join(ROOT, 'bench'))})
from settle import warm_up, summary
out = []
for series, wall_ms, o in json.loads(sys.stdin.read()):
    state = {'now': 0.0, 'i': 0}
    def run():
        state['now'] += wall_ms / 1000
        t = series[min(state['i'], len(series) - 1)]
        state['i'] += 1
        return t
    rounds, settled = warm_up(run, o['minRounds'], o['minMs'] / 1000, o['maxRounds'], o['budgetMs'] / 1000, clock=lambda: state['now'])
    out.append([rounds, settled])
out.append(summary([4, 1, 3, 2], 7, False))
print(json.dumps(out))
`;
    const py = spawnSync('python3', ['-c', script], { input: JSON.stringify(cases), encoding: 'utf8' });
    if (py.error) this.skip(); // no python3 here: the peers do not run either
    expect(py.status, py.stderr).to.equal(0);
    const got = JSON.parse(py.stdout) as unknown[];
    const want: unknown[] = [];
    for (const [series, wallMs, o] of cases) {
      const s = standIns([series], wallMs);
      const w = await warmUp(s.engines, o, s.clock);
      want.push([w.rounds, w.settled]);
    }
    expect(want, 'the TypeScript rule on these cases').to.deep.equal([[9, true], [25, false], [8, false], [12, true], [8, true]]);
    expect(got.slice(0, -1)).to.deep.equal(want);
    expect(got.at(-1)).to.deep.equal({ ...spread([4, 1, 3, 2]), samplesMs: [4, 1, 3, 2], warmupRounds: 7, settled: false });
  });
});
