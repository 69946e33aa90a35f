// `deeplab segment` over a collection, as N pods of a Kubernetes Indexed Job run it: the built
// CLI in child processes on the 10 VOC sample images with the real 257 model. Three shards run
// at once write exactly the bytes one unsharded run writes, each image once; a shard killed
// (SIGKILL, the whole process group) part-way finishes when run again without segmenting what it
// had finished.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { copyFileSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { InputRecord } from '../../src/cli/summary-file.js';
import { sharedPath } from '../shared.js';
import { CLI, messages, runCli } from './run-cli.js';

const IMAGES = sharedPath('data', 'voc-sample', 'JPEGImages');
const NAMES = readdirSync(IMAGES).sort();

const readSummary = (path: string): InputRecord[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as InputRecord);

const stem = (name: string): string => name.replace(/\.\w+$/, '');

/** Serves the VOC sample images over http (a manifest's URL lines). */
function serveImages(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const name = basename(req.url ?? '');
    if (!NAMES.includes(name)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    createReadStream(join(IMAGES, name)).pipe(res);
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

describe('deeplab segment over a collection: shards, reruns after a kill', function () {
  this.timeout(600_000);
  let tmp: string;
  /** One unsharded run's masks, by image stem. */
  const reference = new Map<string, Buffer>();
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'deeplab-shards-'));
    const out = join(tmp, 'reference');
    const r = await runCli(['segment', IMAGES, '--out', out]);
    expect(r.code, messages(r.stderr)).to.equal(0);
    expect(readdirSync(out).sort()).to.deep.equal(NAMES.map((n) => `${stem(n)}.png`).sort());
    for (const n of NAMES) reference.set(stem(n), readFileSync(join(out, `${stem(n)}.png`)));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("three shards of a manifest, run at once, write one unsharded run's bytes, each image once, bad inputs recorded", async () => {
    const { server, url } = await serveImages();
    try {
      // The manifest's order (not the names') decides the shards: the images reversed, one of
      // them by URL, and two bad lines among them.
      const truncated = join(tmp, 'truncated.jpg');
      writeFileSync(truncated, readFileSync(join(IMAGES, '2007_000033.jpg')).subarray(0, 5000));
      const lines = [...NAMES].reverse().map((n) => (n === 'voc12val_0120.png' ? `${url}/${n}` : join(IMAGES, n)));
      lines.splice(3, 0, join(tmp, 'missing.jpg'));
      lines.splice(8, 0, truncated);
      const manifest = join(tmp, 'images.txt');
      writeFileSync(manifest, `# ${lines.length} inputs\n${lines.join('\n')}\n`);
      const out = join(tmp, 'shards');
      const runs = await Promise.all(
        [0, 1, 2].map((i) => runCli(['segment', '--manifest', manifest, '--shard', `${i}/3`, '--out', out, '--summary', join(tmp, `shard-${i}.jsonl`)])),
      );
      const records = [0, 1, 2].map((i) => readSummary(join(tmp, `shard-${i}.jsonl`)));
      for (const [i, r] of runs.entries()) {
        // Each shard: every third line of the manifest from the i-th, in order.
        expect(records[i].map((x) => x.input), `shard ${i}`).to.deep.equal(lines.filter((_, k) => k % 3 === i));
        const bad = records[i].filter((x) => x.status === 'failed').length;
        expect(r.code, messages(r.stderr)).to.equal(bad > 0 ? 1 : 0);
        expect(r.stdout).to.contain(`segment: ${records[i].length} images (shard ${i}/3 of 12): ${records[i].length - bad} segmented, 0 already done, ${bad} failed`);
        // Not a terminal: no more than the first and the last progress lines, however many images.
        expect(r.stderr.match(/^segment\s+\d+\/\d+/gm)?.length ?? 0).to.be.at.most(2);
      }
      const all = records.flat();
      expect(all.map((x) => x.input).sort(), 'every input once').to.deep.equal([...lines].sort());
      const failed = all.filter((x) => x.status === 'failed');
      expect(failed.map((x) => x.input).sort()).to.deep.equal([join(tmp, 'missing.jpg'), truncated].sort());
      expect(failed.find((x) => x.input === truncated)!.error).to.match(/truncated\.jpg.*JPEG/);
      expect(failed.find((x) => x.input !== truncated)!.error).to.match(/missing\.jpg.*(ENOENT|no such file)/);
      // The masks: exactly the unsharded run's bytes, nothing else in the folder.
      expect(readdirSync(out).sort()).to.deep.equal([...reference.keys()].map((s) => `${s}.png`).sort());
      for (const [s, bytes] of reference) expect(readFileSync(join(out, `${s}.png`)).equals(bytes), s).to.equal(true);
      for (const x of all.filter((y) => y.status === 'segmented')) {
        expect(x.output).to.equal(join(out, `${stem(basename(x.input))}.png`));
        expect(Object.values(x.classes!).reduce((a, b) => a + b, 0)).to.be.closeTo(100, 0.01);
      }
    } finally {
      server.close();
    }
  });

  it('a shard killed part-way finishes when run again, without segmenting what it had finished', async () => {
    // 30 inputs (each VOC image under three names), so the kill lands while most are still to do.
    const photos = join(tmp, 'photos');
    mkdirSync(photos);
    for (const n of NAMES) for (const p of ['a', 'b', 'c']) copyFileSync(join(IMAGES, n), join(photos, `${p}_${n}`));
    const out = join(tmp, 'killed');
    const summary = join(tmp, 'killed.jsonl');
    const args = ['segment', photos, '--shard', '1/2', '--out', out, '--summary', summary];
    const shardInputs = readdirSync(photos)
      .sort()
      .filter((_, k) => k % 2 === 1)
      .map((n) => join(photos, n));

    // A process group of its own: the kill takes the CLI and its filtered child at once, as a
    // node losing a pod would.
    const env = { ...process.env, DEEPLAB_WEIGHTS_DIR: sharedPath('weights'), DEEPLAB_DEBUG: '' };
    const child = spawn(process.execPath, [CLI, ...args], { detached: true, stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.on('exit', (code, signal) => done({ code, signal })));
    const linesDone = (): number => (existsSync(summary) ? readSummary(summary).length : 0);
    let running = true;
    void exited.then(() => (running = false));
    while (running && linesDone() < 2) await new Promise((r) => setTimeout(r, 20));
    expect(running, `the run ended before 2 images were done: ${messages(stderr)}`).to.equal(true);
    process.kill(-child.pid!, 'SIGKILL');
    expect((await exited).signal).to.equal('SIGKILL');

    const before = readSummary(summary);
    expect(before.length, 'killed part-way').to.be.within(2, shardInputs.length - 1);
    // Whatever was finished at the kill: its mask is on disk (some may be newer than the last line).
    const finished = new Map(
      readdirSync(out)
        .filter((n) => n.endsWith('.png') && !n.startsWith('.'))
        .map((n) => [n, statSync(join(out, n))]),
    );
    for (const r of before) expect(finished.has(basename(r.output!)), r.input).to.equal(true);

    const again = await runCli(args);
    expect(again.code, messages(again.stderr)).to.equal(0);
    const after = readSummary(summary);
    expect(after.map((r) => r.input)).to.deep.equal(shardInputs);
    const done = after.filter((r) => r.status === 'already-done').map((r) => basename(r.output!));
    expect(done.sort()).to.deep.equal([...finished.keys()].sort());
    expect(after.filter((r) => r.status === 'segmented').length).to.equal(shardInputs.length - finished.size);
    expect(again.stdout).to.contain(`${shardInputs.length} images (shard 1/2 of 30): ${shardInputs.length - finished.size} segmented, ${finished.size} already done, 0 failed`);
    // Not written again: the same file (a rewrite would rename a new one into place).
    for (const [n, stat] of finished) {
      const now = statSync(join(out, n));
      expect([now.ino, now.mtimeMs], n).to.deep.equal([stat.ino, stat.mtimeMs]);
    }
    // The records of finished images, read back from their masks, are those the first run wrote.
    for (const r of before) expect(after.find((a) => a.input === r.input), r.input).to.deep.include({ classes: r.classes, width: r.width, height: r.height });
    // Every mask the unsharded run's bytes; no temporary file left behind.
    expect(readdirSync(out).sort()).to.deep.equal(shardInputs.map((p) => `${stem(basename(p))}.png`).sort());
    for (const p of shardInputs) {
      const name = basename(p).slice(2);
      expect(readFileSync(join(out, `${stem(basename(p))}.png`)).equals(reference.get(stem(name))!), p).to.equal(true);
    }
  });
});
