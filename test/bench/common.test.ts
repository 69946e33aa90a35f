// The benchmarks' command lines, parsed by Node's util.parseArgs through bench/common.ts: both
// `--x y` and `--x=y`, and every mistake an error naming the benchmark.
import { expect } from 'chai';
import { benchArgs, pickByName } from '../../bench/common.js';
import { demoOptions } from '../../demo/server.js';
import { expectThrows } from '../helpers.js';

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
    expectThrows(() => parse(['--quik']), /^bench:test: Unknown option '--quik'.*\(known: --quick --repeats --out\)/);
    expectThrows(() => parse(['extra']), /^bench:test: .*'extra'/);
    expectThrows(() => parse(['--out']), /^bench:test: Option '--out <value>' argument missing/);
    expectThrows(() => parse(['--out', '--quick']), /^bench:test: Option '--out' argument is ambiguous\. Did you forget/);
    expectThrows(() => parse(['--quick=yes']), /^bench:test: Option '--quick' does not take an argument/);
    expectThrows(() => parse(['--repeats', 'two']).count('--repeats', 5), /^bench:test: --repeats must be a non-negative integer, got 'two'/);
    expectThrows(() => parse(['--repeats=-1']).count('--repeats', 5), /non-negative integer, got '-1'/);
  });

  it('a positive number option (--peak-tflops 51.5): fractions taken, absent is undefined, zero or text an error', () => {
    const p = (argv: string[]) => benchArgs('bench:test', argv, [], ['--peak-tflops']);
    expect(p(['--peak-tflops', '51.5']).positive('--peak-tflops')).to.equal(51.5);
    expect(p([]).positive('--peak-tflops')).to.equal(undefined);
    expectThrows(() => p(['--peak-tflops=0']).positive('--peak-tflops'), /^bench:test: --peak-tflops must be a positive number, got '0'/);
    expectThrows(() => p(['--peak-tflops=fast']).positive('--peak-tflops'), /must be a positive number, got 'fast'/);
  });

  it('a list of names: in the known order, or in the order given (execution providers tried in turn)', () => {
    const all = ['cpu', 'webgpu', 'cuda'];
    expect(pickByName('bench:test', 'provider(s)', 'cuda,cpu', all, (x) => x)).to.deep.equal(['cpu', 'cuda']);
    expect(pickByName('bench:test', 'provider(s)', 'cuda,cpu', all, (x) => x, true)).to.deep.equal(['cuda', 'cpu']);
    expectThrows(() => pickByName('bench:test', 'provider(s)', 'webgpu,dml', all, (x) => x, true), /^bench:test: unknown provider\(s\) dml; choose from cpu, webgpu, cuda/);
  });

  it('the demo takes --port N and --port=N (default 8080); anything else is an error saying the usage', () => {
    expect(demoOptions([])).to.deep.equal({ port: 8080 });
    expect(demoOptions(['--port', '0'])).to.deep.equal({ port: 0 });
    expect(demoOptions(['--port=9000'])).to.deep.equal({ port: 9000 });
    expectThrows(() => demoOptions(['--port=70000']), /^demo: --port must be a port number, got '70000'/);
    expectThrows(() => demoOptions(['--port=']), /^demo: --port must be a port number, got ''/);
    expectThrows(() => demoOptions(['--verbose']), /^demo: Unknown option '--verbose'.*usage: npm run demo -- \[--port N\]/);
    expectThrows(() => demoOptions(['8080']), /^demo: .*'8080'.*usage/);
  });
});
