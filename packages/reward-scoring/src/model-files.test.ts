import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelFileError, RewardModelError, ScoreRowError } from './errors';
import { checkRelativePath, checkTokenizerJson, configLabels, jsonErrorOffset, modelFilePath, modelFolder, onnxExternalDataLocations } from './model-files';

function entry(location: string): Buffer {
  const value = Buffer.from(location);
  return Buffer.concat([Buffer.from([0x0a, 0x08]), Buffer.from('location'), Buffer.from([0x12, value.length]), value]);
}

describe('model files', () => {
  it('finds every external-data location, including one split across the 4 MiB read boundary', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pref-onnx-scan-'));
    const path = join(dir, 'model.onnx');
    const first = entry('weights/a.bin');
    const boundary = entry('b.bin');
    const padding = Buffer.alloc(4 * 2 ** 20 - first.length - 5, 7); // the second entry starts 5 bytes before the boundary
    writeFileSync(path, Buffer.concat([first, padding, boundary, Buffer.alloc(100, 1), entry('weights/a.bin')]));
    expect(onnxExternalDataLocations(path).sort()).toEqual(['b.bin', 'weights/a.bin']);
    writeFileSync(path, Buffer.alloc(1000, 3));
    expect(onnxExternalDataLocations(path)).toEqual([]);
  });

  it('plain relative paths only', () => {
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'a\\b', 'a\u0000b', '', 'a//b', './x']) {
      expect(() => checkRelativePath(bad, { file: 'f' })).toThrow(ModelFileError);
    }
    expect(checkRelativePath('onnx/model.onnx', { file: 'f' })).toBe('onnx/model.onnx');
  });

  it('a Hugging Face snapshot is confined to its repository cache folder (its files link into blobs/)', () => {
    const root = mkdtempSync(join(tmpdir(), 'pref-snap-'));
    const storage = join(root, 'models--org--name');
    mkdirSync(join(storage, 'blobs'), { recursive: true });
    mkdirSync(join(storage, 'snapshots', 'a'.repeat(40)), { recursive: true });
    writeFileSync(join(storage, 'blobs', 'b'.repeat(40)), '{}');
    writeFileSync(join(root, 'other.json'), '{}');
    const snapshot = join(storage, 'snapshots', 'a'.repeat(40));
    symlinkSync(`../../blobs/${'b'.repeat(40)}`, join(snapshot, 'config.json'));
    symlinkSync('../../../other.json', join(snapshot, 'tokenizer.json'));
    const folder = modelFolder(snapshot);
    expect(modelFilePath(folder, 'config.json')).toBe(join(snapshot, 'config.json'));
    expect(() => modelFilePath(folder, 'tokenizer.json')).toThrow(/outside the model folder/);
    expect(modelFilePath(folder, 'missing.json')).toBeUndefined();
  });

  it('tokenizer and label limits name the field', () => {
    const tokenizer = { added_tokens: [], model: { type: 'BPE', vocab: { a: 0, b: 1, c: 2 }, merges: [['a', 'b']] } };
    const limits = { metadataBytes: 1, tokenizerBytes: 1, chatTemplateBytes: 1, tokenChars: 10, addedTokens: 5, addedTokenChars: 20, vocabEntries: 2, labels: 3 };
    expect(() => checkTokenizerJson(tokenizer, 't.json', limits)).toThrow(/t\.json: field "model\.vocab": has 3 entries, over the limit of 2/);
    expect(() => checkTokenizerJson({ ...tokenizer, added_tokens: 'x' }, 't.json', limits)).toThrow(/"added_tokens": must be an array/);
    expect(configLabels({ id2label: { 0: 'bad', 1: 'good' } }, 'c.json')).toEqual(['bad', 'good']);
    expect(() => configLabels({ num_labels: 4 }, 'c.json', limits)).toThrow(/must be an integer from 1 to 3, found 4/);
    expect(() => configLabels({ id2label: [1, 2] }, 'c.json')).toThrow(/id2label/);
  });

  it('error classes recognise their own instances only', () => {
    const fileError = new ModelFileError({ file: 'x', message: 'm' });
    expect(ModelFileError.isInstance(fileError)).toBe(true);
    expect(RewardModelError.isInstance(fileError)).toBe(true);
    expect(ScoreRowError.isInstance(fileError)).toBe(false);
    expect(ModelFileError.isInstance(new RewardModelError('MODEL_LOAD', 'm'))).toBe(false);
    expect(ModelFileError.isInstance(new Error('x'))).toBe(false);
  });

  it('locates JSON syntax errors exactly where JSON.parse accepts or rejects (3,000 mutated documents)', () => {
    const documents = ['{"a": [1, 2.5e-3, -0, true, false, null], "b": {"c": "x\\u00e9\\n"}}', '[[], {}, [{}], ""]', ' 12 ', '"s"', '{"k": {"k": {"k": [1, {"z": null}]}}}'];
    const alphabet = ['{', '}', '[', ']', ',', ':', '"', '\\', '1', '-', 'e', '.', ' ', 'n', 't', 'u', '\n', 'x', '0'];
    let seed = 12345;
    const random = (k: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % k;
    };
    let invalid = 0;
    for (let round = 0; round < 3000; round++) {
      const base = documents[round % documents.length]!;
      const at = random(base.length + 1);
      const edit = random(3);
      const char = alphabet[random(alphabet.length)]!;
      const text = edit === 0 ? base.slice(0, at) + char + base.slice(at) : edit === 1 ? base.slice(0, at) + base.slice(at + 1) : base.slice(0, at) + char + base.slice(at + 1);
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
        invalid++;
      }
      const offset = jsonErrorOffset(text);
      expect(offset === -1, text).toBe(valid);
      if (!valid) {
        expect(offset).toBeGreaterThanOrEqual(0);
        expect(offset).toBeLessThanOrEqual(text.length);
      }
    }
    expect(invalid).toBeGreaterThan(900);
    expect(jsonErrorOffset('{\n "a": 1,\n "b": ,\n}')).toBe(17);
  });
});
