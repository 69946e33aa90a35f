// A JSON object's text with top-level members replaced or added (src/util/json-members.ts): the
// values named are written at the object's indentation, every other byte is the text's own.
import { expect } from 'chai';
import { withJsonMembers } from '../../src/util/json-members.js';
import { expectThrows } from '../helpers.js';

// As transformers writes config.json: indent 2, floats with their own text, a nested object, escapes.
const CONFIG = `{
  "architectures": [
    "SegformerForSemanticSegmentation"
  ],
  "drop_path_rate": 0.0,
  "id2label": {
    "0": "a, \\"quoted\\" {label}",
    "1": "b"
  },
  "label2id": {
    "a, \\"quoted\\" {label}": 0,
    "b": 1
  },
  "layer_norm_eps": 1e-06,
  "name": "caf\\u00e9 ]}",
  "num_labels": 2
}
`;

describe('util: withJsonMembers', () => {
  it('replaces the named members in place, at the indentation, and leaves every other byte as it was', () => {
    const out = withJsonMembers(CONFIG, { id2label: { 0: 'sky', 1: 'road', 2: 'car' }, num_labels: 3 }, 'config.json');
    const old = '"id2label": {\n    "0": "a, \\"quoted\\" {label}",\n    "1": "b"\n  }';
    expect(CONFIG).to.include(old);
    const want = CONFIG.replace(old, '"id2label": {\n    "0": "sky",\n    "1": "road",\n    "2": "car"\n  }').replace('"num_labels": 2', '"num_labels": 3');
    expect(out).to.equal(want);
    expect(JSON.parse(out).layer_norm_eps).to.equal(1e-6);
    expect(out).to.include('"drop_path_rate": 0.0,').and.include('"name": "caf\\u00e9 ]}"');
  });

  it('adds a member the object lacks after its last, and into an empty object', () => {
    expect(withJsonMembers('{\n  "a": 1.0\n}\n', { b: [1, 2] }, 'x')).to.equal('{\n  "a": 1.0,\n  "b": [\n    1,\n    2\n  ]\n}\n');
    expect(withJsonMembers('{}', { b: 1 }, 'x')).to.equal('{\n  "b": 1\n}');
    expect(JSON.parse(withJsonMembers('{"a":{"b":[1,{"c":"}"}]},"d":2}', { d: 3, e: 'f' }, 'x'))).to.deep.equal({ a: { b: [1, { c: '}' }] }, d: 3, e: 'f' });
  });

  it('refuses text that is not a JSON object, naming it', () => {
    expectThrows(() => withJsonMembers('{"a": 1', {}, 'dir/config.json'), /^dir\/config\.json: not valid JSON/);
    expectThrows(() => withJsonMembers('[1]', {}, 'dir/config.json'), 'dir/config.json: not a JSON object');
  });
});
