// The readers' rules (src/io/reader-rules.ts) and their file half (src/io/file-bytes.ts), each
// on its own: what a message shows of a value, config numbers, shapes with a zero dimension, and
// what a path may be. test/model/hostile-folders.test.ts holds every reader to them through
// loadModel.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileBytes } from '../../src/io/file-bytes.js';
import { CONFIG_LIMITS, MAX_EMPTY_EXTENT, bytesWithin, checkConfigInt, checkFinite, checkShape, excerpt } from '../../src/io/reader-rules.js';
import { expectThrows } from '../helpers.js';

describe('io: the readers\' rules', () => {
  it('excerpt: JSON as it is when short; bounded, with no recursion, when nested, long or wide', () => {
    expect(excerpt({ classes: 4, rates: [1, 2], name: 'x' })).to.equal('{"classes":4,"rates":[1,2],"name":"x"}');
    expect([excerpt(undefined), excerpt(null), excerpt(NaN), excerpt(true), excerpt(-3.5)]).to.deep.equal(['missing', 'null', 'not a number', 'true', '-3.5']);
    expect(excerpt([1, undefined])).to.equal('[1,missing]');
    // 200,000 lists deep (JSON.parse does not recurse; JSON.stringify does, and overflows the stack on it).
    const deep = JSON.parse(`${'['.repeat(200_000)}1${']'.repeat(200_000)}`) as unknown;
    expect(excerpt(deep)).to.equal(`${'['.repeat(60)}...`);
    expect(excerpt(new Array(100_000).fill(12))).to.match(/^\[12,12,.*\.\.\.$/).and.have.length.below(70);
    expect(excerpt(Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i])))).to.match(/^\{"k0":0,"k1":1,.*\.\.\.$/);
    expect(excerpt('x'.repeat(2 ** 20))).to.equal(`"${'x'.repeat(60)}..."`);
    expect(excerpt({ ['y'.repeat(1000)]: 1 }).length).to.be.below(140);
  });

  it('config integers: within their bounds, refused naming the field and the value otherwise', () => {
    const bounds = { min: 1, max: CONFIG_LIMITS.classes, why: 'labels are bytes' };
    expect(checkConfigInt(256, 'classes', 'c.json', bounds)).to.equal(256);
    expectThrows(() => checkConfigInt(1e9, 'classes', 'c.json', bounds), /^c\.json: classes 1000000000 is more than 256 \(labels are bytes\)$/);
    expectThrows(() => checkConfigInt(0, 'classes', 'c.json', bounds), /^c\.json: classes 0 is not a positive integer$/);
    expectThrows(() => checkConfigInt('3', 'classes', 'c.json', bounds), /^c\.json: classes "3" is not a positive integer$/);
    expectThrows(() => checkConfigInt(2.5, 'rate', 'c.json', { min: 1, max: CONFIG_LIMITS.rate }), /rate 2\.5 is not a positive integer/);
    expectThrows(() => checkConfigInt(2 ** 32 + 1, 'rate', 'c.json', { min: 1, max: CONFIG_LIMITS.rate }), /rate 4294967297 is more than 65536/);
  });

  it('a shape with a zero dimension: its other dimensions bounded, as a loop over them would run that long', () => {
    expect(checkShape([0, 256, 3, 3], 's', 'f')).to.deep.equal([0, 256, 3, 3]);
    expect(checkShape([MAX_EMPTY_EXTENT, 0], 's', 'f')).to.deep.equal([MAX_EMPTY_EXTENT, 0]);
    expectThrows(() => checkShape([MAX_EMPTY_EXTENT + 1, 0], 's', 'f.safetensors'), /^f\.safetensors: s \[1048577,0\] holds no elements, but its other dimensions span 1048577 \(at most 1048576\): a damaged shape$/);
    expectThrows(() => checkShape([2 ** 26, 2 ** 26, 2 ** 26, 0], 's', 'f'), /holds no elements, but its other dimensions span more than 2\^53/);
  });

  it('weights finite: a NaN or an infinity refused naming the tensor and the element', () => {
    checkFinite('w', Float32Array.of(0, -1e38, 3.4e38), 'f.onnx');
    checkFinite('w', [], 'f.onnx');
    expectThrows(() => checkFinite('classifier.weight', Float32Array.of(1, 2, NaN), 'f.onnx'), /^f\.onnx: tensor 'classifier\.weight' holds a value that is not a number at element 2: weights must be finite$/);
    expectThrows(() => checkFinite('b', Float64Array.of(Infinity), 'f.onnx'), "f.onnx: tensor 'b' holds +infinity at element 0");
    expectThrows(() => checkFinite('b', [0, -Infinity], 'f.onnx'), "f.onnx: tensor 'b' holds -infinity at element 1");
  });

  it('bytes in memory held to a cap', () => {
    const b = new Uint8Array(10);
    expect(bytesWithin(b, undefined, 'm')).to.equal(b);
    expect(bytesWithin(b, 10, 'm')).to.equal(b);
    expectThrows(() => bytesWithin(b, 9, 'tar: config.json'), /^tar: config\.json: 10 bytes, more than the 9 such a file may have/);
  });
});

describe('io: reading a file by its path', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'file-bytes-'));
    writeFileSync(join(dir, 'w.bin'), Uint8Array.of(1, 2, 3));
    mkdirSync(join(dir, 'folder.bin'));
    execFileSync('mkfifo', [join(dir, 'fifo.bin')]);
    symlinkSync('/dev/zero', join(dir, 'zero.bin'));
    symlinkSync(join(dir, 'w.bin'), join(dir, 'link.bin'));
    symlinkSync('/nonexistent/w.bin', join(dir, 'dangling.bin'));
    symlinkSync(join(dir, 'self.bin'), join(dir, 'self.bin'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const at = (name: string) => join(dir, name);
  const esc = (name: string) => at(name).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

  it('reads a regular file, and one through a link', () => {
    expect(Array.from(readFileBytes(at('w.bin')))).to.deep.equal([1, 2, 3]);
    expect(Array.from(readFileBytes(at('link.bin')))).to.deep.equal([1, 2, 3]);
  });

  it('refuses a folder, a FIFO (at once), a device, a dangling link and a link loop, naming the path', () => {
    expectThrows(() => readFileBytes(at('folder.bin')), new RegExp(`^${esc('folder.bin')}: a folder, not a file$`));
    // Opening a FIFO no one writes to would block this thread for good: refused, it was never opened.
    expectThrows(() => readFileBytes(at('fifo.bin')), new RegExp(`^${esc('fifo.bin')}: a FIFO \\(named pipe\\), not a file$`));
    expectThrows(() => readFileBytes(at('zero.bin')), new RegExp(`^${esc('zero.bin')}: a character device \\(a link to /dev/zero\\), not a file$`));
    expectThrows(() => readFileBytes(at('dangling.bin')), new RegExp(`^${esc('dangling.bin')}: a link to /nonexistent/w\\.bin, which does not exist$`));
    expectThrows(() => readFileBytes(at('self.bin')), new RegExp(`^${esc('self.bin')}: ELOOP`));
    expectThrows(() => readFileBytes(at('missing.bin')), new RegExp(`^${esc('missing.bin')}: ENOENT: no such file or directory$`));
  });

  it('checks the size against the cap before reading', () => {
    expectThrows(() => readFileBytes(at('w.bin'), 2), new RegExp(`^${esc('w.bin')}: 3 bytes, more than the 2 such a file may have`));
  });
});
