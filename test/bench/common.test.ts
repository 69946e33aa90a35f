// The benchmarks' command lines, parsed by Node's util.parseArgs through bench/common.ts: both
// `--x y` and `--x=y`, and every mistake an error naming the benchmark.
import { expect } from 'chai';
import { benchArgs } from '../../bench/common.js';
import { demoOptions } from '../../demo/server.js';

describe('bench and demo: command-line options', () => {
  const parse = (argv: string[]) => benchArgs('bench:test', argv, ['--quick'], ['--repeats', '--out']);

  it('takes --x y and --x=y alike, flags, and defaults', () => {
    const a = parse(['--quick', '--repeats', '3', '--out=results/x.json']);
    expect(a.has('--quick')).to.equal(true);
    expect(a.count('--repeats', 5)).to.equal(3);
    expect(a.value('--out')).to.equal('results/x.json');
    const b = parse(['--repeats=7']);
    expect(b.has('--quick')).to.equal(false);
    expect(b.count('--repeats', 5)).to.equal(7);
    expect(b.value('--out')).to.equal(undefined);
    expect(parse([]).count('--repeats', 5)).to.equal(5);
  });

  it('an unknown option, a stray argument, a missing or bad value: errors naming the benchmark', () => {
    expect(() => parse(['--quik'])).to.throw(/^bench:test: Unknown option '--quik'.*\(known: --quick --repeats --out\)/);
    expect(() => parse(['extra'])).to.throw(/^bench:test: .*'extra'/);
    expect(() => parse(['--out'])).to.throw(/^bench:test: Option '--out <value>' argument missing/);
    expect(() => parse(['--out', '--quick'])).to.throw(/^bench:test: Option '--out' argument is ambiguous\. Did you forget/);
    expect(() => parse(['--quick=yes'])).to.throw(/^bench:test: Option '--quick' does not take an argument/);
    expect(() => parse(['--repeats', 'two']).count('--repeats', 5)).to.throw(/^bench:test: --repeats must be a non-negative integer, got 'two'/);
    expect(() => parse(['--repeats=-1']).count('--repeats', 5)).to.throw(/non-negative integer, got '-1'/);
  });

  it('the demo takes --port N and --port=N (default 8080); anything else is an error saying the usage', () => {
    expect(demoOptions([])).to.deep.equal({ port: 8080 });
    expect(demoOptions(['--port', '0'])).to.deep.equal({ port: 0 });
    expect(demoOptions(['--port=9000'])).to.deep.equal({ port: 9000 });
    expect(() => demoOptions(['--port=70000'])).to.throw(/^demo: --port must be a port number, got '70000'/);
    expect(() => demoOptions(['--port='])).to.throw(/^demo: --port must be a port number, got ''/);
    expect(() => demoOptions(['--verbose'])).to.throw(/^demo: Unknown option '--verbose'.*usage: npm run demo -- \[--port N\]/);
    expect(() => demoOptions(['8080'])).to.throw(/^demo: .*'8080'.*usage/);
  });
});
