// The demo server (demo/server.ts) under hostile requests: malformed URLs and percent-encoding,
// unknown methods, huge headers, paths that try to leave the served folders, files cut short
// while sent, a folder that cannot be listed, a hundred connections at once. Each gets its 4xx
// (or its file), nothing outside the served folders is ever sent, and afterwards the page, its
// script, the bundle, the weights listing and a sample image still load. Plain Node: raw
// node:net sockets for what an HTTP client would refuse to send, http/fetch for the rest, all
// on 127.0.0.1; no browser, no GPU.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { Agent, type IncomingMessage, type Server, get } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { startDemoServer } from '../../demo/server.js';
import { whileWaitingFor } from '../wait-until.js';

const SECRET = 'SECRET-OUTSIDE-THE-SERVED-FOLDERS';
const WEIGHTS = 'deeplabv3_257_mv_gpu.tflite'; // a registry name: the listing gives its model name
const IMAGE = 'tiny.png';
const ODD_IMAGE = '50% off.png'; // fetched as /samples/50%25%20off.png

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Splits what a server sent on one connection into its responses (bodies by content-length; none after HEAD, 204 or 304). */
function parseResponses(data: Buffer, methods: string[]): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < data.length) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end < 0) throw new Error(`a response cut off in its headers: ${JSON.stringify(data.subarray(at, at + 200).toString('latin1'))}`);
    const [statusLine, ...lines] = data.subarray(at, end).toString('latin1').split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (!status) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const code = Number(status[1]);
    const noBody = methods[out.length] === 'HEAD' || code === 204 || code === 304;
    const length = noBody ? 0 : headers['content-length'] !== undefined ? Number(headers['content-length']) : data.length - end - 4;
    out.push({ status: code, headers, body: data.subarray(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
  return out;
}

/** A connection to the server, open; `exchange` writes its bytes and reads until the server closes it (each request here asks it to). */
async function openRaw(port: number): Promise<{ exchange(request: string | Buffer): Promise<Buffer> }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((done, fail) => {
    socket.once('connect', done);
    socket.once('error', fail);
  });
  return {
    // The server must end each answer (not stall): a test waits for it as long as its timeout.
    exchange: (request) =>
      whileWaitingFor(
        `the server to end its answer to ${JSON.stringify(request.toString().slice(0, 80))}`,
        new Promise<Buffer>((done) => {
          const chunks: Buffer[] = [];
          socket.on('data', (c: Buffer) => chunks.push(c));
          // A reset after the answer (the server closes with the rest of a huge request unread) still counts as the answer.
          socket.on('error', () => undefined);
          socket.on('close', () => done(Buffer.concat(chunks)));
          socket.write(request); // not end(): Node's server drops a request whose client half-closes
        }),
      ),
  };
}

/** The responses to the requests in `request` (sent as they are, on one connection). */
async function raw(port: number, request: string | Buffer, methods: string[] = []): Promise<RawResponse[]> {
  const data = await (await openRaw(port)).exchange(request);
  if (methods.length === 0) methods = [request.toString('latin1').split(' ')[0]];
  return parseResponses(data, methods);
}

/** A request line and headers as a client would send them (Host included, the connection closed after). */
const req = (method: string, target: string, headers = ''): string => `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}Connection: close\r\n\r\n`;

function pngBytes(width: number, height: number): Buffer {
  const png = new PNG({ width, height });
  for (let i = 0; i < png.data.length; i++) png.data[i] = (i * 37) & 0xff;
  return PNG.sync.write(png);
}

describe('demo server: hostile requests', function () {
  this.timeout(60_000);
  let server: Server;
  let port: number;
  let dir: string;
  let weightsDir: string;
  let samplesDir: string;
  const logged: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-demo-server-'));
    weightsDir = join(dir, 'weights');
    samplesDir = join(dir, 'samples');
    mkdirSync(weightsDir);
    mkdirSync(samplesDir);
    writeFileSync(join(dir, 'secret.tflite'), SECRET);
    writeFileSync(join(dir, 'secret.png'), SECRET);
    writeFileSync(join(weightsDir, WEIGHTS), Buffer.from(`TFL3 fake weights ${'x'.repeat(1000)}`));
    symlinkSync(join(dir, 'no-such-file.pth'), join(weightsDir, 'dangling.pth')); // listed by readdir, no file behind it
    mkdirSync(join(weightsDir, 'folder.pt')); // a folder with a weights extension
    writeFileSync(join(samplesDir, IMAGE), pngBytes(3, 2));
    writeFileSync(join(samplesDir, ODD_IMAGE), pngBytes(2, 2));
    ({ server } = await startDemoServer({ weightsDir, samplesDir, log: (l) => logged.push(l) }));
    port = (server.address() as AddressInfo).port;
  });

  after(() => {
    server?.closeAllConnections();
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The page and everything it loads at start answer as they should: the server still serves. */
  async function pageStillLoads(): Promise<void> {
    const base = `http://127.0.0.1:${port}`;
    const page = await fetch(`${base}/`);
    expect(page.status, '/').to.equal(200);
    expect(page.headers.get('content-type')).to.match(/^text\/html/);
    expect(await page.text()).to.equal(readFileSync('demo/index.html', 'utf8'));
    const script = await fetch(`${base}/demo.js`);
    expect(script.status, '/demo.js').to.equal(200);
    expect(script.headers.get('content-type')).to.match(/^text\/javascript/);
    expect(await script.text()).to.equal(readFileSync('demo/demo.js', 'utf8'));
    const bundle = await fetch(`${base}/deeplab.js`);
    expect(bundle.status, '/deeplab.js (dist/browser/deeplab.js: npm run build makes it)').to.equal(200);
    expect(Buffer.from(await bundle.arrayBuffer()).equals(readFileSync('dist/browser/deeplab.js')), '/deeplab.js is the bundle').to.equal(true);
    const weights = await fetch(`${base}/weights/`);
    expect(weights.status, '/weights/').to.equal(200);
    expect(weights.headers.get('content-type')).to.equal('application/json');
    const list = (await weights.json()) as { file: string; name: string; bytes: number }[];
    expect(list.map((w) => w.file), 'only the weights files that are files').to.deep.equal([WEIGHTS]);
    expect(list[0].name).to.equal('mobilenetv2-pascal-257');
    expect(list[0].bytes).to.equal(readFileSync(join(weightsDir, WEIGHTS)).length);
    const samples = await fetch(`${base}/samples/`);
    expect(samples.status, '/samples/').to.equal(200);
    expect(await samples.json()).to.deep.equal([ODD_IMAGE, IMAGE].sort());
    const image = await fetch(`${base}/samples/${IMAGE}`);
    expect(image.status, `/samples/${IMAGE}`).to.equal(200);
    expect(image.headers.get('content-type')).to.equal('image/png');
    expect(Buffer.from(await image.arrayBuffer()).equals(readFileSync(join(samplesDir, IMAGE))), 'the sample image bytes').to.equal(true);
    const odd = await fetch(`${base}/samples/${encodeURIComponent(ODD_IMAGE)}`);
    expect(odd.status, 'an image whose name needs percent-encoding').to.equal(200);
    expect(Buffer.from(await odd.arrayBuffer()).equals(readFileSync(join(samplesDir, ODD_IMAGE)))).to.equal(true);
    const model = await fetch(`${base}/weights/${WEIGHTS}`);
    expect(model.status, `/weights/${WEIGHTS}`).to.equal(200);
    expect(model.headers.get('content-length')).to.equal(String(readFileSync(join(weightsDir, WEIGHTS)).length));
    expect(Buffer.from(await model.arrayBuffer()).equals(readFileSync(join(weightsDir, WEIGHTS)))).to.equal(true);
  }

  const BIG_HEADER = 'X-Big: ' + 'a'.repeat(64 * 1024) + '\r\n';
  const MANY_HEADERS = Array.from({ length: 1500 }, (_, i) => `X-H${i}: ${'b'.repeat(20)}\r\n`).join('');
  /** [what, raw request, the statuses it may get]. */
  const HOSTILE: [string, string, number[]][] = [
    // Malformed URLs and percent-encoding.
    ['a truncated percent escape', req('GET', '/weights/%'), [400]],
    ['a percent escape that is not hex', req('GET', '/%zz'), [400]],
    ['a percent escape cut mid UTF-8 sequence', req('GET', '/samples/%E0%A4%A'), [400]],
    ['an overlong UTF-8 slash', req('GET', '/samples/%C0%AFetc'), [400]],
    ['a lone surrogate', req('GET', '/%ED%A0%80'), [400]],
    ['an asterisk target', req('GET', '*'), [400]],
    ['a target that is no path', req('GET', 'weights/'), [400]],
    ['a fragment in the target', req('GET', '/#frag'), [400]],
    ['spaces in the target', 'GET /a b c HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', [400]],
    ['raw UTF-8 in the target', req('GET', '/sämples/'), [400]],
    ['a malformed absolute URL', req('GET', 'http://[::1/'), [400]],
    ['a bad HTTP version', 'GET / HTTP/7.1\r\nHost: 127.0.0.1\r\n\r\n', [400, 505]],
    ['no Host header', 'GET / HTTP/1.1\r\nConnection: close\r\n\r\n', [400]],
    ['bytes that are no request (a TLS hello)', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', [400]],
    ['a bad content-length', req('GET', '/', 'Content-Length: -5\r\n'), [400]],
    ['content-length and chunked together', req('GET', '/', 'Content-Length: 3\r\nTransfer-Encoding: chunked\r\n'), [400]],
    // Methods.
    ['DELETE', req('DELETE', '/'), [405]],
    ['PUT with a body', req('PUT', '/weights/x.tflite', 'Content-Length: 5\r\n').replace(/\r\n\r\n$/, '\r\n\r\nhello'), [405]],
    ['POST', req('POST', '/weights/', 'Content-Length: 0\r\n'), [405]],
    ['OPTIONS', req('OPTIONS', '*'), [405]],
    ['TRACE', req('TRACE', '/'), [405]],
    ['PATCH', req('PATCH', '/'), [405]],
    ['PROPFIND', req('PROPFIND', '/'), [405]],
    ['a method no parser knows', req('BREW', '/'), [405]],
    ['a lower-case get', req('get', '/'), [405]],
    ['CONNECT', 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n', [405]],
    // Huge headers.
    ['a 64 KiB header', req('GET', '/', BIG_HEADER), [431]],
    ['1500 headers', req('GET', '/', MANY_HEADERS), [431]],
    ['a 64 KiB URL', req('GET', `/${'a'.repeat(64 * 1024)}`), [431, 414]],
    // Paths outside the served folders.
    ['/../', req('GET', '/../secret.tflite'), [400, 404]],
    ['/weights/../../', req('GET', '/weights/../../package.json'), [400, 404]],
    ['/weights/..%2f', req('GET', '/weights/..%2fsecret.tflite'), [400]],
    ['encoded %2e%2e%2f', req('GET', '/samples/%2e%2e%2fsecret.png'), [400]],
    ['upper-case %2E%2E%2F', req('GET', '/samples/%2E%2E%2F%2E%2E%2Fpackage.json'), [400]],
    ['a %2e%2e segment', req('GET', '/%2e%2e/%2e%2e/package.json'), [400]],
    ['a . segment', req('GET', '/weights/./' + WEIGHTS), [400]],
    ['backslashes', req('GET', '/weights/..\\secret.tflite'), [400]],
    ['encoded backslashes', req('GET', '/samples/..%5csecret.png'), [400]],
    ['a NUL byte', req('GET', `/weights/${WEIGHTS}%00.png`), [400]],
    ['a raw NUL byte', req('GET', '/weights/a\0b'), [400]],
    ['a newline', req('GET', '/samples/a%0Ab.png'), [400]],
    ['an absolute path', req('GET', '/etc/passwd'), [404]],
    ['an encoded absolute path in a folder', req('GET', '/weights/%2Fetc%2Fpasswd'), [404]],
    ['a double slash', req('GET', '//etc/passwd'), [404]],
    ['a double slash in a folder', req('GET', '/weights//etc/passwd'), [404]],
    ['an absolute-form URL with ..', req('GET', 'http://127.0.0.1/weights/../package.json'), [400, 404]],
    ['a project file', req('GET', '/package.json'), [404]],
    ['the server source', req('GET', '/demo/server.ts'), [404]],
    ['a file next to the weights', req('GET', '/weights/secret.tflite'), [404]],
    ['an object key, not a route', req('GET', '/constructor'), [404]],
    ['__proto__', req('GET', '/__proto__'), [404]],
    ['a dangling link in the weights', req('GET', '/weights/dangling.pth'), [404]],
    ['a folder in the weights', req('GET', '/weights/folder.pt'), [404]],
    ['a sample that is not there', req('GET', '/samples/none.png'), [404]],
    ['a file of the wrong kind in a folder', req('GET', `/samples/${WEIGHTS}`), [404]],
  ];

  /** Checks one answer: its status, Allow on 405, and no byte from outside the served folders. */
  function checkAnswer(what: string, answers: RawResponse[], statuses: number[]): void {
    expect(answers, `${what}: one answer`).to.have.length(1);
    const [answer] = answers;
    expect(statuses, `${what}: status ${answer.status} (${answer.body.toString().trim().slice(0, 100)})`).to.include(answer.status);
    if (answer.status === 405) expect(answer.headers.allow, `${what}: Allow`).to.equal('GET, HEAD');
    const body = answer.body.toString('latin1');
    expect(body, what).to.not.contain(SECRET);
    expect(body, what).to.not.contain('"name": "deeplab-webgpu"');
    expect(body, what).to.not.contain('root:');
  }

  it('answers each hostile request with its 4xx, then still serves the page', async () => {
    for (const [what, request, statuses] of HOSTILE) checkAnswer(what, await raw(port, request), statuses);
    // The absolute path of a file beside the served folders, encoded into one name.
    checkAnswer('the secret by its absolute path', await raw(port, req('GET', `/weights/${encodeURIComponent(join(dir, 'secret.tflite'))}`)), [404]);
    checkAnswer('the secret by a relative path', await raw(port, req('GET', `/weights/${encodeURIComponent('../secret.tflite')}`)), [400]);
    expect(logged, 'no hostile request is a server failure').to.deep.equal([]);
    await pageStillLoads();
  });

  it('answers HEAD with the headers and no body', async () => {
    const size = readFileSync(join(samplesDir, IMAGE)).length;
    for (const [target, status, length] of [
      [`/samples/${IMAGE}`, 200, size],
      ['/', 200, readFileSync('demo/index.html').length],
      ['/samples/none.png', 404, undefined],
    ] as const) {
      const data = await (await openRaw(port)).exchange(req('HEAD', target));
      const end = data.indexOf('\r\n\r\n');
      expect(end, target).to.be.greaterThan(0);
      expect(data.length, `${target}: nothing after the headers`).to.equal(end + 4);
      const [answer] = parseResponses(data, ['HEAD']);
      expect(answer.status, target).to.equal(status);
      if (length !== undefined) expect(answer.headers['content-length'], target).to.equal(String(length));
    }
    const listing = await fetch(`http://127.0.0.1:${port}/weights/`, { method: 'HEAD' });
    expect(listing.status).to.equal(200);
    expect(await listing.text()).to.equal('');
  });

  it('keeps a connection serving after a refused request (one without a body), and answers a parser error after the answer owed', async () => {
    const methods = ['GET', 'DELETE', 'GET', 'GET'];
    const answers = parseResponses(
      await (await openRaw(port)).exchange(
        'GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n' + 'DELETE / HTTP/1.1\r\nHost: a\r\n\r\n' + 'GET /../x HTTP/1.1\r\nHost: a\r\n\r\n' + req('GET', '/demo.js'),
      ),
      methods,
    );
    expect(answers.map((a) => a.status)).to.deep.equal([400, 405, 400, 200]);
    expect(answers[3].body.toString()).to.equal(readFileSync('demo/demo.js', 'utf8'));
    // A refused request with a body closes its connection rather than read the body.
    const upload = parseResponses(await (await openRaw(port)).exchange('POST /weights/ HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello' + req('GET', '/')), ['POST', 'GET']);
    expect(upload.map((a) => [a.status, a.headers.connection])).to.deep.equal([[405, 'close']]);
    // The listing is answered (the disk is read first) before the 405 the parser's refusal of BREW gets.
    const piped = parseResponses(await (await openRaw(port)).exchange('GET /weights/ HTTP/1.1\r\nHost: a\r\n\r\nBREW / HTTP/1.1\r\nHost: a\r\n\r\n'), ['GET', 'BREW']);
    expect(piped.map((a) => a.status)).to.deep.equal([200, 405]);
    expect(JSON.parse(piped[0].body.toString()).map((w: { file: string }) => w.file)).to.deep.equal([WEIGHTS]);
    await pageStillLoads();
  });

  it('a hundred concurrent connections each get their answer', async () => {
    const good: [string, string, number[]][] = [
      ['the page', req('GET', '/'), [200]],
      ['the listing', req('GET', '/weights/'), [200]],
      ['a sample', req('GET', `/samples/${IMAGE}`), [200]],
      ['the weights', req('GET', `/weights/${WEIGHTS}`), [200]],
      ['HEAD of the page', req('HEAD', '/'), [200]],
    ];
    const mix = [...good, ...HOSTILE];
    const jobs = Array.from({ length: 100 }, (_, i) => mix[(i * 7) % mix.length]);
    // All hundred are open before the first request is written.
    const sockets = await Promise.all(jobs.map(() => openRaw(port)));
    const data = await Promise.all(sockets.map((s, i) => s.exchange(jobs[i][1])));
    data.forEach((d, i) => {
      const [what, request, statuses] = jobs[i];
      checkAnswer(`#${i} ${what}`, parseResponses(d, [request.split(' ')[0]]), statuses);
    });
    const served = parseResponses(data[jobs.findIndex((j) => j[0] === 'a sample')], ['GET'])[0];
    expect(served.body.equals(readFileSync(join(samplesDir, IMAGE))), 'a sample among the hundred').to.equal(true);
    await pageStillLoads();
  });

  it('cuts the connection of a file cut short while it is sent (no client waits for bytes that will not come)', async () => {
    const big = join(weightsDir, 'big.safetensors');
    const size = 128 * 1024 * 1024;
    writeFileSync(big, '');
    truncateSync(big, size); // sparse: no disk used
    logged.length = 0;
    const agent = new Agent({ keepAlive: true });
    // A response left short on a kept-alive connection would be cut only when the server's
    // keep-alive timeout runs out: made longer than the test's, the cut can only be the server's own.
    const keepAlive = server.keepAliveTimeout;
    server.keepAliveTimeout = 10 * 60_000;
    try {
      const outcome = await whileWaitingFor('the server to end or cut the short response', new Promise<{ received: number; complete: boolean }>((done, fail) => {
        get(`http://127.0.0.1:${port}/weights/big.safetensors`, { agent }, (res: IncomingMessage) => {
          if (res.statusCode !== 200 || res.headers['content-length'] !== String(size)) {
            res.resume();
            fail(new Error(`expected 200 with content-length ${size}, got ${res.statusCode} with ${res.headers['content-length']}`));
            return;
          }
          let received = 0;
          res.once('data', (c: Buffer) => {
            received += c.length;
            res.pause();
            truncateSync(big, 1024 * 1024); // the file shrinks while the server is held back by the paused client
            res.on('data', (more: Buffer) => (received += more.length));
            setTimeout(() => res.resume(), 50);
          });
          res.on('error', () => undefined);
          res.on('close', () => done({ received, complete: res.complete }));
        }).on('error', () => undefined); // the cut: what this test waits for
      }));
      expect(outcome.complete, 'the response must not pass for complete').to.equal(false);
      expect(outcome.received).to.be.below(size);
      expect(logged.join('\n')).to.contain('changed while it was sent');
    } finally {
      server.keepAliveTimeout = keepAlive;
      agent.destroy();
      rmSync(big, { force: true });
      logged.length = 0;
    }
    await pageStillLoads();
  });

  it('a folder that cannot be listed is a 500 on its routes, and the rest is served', async () => {
    const notAFolder = join(dir, 'weights-is-a-file');
    writeFileSync(notAFolder, 'not a folder');
    const lines: string[] = [];
    const other = await startDemoServer({ weightsDir: notAFolder, samplesDir, log: (l) => lines.push(l) });
    try {
      const otherPort = (other.server.address() as AddressInfo).port;
      for (const target of ['/weights/', `/weights/${WEIGHTS}`]) {
        const [answer] = await raw(otherPort, req('GET', target));
        expect(answer.status, target).to.equal(500);
        expect(answer.body.toString(), target).to.contain('ENOTDIR');
      }
      expect(lines.join('\n')).to.contain('ENOTDIR');
      const [page] = await raw(otherPort, req('GET', '/'));
      expect(page.status).to.equal(200);
      const [image] = await raw(otherPort, req('GET', `/samples/${IMAGE}`));
      expect(image.status).to.equal(200);
    } finally {
      other.server.closeAllConnections();
      other.server.close();
    }
  });

  it('after all of them, the page, its script, the bundle, the weights listing and a sample image still load', async () => {
    expect(server.listening).to.equal(true);
    await pageStillLoads();
  });
});
