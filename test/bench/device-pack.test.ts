// scripts/device/pack.sh's plan (--plan: nothing packed, the sizes of what is there checked) on
// stand-ins of the pieces it packs, sparse files as big as pack.sh made them last: three `run`
// calls within the device tool's limits, each transfer (this checkout with what the call carries)
// within 60 MiB, each call's timeout_s its gpu-run.sh steps' limits and a margin, the device time
// within a lent machine's 15 minutes; a piece too big or missing refused, naming the call. Also
// which packages nm.tar.xz holds, and node-icu-trim.py's rewriting of an ICU data package.
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'chai';
import { ROOT } from '../../bench/model.js';

const SCRIPT = join(ROOT, 'scripts', 'device', 'pack.sh');
const MIB = 1048576;

/** The pieces' sizes in bytes as pack.sh made them on 28 November 2026 (the build of 5eacdeb). */
const PACKED: Record<string, number> = {
  '.device-carry/rt/node.xz': 13946828,
  '.device-carry/rt/nm.tar.xz': 5497956,
  '.device-carry/rt/dist.tar.xz': 1176900,
  '.device-carry/rt/BUILD': 66,
  '.gl/debs': 1817452,
  '.device-carry/weights/stand-in': 11194781,
  '.device-carry/voc-sample/stand-in': 3116910,
  '.device-carry/nm-img/img.tar.xz': 6596152,
  '.device-carry/nm-ort/ort-node.tar.xz': 12588748,
};

type Call = { n: number; what: string; steps: { name: string; limit: number }[]; transferMib: number; run: { command: string; carry: string[]; timeout_s: number } };

/** Sparse stand-ins of the pieces in a temporary folder, sizes changed by `sizes` (undefined: left out). */
function standIns(sizes: Record<string, number | undefined> = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'device-pack-'));
  for (const [path, size] of Object.entries({ ...PACKED, ...sizes })) {
    if (size === undefined) continue;
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), '');
    truncateSync(join(root, path), size);
  }
  return root;
}

function plan(root: string, ...args: string[]) {
  const r = spawnSync('bash', [SCRIPT, '--plan', '--carry-root', root, ...args], { cwd: ROOT, encoding: 'utf8' });
  const calls: Call[] = [...r.stdout.matchAll(/^call (\d+): (.*)\n {2}steps: (.*): \d+ s; timeout_s \d+ .*\n {2}transfer: ([\d.]+) MiB .*\n {2}run: (.*)$/gm)].map(([, n, what, steps, mib, run]) => ({
    n: Number(n),
    what,
    steps: steps.split(', ').map((s) => ({ name: s.split(' ')[0], limit: Number(s.split(' ')[1]) })),
    transferMib: Number(mib),
    run: JSON.parse(run),
  }));
  const device = r.stdout.match(/^Device time: .* = (\d+) s of (\d+) s\.$/m);
  return { ...r, calls, deviceSeconds: device ? Number(device[1]) : NaN };
}

/** The checkout as the device tool sends it: tracked files and untracked ones git does not ignore. */
function checkoutBytes(): number {
  const files = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).stdout.split('\0').filter(Boolean);
  // A link counts as itself (it travels as a link); a tracked file deleted here, as nothing.
  return files.reduce((sum, f) => sum + (lstatSync(join(ROOT, f), { throwIfNoEntry: false })?.size ?? 0), 0);
}

/** gpu-run.sh's limit for each step, from its dry run. */
function gpuRunLimits(): Map<string, number> {
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'device', 'gpu-run.sh'), '--dry-run', '--gpu-name', 'NVIDIA H200'], { encoding: 'utf8' });
  return new Map([...r.stdout.matchAll(/^== (\w+) \(limit (\d+) s\)/gm)].map(([, name, limit]) => [name, Number(limit)]));
}

describe('device: the lent GPU run\'s pack and calls (scripts/device/pack.sh --plan)', () => {
  it('prints three calls, the most wanted figures in the first two, each within the device tool\'s limits and 60 MiB', () => {
    const root = standIns();
    try {
      const r = plan(root);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.calls.map((c) => c.n)).to.deep.equal([1, 2, 3]);
      // Every gpu-run.sh step but the summary (made here from the files that come back), once, at gpu-run.sh's limit.
      const limits = gpuRunLimits();
      expect(r.calls.flatMap((c) => c.steps.map((s) => s.name)).sort()).to.deep.equal([...limits.keys()].filter((s) => s !== 'summary').sort());
      for (const s of r.calls.flatMap((c) => c.steps)) expect(s.limit, s.name).to.equal(limits.get(s.name));
      // The layers against TF.js and PyTorch need only the runtime, so call 1 gives figures without a second transfer.
      expect(r.calls[0].steps.map((s) => s.name).slice(0, 2)).to.deep.equal(['kernels', 'torch']);
      expect(r.calls[0].run.carry).to.deep.equal(['.device-carry/rt', '.gl']);
      expect(r.calls[1].steps.map((s) => s.name)).to.include('networks');
      const checkout = checkoutBytes();
      expect(Number(r.stdout.match(/^The checkout travels with each: ([\d.]+) MiB/m)?.[1])).to.be.closeTo(checkout / MIB, 0.051);
      for (const c of r.calls) {
        const { command, carry, timeout_s } = c.run;
        expect(command.length, `call ${c.n}`).to.be.at.most(2000);
        expect(command).to.equal(`set -o pipefail; bash scripts/device/gpu-run.sh --steps ${c.steps.map((s) => s.name).join(',')} --out $OUT 2>&1 | tee $OUT/call${c.n}.log`);
        expect(carry.length).to.be.within(1, 8);
        expect(timeout_s).to.equal(c.steps.reduce((a, s) => a + s.limit, 0) + 10).and.be.at.most(600);
        const carried = Object.entries(PACKED).filter(([p]) => carry.some((c) => p.startsWith(`${c}/`))).reduce((a, [, b]) => a + b, 0);
        expect(c.transferMib, `call ${c.n}'s transfer`).to.be.closeTo((checkout + carried) / MIB, 0.06);
        expect(c.transferMib, `call ${c.n}: the checkout with what it carries`).to.be.at.most(60);
      }
      // The whole carry travels, every piece in one call or another.
      const carried = r.calls.flatMap((c) => c.run.carry);
      for (const p of Object.keys(PACKED)) expect(carried.some((c) => p.startsWith(`${c}/`)), p).to.equal(true);
      // Start-up, the calls and their transfers within 15 minutes; the summary made here from the step files.
      const timeouts = r.calls.reduce((a, c) => a + c.run.timeout_s, 0);
      expect(r.deviceSeconds).to.equal(120 + timeouts + 3 * 15).and.be.at.most(900);
      expect(r.stdout).to.match(/A call's worth to spare: the most wanted figures are in calls 1-2 /);
      expect(r.stdout).to.include("node dist/bench/summary.js --dir FOLDER --gpu h200 --gpu-name 'NVIDIA H200' --commit");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('refuses a call over the limit or a piece not packed, naming the call, and still prints the others', () => {
    const big = standIns({ '.device-carry/rt/node.xz': 30 * MIB });
    const missing = standIns({ '.device-carry/nm-ort/ort-node.tar.xz': undefined });
    try {
      const over = plan(big);
      expect(over.status).to.equal(1);
      expect(over.stderr).to.match(/^pack: call 1 would transfer [\d.]+ MiB, over 60 MiB$/m);
      expect(over.calls.map((c) => c.n)).to.deep.equal([1, 2, 3]);
      expect(plan(big, '--limit-mib', '64').status, 'over 60 MiB and 64 MiB too').to.equal(1);
      const gone = plan(missing);
      expect(gone.status).to.equal(1);
      expect(gone.stderr).to.include('pack: call 3 carries .device-carry/nm-ort, which is not there');
      expect(gone.stderr).to.include('run bash scripts/device/pack.sh');
      const bad = spawnSync('bash', [SCRIPT, '--plan', '--limit-mib', '65'], { cwd: ROOT, encoding: 'utf8' });
      expect(bad.status).to.equal(2);
      expect(bad.stderr).to.include("at most the device's 64, got '65'");
    } finally {
      rmSync(big, { recursive: true, force: true });
      rmSync(missing, { recursive: true, force: true });
    }
  });

  it('packs into node_modules what Node imports there, not the browsers\' packages or the build tools', () => {
    const r = spawnSync('bash', [SCRIPT, '--list-nm'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const packages = r.stdout.trim().split('\n');
    for (const p of ['webgpu', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu', 'mocha', 'chai', 'sharp', 'protobufjs', 'piscina', 'flatbuffers']) expect(packages, p).to.include(p);
    // playwright-core and onnxruntime-node travel as stubs, sharp's @img and onnxruntime-node in later calls.
    for (const p of ['playwright-core', 'onnxruntime-node', 'onnxruntime-web', 'puppeteer-core', '@huggingface/transformers', 'typescript', 'esbuild', 'deno', '@tensorflow/tfjs-backend-cpu']) expect(packages, p).not.to.include(p);
    expect(packages.filter((p) => p.startsWith('@img/') || p.startsWith('@types/'))).to.deep.equal([]);
  });

  it('node-icu-trim.py keeps English, root and the non-locale items of an ICU package, each where its table says', function () {
    const dir = mkdtempSync(join(tmpdir(), 'icu-trim-'));
    try {
      // A stand-in ICU common data package: a 32-byte header, then the table of contents and the items.
      const names = ['icudt78l/af.res', 'icudt78l/coll/de.res', 'icudt78l/coll/root.res', 'icudt78l/en.res', 'icudt78l/ibm-37_P100-1995.cnv', 'icudt78l/ibm-5348_P100-1997.cnv', 'icudt78l/pool.res', 'icudt78l/translit/root.res', 'icudt78l/uprops.icu'];
      const header = Buffer.alloc(32);
      header.writeUInt16LE(32, 0);
      header.set([0xda, 0x27], 2);
      header.write('CmnD', 12, 'latin1');
      const toc = Buffer.alloc(4 + 8 * names.length);
      const nameBytes = Buffer.from(names.map((n) => `${n}\0`).join(''), 'latin1');
      let at = toc.length + nameBytes.length;
      let nameAt = toc.length;
      const items: Buffer[] = [];
      toc.writeUInt32LE(names.length, 0);
      names.forEach((n, i) => {
        const pad = ((at + 15) & ~15) - at;
        items.push(Buffer.alloc(pad), Buffer.from(`<${n}>`));
        toc.writeUInt32LE(nameAt, 4 + 8 * i);
        toc.writeUInt32LE(at + pad, 8 + 8 * i);
        nameAt += n.length + 1;
        at += pad + n.length + 2;
      });
      writeFileSync(join(dir, 'in.dat'), Buffer.concat([header, toc, nameBytes, ...items]));
      const script = `import importlib.util, sys
spec = importlib.util.spec_from_file_location('trim', sys.argv[1]); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
new, count, kept = m.trimmed(open(sys.argv[2], 'rb').read()); open(sys.argv[3], 'wb').write(new); print(count, kept)`;
      const py = spawnSync('python3', ['-c', script, join(ROOT, 'scripts', 'device', 'node-icu-trim.py'), join(dir, 'in.dat'), join(dir, 'out.dat')], { encoding: 'utf8' });
      if (py.error) this.skip(); // no python3 here: pack.sh needs it to pack, as the lent machine to unpack
      expect(py.status, py.stderr).to.equal(0);
      expect(py.stdout.trim()).to.equal('9 5');
      const out = readFileSync(join(dir, 'out.dat'));
      expect(out.subarray(0, 32)).to.deep.equal(header);
      const n = out.readUInt32LE(32);
      const read = Array.from({ length: n }, (_, i) => {
        const nameOffset = out.readUInt32LE(36 + 8 * i);
        const dataOffset = out.readUInt32LE(40 + 8 * i);
        const name = out.toString('latin1', 32 + nameOffset, out.indexOf(0, 32 + nameOffset));
        expect(dataOffset % 16, name).to.equal(0);
        return [name, out.toString('latin1', 32 + dataOffset, 32 + dataOffset + name.length + 2)];
      });
      const kept = ['icudt78l/coll/root.res', 'icudt78l/en.res', 'icudt78l/ibm-5348_P100-1997.cnv', 'icudt78l/pool.res', 'icudt78l/uprops.icu'];
      expect(read).to.deep.equal(kept.map((k) => [k, `<${k}>`]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
