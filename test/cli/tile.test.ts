// `--tile N --overlap F` on segment and eval: passed to the library, recorded in --json, shown
// as progress per window; bad values are usage errors before any model is loaded.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readImage } from '../../src/io/image.js';
import { readIndexedPng } from '../../src/io/png-indexed.js';
import { loadModel } from '../../src/model/model.js';
import { testContext } from '../helpers.js';
import { messages, runCli } from './run-cli.js';
import { sharedPath } from '../shared.js';

const IMAGE = sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg');
const VOC = sharedPath('data', 'voc-sample');

describe('deeplab segment / eval --tile', function () {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'deeplab-tile-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('segment --tile 257 --overlap 0.25 writes the library’s tiled class map, with progress per window', async function () {
    this.timeout(600_000);
    const r = await runCli(['segment', IMAGE, '--out', tmp, '--tile', '257', '--overlap', '0.25', '--json']);
    expect(r.code, messages(r.stderr)).to.equal(0);
    expect(readdirSync(tmp)).to.deep.equal(['2007_000033.png']);
    const doc = JSON.parse(r.stdout) as { tile: number; overlap: number; images: { width: number; height: number }[] };
    expect(doc).to.include({ tile: 257, overlap: 0.25 });
    // 500x366 in windows of 257: 3 across, 2 down.
    expect(r.stderr).to.match(/segment 2007_000033\.jpg\s+6\/6 .* win\/s/);
    const mask = readIndexedPng(readFileSync(join(tmp, '2007_000033.png')), 'mask');
    const model = await loadModel('mobilenetv2-pascal-257', { ctx: await testContext() });
    try {
      const ref = await model.segment(await readImage(IMAGE), { tile: 257, overlap: 0.25 });
      expect([mask.width, mask.height]).to.deep.equal([ref.width, ref.height]);
      expect(Buffer.from(mask.indices).equals(Buffer.from(ref.classes)), 'the CLI mask is the library’s tiled result').to.equal(true);
      const whole = await model.segment(await readImage(IMAGE));
      expect(Buffer.from(mask.indices).equals(Buffer.from(whole.classes)), 'tiling made a difference').to.equal(false);
    } finally {
      model.dispose();
    }
  });

  it('eval --tile records the windows in its header and --json', async function () {
    this.timeout(600_000);
    const json = join(tmp, 'scores.json');
    const r = await runCli(['eval', '--voc', VOC, '--limit', '1', '--tile', '300', '--json', json]);
    expect(r.code, messages(r.stderr)).to.equal(0);
    expect(r.stdout).to.contain('tiles 300x300 overlapping 0.25');
    const doc = JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown>;
    expect(doc).to.include({ tile: 300, overlap: 0.25, images: 1 });
    expect(doc.mIoU as number).to.be.within(30, 100);
  });

  it('bad --tile / --overlap values and combinations are usage errors (exit 2) naming the problem', async () => {
    const cases: [string[], RegExp][] = [
      [['segment', IMAGE, '--tile', '16'], /--tile: '16' is not a whole number of pixels of at least 32/],
      [['segment', IMAGE, '--tile', '64.5'], /--tile: '64.5' is not a whole number/],
      [['segment', IMAGE, '--tile', '64', '--overlap', '1'], /--overlap: '1' is not a share of the tile, at least 0 and below 1/],
      [['segment', IMAGE, '--tile', '64', '--overlap', '-0.1'], /--overlap: '-0.1' is not a share/],
      [['segment', IMAGE, '--overlap', '0.5'], /--overlap needs --tile N/],
      [['segment', IMAGE, '--tile', '64', '--flip'], /--tile cannot be combined with --scales or --flip/],
      [['eval', '--voc', VOC, '--tile', '64', '--scales', '0.5,1'], /--tile cannot be combined with --scales or --flip/],
      [['eval', '--voc', VOC, '--tile', 'big'], /--tile: 'big' is not a whole number/],
    ];
    for (const [args, pattern] of cases) {
      const r = await runCli(args[0] === 'segment' ? [...args, '--out', tmp] : args);
      expect(r.code, `${args.join(' ')}: exit code`).to.equal(2);
      expect(messages(r.stderr), args.join(' ')).to.match(pattern);
    }
    expect(readdirSync(tmp), 'nothing written').to.deep.equal([]);
  });
});
