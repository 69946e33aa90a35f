// The browser benchmark's web server: a fixed table of URL paths to files (nothing a request
// names is joined onto a folder) and the page itself, on localhost. Every answer carries the
// cross-origin isolation headers, so the page may use SharedArrayBuffer (ONNX Runtime's
// WebAssembly threads need it).
import { createReadStream, statSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname } from 'node:path';
import { pipeline } from 'node:stream/promises';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
};

const ISOLATED = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cache-control': 'no-store',
};

/** Serves `page` at / and each of `files` (URL path -> file) at its path; anything else is a 404. */
export async function startBenchServer(page: string, files: Map<string, string>): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...ISOLATED, allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/favicon.ico') {
      res.writeHead(204, ISOLATED).end();
      return;
    }
    if (path === '/') {
      res.writeHead(200, { ...ISOLATED, 'content-type': TYPES['.html'] }).end(req.method === 'HEAD' ? undefined : page);
      return;
    }
    const file = files.get(path);
    if (!file) {
      res.writeHead(404, { ...ISOLATED, 'content-type': 'text/plain' }).end(`not found: ${path}\n`);
      return;
    }
    let bytes: number;
    try {
      bytes = statSync(file).size;
    } catch {
      res.writeHead(500, { ...ISOLATED, 'content-type': 'text/plain' }).end(`${file} is missing\n`);
      return;
    }
    res.writeHead(200, { ...ISOLATED, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': String(bytes) });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    pipeline(createReadStream(file), res).catch(() => res.destroy());
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', fail);
      done();
    });
  });
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://localhost:${port}/` };
}
