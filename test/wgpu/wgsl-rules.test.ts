// The WGSL rules of docs/wgsl-rules.md that can be read off the source: what one of the three
// compilers (Tint: Chrome, Edge, Node's Dawn; naga: Firefox, Deno; WebKit's: Safari) rejects or
// mishandles, checked over every shader file as the engine compiles it (includes expanded).
// The rules that need a compiler are held by naga.test.ts and the default-limits kernel tier.
import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import { loadShader, shadersDirectory } from '../../src/gpu/shader-source.js';

const SHADERS = readdirSync(shadersDirectory()).filter((f) => f.endsWith('.wgsl')).sort();

/** Rule 1: the overrides with an expression initialiser declared after a workgroup array sized by overrides. */
function overridesAfterSizedWorkgroupArrays(source: string): string[] {
  const overrides = [...source.matchAll(/^override\s+(\w+)\s*:\s*\w+\s*(?:=\s*([^;]+))?;/gm)];
  const names = overrides.map((m) => m[1]);
  const sized = [...source.matchAll(/var<workgroup>\s+\w+\s*:\s*array<[^,]+,\s*([^;]+)>\s*;/g)].filter((m) => names.some((n) => new RegExp(`\\b${n}\\b`).test(m[1])));
  if (!sized.length) return [];
  const first = sized[0].index!;
  return overrides.filter((m) => m.index! > first && m[2] !== undefined && /[A-Za-z_]/.test(m[2])).map((m) => m[1]);
}

describe('WGSL rules (docs/wgsl-rules.md) over every shader file', () => {
  it(`reads ${SHADERS.length} shader files`, () => {
    expect(SHADERS.length).to.be.at.least(50);
  });

  it('rule 1: no override with an expression initialiser follows a workgroup array sized by overrides (naga panics)', () => {
    const bad = SHADERS.flatMap((f) => overridesAfterSizedWorkgroupArrays(loadShader(f)).map((o) => `${f}: ${o}`));
    expect(bad).to.deep.equal([]);
  });

  it('rule 1 catches the pattern that crashed naga, and passes its fix', () => {
    const crash = 'override A: u32 = 4u;\noverride B: u32 = 4u;\nvar<workgroup> t: array<f32, 2u * A>;\noverride AB: u32 = A * B;\n';
    expect(overridesAfterSizedWorkgroupArrays(crash)).to.deep.equal(['AB']);
    expect(overridesAfterSizedWorkgroupArrays('override A: u32 = 4u;\noverride AB: u32 = A * 2u;\nvar<workgroup> t: array<f32, 2u * A>;\n')).to.deep.equal([]);
  });

  it('rule 8: no workgroup array is sized by an override (Safari has run such shaders with the array empty)', () => {
    const bad = SHADERS.flatMap((f) => {
      const source = loadShader(f);
      const overrides = [...source.matchAll(/^override\s+(\w+)/gm)].map((m) => m[1]);
      return [...source.matchAll(/var<workgroup>\s+(\w+)\s*:\s*array<[^,]+,\s*([^;]+)>\s*;/g)].filter((m) => overrides.some((o) => new RegExp(`\\b${o}\\b`).test(m[2]))).map((m) => `${f}: ${m[1]}`);
    });
    expect(bad).to.deep.equal([]);
  });

  it("rule 2: no module declares more than 8 storage buffers (WebGPU's default maxStorageBuffersPerShaderStage)", () => {
    const bad = SHADERS.map((f) => [f, (loadShader(f).match(/var<storage\b/g) ?? []).length] as const).filter(([, n]) => n > 8);
    expect(bad.map(([f, n]) => `${f}: ${n}`)).to.deep.equal([]);
  });

  it('rule 3: only subgroup and subgroup-matrix kernels enable those extensions (naga parses neither)', () => {
    const enabling = SHADERS.filter((f) => /^enable\s+(subgroups|chromium_experimental_subgroup_matrix)\b/m.test(loadShader(f)));
    expect(enabling.length, 'some kernels have subgroup variants').to.be.at.least(1);
    expect(enabling.filter((f) => !/subgroup|matrix/.test(f)), 'files that enable subgroups without saying so in their name').to.deep.equal([]);
  });
});
