import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildCausalLM } from '../testing/index';
import { loadCausalLM, type SequenceLogProb } from './index';

// Graph variants the PyTorch fixture does not cover: no position_ids input, float16 weights/logits.
// Reference: the same sequence scored alone, unpadded (padding and batching must not change it),
// and the float32 twin of the float16 model (same seed).
const tokenizerDir = fileURLToPath(new URL('../../fixtures/tiny-gpt/', import.meta.url));

function writeModel(dtype: 'float32' | 'float16', positionIdsInput: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), `pref-causal-${dtype}-`));
  const built = buildCausalLM({ vocabSize: 512, hidden: 32, layers: 1, heads: 2, maxPosition: 64, seed: 9, dtype, positionIdsInput, initStd: 0.2 });
  writeFileSync(join(dir, 'model.onnx'), built.bytes);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(built.config));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(tokenizerDir, f), join(dir, f));
  return dir;
}

const inputs = [
  { prompt: 'Question: What is the capital of France? Answer:', response: ' Paris.' },
  { prompt: 'The quick brown fox', response: ' jumps over the lazy dog, and the dog sleeps.' },
  { prompt: 'Hi', response: ' there' },
];

describe('sequenceLogProbs on builder-made graphs', () => {
  it('without a position_ids input: batched values equal single-sequence values', async () => {
    const lm = await loadCausalLM(writeModel('float32', false));
    expect(lm.hasPositionIds).toBe(false);
    const single: SequenceLogProb[] = [];
    for (const x of inputs) single.push(await lm.sequenceLogProbs(x.prompt, x.response));
    const batched = await lm.sequenceLogProbs(inputs, { batchSize: 3 });
    batched.forEach((r, i) => {
      expect(Math.abs(r.logProb - single[i]!.logProb)).toBeLessThan(1e-4);
      expect(r.tokenCount).toBe(single[i]!.tokenCount);
    });
    await lm.dispose();
  });

  it('float16 logits are converted and close to the float32 twin', async () => {
    const lm16 = await loadCausalLM(writeModel('float16', true));
    const lm32 = await loadCausalLM(writeModel('float32', true));
    const [a, b] = [await lm16.sequenceLogProbs(inputs), await lm32.sequenceLogProbs(inputs)];
    a.forEach((r, i) => {
      expect(Number.isFinite(r.logProb)).toBe(true);
      // float16 has ~3 significant digits; per-token log-probs around −6 agree to ~0.05.
      expect(Math.abs(r.logProb - b[i]!.logProb)).toBeLessThan(0.05 * b[i]!.tokenCount);
      expect(Math.abs(r.logProb - b[i]!.logProb)).toBeGreaterThan(0); // really the float16 path
    });
    await lm16.dispose();
    await lm32.dispose();
  });
});
