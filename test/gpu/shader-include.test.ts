import { expect } from 'chai';
import { expandRepeats, expandShader } from '../../src/gpu/shader-include.js';
import { loadShader } from '../../src/gpu/shader-source.js';
import { expectThrows } from '../helpers.js';

/** expandShader over an in-memory set of files. */
const expand = (files: Record<string, string>, name: string) =>
  expandShader(name, (file) => {
    const text = files[file];
    if (text === undefined) throw new Error(`no file ${file}`);
    return text;
  });

describe('shader sources: includes and variants of one source', () => {
  const shared = ['a;', '//#if FAST', 'fast;', '//#else', 'plain;', '//#endif', 'b;'].join('\n');

  it('keeps the //#else branch unless a //#define names the block, and the //#if branch when one does', () => {
    const plain = expand({ 'k.wgsl': shared }, 'k.wgsl');
    expect(plain.split('\n').filter((l) => !l.startsWith('//'))).to.deep.equal(['a;', 'plain;', 'b;']);
    const fast = expand({ 'k.wgsl': shared, 'k_fast.wgsl': 'enable x;\n//#define FAST\n//#include "k.wgsl"' }, 'k_fast.wgsl');
    expect(fast.split('\n').filter((l) => !l.startsWith('//'))).to.deep.equal(['enable x;', 'a;', 'fast;', 'b;']);
  });

  it('nests blocks, and names every unbalanced directive', () => {
    const nested = ['//#define A', '//#if A', '//#if B', 'ab;', '//#else', 'a;', '//#endif', '//#endif'].join('\n');
    expect(expand({ 'n.wgsl': nested }, 'n.wgsl').split('\n').filter((l) => !l.startsWith('//'))).to.deep.equal(['a;']);
    expectThrows(() => expand({ 'x.wgsl': '//#if A\nx;' }, 'x.wgsl'), /x\.wgsl: the \/\/#if of line 1 has no \/\/#endif/);
    expectThrows(() => expand({ 'x.wgsl': 'x;\n//#endif' }, 'x.wgsl'), /x\.wgsl \(expanded\), line 2: \/\/#endif without \/\/#if/);
    expectThrows(() => expand({ 'x.wgsl': '//#if A\n//#else\n//#else\n//#endif' }, 'x.wgsl'), /a second \/\/#else/);
    expectThrows(() => expand({ 'x.wgsl': '//#if\n//#endif' }, 'x.wgsl'), /needs a name/);
  });

  it('the GEMM convolution: one source, the subgroup variant differing only in its marked blocks', () => {
    const code = (s: string) => s.replace(/\/\/.*$/gm, '');
    const register = code(loadShader('conv2d_gemm.wgsl'));
    const subgroup = code(loadShader('conv2d_gemm_subgroup.wgsl'));
    expect(register).to.not.match(/subgroup/);
    // The plain variant's loop over one block of K (the two-level sums).
    const plainLoop = /for \(var k = b0; k < min\(b0 \+ K_BLOCK, k1\); k\+\+\)/;
    expect(register).to.match(plainLoop);
    expect(subgroup).to.match(/^\s*enable subgroups;/);
    expect(subgroup).to.match(/subgroupShuffle/);
    expect(subgroup).to.not.match(plainLoop);
  });
});

describe('shader sources: //#repeat blocks (straight-line code)', () => {
  const code = (s: string) => s.split('\n').filter((l) => l.trim() && !l.trim().startsWith('//'));

  it('repeats lines with the index substituted, nested, with counts from literals or the spec consts', () => {
    const src = ['a;', '//#repeat p P', 'let x{p} = {p};', '//#repeat g 2', 'acc{p}_{g} += x{p};', '//#end', '//#end', 'b;'].join('\n');
    expect(code(expandRepeats(src, { P: 2 }))).to.deep.equal(['a;', 'let x0 = 0;', 'acc0_0 += x0;', 'acc0_1 += x0;', 'let x1 = 1;', 'acc1_0 += x1;', 'acc1_1 += x1;', 'b;']);
    expect(code(expandRepeats(src, { P: 0 }))).to.deep.equal(['a;', 'b;']);
    // Braces that are not a repeat variable stay as they are.
    expect(code(expandRepeats('//#repeat i 1\nif (x) { y{i} = {q}; }\n//#end'))).to.deep.equal(['if (x) { y0 = {q}; }']);
    // Sums of products of indices, consts and integers.
    const window = ['//#repeat r 2', '//#repeat k 2', 'a{r} += x{r*S+k} * w{k} + {2*r-k+1};', '//#end', '//#end'].join('\n');
    expect(code(expandRepeats(window, { S: 2 }))).to.deep.equal(['a0 += x0 * w0 + 1;', 'a0 += x1 * w1 + 0;', 'a1 += x2 * w0 + 3;', 'a1 += x3 * w1 + 2;']);
    expect(code(expandRepeats('//#repeat i 1\n{S} {i+U} {i}\n//#end', { S: 2 }))).to.deep.equal(['{S} {i+U} 0'], 'braces without an index, or with an unknown name, stay');
  });

  it('names the shader and line of every malformed block', () => {
    expectThrows(() => expandRepeats('//#repeat p P\nx;\n//#end', {}, 'k.wgsl'), /k\.wgsl, line 1: \/\/#repeat p P: the count must be/);
    expectThrows(() => expandRepeats('//#repeat p 2\nx;', {}, 'k.wgsl'), /k\.wgsl, line 1: \/\/#repeat p has no \/\/#end/);
    expectThrows(() => expandRepeats('x;\n//#end', {}, 'k.wgsl'), /k\.wgsl, line 2: \/\/#end without \/\/#repeat/);
    expectThrows(() => expandRepeats('//#repeat p 2\n//#repeat p 2\n//#end\n//#end', {}, 'k.wgsl'), /inside a \/\/#repeat of the same name/);
    expectThrows(() => expandRepeats('//#repeat p 100000\n//#repeat q 100\nx;\n//#end\n//#end', {}, 'k.wgsl'), /expands past/);
  });
});
