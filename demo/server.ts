// `npm run demo`: serves the demo page, the browser bundle, the weights this machine has and the
// VOC sample images with their label maps (/labels/), on localhost, with nothing fetched from
// outside; and onnxruntime-web's WebAssembly build at /ort/, the CPU device's runtime where the
// page has no WebGPU. Every answer makes the page cross-origin isolated, so that runtime may run
// a thread a core.
//
//   node dist/demo/server.js [--port N]      (DEEPLAB_WEIGHTS_DIR: where the weights are)
//
// No request stops it. Each one gets an answer: a file or a listing, or a 4xx saying what was
// wrong with it (demo/http-requests.ts: a bad URL or percent-encoding 400, a method other than
// GET or HEAD 405, headers over MAX_HEADER_BYTES 431, a path that is not one of the few served
// 404), or a 500 where the disk fails it. Only the static files (page, scripts, bundle and its
// map) and the files listed in the weights, samples and labels folders are ever read; no path a
// request names is joined onto a folder unless it is in that folder's listing. Files are
// streamed, so a large weights file is not read into memory first.
import { type FileHandle, open, readdir, stat } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { REGISTRY } from '../src/model/loading/registry.js';
import { readFlag } from '../src/util/flags.js';
import { sharedDirLocation } from '../test/shared.js';
import { ALLOW, HttpError, TEXT, parserAnswer, rawAnswer, requestPath } from './http-requests.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'); // dist/demo -> root
const WEIGHT_EXTENSIONS = new Set(['.tflite', '.pth', '.pt', '.safetensors', '.onnx']);
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.json': 'application/json',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
};
/** The most bytes of request line and headers read (Node's default); past it the answer is 431. */
const MAX_HEADER_BYTES = 16 * 1024;

export interface DemoServerOptions {
  port?: number;
  /** Folder of weight files (default DEEPLAB_WEIGHTS_DIR, else ../shared/weights). */
  weightsDir?: string;
  /** Folder of sample images (default ../shared/data/voc-sample/JPEGImages). */
  samplesDir?: string;
  /** Folder of the samples' label maps, `<sample name>.png` (default SegmentationClass beside samplesDir). */
  labelsDir?: string;
  /** Where a request that failed on the server (a 500) is told (default console.error). */
  log?: (line: string) => void;
}

const errorCode = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

/**
 * The files of `dir` (not folders) whose extension is in `extensions`, sorted, with their sizes;
 * none if it is missing. An entry that cannot be stat'ed (a dangling link, one removed while
 * listing) is left out; a folder that cannot be read at all is an error.
 */
async function listFiles(dir: string, extensions: Set<string>): Promise<{ file: string; bytes: number }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if (errorCode(e) === 'ENOENT') return [];
    throw e;
  }
  const entries = await Promise.all(
    names
      .filter((f) => extensions.has(extname(f).toLowerCase()))
      .map(async (file) => {
        try {
          const info = await stat(join(dir, file));
          return info.isFile() ? { file, bytes: info.size } : undefined;
        } catch {
          return undefined;
        }
      }),
  );
  return entries.filter((e) => e !== undefined).sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/** The weights the page can load: each file with the registry's name and description where it is a known one. */
async function weightsList(dir: string): Promise<{ file: string; name: string; description: string; bytes: number }[]> {
  return (await listFiles(dir, WEIGHT_EXTENSIONS)).map(({ file, bytes }) => {
    const entry = REGISTRY.find((e) => e.fileName === file);
    return { file, name: entry?.name ?? file, description: entry?.description ?? file, bytes };
  });
}

/** Headers that make the page cross-origin isolated: SharedArrayBuffer, so WebAssembly threads. */
const CROSS_ORIGIN_ISOLATED = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

/** The ONNX Runtime files the page's CPU device imports (useCpuRuntime('/ort/ort.wasm.min.mjs')), where the package is installed. */
function ortFiles(): Record<string, string> {
  let dist: string;
  try {
    dist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web')); // its main is in dist/
  } catch {
    return {};
  }
  return Object.fromEntries(['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'].map((f) => [`/ort/${f}`, join(dist, f)]));
}

export async function startDemoServer(opts: DemoServerOptions = {}): Promise<{ server: Server; url: string }> {
  // The shared folder's copies by default; a missing folder serves empty lists.
  const weightsDir = resolve(opts.weightsDir ?? readFlag('DEEPLAB_WEIGHTS_DIR') ?? join(sharedDirLocation(), 'weights'));
  const samplesDir = resolve(opts.samplesDir ?? join(sharedDirLocation(), 'data', 'voc-sample', 'JPEGImages'));
  const labelsDir = resolve(opts.labelsDir ?? join(dirname(samplesDir), 'SegmentationClass'));
  const log = opts.log ?? ((line: string) => console.error(line));
  const statics: Record<string, string> = {
    '/': join(ROOT, 'demo', 'index.html'),
    '/demo.js': join(ROOT, 'demo', 'demo.js'),
    '/teach.js': join(ROOT, 'demo', 'teach.js'),
    ...Object.fromEntries(['paint', 'report', 'form', 'folder', 'hooks'].map((m) => [`/teach-${m}.js`, join(ROOT, 'demo', `teach-${m}.js`)])),
    '/demo.css': join(ROOT, 'demo', 'demo.css'),
    '/capabilities.js': join(ROOT, 'demo', 'capabilities.js'),
    '/loss-curve.js': join(ROOT, 'demo', 'loss-curve.js'),
    '/teach-session.js': join(ROOT, 'demo', 'teach-session.js'),
    '/kept.js': join(ROOT, 'demo', 'kept.js'),
    '/overlay.js': join(ROOT, 'demo', 'overlay.js'),
    '/drop-zone.js': join(ROOT, 'demo', 'drop-zone.js'),
    '/deeplab.js': join(ROOT, 'dist', 'browser', 'deeplab.js'),
    '/deeplab.js.map': join(ROOT, 'dist', 'browser', 'deeplab.js.map'),
    '/deeplab-worker.js': join(ROOT, 'dist', 'browser', 'deeplab-worker.js'),
    '/deeplab-worker.js.map': join(ROOT, 'dist', 'browser', 'deeplab-worker.js.map'),
  };
  /** Each socket's latest response: a parser error on the socket is answered after it, never inside it. */
  const responding = new WeakMap<Socket, ServerResponse>();

  Object.assign(statics, ortFiles());
  const head = (type: string, bytes: number) => ({
    'content-type': type,
    'content-length': String(bytes),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...CROSS_ORIGIN_ISOLATED,
  });
  const send = (res: ServerResponse, status: number, body: string | Buffer, type = TEXT, extra: Record<string, string> = {}) => {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(status, { ...head(type, bytes.length), ...extra });
    res.end(bytes); // Node sends no body for HEAD
  };

  /** Streams the file at `path`; `missing` is the answer where it is not there (gone since it was listed, or never built). */
  async function sendFile(req: IncomingMessage, res: ServerResponse, path: string, missing: () => HttpError): Promise<void> {
    let file: FileHandle;
    try {
      file = await open(path, 'r');
    } catch (e) {
      if (errorCode(e) === 'ENOENT' || errorCode(e) === 'ENOTDIR') throw missing();
      throw e;
    }
    try {
      // The size of the file opened, not of whatever the path names by now.
      const info = await file.stat();
      if (!info.isFile()) throw missing();
      res.writeHead(200, head(TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream', info.size));
      if (req.method === 'HEAD' || info.size === 0) {
        res.end();
        return;
      }
      const stream = file.createReadStream({ start: 0, end: info.size - 1, autoClose: false });
      await pipeline(stream, res, { end: false });
      // A file cut short while it was sent: the client must not wait for the bytes promised.
      if (stream.bytesRead !== info.size) throw new Error(`${path} changed while it was sent (${stream.bytesRead} of ${info.size} bytes)`);
      res.end();
    } finally {
      await file.close().catch(() => undefined);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `method ${req.method} is not served: only ${ALLOW}`, { allow: ALLOW });
    const path = requestPath(req.url);
    if (path === '/favicon.ico') {
      res.writeHead(204, { 'cache-control': 'no-store', ...CROSS_ORIGIN_ISOLATED });
      res.end();
      return;
    }
    if (path === '/weights/') return send(res, 200, JSON.stringify(await weightsList(weightsDir)), TYPES['.json']);
    if (path === '/samples/') return send(res, 200, JSON.stringify((await listFiles(samplesDir, IMAGE_EXTENSIONS)).map((f) => f.file)), TYPES['.json']);
    if (path === '/labels/') return send(res, 200, JSON.stringify((await listFiles(labelsDir, new Set(['.png']))).map((f) => f.file)), TYPES['.json']);
    // Only files listed in these folders are served: no other path reaches the disk.
    const [, folder, name] = /^\/(weights|samples|labels)\/([^/]+)$/.exec(path) ?? [];
    if (folder) {
      const dir = { weights: weightsDir, samples: samplesDir, labels: labelsDir }[folder]!;
      const listed = await listFiles(dir, folder === 'weights' ? WEIGHT_EXTENSIONS : IMAGE_EXTENSIONS);
      const notFound = () => new HttpError(404, `no ${folder} file ${name}`);
      if (!listed.some((f) => f.file === name)) throw notFound();
      return sendFile(req, res, join(dir, name), notFound);
    }
    const target = Object.hasOwn(statics, path) ? statics[path] : undefined;
    if (!target) throw new HttpError(404, `not found: ${path}`);
    return sendFile(req, res, target, () => new HttpError(500, `${target} is missing: run npm run build first`));
  }

  /** The answer to a request `handle` threw on: its status where it is an HttpError, else a 500. */
  function fail(req: IncomingMessage, res: ServerResponse, e: unknown): void {
    const clientGone = res.destroyed || errorCode(e) === 'ERR_STREAM_PREMATURE_CLOSE';
    if (!(e instanceof HttpError) && !clientGone) log(`deeplab demo: ${req.method} ${req.url}: ${(e as Error)?.stack ?? e}`);
    if (res.headersSent || res.destroyed) {
      res.destroy(); // part of a file is out: cut the connection rather than send a short body
      return;
    }
    // A body the request declared is not read: the connection closes rather than take it in.
    const body = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    const close: Record<string, string> = body ? { connection: 'close' } : {};
    try {
      if (e instanceof HttpError) send(res, e.status, `${e.message}\n`, TEXT, { ...e.headers, ...close });
      else send(res, 500, `internal error: ${(e as Error)?.message ?? e}\n`, TEXT, close);
    } catch {
      res.destroy();
    }
  }

  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => {
    responding.set(req.socket, res);
    res.once('close', () => {
      if (responding.get(req.socket) === res) responding.delete(req.socket);
    });
    req.on('error', () => undefined); // a client gone mid-request: its socket is closed already
    handle(req, res).catch((e: unknown) => fail(req, res, e));
  });
  // A request Node's parser refuses (malformed request line, unknown method, huge headers):
  // answered with its 4xx after any response still owed on the socket, then the socket is closed.
  server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) => {
    socket.on('error', () => undefined);
    const answer = () => {
      if (err.code === 'ECONNRESET' || !socket.writable) socket.destroy();
      else socket.end(parserAnswer(err), () => socket.destroy());
    };
    const owed = responding.get(socket);
    if (!owed || owed.writableFinished) return answer();
    owed.once('finish', answer);
    owed.once('close', () => owed.writableFinished || socket.destroy());
  });
  // CONNECT (a proxy's tunnel) is parsed apart from other methods; it too gets a 405.
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    socket.on('error', () => undefined);
    socket.end(rawAnswer(405, 'Method Not Allowed', { allow: ALLOW }), () => socket.destroy());
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', fail);
      done();
    });
  });
  // An error of the listening socket itself (out of file descriptors on accept) is told, not thrown.
  server.on('error', (e) => log(`deeplab demo: ${e.message}`));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://localhost:${port}/` };
}

/** The demo's command line (`--port N` or `--port=N`, default 8080), parsed by Node's util.parseArgs. */
export function demoOptions(argv: string[]): { port: number } {
  let values: { port?: string };
  try {
    ({ values } = parseArgs({ args: argv, options: { port: { type: 'string' } }, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new Error(`demo: ${(e as Error).message.replace(/\s*\n/g, ' ')} (usage: npm run demo -- [--port N])`);
  }
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535 || values.port?.trim() === '') throw new Error(`demo: --port must be a port number, got '${values.port}'`);
  return { port };
}

async function main(): Promise<void> {
  const { port } = demoOptions(process.argv.slice(2));
  const { url } = await startDemoServer({ port });
  console.log(`deeplab demo: ${url} (Ctrl-C to stop)`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e: unknown) => {
    console.error(`deeplab demo: ${(e as Error).message}`);
    process.exit(1);
  });
}
