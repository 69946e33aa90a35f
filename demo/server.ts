// `npm run demo`: serves the demo page, the browser bundle, the weights this machine has and the
// VOC sample images, on localhost, with nothing fetched from outside.
//
//   node dist/demo/server.js [--port N]      (DEEPLAB_WEIGHTS_DIR: where the weights are)
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { REGISTRY } from '../src/model/loading/registry.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'); // dist/demo -> root
const WEIGHT_EXTENSIONS = new Set(['.tflite', '.pth', '.pt', '.safetensors']);
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.css': 'text/css',
  '.json': 'application/json',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
};

export interface DemoServerOptions {
  port?: number;
  /** Folder of weight files (default DEEPLAB_WEIGHTS_DIR, else ../shared/weights). */
  weightsDir?: string;
  /** Folder of sample images (default ../shared/data/voc-sample/JPEGImages). */
  samplesDir?: string;
}

/** The files of `dir` (not folders) whose extension is in `extensions`, sorted; none if it is missing. */
function listFiles(dir: string, extensions: Set<string>): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => extensions.has(extname(f).toLowerCase()) && statSync(join(dir, f)).isFile())
    .sort();
}

/** The weights the page can load: each file with the registry's name and description where it is a known one. */
function weightsList(dir: string): { file: string; name: string; description: string; bytes: number }[] {
  return listFiles(dir, WEIGHT_EXTENSIONS).map((file) => {
    const entry = REGISTRY.find((e) => e.fileName === file);
    return { file, name: entry?.name ?? file, description: entry?.description ?? file, bytes: statSync(join(dir, file)).size };
  });
}

export async function startDemoServer(opts: DemoServerOptions = {}): Promise<{ server: Server; url: string }> {
  const weightsDir = resolve(opts.weightsDir ?? process.env.DEEPLAB_WEIGHTS_DIR ?? join(ROOT, '..', 'shared', 'weights'));
  const samplesDir = resolve(opts.samplesDir ?? join(ROOT, '..', 'shared', 'data', 'voc-sample', 'JPEGImages'));
  const statics: Record<string, string> = {
    '/': join(ROOT, 'demo', 'index.html'),
    '/demo.js': join(ROOT, 'demo', 'demo.js'),
    '/deeplab.js': join(ROOT, 'dist', 'browser', 'deeplab.js'),
    '/deeplab.js.map': join(ROOT, 'dist', 'browser', 'deeplab.js.map'),
  };
  const server = createServer((req, res) => {
    const send = (status: number, body: string | Buffer, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'only GET');
    if (path === '/favicon.ico') return send(204, '');
    if (path === '/weights/') return send(200, JSON.stringify(weightsList(weightsDir)), TYPES['.json']);
    if (path === '/samples/') return send(200, JSON.stringify(listFiles(samplesDir, IMAGE_EXTENSIONS)), TYPES['.json']);
    // Only files listed in these folders are served: no other path reaches the disk.
    const [, folder, file] = /^\/(weights|samples)\/([^/]+)$/.exec(path) ?? [];
    if (folder) {
      const dir = folder === 'weights' ? weightsDir : samplesDir;
      const allowed = listFiles(dir, folder === 'weights' ? WEIGHT_EXTENSIONS : IMAGE_EXTENSIONS);
      if (!allowed.includes(file)) return send(404, `no ${folder} file ${file}`);
      return send(200, readFileSync(join(dir, file)), TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream');
    }
    const target = statics[path];
    if (!target) return send(404, `not found: ${path}`);
    if (!existsSync(target)) return send(500, `${target} is missing: run npm run build first`);
    return send(200, readFileSync(target), TYPES[extname(target)] ?? 'application/octet-stream');
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, '127.0.0.1', () => done());
  });
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://localhost:${port}/` };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const i = args.indexOf('--port');
  const port = i >= 0 ? Number(args[i + 1]) : 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`demo: --port must be a port number, got ${args[i + 1]}`);
  const unknown = args.filter((a, k) => a !== '--port' && args[k - 1] !== '--port');
  if (unknown.length) throw new Error(`demo: unknown argument ${unknown[0]} (usage: npm run demo -- [--port N])`);
  const { url } = await startDemoServer({ port });
  console.log(`deeplab demo: ${url} (Ctrl-C to stop)`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e: unknown) => {
    console.error(`deeplab demo: ${(e as Error).message}`);
    process.exit(1);
  });
}
