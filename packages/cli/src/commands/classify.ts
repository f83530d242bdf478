import { InvalidArgumentError } from '@pref/core';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createAtomicWriteStream, InvalidRecordError, readRecords } from '@pref/io';
import { loadRewardModel } from '@pref/reward-scoring';
import { PythonFloat, pythonJsonDumps } from '@pref/selection';
import { createProgress } from '../progress';
import { integerFlag } from '../flags';

interface ClassifyFlags {
  model: string;
  output: string;
  key: string;
  label: string;
  allLabels?: boolean;
  maxLength?: string;
  batchTokens?: string;
  threads?: string;
  quiet?: boolean;
  json?: boolean;
}

/** Softmax over one row of logits, in float64. */
function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i]! - max);
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

/**
 * `pref classify`: rectification-LM's `dataset/generate_reward.py` — a sequence classifier (ONNX)
 * over every generation's stripped text, softmax over the labels, the probability of one label
 * written beside the text under the upstream key. The input file is never modified.
 */
export function registerClassifyCommands(program: Command): void {
  program
    .command('classify')
    .description("Score generations with a sequence classifier (ONNX): softmax per text, the chosen label's probability written beside each generation (rectification-LM generate_reward.py)")
    .argument('<generations>', 'JSON lines {prompt: {text}, generations: [{text, ...}]}')
    .requiredOption('--model <dir|hub-id>', 'ONNX sequence classifier (Hugging Face export layout)')
    .requiredOption('-o, --output <file>', 'output JSON lines (never the input)')
    .option('--key <name>', 'key written on each generation (upstream --toxicity_type)', 'BERT')
    .option('--label <name|index>', 'label whose probability is written (upstream: index 1)', '1')
    .option('--all-labels', 'also write <key>_probs: the probability of every label, in label order')
    .option('--max-length <n>', 'truncate each text to this many tokens (default: the model maximum, as upstream truncation=True)')
    .option('--batch-tokens <n>', "padded tokens per batch (default: the device's batch plan, batchPlanFor: 2048 on cpu)")
    .option('--threads <n>', 'onnxruntime threads')
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (input: string, flags: ClassifyFlags) => {
      if (resolve(flags.output) === resolve(input)) throw new InvalidArgumentError({ argument: '--output', message: `${flags.output} is the input file; pref classify never overwrites its input` });
      const rows: Array<{ record: Record<string, unknown>; line: number }> = [];
      const texts: string[] = [];
      for await (const { record, file, line } of readRecords(input)) {
        const generations = record.generations;
        if (!Array.isArray(generations)) throw new InvalidRecordError({ file, line, field: 'generations', expected: 'an array of {text} objects', found: generations === undefined ? 'nothing (missing)' : typeof generations });
        generations.forEach((g: unknown, j) => {
          const text = typeof g === 'object' && g !== null ? (g as Record<string, unknown>).text : undefined;
          if (typeof text !== 'string') throw new InvalidRecordError({ file, line, field: `generations.${j}.text`, expected: 'a string', found: text === undefined ? 'nothing (missing)' : typeof text });
          // Python's str.strip(): Unicode whitespace at both ends.
          texts.push(text.replace(/^[\s\u001c-\u001f\u0085]+|[\s\u001c-\u001f\u0085]+$/g, ''));
        });
        rows.push({ record, line });
      }
      const model = await loadRewardModel(flags.model, { ...(flags.threads ? { threads: integerFlag(flags.threads, '--threads', 1) } : {}) });
      try {
        const label = /^\d+$/.test(flags.label) ? Number(flags.label) : flags.label;
        const index = model.labelIndex(label);
        const maxLength = flags.maxLength === undefined ? model.maxLength : integerFlag(flags.maxLength, '--max-length', 1);
        // Undefined: scoreSequences takes the batch plan of the model's device (batchPlanFor).
        const batchTokens = integerFlag(flags.batchTokens, '--batch-tokens', 1);
        const progress = createProgress('classify', { unit: 'texts', quiet: flags.quiet || flags.output === '-' });
        const ids = await model.tokenize(texts);
        const sequences = ids.map((tokens) => model.encoder.encodeSingle(tokens, maxLength));
        const truncated = sequences.filter((s) => s.truncated).length;
        // One pass per label keeps the model's batching; every pass sees the same logits.
        const probabilities: Float64Array[] = [];
        for (let l = 0; l < model.numLabels; l++) {
          if (!flags.allLabels && l !== index) continue;
          probabilities[l] = await model.scoreSequences(sequences, { ...(batchTokens === undefined ? {} : { batchTokens }), output: (logits) => softmax(logits)[l]! });
          progress.update(texts.length);
        }
        const stream = await createAtomicWriteStream(flags.output);
        try {
          let k = 0;
          for (const { record } of rows) {
            const generations = (record.generations as Record<string, unknown>[]).map((g) => {
              const out: Record<string, unknown> = Object.assign(Object.create(null) as Record<string, unknown>, g);
              out[flags.key] = new PythonFloat(probabilities[index]![k]!);
              if (flags.allLabels) out[`${flags.key}_probs`] = Array.from({ length: model.numLabels }, (_, l) => new PythonFloat(probabilities[l]![k]!));
              k++;
              return out;
            });
            await stream.write(`${pythonJsonDumps({ ...record, generations })}\n`);
          }
          await stream.commit();
        } catch (error) {
          await stream.abort();
          throw error;
        }
        progress.finish(`${texts.length} generations scored (${model.labels[index]} probability as "${flags.key}"); ${truncated} truncated to ${maxLength} tokens → ${flags.output}`);
        if (flags.json) process.stdout.write(`${JSON.stringify({ prompts: rows.length, generations: texts.length, truncated, label: model.labels[index], key: flags.key, output: flags.output })}\n`);
      } finally {
        await model.dispose();
      }
    });
}
