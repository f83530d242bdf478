import { InvalidArgumentError } from '@pref/core';
import { InvalidRecordError } from '@pref/io';
import { PythonFloat } from './python-json';
import { PythonRandom } from './python-random';

/** A raw row with where it came from (what `readRecords` yields). */
export interface LocatedRow {
  record: Record<string, unknown>;
  file: string;
  line: number;
}

/**
 * The cell texts pandas' `read_csv` turns into NaN by default (`na_values`, pandas ≥ 2.0). The
 * upstream scripts see these cells as missing, so they are missing here too.
 */
export const PANDAS_NA_STRINGS: ReadonlySet<string> = new Set([
  '', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN', '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null',
]);

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (missing)';
  if (value === null) return 'null';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number') return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

function fail(row: LocatedRow, field: string, expected: string, found: unknown): never {
  throw new InvalidRecordError({ file: row.file, line: row.line, field, expected, found: describe(found) });
}

/** A CSV cell as pandas would read it in a numeric column: a number, or NaN for a missing cell. */
function csvNumber(row: LocatedRow, field: string): { value: number; integral: boolean } {
  const cell = row.record[field];
  if (typeof cell === 'number') return { value: cell, integral: Number.isInteger(cell) };
  if (typeof cell !== 'string') return fail(row, field, 'a number', cell);
  if (PANDAS_NA_STRINGS.has(cell)) return { value: Number.NaN, integral: false };
  const text = cell.trim();
  const value = Number(text);
  if (text === '' || !Number.isFinite(value)) return fail(row, field, 'a number', cell);
  return { value, integral: /^[+-]?\d+$/.test(text) };
}

/** A CSV text cell: a string, or undefined when pandas would read NaN. */
function csvText(row: LocatedRow, field: string): string | undefined {
  const cell = row.record[field];
  if (typeof cell !== 'string') {
    // The CSV reader parses cells that are JSON arrays/objects; pandas keeps them as text, so such a
    // row cannot be reproduced byte for byte and is refused rather than rewritten.
    return fail(row, field, 'a text cell (cells holding a JSON array or object are parsed by the reader and are not accepted here)', cell);
  }
  return PANDAS_NA_STRINGS.has(cell) ? undefined : cell;
}

function checkRate(argument: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new InvalidArgumentError({ argument, message: `must be a finite number, got ${String(value)}` });
}

function checkSeed(seed: number | bigint): void {
  if (typeof seed === 'bigint') return;
  if (!Number.isSafeInteger(seed)) throw new InvalidArgumentError({ argument: 'seed', message: `must be an integer (the upstream scripts seed Python's random with an int), got ${String(seed)}` });
}

// ---------------------------------------------------------------------------------------------
// build_reward_training_data.py

export interface RewardModelCsvOptions {
  /** Probability of discarding a non-toxic row (`--drop_rate`). Default: 0.3. */
  dropRate?: number;
  /** Python `random.seed` value. Default: 0 (the upstream script's). */
  seed?: number | bigint;
  /** Text column. Default: 'comment_text'. */
  textField?: string;
  /** Label column (0 = non-toxic). Default: 'toxic'. */
  labelField?: string;
}

/** One output row of `rm_train.json` / `rm_valid.json`. */
export interface RewardModelCsvRow {
  text: string;
  /** The CSV label: an int when the cell is an integer, else a Python float. */
  label: number | PythonFloat;
}

export interface UpstreamSplitCounts {
  train: number;
  validation: number;
  dropped: number;
}

/**
 * The reward-model data of rectification-LM's `dataset/build_reward_training_data.py` from the
 * Jigsaw CSV, draw for draw: `random.seed(seed)`; for each row, a row whose label is 0 draws
 * `random()` and is discarded when the draw is ≤ dropRate; every kept row draws again and goes to
 * validation when that draw is ≤ 0.1. Yields rows in file order with their split.
 */
export async function* rewardModelDataFromCsv(
  rows: AsyncIterable<LocatedRow> | Iterable<LocatedRow>,
  { dropRate = 0.3, seed = 0, textField = 'comment_text', labelField = 'toxic' }: RewardModelCsvOptions = {},
): AsyncGenerator<{ split: 'train' | 'validation'; row: RewardModelCsvRow }, UpstreamSplitCounts> {
  checkRate('dropRate', dropRate);
  checkSeed(seed);
  const rng = new PythonRandom(seed);
  const counts: UpstreamSplitCounts = { train: 0, validation: 0, dropped: 0 };
  for await (const row of rows) {
    const label = csvNumber(row, labelField);
    const text = csvText(row, textField);
    if (label.value === 0 && rng.random() <= dropRate) {
      counts.dropped++;
      continue;
    }
    // Upstream writes a missing comment as `NaN`, which is not JSON; refused here.
    if (text === undefined) fail(row, textField, 'a comment (pandas reads this cell as NaN and the upstream script would write NaN)', row.record[textField]);
    const split = rng.random() <= 0.1 ? 'validation' : 'train';
    counts[split]++;
    yield { split, row: { text, label: label.integral ? label.value : new PythonFloat(label.value) } };
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------
// build_value_training_prompts.py

export interface ValuePromptsCsvOptions {
  /** Probability of discarding a row with target < 0.5 (`--drop_rate`). Default: 0.9. */
  dropRate?: number;
  seed?: number | bigint;
  /** Text column. Default: 'comment_text'. */
  textField?: string;
  /** Toxicity column. Default: 'target'. */
  targetField?: string;
  /**
   * Cuts a comment to the prompt (upstream: the first `--max_len` GPT-2 tokens, decoded back).
   * Default: the text unchanged (upstream `--max_len 0`).
   */
  cut?: (text: string) => string;
}

export interface ValuePromptCounts {
  kept: number;
  dropped: number;
  /** Rows whose comment is missing (pandas NaN): upstream's tokenizer raises and the row is skipped. */
  missingText: number;
}

/**
 * The prompts of rectification-LM's `dataset/build_value_training_prompts.py`, draw for draw:
 * `random.seed(seed)`; a row with target < 0.5 draws `random()` and is discarded when the draw is
 * ≤ dropRate (a missing target is NaN, never < 0.5, so it draws nothing and is kept); the comment is
 * cut to the prompt; yields `{prompt: {text}}`.
 */
export async function* valuePromptsFromCsv(
  rows: AsyncIterable<LocatedRow> | Iterable<LocatedRow>,
  { dropRate = 0.9, seed = 0, textField = 'comment_text', targetField = 'target', cut = (text) => text }: ValuePromptsCsvOptions = {},
): AsyncGenerator<{ prompt: { text: string } }, ValuePromptCounts> {
  checkRate('dropRate', dropRate);
  checkSeed(seed);
  const rng = new PythonRandom(seed);
  const counts: ValuePromptCounts = { kept: 0, dropped: 0, missingText: 0 };
  for await (const row of rows) {
    const target = csvNumber(row, targetField).value;
    const text = csvText(row, textField);
    if (target < 0.5 && rng.random() <= dropRate) {
      counts.dropped++;
      continue;
    }
    if (text === undefined) {
      counts.missingText++;
      continue;
    }
    counts.kept++;
    yield { prompt: { text: cut(text) } };
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------
// build_value_training_data.py

/** How generations are taken per prompt (`--mode`). */
export type ValueDataMode = 'most' | 'sample' | 'all';

export interface ValueDataOptions {
  mode: ValueDataMode;
  /** Probability of discarding a clean prompt (`--drop_rate`). Default: 0.5. */
  dropRate?: number;
  /** The generation key holding the score (`--toxicity_type`). Default: 'toxicity'. */
  toxicityType?: string;
  /** Generations drawn per prompt in `sample` mode (`--sample_num`). Default: 6. */
  sampleNum?: number;
  seed?: number | bigint;
  /**
   * How a prompt is judged clean: `gt` = no generation scores > 0.5 (upstream `is_clean_prompt`),
   * `ge` = no generation scores ≥ 0.5 (consistent with the reward, which calls ≥ 0.5 toxic). Default: 'gt'.
   */
  cleanCheck?: 'gt' | 'ge';
}

/** One output row of `train.json` / `val.json`. */
export interface ValueDataRowUpstream {
  text: string;
  /** `[-1.0]` when the generation's score ≥ 0.5, else `[0.0]`. */
  reward: [PythonFloat];
}

export interface ValueDataCounts {
  prompts: number;
  droppedPrompts: number;
  train: number;
  validation: number;
}

/**
 * The value-function data of rectification-LM's `dataset/build_value_training_data.py`, draw for
 * draw: `random.seed(seed)`; per prompt, one `random()` draw, and the prompt is discarded when the
 * draw is < dropRate and the prompt is clean; a second draw sends it to train when < 0.9, else to
 * validation; then `most` takes the most and the least toxic generation (a stable descending sort,
 * first and last; one generation is taken twice), `sample` takes `random.sample(generations,
 * sampleNum)`, `all` takes every generation. Rows are `{text: prompt + generation, reward: [r]}`.
 * Input rows are the upstream generations JSONL: `{prompt: {text}, generations: [{text, <toxicityType>}]}`.
 */
export async function* valueDataFromGenerations(
  rows: AsyncIterable<LocatedRow> | Iterable<LocatedRow>,
  { mode, dropRate = 0.5, toxicityType = 'toxicity', sampleNum = 6, seed = 0, cleanCheck = 'gt' }: ValueDataOptions,
): AsyncGenerator<{ split: 'train' | 'validation'; row: ValueDataRowUpstream }, ValueDataCounts> {
  if (mode !== 'most' && mode !== 'sample' && mode !== 'all') throw new InvalidArgumentError({ argument: 'mode', message: `expected most, sample or all, got ${String(mode)}` });
  if (cleanCheck !== 'gt' && cleanCheck !== 'ge') throw new InvalidArgumentError({ argument: 'cleanCheck', message: `expected gt or ge, got ${String(cleanCheck)}` });
  if (!Number.isInteger(sampleNum) || sampleNum < 0) throw new InvalidArgumentError({ argument: 'sampleNum', message: `must be a non-negative integer, got ${sampleNum}` });
  checkRate('dropRate', dropRate);
  checkSeed(seed);
  const rng = new PythonRandom(seed);
  const counts: ValueDataCounts = { prompts: 0, droppedPrompts: 0, train: 0, validation: 0 };
  for await (const row of rows) {
    counts.prompts++;
    const prompt = row.record.prompt;
    const promptText = typeof prompt === 'object' && prompt !== null && !Array.isArray(prompt) ? (prompt as Record<string, unknown>).text : undefined;
    if (typeof promptText !== 'string') fail(row, 'prompt.text', 'a string', promptText);
    const generations = row.record.generations;
    if (!Array.isArray(generations)) fail(row, 'generations', 'an array of {text, score} objects', generations);
    const parsed = (generations as unknown[]).map((g, j) => {
      if (typeof g !== 'object' || g === null || Array.isArray(g)) return fail(row, `generations.${j}`, 'an object', g);
      const text = (g as Record<string, unknown>).text;
      const score = (g as Record<string, unknown>)[toxicityType];
      if (typeof text !== 'string') fail(row, `generations.${j}.text`, 'a string', text);
      if (typeof score !== 'number' || Number.isNaN(score)) fail(row, `generations.${j}.${toxicityType}`, 'a number', score);
      return { text: text, score: score };
    });
    const clean = parsed.every((g) => (cleanCheck === 'gt' ? !(g.score > 0.5) : !(g.score >= 0.5)));
    if (rng.random() < dropRate && clean) {
      counts.droppedPrompts++;
      continue;
    }
    const split = rng.random() < 0.9 ? 'train' : 'validation';
    let samples: Array<{ text: string; score: number }>;
    if (mode === 'most') {
      if (parsed.length === 0) fail(row, 'generations', 'at least one generation (mode most)', generations);
      // Python's sort(reverse=True) is stable: equal scores keep their input order.
      const sorted = parsed.slice().sort((a, b) => (a.score > b.score ? -1 : a.score < b.score ? 1 : 0));
      samples = [sorted[0]!, sorted[sorted.length - 1]!];
    } else if (mode === 'sample') {
      if (sampleNum > parsed.length) fail(row, 'generations', `at least ${sampleNum} generations (--sample-num; Python's random.sample raises here)`, generations);
      samples = rng.sample(parsed, sampleNum);
    } else {
      samples = parsed;
    }
    for (const s of samples) {
      counts[split]++;
      yield { split, row: { text: promptText + s.text, reward: [new PythonFloat(s.score >= 0.5 ? -1 : 0)] } };
    }
  }
  return counts;
}
