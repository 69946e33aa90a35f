// The progress line: counts, rate, ETA; redrawn in place on a terminal, plain lines otherwise.
import { expect } from 'chai';
import { Progress, formatDuration } from '../../src/cli/progress.js';
import { expectThrows } from '../helpers.js';

function fakeSink(isTTY: boolean, columns?: number) {
  const writes: string[] = [];
  return { writes, sink: { isTTY, columns, write: (t: string) => void writes.push(t) } };
}

describe('cli/progress', () => {
  it('formats durations', () => {
    expect(formatDuration(0)).to.equal('0s');
    expect(formatDuration(44.6)).to.equal('45s');
    expect(formatDuration(185)).to.equal('3m05s');
    expect(formatDuration(3720)).to.equal('1h02m');
    expect(formatDuration(Infinity)).to.equal('?');
  });

  it('reports count/total, images per second and the ETA from the elapsed time', () => {
    let t = 1000;
    const { writes, sink } = fakeSink(false);
    const p = new Progress('eval', 7, { sink, now: () => t, plainInterval: 0 });
    p.show(); // plain output: nothing until the first item is done
    t += 4000; // 2 images in 4 s: 0.5 img/s, 5 left -> 10 s
    p.tick('a');
    p.tick('b');
    expect(p.rate).to.be.closeTo(0.5, 1e-12);
    expect(writes[1]).to.equal(`eval  2/7  [${'#'.repeat(6)}${'-'.repeat(14)}]   28%  0.50 img/s  ETA 10s  b\n`);
    for (let i = 0; i < 5; i++) p.tick();
    expect(writes[6]).to.match(/^eval  7\/7  \[#{20}\]  100%  1\.75 img\/s  done\n$/);
    p.tick(); // past the total: stays at 7/7
    expect(writes[7]).to.contain('7/7');
    p.finish();
    expect(writes).to.have.length(8); // plain mode never writes control characters or extra lines
    expect(writes.join('')).to.not.contain('\r');
  });

  it('writes plain lines at most once per interval, but always the last one', () => {
    let t = 0;
    const { writes, sink } = fakeSink(false);
    const p = new Progress('segment', 5, { sink, now: () => t, plainInterval: 1000 });
    for (let i = 0; i < 5; i++) {
      t += 300;
      p.tick(`img${i}`);
    }
    // Ticks at 300 ms (printed), 600/900/1200 (within 1 s of it: skipped), 1500 (the last: printed).
    expect(writes.map((w) => w.match(/(\d)\/5/)![1])).to.deep.equal(['1', '5']);
  });

  it('redraws one line in place on a terminal, trimmed to its width, and clears it on demand', () => {
    let t = 0;
    const { writes, sink } = fakeSink(true, 40);
    const p = new Progress('segment', 3, { sink, now: () => t });
    p.show();
    expect(writes.shift()).to.match(/^\r\x1b\[Ksegment  0\/3  \[-{20}\]/);
    t = 2000;
    p.tick('first-image-with-a-long-name.jpg');
    expect(writes[0].startsWith('\r\x1b[K')).to.equal(true);
    expect(writes[0].length - '\r\x1b[K'.length).to.equal(39);
    expect(writes[0]).to.not.contain('\n');
    p.clear();
    expect(writes[1]).to.equal('\r\x1b[K');
    p.clear(); // nothing drawn any more: no output
    expect(writes).to.have.length(2);
    p.tick();
    p.finish();
    expect(writes.at(-1)).to.equal('\n');
  });

  it('refuses a bad total', () => {
    expectThrows(() => new Progress('x', -1), /total must be a non-negative integer/);
    expectThrows(() => new Progress('x', 1.5), /total must be a non-negative integer/);
  });
});
