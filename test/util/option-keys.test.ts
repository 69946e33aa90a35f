// Option objects checked by name (src/util/option-keys.ts): an unknown key is an error naming it,
// a likely meant one and the known ones; a signal must be an AbortSignal.
import { expect } from 'chai';
import { checkOptionKeys, checkSignal } from '../../src/util/option-keys.js';
import { expectThrows } from '../helpers.js';

describe('util: option names and signals checked', () => {
  const known = ['steps', 'crop', 'lr'];

  it('passes known keys (with any value) and no options at all', () => {
    checkOptionKeys('call', { steps: 1, crop: undefined }, known);
    checkOptionKeys('call', {}, known);
    checkOptionKeys('call', undefined, known);
  });

  it('refuses an unknown key, naming it, a near miss and the known ones, with a hint where one is given', () => {
    expectThrows(() => checkOptionKeys('call', { stesp: 1 }, known), "call: unknown option 'stesp' (did you mean 'steps'?); known options: steps, crop, lr");
    expectThrows(() => checkOptionKeys('call', { steps: 1, colour: 'red' }, known), "call: unknown option 'colour'; known options: steps, crop, lr");
    const hint = (key: string): string | undefined => (key === 'onStep' ? `'${key}' goes elsewhere` : undefined);
    expectThrows(() => checkOptionKeys('call', { onStep: 1 }, known, hint), "call: unknown option 'onStep'; 'onStep' goes elsewhere; known options: steps, crop, lr");
  });

  it('takes an AbortSignal or nothing as a signal, and names what else was given', () => {
    const controller = new AbortController();
    expect(checkSignal('call', controller.signal)).to.equal(controller.signal);
    expect(checkSignal('call', AbortSignal.abort())!.aborted).to.equal(true);
    expect(checkSignal('call', undefined)).to.equal(undefined);
    expectThrows(() => checkSignal('call', controller), "call: signal must be an AbortSignal (AbortController's .signal), got AbortController");
    expectThrows(() => checkSignal('call', true), "call: signal must be an AbortSignal (AbortController's .signal), got boolean");
    expectThrows(() => checkSignal('call', null), "call: signal must be an AbortSignal (AbortController's .signal), got null");
  });
});
