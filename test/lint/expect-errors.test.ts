// One way to expect an error in the tests: expectThrows / expectRejects (test/helpers.ts), which
// fail when no error comes and never take a failing assertion for the expected error. chai's
// throw assertions are refused in test/; so is a check that an action does not throw (call it).
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** chai's throw assertions (to, or not to, throw; throws) and node:assert's. */
const CHAI_THROW = /\.(?:to\.(?:not\.)?|not\.to\.)throws?\b|\bassert\.(?:throws|doesNotThrow|rejects)\b/;

/** The TypeScript files under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** `path:line: text` for each line of `text` that expects an error another way. */
function otherErrorChecks(path: string, text: string): string[] {
  return text.split('\n').flatMap((line, i) => (CHAI_THROW.test(line) ? [`${path}:${i + 1}: ${line.trim()}`] : []));
}

describe('lint: errors are expected with expectThrows / expectRejects', () => {
  it('no test uses chai\'s throw assertions', () => {
    const found = sources('test').flatMap((path) => otherErrorChecks(path, readFileSync(path, 'utf8')));
    expect(found, `use expectThrows or expectRejects (test/helpers.ts):\n${found.join('\n')}`).to.deep.equal([]);
  });

  it('finds each form it refuses', () => {
    const text = ['ok(1);', ['expect(f)', 'to', 'throw(/x/);'].join('.'), ['expect(f)', 'to', 'not', 'throw();'].join('.'), ['assert', 'throws(f);'].join('.')].join('\n');
    expect(otherErrorChecks('a.ts', text).map((l) => l.split(':')[1])).to.deep.equal(['2', '3', '4']);
  });
});
