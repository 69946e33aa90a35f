// The CLI's argument parser and value parsers (no GPU).
import { expect } from 'chai';
import {
  type CommandSpec,
  UsageError,
  closest,
  formatHelp,
  parseArgs,
  parseOutputStride,
  parsePrecision,
  parsePositiveInt,
  parseScales,
} from '../../src/cli/args.js';
import { PAPER_SCALES } from '../../src/model/model.js';
import { expectThrows } from '../helpers.js';

const SPEC: CommandSpec = {
  name: 'demo',
  summary: 'A command for tests.',
  positionals: [{ name: 'FILE', description: 'inputs', required: true, variadic: true }],
  options: [
    { name: 'out', kind: 'value', valueName: 'DIR', description: 'output folder', defaultText: '.' },
    { name: 'overlay', kind: 'flag', description: 'draw it' },
    { name: 'scales', kind: 'value', valueName: 'LIST', description: 'scales' },
  ],
};

const NO_POSITIONALS: CommandSpec = { name: 'bare', summary: 'none', positionals: [], options: [] };

function usageError(fn: () => unknown): UsageError {
  const e = expectThrows(fn, '', 'parsing');
  expect(e).to.be.instanceOf(UsageError);
  return e as UsageError;
}

describe('cli/args', () => {
  it('parses flags, values (spaced and =), repeated positionals and --', () => {
    const a = parseArgs(['a.jpg', '--out', 'dir', 'b.png', '--overlay', '--scales=0.5,1', '--', '--c.png'], SPEC);
    expect(a.positionals).to.deep.equal(['a.jpg', 'b.png', '--c.png']);
    expect(a.options.get('out')).to.equal('dir');
    expect(a.options.get('overlay')).to.equal(true);
    expect(a.options.get('scales')).to.equal('0.5,1');
    expect(a.help).to.equal(false);
    // The last of a repeated value option wins; '-' alone is a positional (stdin by convention).
    const b = parseArgs(['x', '--out', 'a', '--out', 'b', '-'], SPEC);
    expect(b.options.get('out')).to.equal('b');
    expect(b.positionals).to.deep.equal(['x', '-']);
  });

  it('--help / -h skip the positional checks', () => {
    expect(parseArgs(['--help'], SPEC).help).to.equal(true);
    expect(parseArgs(['-h'], SPEC).help).to.equal(true);
  });

  it('an unknown option names itself, guesses the typo and lists the valid options', () => {
    const e = usageError(() => parseArgs(['a', '--overlya'], SPEC));
    expect(e.message).to.equal("unknown option '--overlya' for 'demo' (did you mean --overlay?); valid options: --out, --overlay, --scales, --help");
    expect(e.command).to.equal('demo');
    expect(usageError(() => parseArgs(['a', '-x'], SPEC)).message).to.contain("unknown option '-x'");
    expect(usageError(() => parseArgs(['a', '--zzzzzz=1'], SPEC)).message).to.match(/^unknown option '--zzzzzz' for 'demo'; valid/);
  });

  it('rejects a missing value, a value on a flag, missing and extra positionals', () => {
    expect(usageError(() => parseArgs(['a', '--out'], SPEC)).message).to.contain('--out of \'demo\' needs a value: --out DIR');
    expect(usageError(() => parseArgs(['a', '--out', '--overlay'], SPEC)).message).to.contain('needs a value');
    expect(usageError(() => parseArgs(['a', '--out='], SPEC)).message).to.contain('needs a value');
    expect(usageError(() => parseArgs(['a', '--overlay=yes'], SPEC)).message).to.contain('takes no value');
    expect(usageError(() => parseArgs(['--overlay'], SPEC)).message).to.equal("'demo' needs FILE");
    expect(usageError(() => parseArgs(['stray'], NO_POSITIONALS)).message).to.equal("unexpected argument 'stray': 'bare' takes no arguments");
  });

  it('formatHelp shows the usage, every option with its value name and default', () => {
    const help = formatHelp(SPEC);
    expect(help).to.match(/^Usage: deeplab demo FILE\.\.\. \[options\]/);
    expect(help).to.match(/--out DIR\s+output folder \(default: \.\)/);
    expect(help).to.match(/--overlay\s+draw it/);
    expect(help).to.match(/-h, --help\s+show this help/);
  });

  it('parses scales, output strides and positive integers, naming bad values', () => {
    expect(parseScales('0.5, 1,1.75')).to.deep.equal([0.5, 1, 1.75]);
    expect(parseScales('paper')).to.deep.equal([...PAPER_SCALES]);
    for (const bad of ['', '1,,2', '0', '-1', 'x', '1,NaN', 'Infinity']) {
      expect(usageError(() => parseScales(bad)).message, bad).to.match(/^--scales: .* is not a positive number/);
    }
    expect([8, 16, 32].map((n) => parseOutputStride(String(n)))).to.deep.equal([8, 16, 32]);
    expect(usageError(() => parseOutputStride('4')).message).to.equal("--output-stride: '4' is not one of 8, 16, 32");
    expect(['f32', 'f16'].map(parsePrecision)).to.deep.equal(['f32', 'f16']);
    expect(usageError(() => parsePrecision('fp16')).message).to.equal("--precision: 'fp16' is not one of f32, f16");
    expect(parsePositiveInt('12', '--limit')).to.equal(12);
    for (const bad of ['0', '-3', '1.5', 'ten', '1e3']) expect(expectThrows(() => parsePositiveInt(bad, '--limit'), /--limit/, bad)).to.be.instanceOf(UsageError);
  });

  it('closest suggests near misses only', () => {
    expect(closest('segmnet', ['segment', 'models', 'eval'])).to.equal('segment');
    expect(closest('evl', ['segment', 'models', 'eval'])).to.equal('eval');
    expect(closest('train', ['segment', 'models', 'eval'])).to.equal(undefined);
  });
});
