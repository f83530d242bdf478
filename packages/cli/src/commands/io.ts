import { InvalidArgumentError, PrefError } from '@pref/core';
import { Option, type Command } from 'commander';
import { stringifyRecord, DATA_FORMATS, SCHEMA_NAMES, head, lengthStats, pairToRecord, readPairs, readRecords, toD2poRecord, toOpenRlhfRecord, toShareGptRecord, toTrlRecord, writeRecords, type DataFormat, type DataRecord, type FieldMapping, type InvalidRecordError, type LengthStats, type PreferencePair, type ReadPairsOptions, type ReadProgress, type ReadStats, type SchemaName } from '@pref/io';
import { createProgress, type ProgressReporter } from '../progress';
import { integerFlag } from '../flags';

interface ReadFlags {
  schema?: string;
  format?: string;
  map?: string;
  quiet?: boolean;
  json?: boolean;
  uniqueIds?: boolean;
  split?: string;
}

const MAPPING_KEYS = ['id', 'prompt', 'chosen', 'rejected', 'system', 'metadata', 'score'] as const;

/** Parses `--map prompt=question,chosen=response_j` into a FieldMapping. */
function parseMapping(text: string | undefined): FieldMapping | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const mapping: FieldMapping = {};
  for (const part of text.split(',')) {
    const [key, column] = part.split('=').map((s) => s.trim());
    if (!key || !column || !(MAPPING_KEYS as readonly string[]).includes(key)) {
      throw new InvalidArgumentError({ argument: '--map', message: `expected canonical=column pairs (canonical one of ${MAPPING_KEYS.join(', ')}), got "${part}"` });
    }
    mapping[key as (typeof MAPPING_KEYS)[number]] = column;
  }
  return mapping;
}

function readOptions(flags: ReadFlags): Pick<ReadPairsOptions, 'schema' | 'format' | 'mapping' | 'uniqueIds' | 'split'> {
  return {
    split: flags.split,
    schema: (flags.schema ?? 'auto') as SchemaName | 'auto',
    format: flags.format as DataFormat | undefined,
    mapping: parseMapping(flags.map),
    uniqueIds: flags.uniqueIds === true,
  };
}

/** One line per repeated id (up to `max`), for the validate/stats warning. */
function describeRepeatedIds(stats: ReadStats, max = 10): string {
  const shown = stats.repeatedIdExamples.slice(0, max).map((r) => `  ${JSON.stringify(r.id)}: ${r.count} rows (first at ${r.file}:${r.line})`);
  const more = stats.repeatedIds > shown.length ? [`  … and ${stats.repeatedIds - shown.length} more`] : [];
  return [...shown, ...more].join('\n');
}

function addReadOptions(command: Command): Command {
  return command
    .addOption(new Option('--schema <name>', 'input schema').choices(['auto', ...SCHEMA_NAMES]).default('auto'))
    .addOption(new Option('--format <format>', 'input format (default: from the path and content)').choices([...DATA_FORMATS]))
    .option('--map <mapping>', 'field mapping, e.g. prompt=question,chosen=response_j,rejected=response_k')
    .option('--split <name>', 'read only this split of a dataset folder (save_to_disk DatasetDict or Hub repository folder with data/train-00000-of-00002.parquet-style files)')
    .option('--unique-ids', 'treat a repeated id as an invalid row (by default repeated ids are valid data: a record is its id together with its content)')
    .option('--json', 'print a machine-readable JSON summary on stdout')
    .option('-q, --quiet', 'no progress output');
}

function progressHandler(progress: ProgressReporter): (p: ReadProgress) => void {
  return (p) => {
    const detail = p.totalBytes ? `${((100 * p.bytesRead) / p.totalBytes).toFixed(1)}% of ${(p.totalBytes / 1e6).toFixed(1)} MB` : `${(p.bytesRead / 1e6).toFixed(1)} MB`;
    progress.update(p.rows, undefined, detail);
  };
}

function formatError(error: InvalidRecordError): string {
  return error.message;
}

function printJson(value: unknown): void {
  process.stdout.write(`${stringifyRecord(value, 2)}\n`);
}

function round(summary: LengthStats['prompt']): LengthStats['prompt'] {
  const r = (x: number) => (Number.isFinite(x) ? Math.round(x * 100) / 100 : x);
  return { count: summary.count, min: r(summary.min), max: r(summary.max), mean: r(summary.mean), p50: r(summary.p50), p90: r(summary.p90), p99: r(summary.p99) };
}

/** Registers `pref validate|stats|convert|head`. */
export function registerIoCommands(program: Command): void {
  addReadOptions(
    program
      .command('validate')
      .description('Check that every row of a dataset is a valid preference pair; errors are listed by line, exit code 1 when any')
      .argument('<in>', 'input file or folder (- = stdin)')
      .option('--max-errors <n>', 'errors to print (all are counted)', '50'),
  ).action(async (input: string, flags: ReadFlags & { maxErrors: string }) => {
    const maxErrors = integerFlag(flags.maxErrors, '--max-errors', 0);
    const progress = createProgress(`validate ${input}`, { unit: 'rows', quiet: flags.quiet || flags.json });
    const errors: InvalidRecordError[] = [];
    let printed = 0;
    const stream = readPairs(input, {
      ...readOptions(flags),
      onInvalid: (error) => {
        if (errors.length < Math.max(maxErrors, 1000)) errors.push(error);
        if (!flags.json && printed < maxErrors) {
          printed += 1;
          process.stderr.write(`${formatError(error)}\n`);
        }
      },
      onProgress: progressHandler(progress),
    });
    for await (const _ of stream) {
      // validation only
    }
    const { stats } = stream;
    progress.finish(`${stats.yielded} valid, ${stats.rejected} invalid`);
    const summary = {
      file: input,
      schema: stats.schema ?? null,
      rows: stats.read,
      valid: stats.yielded,
      invalid: stats.rejected,
      duplicateIds: stats.duplicateIds,
      repeatedIds: stats.repeatedIds,
      repeatedIdExamples: stats.repeatedIdExamples,
    };
    const warnings: string[] = [];
    if (stats.repeatedIds > 0 && !flags.uniqueIds) {
      warnings.push(`${stats.repeatedIds} id${stats.repeatedIds === 1 ? ' is' : 's are'} used by more than one row (${stats.duplicateIds} rows repeat an earlier id); they are kept as distinct records (id + content); pass --unique-ids to treat them as errors`);
    }
    if (flags.json) printJson({ ...summary, warnings, errors: errors.slice(0, maxErrors).map((e) => ({ file: e.file, line: e.line, field: e.field ?? null, expected: e.expected, found: e.found ?? null, message: e.message })) });
    else {
      if (stats.rejected > printed) process.stderr.write(`… and ${stats.rejected - printed} more\n`);
      if (warnings.length > 0) process.stderr.write(`warning: ${input}: ${warnings[0]}\n${describeRepeatedIds(stats)}\n`);
      process.stdout.write(`${input}: ${stats.read} rows, ${stats.yielded} valid, ${stats.rejected} invalid${stats.repeatedIds > 0 ? `, ${stats.repeatedIds} repeated ids (${stats.duplicateIds} rows)` : ''} (schema ${stats.schema ?? 'not detected'})\n`);
    }
    if (stats.rejected > 0 || stats.read === 0) {
      throw new PrefError({ code: 'INVALID_RECORD', message: stats.read === 0 ? `${input}: no rows` : `${input}: ${stats.rejected} invalid row${stats.rejected === 1 ? '' : 's'}` });
    }
  });

  addReadOptions(
    program
      .command('stats')
      .description('Rows, detected schema, fields and length quantiles of a dataset')
      .argument('<in>', 'input file or folder (- = stdin)')
      .addOption(new Option('--unit <unit>', 'length unit').choices(['chars', 'codepoints', 'words']).default('chars')),
  ).action(async (input: string, flags: ReadFlags & { unit: 'chars' | 'codepoints' | 'words' }) => {
    const progress = createProgress(`stats ${input}`, { unit: 'rows', quiet: flags.quiet || flags.json });
    const fields = new Map<string, number>();
    const stream = readPairs(input, {
      ...readOptions(flags),
      onInvalid: 'skip',
      onRecord: (record) => {
        for (const key of Object.keys(record)) fields.set(key, (fields.get(key) ?? 0) + 1);
      },
      onProgress: progressHandler(progress),
    });
    let lengths: LengthStats | undefined;
    let note: string | undefined;
    try {
      lengths = await lengthStats(stream, { unit: flags.unit });
    } catch (error) {
      // {text, label} rows are not pairs: report rows and fields only.
      if (!(PrefError.isInstance(error) && error.code === 'SCHEMA_DETECTION')) throw error;
      note = error.message;
      fields.clear();
      let rows = 0;
      for await (const { record } of readRecords(input, { format: flags.format as DataFormat | undefined, split: flags.split, onInvalid: 'skip' })) {
        rows += 1;
        for (const key of Object.keys(record)) fields.set(key, (fields.get(key) ?? 0) + 1);
      }
      progress.finish();
      const summary = { file: input, schema: 'text-label', rows, pairs: 0, invalid: 0, fields: Object.fromEntries(fields), note };
      if (flags.json) printJson(summary);
      else process.stdout.write(`${input}: ${rows} rows of {text, label} (not pairs)\nfields: ${[...fields.keys()].join(', ')}\n`);
      return;
    }
    const { stats } = stream;
    progress.finish();
    const summary = {
      file: input,
      schema: stats.schema ?? null,
      rows: stats.read,
      pairs: stats.yielded,
      invalid: stats.rejected,
      duplicateIds: stats.duplicateIds,
      repeatedIds: stats.repeatedIds,
      fields: Object.fromEntries(fields),
      lengthUnit: flags.unit,
      lengths: { prompt: round(lengths.prompt), chosen: round(lengths.chosen), rejected: round(lengths.rejected) },
      identicalResponses: lengths.identicalResponses,
    };
    if (flags.json) {
      printJson(summary);
      return;
    }
    const lines = [
      `${input}`,
      `  rows ${stats.read}, pairs ${stats.yielded}, invalid ${stats.rejected}${stats.repeatedIds ? `, ${stats.repeatedIds} repeated ids (${stats.duplicateIds} rows)` : ''}, schema ${stats.schema ?? 'not detected'}`,
      `  fields: ${[...fields].map(([k, n]) => (n === stats.read ? k : `${k} (${n})`)).join(', ')}`,
      `  length (${flags.unit})      min      p50      p90      p99      max     mean`,
      ...(['prompt', 'chosen', 'rejected'] as const).map((key) => {
        const s = summary.lengths[key];
        const cell = (x: number) => String(Number.isFinite(x) ? Math.round(x) : '-').padStart(9);
        return `  ${key.padEnd(17)}${cell(s.min)}${cell(s.p50)}${cell(s.p90)}${cell(s.p99)}${cell(s.max)}${cell(s.mean)}`;
      }),
    ];
    if (lengths.identicalResponses) lines.push(`  ${lengths.identicalResponses} pairs have identical chosen and rejected`);
    process.stdout.write(`${lines.join('\n')}\n`);
  });

  addReadOptions(
    program
      .command('convert')
      .description('Convert a dataset between formats and schemas (JSONL, JSONL.gz, JSON, Parquet, HF folder; CSV read-only)')
      .argument('<in>', 'input file or folder (- = stdin)')
      .argument('<out>', 'output path; format from its extension (.jsonl, .jsonl.gz, .json, .parquet, .txt prompt list, no extension = HF folder; - = stdout JSONL)')
      .addOption(new Option('--on-invalid <mode>', 'what to do with invalid rows').choices(['error', 'skip']).default('error'))
      .option('--rejects <file>', 'write rejected rows with their errors to this JSONL file')
      .addOption(new Option('--to <layout>', 'output layout').choices(['pairs', 'records', 'trl', 'trl-conversational', 'openrlhf', 'openrlhf-messages', 'sharegpt', 'd2po']).default('pairs'))
      .addOption(new Option('--out-format <format>', 'output format (default: from the output path)').choices(DATA_FORMATS.filter((f) => f !== 'csv')))
      .option('--no-conversation', 'pairs layout: drop the conversation message lists'),
  ).action(async (input: string, output: string, flags: ReadFlags & { onInvalid: 'error' | 'skip'; rejects?: string; to: string; outFormat?: DataFormat; conversation: boolean }) => {
    const progress = createProgress(`convert ${input}`, { unit: 'rows', quiet: flags.quiet || flags.json || output === '-' });
    const onProgress = progressHandler(progress);
    let rows: AsyncIterable<DataRecord>;
    let stats: { read: number; yielded: number; rejected: number; duplicateIds?: number; schema?: string } | undefined;
    let recordRejects = 0;
    if (flags.to === 'records') {
      let read = 0;
      rows = (async function* () {
        for await (const { record } of readRecords(input, {
          format: flags.format as DataFormat | undefined,
          split: flags.split,
          onProgress,
          onInvalid: flags.onInvalid === 'skip' ? () => (recordRejects += 1) : 'error',
        })) {
          read += 1;
          yield record;
        }
        stats = { read: read + recordRejects, yielded: read, rejected: recordRejects };
      })();
    } else {
      const stream = readPairs(input, { ...readOptions(flags), onInvalid: flags.onInvalid, rejects: flags.rejects, onProgress });
      stats = stream.stats;
      const map: (pair: PreferencePair) => DataRecord =
        flags.to === 'trl' ? (p) => toTrlRecord(p, { keep: ['id'] })
        : flags.to === 'trl-conversational' ? (p) => toTrlRecord(p, { style: 'conversational', keep: ['id'] })
        : flags.to === 'openrlhf' ? (p) => toOpenRlhfRecord(p)
        : flags.to === 'openrlhf-messages' ? (p) => toOpenRlhfRecord(p, { messages: true })
        : flags.to === 'sharegpt' ? (p) => toShareGptRecord(p, { keep: ['id'] })
        : flags.to === 'd2po' ? (p) => toD2poRecord(p, { keep: ['id'] })
        : (p) => pairToRecord(p, { includeConversation: flags.conversation });
      rows = (async function* () {
        for await (const pair of stream) yield map(pair);
      })();
    }
    const { written } = await writeRecords(output, rows, { format: flags.outFormat });
    const final = stats ?? { read: written, yielded: written, rejected: 0 };
    progress.finish(`${written} written, ${final.rejected} rejected`);
    const summary = { input, output, layout: flags.to, schema: final.schema ?? null, read: final.read, written, rejected: final.rejected, rejects: flags.rejects ?? null };
    if (flags.json) printJson(summary);
    else if (output !== '-') process.stderr.write(`${input} → ${output}: ${final.read} read, ${written} written, ${final.rejected} rejected${flags.rejects ? ` (see ${flags.rejects})` : ''}\n`);
  });

  addReadOptions(
    program
      .command('head')
      .description('Print the first pairs of a dataset as JSONL (or a JSON array with --json)')
      .argument('<in>', 'input file or folder (- = stdin)')
      .option('-n, --lines <n>', 'number of pairs', '5')
      .option('--raw', 'print raw rows instead of pairs'),
  ).action(async (input: string, flags: ReadFlags & { lines: string; raw?: boolean }) => {
    const n = integerFlag(flags.lines, '--lines', 0);
    const source: AsyncIterable<DataRecord> = flags.raw
      ? (async function* () {
          for await (const { record } of readRecords(input, { format: flags.format as DataFormat | undefined, split: flags.split })) yield record;
        })()
      : (async function* () {
          for await (const pair of readPairs(input, readOptions(flags))) yield pairToRecord(pair);
        })();
    const out: DataRecord[] = [];
    for await (const row of head(source, n)) {
      if (flags.json) out.push(row);
      else process.stdout.write(`${stringifyRecord(row)}\n`);
    }
    if (flags.json) printJson(out);
  });
}
