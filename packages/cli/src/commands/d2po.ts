import { InvalidArgumentError } from '@pref/core';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { atomicWriteFile, InvalidRecordError, readPairs, readRecords, writeHfDataset, writeRecords, type DataRecord, type SchemaName } from '@pref/io';
import { goldReward, gpt2Decode, gpt2Encode, parseGoldSpec, wordTokenize, type GoldRewardSpec } from '@pref/reward-scoring';
import { PythonFloat, pythonJsonDumps } from '@pref/selection';
import { createProgress } from '../progress';
import { deprecatedOption } from '../flags';

// ---------------------------------------------------------------------------------------------
// Python's statistics.mean: exact rational sum, one correct rounding at the end.

const SCALE = 1074n;

function doubleToScaled(x: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const exponent = (hi >>> 20) & 0x7ff;
  const fraction = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  const mantissa = exponent === 0 ? fraction : fraction | (1n << 52n);
  const shift = BigInt(exponent === 0 ? 1 : exponent) - 1075n + SCALE;
  const magnitude = mantissa << shift;
  return hi >>> 31 ? -magnitude : magnitude;
}

function ratioToDouble(p: bigint, q: bigint): number {
  if (p === 0n) return 0;
  const negative = p < 0n;
  const num0 = negative ? -p : p;
  let k = 53 - (num0.toString(2).length - q.toString(2).length);
  for (;;) {
    const num = k >= 0 ? num0 << BigInt(k) : num0;
    const den = k >= 0 ? q : q << BigInt(-k);
    let quotient = num / den;
    if (quotient >= 1n << 53n) {
      k--;
      continue;
    }
    if (quotient < 1n << 52n) {
      k++;
      continue;
    }
    const twiceRemainder = 2n * (num - quotient * den);
    if (twiceRemainder > den || (twiceRemainder === den && (quotient & 1n) === 1n)) quotient++;
    const value = Number(quotient) * 2 ** -k;
    return negative ? -value : value;
  }
}

/** A value as Python holds it: an int or a float. */
export type PyNumber = number | PythonFloat;

/** `statistics.mean`: an int when every value is an int and the mean is whole, else the correctly rounded float. */
export function pythonMean(values: readonly PyNumber[]): PyNumber {
  if (values.length === 0) throw new InvalidArgumentError({ argument: 'values', message: 'mean requires at least one data point' });
  let anyFloat = false;
  let total = 0n;
  for (const value of values) {
    if (value instanceof PythonFloat) anyFloat = true;
    total += doubleToScaled(value instanceof PythonFloat ? value.value : value);
  }
  const denominator = BigInt(values.length) << SCALE;
  if (!anyFloat && total % denominator === 0n) return Number(total / denominator);
  return new PythonFloat(ratioToDouble(total, denominator));
}

// ---------------------------------------------------------------------------------------------
// D2PO prompt styles (src/utils/data/prompt_utils.py: splitter, qaform).

/** D2PO's `splitter`: (instruction, response) of a tulu, AlpacaFarm or QA-style text; else (text, ""). */
export function d2poSplit(text: string): [string, string] {
  if (text.includes('<user>')) {
    const rest = text.slice('<user>\n'.length);
    const parts = rest.split('\n<assistant>\n');
    if (parts.length !== 2) throw new InvalidArgumentError({ argument: 'text', message: 'a tulu-style text needs exactly one "\\n<assistant>\\n" (upstream raises)' });
    return [parts[0]!, parts[1]!];
  }
  if (text.includes('### Instruction:')) {
    const instruction = /### Instruction:\n([\s\S]*?)(### Response:|$(?![\s\S]))/.exec(text);
    const response = /### Response:[\s\S]*?([\s\S]*?)(### |$(?![\s\S]))/.exec(text);
    return [instruction ? instruction[1]!.trim() : text, response ? response[1]!.trim() : ''];
  }
  if (text.includes('Question:') && text.includes('Answer:')) {
    const parts = text.split('Answer:');
    return [parts[0]!.trim().slice('Question: '.length), parts[1]!.trim()];
  }
  return [text, ''];
}

const qaForm = (question: string, response = ''): string => `Question: ${question}\n\nAnswer: ${response}`;

// OPT's tokenizer = GPT-2's BPE with </s> (BOS) first; decode(..., skip_special_tokens=True) drops it.
const BOS = -1;
function optIds(text: string): number[] {
  return [BOS, ...gpt2Encode(text)];
}
function optDecode(ids: readonly number[]): string {
  return gpt2Decode(ids.filter((id) => id !== BOS), { skipSpecialTokens: false });
}

/** evalgold's `tokenproc`: the text a gold function sees, optionally cut to 50 OPT tokens (BOS included, as upstream). */
function evalgoldText(text: string, truncate: boolean, fn: string): string {
  if (fn === 'math' || fn === 'contrastivedistill') return text;
  const [question, response] = d2poSplit(text);
  let input = qaForm(question, response);
  let start = 0;
  if (!fn.includes('contpos')) {
    input = d2poSplit(input)[1].trim();
  } else {
    start = optIds(d2poSplit(input)[0].trim()).length;
  }
  const ids = optIds(input);
  return optDecode(truncate ? ids.slice(0, start + 50) : ids);
}

function pyValue(spec: GoldRewardSpec, text: string): PyNumber {
  const value = goldReward(spec, text);
  // readsimp returns the int -10 for short answers; every other function returns Python floats.
  if (spec.fn === 'readinggrade' && value === -10 && !spec.noise && !spec.exponent) return -10;
  return new PythonFloat(value);
}

/** `pref d2po …`: D2PO's data layout and its gold evaluation. */
export function registerD2poCommands(program: Command): void {
  const d2po = program.command('d2po').description("D2PO (PrasannS/d2po): its data layout and src/evalgold.py's .results");

  d2po
    .command('data')
    .description('Write pairs in D2PO\'s layout: question, response_j (preferred), response_k[, magnitude], as an HF folder or JSONL')
    .argument('<pairs>', 'input pairs (JSONL, JSON, CSV, Parquet, ...)')
    .requiredOption('-o, --output <path>', 'output: a .jsonl file, or a folder (Hugging Face save_to_disk layout) with --out-format hf')
    .option('--out-format <format>', 'output file format: jsonl | hf', 'jsonl')
    .addOption(deprecatedOption('--format <format>', '--out-format'))
    .option('--magnitude-field <name>', 'column written as magnitude (e.g. margin_raw); omit for no magnitude column')
    .option('--schema <name>', 'input schema (default: auto)')
    .option('-q, --quiet', 'no progress output')
    .action(async (input: string, flags: { output: string; outFormat: string; magnitudeField?: string; schema?: string; quiet?: boolean }) => {
      if (flags.outFormat !== 'jsonl' && flags.outFormat !== 'hf') throw new InvalidArgumentError({ argument: '--out-format', message: `expected jsonl or hf, got "${flags.outFormat}"` });
      if (resolve(flags.output) === resolve(input)) throw new InvalidArgumentError({ argument: '--output', message: 'is the input; pref never overwrites its input' });
      const progress = createProgress('d2po data', { unit: 'pairs', quiet: flags.quiet });
      let line = 0;
      const rows = (async function* (): AsyncGenerator<DataRecord> {
        for await (const pair of readPairs(input, { schema: (flags.schema ?? 'auto') as SchemaName | 'auto' })) {
          line++;
          const row: DataRecord = { question: pair.prompt, response_j: pair.chosen, response_k: pair.rejected };
          if (flags.magnitudeField !== undefined) {
            const value = (pair as Record<string, unknown>)[flags.magnitudeField];
            if (typeof value !== 'number' || !Number.isFinite(value)) throw new InvalidRecordError({ file: input, line, field: flags.magnitudeField, expected: 'a finite number (--magnitude-field)', found: value === undefined ? 'nothing (missing)' : String(value) });
            row.magnitude = value;
          }
          yield row;
        }
      })();
      const result = flags.outFormat === 'hf' ? await writeHfDataset(flags.output, rows) : await writeRecords(flags.output, rows);
      progress.finish(`${line} pairs → ${flags.output}`);
      void result;
    });

  d2po
    .command('evalgold')
    .description("src/evalgold.py: score rollouts with a gold function, with and without the 50-token truncation, and write <file>.results")
    .argument('<rollouts>', 'JSON lines with question and response (a string, or a list of 4 responses)')
    .requiredOption('--fn <name>', 'gold function ([cont_]name[-noise][-exponent])')
    .option('-o, --output <file>', 'results file (default: the input path with .jsonl replaced by .results, as upstream)')
    .option('-q, --quiet', 'no progress output')
    .action(async (input: string, flags: { fn: string; output?: string; quiet?: boolean }) => {
      const spec = parseGoldSpec(flags.fn);
      const output = flags.output ?? input.replace('.jsonl', '') + '.results';
      if (resolve(output) === resolve(input)) throw new InvalidArgumentError({ argument: '--output', message: 'is the input; pref never overwrites its input' });
      const progress = createProgress('d2po evalgold', { unit: 'rows', quiet: flags.quiet });
      const rows: Array<{ responses: string[]; question: string | string[]; listForm: boolean }> = [];
      for await (const { record, file, line } of readRecords(input)) {
        const { response, question } = record;
        const responses = Array.isArray(response) ? response : [response];
        if (responses.length !== 1 && responses.length !== 4) throw new InvalidRecordError({ file, line, field: 'response', expected: 'a string or a list of 4 strings', found: `a list of ${responses.length}` });
        responses.forEach((r, j) => {
          if (typeof r !== 'string') throw new InvalidRecordError({ file, line, field: Array.isArray(response) ? `response.${j}` : 'response', expected: 'a string', found: typeof r });
        });
        const q = question;
        if (typeof q !== 'string' && !(Array.isArray(q) && q.every((x) => typeof x === 'string') && q.length > 0)) throw new InvalidRecordError({ file, line, field: 'question', expected: 'a string (or a list of strings)', found: typeof q });
        if (rows.length > 0 && rows[0]!.responses.length !== responses.length) throw new InvalidRecordError({ file, line, field: 'response', expected: `${rows[0]!.responses.length} response(s) per row like the first row (upstream mixes them up)`, found: `${responses.length}` });
        rows.push({ responses: responses as string[], question: q, listForm: Array.isArray(response) });
      }
      if (rows.length === 0) throw new InvalidArgumentError({ argument: '<rollouts>', message: `${input} has no rows` });
      const score = (truncate: boolean): { values: PyNumber[][]; mean: PyNumber } => {
        const values = rows.map((row) => row.responses.map((r) => pyValue(spec, evalgoldText(r, truncate, flags.fn))));
        return { values, mean: pythonMean(values.map((v) => pythonMean(v))) };
      };
      const truncated = score(true);
      progress.update(rows.length);
      const full = score(false);
      // scofile's glens, as upstream: when len(response) < 8 (a list of 4, or a string under 8
      // characters) the first item of response and question is taken (for a string, its first character).
      const first = (value: string | string[]): string => (Array.isArray(value) ? value[0]! : (Array.from(value)[0] ?? ''));
      const lens = rows.map((row) => {
        const short = (row.listForm ? row.responses.length : Array.from(row.responses[0]!).length) < 8;
        const response = row.listForm ? row.responses : row.responses[0]!;
        return wordTokenize(short ? first(response) : (response as string)).length - wordTokenize(short ? first(row.question) : (row.question as string)).length;
      });
      const results = {
        truncval: truncated.values,
        notruncval: full.values,
        meanlen: pythonMean(lens),
        truncdist: truncated.mean,
        notrunctdist: full.mean,
        lendist: lens,
      };
      await atomicWriteFile(output, pythonJsonDumps(results));
      progress.finish(`${rows.length} rows: mean ${flags.fn} ${String(truncated.mean instanceof PythonFloat ? truncated.mean.value : truncated.mean)} (truncated), ${String(full.mean instanceof PythonFloat ? full.mean.value : full.mean)} (full) → ${output}`);
    });
}
