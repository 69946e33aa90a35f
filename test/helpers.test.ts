// The test helpers themselves: a helper that cannot fail would make every test using it a
// test that cannot fail.
import { AssertionError, expect } from 'chai';
import { expectRejects, expectThrows } from './helpers.js';

async function failureOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  return undefined;
}

/** What `action` threw, or undefined: the helpers under test cannot check themselves. */
function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('test helpers: expectRejects', () => {
  it('fails when nothing is thrown (sync, async and a promise)', async () => {
    for (const action of [() => 1, async () => 1, Promise.resolve(1)]) {
      const e = await failureOf(expectRejects(action, /x/, 'a quiet call'));
      expect(e).to.be.instanceOf(AssertionError);
      expect((e as Error).message).to.match(/a quiet call: no error was thrown/);
    }
  });

  it('fails when the message does not match', async () => {
    const e = await failureOf(expectRejects(() => { throw new Error('something else'); }, /expected words/));
    expect(e).to.be.instanceOf(AssertionError);
  });

  it('does not take an assertion failing inside the call for the expected error', async () => {
    const inner = new AssertionError('inner assertion');
    const e = await failureOf(expectRejects(() => { throw inner; }, /inner/));
    expect(e).to.equal(inner);
  });

  it('returns the error on a match (regular expression or text)', async () => {
    const err = await expectRejects(async () => { throw new RangeError('bad size 3'); }, /bad size \d/);
    expect(err).to.be.instanceOf(RangeError);
    expect((await expectRejects(Promise.reject(new Error('abc')), 'b')).message).to.equal('abc');
  });
});

describe('test helpers: expectThrows', () => {
  it('fails when nothing is thrown or the message does not match; passes an inner assertion on', () => {
    const quiet = thrownBy(() => expectThrows(() => 1, /x/, 'a quiet call'));
    expect(quiet).to.be.instanceOf(AssertionError);
    expect((quiet as Error).message).to.match(/a quiet call: no error was thrown/);
    expect(thrownBy(() => expectThrows(() => { throw new Error('something else'); }, /expected words/))).to.be.instanceOf(AssertionError);
    const inner = new AssertionError('inner assertion');
    expect(thrownBy(() => expectThrows(() => { throw inner; }, /inner/))).to.equal(inner);
  });

  it('returns the error on a match', () => {
    const err = expectThrows(() => { throw new RangeError('bad size 3'); }, /bad size \d/);
    expect(err).to.be.instanceOf(RangeError);
  });
});
