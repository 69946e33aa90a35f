// Registry downloads, served from a local HTTP server on the loopback address: the file lands in
// the cache only once its sha256 is verified, a corrupt download leaves nothing behind, and an
// offline copy in DEEPLAB_WEIGHTS_DIR is used (and checked) before any download; a server that
// stalls or cannot be reached is an error naming the URL, within the stall time-out.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RegistryEntry } from '../../src/model/loading/registry.js';
import { resolveWeights } from '../../src/model/loading/weights-store.js';
import { setFlags } from '../../src/util/flags.js';
import { expectAbortError, expectRejects, randomArray } from '../helpers.js';

describe('model: weight store (downloads and offline copies)', () => {
  const payload = Buffer.from(randomArray(50_000).buffer); // 200 kB of fresh bytes
  const sha = createHash('sha256').update(payload).digest('hex');
  let server: Server;
  let base: string;
  let dir: string;
  let restoreFlags: () => void;

  const entry = (over: Partial<RegistryEntry>): RegistryEntry => ({
    name: 'test-model',
    description: 'test',
    format: 'safetensors',
    fileName: 'test-model.bin',
    url: `${base}/good`,
    sha256: sha,
    backbone: 'mobilenet_v2',
    inputSize: [33, 33],
    outputStride: 8,
    numClasses: 21,
    dataset: 'none',
    ...over,
  });

  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/good') res.end(payload);
      else if (req.url === '/corrupt') res.end(Buffer.concat([payload.subarray(0, 1000), Buffer.from('x')]));
      else if (req.url === '/stall-before-headers') return; // never answers
      else if (req.url === '/stall-in-body') {
        res.writeHead(200, { 'content-length': String(payload.length) });
        res.write(payload.subarray(0, 1000)); // then nothing more
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections(); // the stalled answers' connections
    await new Promise<void>((r) => server.close(() => r()));
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-store-'));
    restoreFlags = setFlags({ DEEPLAB_WEIGHTS_DIR: undefined, DEEPLAB_CACHE_DIR: join(dir, 'cache') });
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    restoreFlags();
  });

  it('downloads into the cache, verifies the sha256, and reuses the cached file', async () => {
    const messages: string[] = [];
    const path = await resolveWeights(entry({}), { onProgress: (m) => messages.push(m) });
    expect(path).to.equal(join(dir, 'cache', 'test-model.bin'));
    expect(readFileSync(path).equals(payload)).to.equal(true);
    expect(messages.some((m) => m.includes('downloading'))).to.equal(true);
    // Second time: no download (the URL now points nowhere).
    expect(await resolveWeights(entry({ url: `${base}/missing` }))).to.equal(path);
  });

  it('a folder model (a hub repository): every file downloaded into the folder, each checked where the registry can; a bad one leaves nothing', async () => {
    const folder = (good: string, note = 'sizes unknown'): RegistryEntry =>
      entry({
        format: 'hf-hub',
        fileName: 'org--repo',
        url: undefined,
        sha256: undefined,
        note,
        files: [
          { name: 'model.safetensors', url: `${base}/${good}`, sha256: sha },
          { name: 'config.json', url: `${base}/good` },
        ],
      });
    await expectRejects(() => resolveWeights(folder('corrupt')), /model\.safetensors: sha256 [0-9a-f]{64} does not match/, 'a corrupt file was accepted');
    expect(readdirSync(join(dir, 'cache'))).to.deep.equal([]);
    const messages: string[] = [];
    const path = await resolveWeights(folder('good'), { onProgress: (m) => messages.push(m) });
    expect(path).to.equal(join(dir, 'cache', 'org--repo'));
    expect(readdirSync(path).sort()).to.deep.equal(['config.json', 'model.safetensors']);
    expect(messages.filter((m) => m.startsWith('downloading'))).to.have.length(2);
    expect(messages.some((m) => m.includes('sizes unknown')), 'the note said').to.equal(true);
    // Found again without downloading; a file gone from it is an error naming it.
    expect(await resolveWeights(folder('missing'))).to.equal(path);
    rmSync(join(path, 'config.json'));
    await expectRejects(() => resolveWeights(folder('good')), /org--repo: no config\.json for model test-model/, 'an incomplete folder was accepted');
  });

  it('accepts a sha256 prefix, the way torchvision names its files', async () => {
    const path = await resolveWeights(entry({ sha256: undefined, sha256Prefix: sha.slice(0, 8) }));
    expect(existsSync(path)).to.equal(true);
  });

  it('refuses a corrupt download and leaves nothing in the cache', async () => {
    await expectRejects(() => resolveWeights(entry({ url: `${base}/corrupt` })), /sha256 [0-9a-f]{64} does not match/, 'a corrupt download was accepted');
    expect(readdirSync(join(dir, 'cache'))).to.deep.equal([]);
  });

  it('reports an HTTP error, and refuses to download when told not to', async () => {
    await expectRejects(() => resolveWeights(entry({ url: `${base}/missing` })), /HTTP 404/, 'a 404 was accepted');
    await expectRejects(() => resolveWeights(entry({}), { download: false }), /not found/, 'downloaded although download: false');
  });

  it('prefers an offline copy in DEEPLAB_WEIGHTS_DIR, and checks it too', async () => {
    const offline = join(dir, 'offline');
    mkdirSync(offline);
    writeFileSync(join(offline, 'test-model.bin'), payload);
    setFlags({ DEEPLAB_WEIGHTS_DIR: offline }); // put back by afterEach
    expect(await resolveWeights(entry({ url: `${base}/missing` }))).to.equal(join(offline, 'test-model.bin'));
    writeFileSync(join(offline, 'test-model.bin'), Buffer.from('tampered'));
    await expectRejects(() => resolveWeights(entry({})), /does not match/, 'a tampered offline copy was accepted');
  });

  it('a server that stalls (before its headers, or in the body) is an error naming the URL within the time-out; nothing is left in the cache', async () => {
    for (const path of ['/stall-before-headers', '/stall-in-body']) {
      const url = `${base}${path}`;
      // The server never sends more: the download ends by the stall time-out the message names, or never.
      const error = await expectRejects(() => resolveWeights(entry({ url }), { stallMs: 300 }), `download of ${url} stopped: nothing received for 0.3 s`, 'a stalled download');
      expect(error.message).to.contain('put in the cache by hand');
      expect(readdirSync(join(dir, 'cache')), 'the cache after a stalled download').to.deep.equal([]);
    }
  });

  it('a signal cancels a download under way: an AbortError, and nothing is left in the cache', async () => {
    const controller = new AbortController();
    const url = `${base}/stall-in-body`;
    setTimeout(() => controller.abort(), 200);
    // The server stalls, so the download ends by the signal or never.
    await expectAbortError(resolveWeights(entry({ url }), { signal: controller.signal }), 'a cancelled download');
    expect(readdirSync(join(dir, 'cache')), 'the cache after a cancelled download').to.deep.equal([]);
  });

  it('a server that cannot be reached is an error naming the URL and the cause', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/model.bin`;
    await new Promise<void>((r) => closed.close(() => r()));
    await expectRejects(() => resolveWeights(entry({ url })), new RegExp(`^download of ${url.replace(/[.]/g, '\\.')} failed: connect ECONNREFUSED`), 'a refused connection');
  });
});
