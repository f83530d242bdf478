import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildEncoderClassifier } from '@pref/reward-scoring/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { runCapturing as run } from '../testing/run-cli';

// A two-label classifier over the tiny-bert tokenizer (random weights: the test checks the
// softmax, the key and the layout, not what the model knows).
const tinyBert = fileURLToPath(new URL('../../../reward-scoring/fixtures/tiny-bert/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pref-cli-classify-'));
const modelDir = join(dir, 'model');
mkdirSync(modelDir);
writeFileSync(join(modelDir, 'model.onnx'), buildEncoderClassifier({ vocabSize: 266, hidden: 16, layers: 1, heads: 2, intermediate: 32, maxPosition: 128, numLabels: 2, seed: 5, initStd: 0.5 }).bytes);
for (const file of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(tinyBert, file), join(modelDir, file));
writeFileSync(join(modelDir, 'config.json'), JSON.stringify({ num_labels: 2, id2label: { 0: 'clean', 1: 'toxic' }, max_position_embeddings: 128 }));

const input = join(dir, 'gens.jsonl');
const original = '{"prompt": {"text": "So"}, "generations": [{"text": "  the cat sat \\n"}, {"text": "a dog", "toxicity": 0.25}]}\n{"prompt": {"text": "x"}, "generations": [{"text": "hello there"}]}\n';
writeFileSync(input, original);

afterEach(() => {
  process.exitCode = undefined;
});

describe('pref classify', () => {
  it('writes softmax[:, label] beside each generation under the upstream key; the input is untouched', async () => {
    const output = join(dir, 'scored.jsonl');
    const { code, stdout, stderr } = await run('classify', input, '--model', modelDir, '-o', output, '--key', 'toxicity_bert', '--all-labels', '-q', '--json');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ prompts: 2, generations: 3, label: 'toxic', key: 'toxicity_bert' });
    expect(readFileSync(input, 'utf8')).toBe(original);
    const rows = readFileSync(output, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { generations: Array<Record<string, unknown>> });
    const generations = rows.flatMap((r) => r.generations);
    expect(generations.map((g) => g.text)).toEqual(['  the cat sat \n', 'a dog', 'hello there']);
    expect(generations[1]!.toxicity).toBe(0.25);
    for (const g of generations) {
      const probs = g.toxicity_bert_probs as number[];
      expect(probs).toHaveLength(2);
      expect(probs[0]! + probs[1]!).toBeCloseTo(1, 12);
      expect(g.toxicity_bert).toBe(probs[1]);
      expect(probs[1]).toBeGreaterThan(0);
      expect(probs[1]).toBeLessThan(1);
    }
    // Python-style JSON: ", " and ": " separators.
    expect(readFileSync(output, 'utf8')).toMatch(/^\{"prompt": \{"text": "So"\}, "generations": \[\{"text": "  the cat sat \\n", "toxicity_bert": 0\.\d+/);
    // The text is stripped before scoring, as upstream: the padded and the plain text score the same.
    const again = join(dir, 'plain.jsonl');
    writeFileSync(join(dir, 'plain-in.jsonl'), '{"prompt": {"text": "So"}, "generations": [{"text": "the cat sat"}]}\n');
    await run('classify', join(dir, 'plain-in.jsonl'), '--model', modelDir, '-o', again, '--label', 'toxic', '-q');
    const plain = JSON.parse(readFileSync(again, 'utf8')) as { generations: Array<Record<string, number>> };
    expect(plain.generations[0]!.BERT).toBe(generations[0]!.toxicity_bert);
  });

  it('batches by the device plan unless --batch-tokens says otherwise; the probabilities do not depend on it', async () => {
    const [planned, single] = [join(dir, 'planned.jsonl'), join(dir, 'single.jsonl')];
    expect((await run('classify', input, '--model', modelDir, '-o', planned, '-q')).code).toBe(0);
    expect((await run('classify', input, '--model', modelDir, '-o', single, '--batch-tokens', '1', '-q')).code).toBe(0);
    const probabilities = (file: string) => readFileSync(file, 'utf8').trim().split('\n').flatMap((l) => (JSON.parse(l) as { generations: Array<{ BERT: number }> }).generations.map((g) => g.BERT));
    const [a, b] = [probabilities(planned), probabilities(single)];
    expect(a).toHaveLength(3);
    a.forEach((p, i) => expect(Math.abs(p - b[i]!)).toBeLessThan(1e-6));
    const bad = await run('classify', input, '--model', modelDir, '-o', join(dir, 'bad.jsonl'), '--batch-tokens', '0');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--batch-tokens');
  });

  it('refuses to overwrite the input and unknown labels', async () => {
    let result = await run('classify', input, '--model', modelDir, '-o', input);
    expect(result.code).toBe(1);
    result = await run('classify', input, '--model', modelDir, '-o', join(dir, 'x.jsonl'), '--label', 'nope');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('unknown label');
  });
});
