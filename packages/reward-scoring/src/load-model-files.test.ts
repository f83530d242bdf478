import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeHub, type FakeHub } from '@pref/io/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCausalLM } from './causal-lm/load-causal-lm';
import { compileChatTemplate } from './chat-template/compile-chat-template';
import { loadModelFiles, renderChatTemplate } from './load-model-files';
import { loadRewardModel } from './load-reward-model';

const bertDir = fileURLToPath(new URL('../fixtures/tiny-bert/', import.meta.url));
const gptDir = fileURLToPath(new URL('../fixtures/tiny-gpt/', import.meta.url));
const REPO = 'test-org/tiny-bert';
const SHA = 'c'.repeat(39) + '3';
const root = mkdtempSync(join(tmpdir(), 'pref-model-files-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The fixture's files without its ONNX graph: what a remote backend has of a model it does not run. */
function folderWithoutGraph(): string {
  const dir = mkdtempSync(join(root, 'no-graph-'));
  for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(bertDir, file), join(dir, file));
  return dir;
}

describe('loadModelFiles: the layer under every loader', () => {
  it('reads a folder: config, tokenizer, chat template, special tokens and the ONNX path', async () => {
    const files = await loadModelFiles(bertDir);
    expect(files.modelPath).toBe(join(bertDir, 'model.onnx'));
    expect(files.config.num_labels ?? 1).toBe(1);
    expect(files.specialTokens).toEqual({ unk: '[UNK]', pad: '[PAD]' });
    // fixtures/tiny-bert/reference.json case 0 (transformers' ids, [CLS] … [SEP] stripped): the prompt.
    expect(Array.from(files.tokenizer.encode('How do plants grow?'))).toEqual([121, 135, 145, 146, 8]);
    expect(files.chatTemplate?.origin).toBe(join(bertDir, 'tokenizer_config.json'));
  });

  it('with onnx: false needs no graph (remote backends); the session loaders still do', async () => {
    const dir = folderWithoutGraph();
    const files = await loadModelFiles(dir, { onnx: false });
    expect(files.modelPath).toBeUndefined();
    expect(Array.from(files.tokenizer.encode('hello world'))).toEqual(Array.from((await loadModelFiles(bertDir)).tokenizer.encode('hello world')));
    await expect(loadModelFiles(dir)).rejects.toThrow(/no ONNX model in/);
    await expect(loadRewardModel(dir, { tokenizerWorkers: 0 })).rejects.toThrow(/no ONNX model in/);
  });

  it('reports a missing tokenizer.json in the loader\'s own error class, naming the folder', async () => {
    const dir = mkdtempSync(join(root, 'no-tokenizer-'));
    copyFileSync(join(gptDir, 'model.onnx'), join(dir, 'model.onnx'));
    const rewardError = await loadRewardModel(dir, { tokenizerWorkers: 0 }).catch((e: unknown) => e);
    expect(rewardError).toMatchObject({ name: 'RewardModelError', code: 'MODEL_LOAD' });
    expect((rewardError as Error).message).toBe(`${dir}: no tokenizer.json in the folder (export the fast tokenizer with the model)`);
    const causalError = await loadCausalLM(dir).catch((e: unknown) => e);
    expect(causalError).toMatchObject({ name: 'CausalLMError', code: 'MODEL_LOAD' });
    expect((causalError as Error).message).toBe(`${dir}: no tokenizer.json in the folder (export the fast tokenizer with the model)`);
  });
});

describe('loadModelFiles from the Hub (fake Hub on 127.0.0.1)', () => {
  let hub: FakeHub;
  beforeAll(async () => {
    const files = new Map(['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.onnx'].map((f) => [f, readFileSync(join(bertDir, f))]));
    hub = await startFakeHub([{ type: 'model', name: REPO, sha: SHA, files }]);
  });
  afterAll(() => hub.close());

  it('with onnx: false downloads the text files only, and never replaces the global console.debug', async () => {
    const debug = console.debug;
    let assignments = 0;
    Object.defineProperty(console, 'debug', { configurable: true, get: () => debug, set: () => void assignments++ });
    try {
      const cacheDir = join(root, 'cache');
      const files = await loadModelFiles(REPO, { hubUrl: hub.url, cacheDir, onnx: false });
      expect(files.dir).toBe(join(cacheDir, 'models--test-org--tiny-bert', 'snapshots', SHA));
      expect(files.commit).toBe(SHA);
      expect(files.modelPath).toBeUndefined();
      expect(existsSync(join(files.dir, 'model.onnx'))).toBe(false);
      const fetched = new Set(hub.requests.filter((r) => r.includes('/resolve/')).map((r) => r.split('/').at(-1)));
      expect([...fetched].sort()).toEqual(['config.json', 'tokenizer.json', 'tokenizer_config.json']);
      // Then with the graph: the same snapshot gains model.onnx.
      const withGraph = await loadModelFiles(REPO, { hubUrl: hub.url, cacheDir });
      expect(withGraph.modelPath).toBe(join(files.dir, 'model.onnx'));
    } finally {
      Object.defineProperty(console, 'debug', { configurable: true, writable: true, value: debug });
    }
    expect(assignments).toBe(0);
  });
});

describe('one chat-template path', () => {
  it('passes bos/eos/unk/pad and add_generation_prompt, and messages as given', () => {
    const template = compileChatTemplate(
      "{{ bos_token }}{% for m in messages %}[{{ m.role }}{% if m.name %}:{{ m.name }}{% endif %}]{{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}|{{ unk_token }}|{{ pad_token }}",
      { origin: 'test' },
    );
    const messages = [{ role: 'user', content: 'hi', name: 'ann' }];
    const tokens = { bos: '<s>', eos: '</s>', unk: '<unk>', pad: '<pad>' };
    expect(renderChatTemplate(template, tokens, messages, { addGenerationPrompt: true })).toBe('<s>[user:ann]hi</s>[assistant]|<unk>|<pad>');
    expect(renderChatTemplate(template, {}, messages, { addGenerationPrompt: false })).toBe('[user:ann]hi||');
  });
});

describe('one set of option names', () => {
  it('both loaders refuse unknown keys and bad values with the same messages', async () => {
    await expect(loadRewardModel(bertDir, { thread: 1 } as never)).rejects.toThrow(/unknown option "thread"/);
    await expect(loadCausalLM(gptDir, { thread: 1 } as never)).rejects.toThrow(/unknown option "thread"/);
    await expect(loadModelFiles(gptDir, { threads: 1 } as never)).rejects.toThrow(/unknown option "threads"/);
    await expect(loadRewardModel(bertDir, { threads: 0 })).rejects.toThrow(/threads must be a positive integer, got 0/);
    await expect(loadCausalLM(gptDir, { threads: 0 })).rejects.toThrow(/threads must be a positive integer, got 0/);
    await expect(loadCausalLM(gptDir, { device: 'tpu' as 'cpu' })).rejects.toThrow(/unknown device "tpu": use cpu or cuda/);
  });

  it('loadCausalLM keeps intraOpNumThreads and executionProviders as deprecated aliases', async () => {
    const viaAlias = await loadCausalLM(gptDir, { intraOpNumThreads: 1, executionProviders: ['cpu'] });
    const viaName = await loadCausalLM(gptDir, { threads: 1, device: 'cpu' });
    try {
      const input = [{ prompt: 'Question: 2+2? Answer:', response: ' 4' }];
      expect(await viaAlias.sequenceLogProbs(input)).toEqual(await viaName.sequenceLogProbs(input));
    } finally {
      await viaAlias.dispose();
      await viaName.dispose();
    }
    await expect(loadCausalLM(gptDir, { threads: 1, intraOpNumThreads: 2 })).rejects.toThrow(/deprecated name of threads/);
    await expect(loadCausalLM(gptDir, { executionProviders: ['webgpu'] })).rejects.toThrow(/use device: 'cpu' or 'cuda'/);
  });
});
