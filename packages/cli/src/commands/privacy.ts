import type { Command } from 'commander';
import { InvalidArgumentError } from '@pref/io';
import { MECHANISMS, prepareFile, privatizeFile, type Mechanism, type TrainFormat } from '@pref/privacy';
import { createProgress } from '../progress';

interface PrivatizeCliOptions {
  output: string;
  mechanism: string;
  epsilon: string;
  seed?: string;
  rng: string;
  priorField?: string;
  keepColumns?: string;
  audit?: string;
  summary?: string;
  trainReady?: string;
  includeId?: boolean;
  sortByKey?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/** `pref privatize` (label flips) and `pref prepare` (train-ready prompt/chosen/rejected files). */
export function registerPrivacyCommands(program: Command): void {
  program
    .command('privatize')
    .description('Flip chosen/rejected labels with a privacy mechanism; write the data, an optional audit file and a summary')
    .argument('<in>', 'input file (margin-sigmoid needs margin_normalized: run `pref margins` first)')
    .requiredOption('-o, --output <file>', 'privatized output file')
    .option('--mechanism <name>', `${MECHANISMS.join('|')}`, 'margin-sigmoid')
    .option('--epsilon <number>', 'ε', '1.0')
    .option('--seed <seed>', 'seed for reproducible flips (anyone who knows it can undo them); required unless --rng crypto')
    .option('--rng <kind>', 'seeded|crypto', 'seeded')
    .option('--prior-field <field>', 'rr-with-prior: column with P(original label is right); default sigmoid(chosen_score − rejected_score)')
    .option('--keep-columns <list>', 'comma-separated extra columns to keep in the privatized data (default: only id, prompt, chosen, rejected, system, source, prompt_id, metadata, conversation, chosen_score, rejected_score, margin_raw; others may carry the original label)')
    .option('--audit <file>', 'per-record p_keep / flipped (keep it away from training data)')
    .option('--summary <file>', 'summary JSON (Truthy-DPO keys + expected_flips + guarantee)')
    .option('--train-ready <file>', 'also write prompt/chosen/rejected only')
    .option('--include-id', 'keep id in the train-ready file')
    .option('--sort-by-key', 'sort outputs by record key: identical files for any input order (holds all rows in memory)')
    .option('--json', 'print the summary JSON on stdout')
    .option('-q, --quiet', 'no progress output')
    .action(async (input: string, options: PrivatizeCliOptions) => {
      if (!MECHANISMS.includes(options.mechanism as Mechanism)) {
        throw new InvalidArgumentError({ argument: '--mechanism', message: `expected one of ${MECHANISMS.join(', ')}, got "${options.mechanism}"` });
      }
      if (options.rng !== 'seeded' && options.rng !== 'crypto') throw new InvalidArgumentError({ argument: '--rng', message: `expected seeded or crypto, got "${options.rng}"` });
      const epsilon = Number(options.epsilon);
      if (!Number.isFinite(epsilon) || epsilon < 0) throw new InvalidArgumentError({ argument: '--epsilon', message: `expected a number >= 0, got "${options.epsilon}"` });
      if (options.rng === 'seeded' && options.seed === undefined) {
        throw new InvalidArgumentError({ argument: '--seed', message: 'required (or use --rng crypto for non-reproducible flips)' });
      }
      const progress = createProgress('privatize', { unit: 'rows', quiet: options.quiet });
      const { written, summary } = await privatizeFile(input, options.output, {
        mechanism: options.mechanism as Mechanism,
        epsilon,
        seed: options.seed,
        rng: options.rng,
        priorField: options.priorField,
        keepColumns: options.keepColumns?.split(',').map((column) => column.trim()).filter((column) => column !== ''),
        audit: options.audit,
        summary: options.summary,
        trainReady: options.trainReady,
        includeId: options.includeId,
        sortByKey: options.sortByKey,
        onProgress: ({ rows }) => progress.update(rows),
      });
      progress.finish(`→ ${options.output}`);
      if (options.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      else if (!options.quiet) {
        const [low, high] = summary.expected_flips.interval_99;
        process.stderr.write(
          `${written} rows, ${Math.round(summary.flip_rate * written)} flipped (${(summary.flip_rate * 100).toFixed(2)}%; expected ${summary.expected_flips.value.toFixed(1)}, 99% interval ${low.toFixed(1)}–${high.toFixed(1)})\n` +
            `guarantee: ${summary.guarantee.statement}\n`,
        );
      }
    });

  program
    .command('prepare')
    .description('Write a train-ready file with only prompt/chosen/rejected (+id); malformed rows go to a rejects file')
    .argument('<in>', 'input file (e.g. the output of `pref privatize`)')
    .requiredOption('-o, --output <file>', 'train-ready output file')
    .option('--format <name>', 'trl|openrlhf (both: prompt, chosen, rejected)', 'trl')
    .option('--include-id', 'keep id')
    .option('--rejects <file>', 'rejects file (default: <output>.rejects.jsonl)')
    .option('-q, --quiet', 'no progress output')
    .action(async (input: string, options: { output: string; format: string; includeId?: boolean; rejects?: string; quiet?: boolean }) => {
      if (options.format !== 'trl' && options.format !== 'openrlhf') {
        throw new InvalidArgumentError({ argument: '--format', message: `expected trl or openrlhf, got "${options.format}"` });
      }
      const progress = createProgress('prepare', { unit: 'rows', quiet: options.quiet });
      const result = await prepareFile(input, options.output, {
        format: options.format as TrainFormat,
        includeId: options.includeId,
        rejects: options.rejects,
        onProgress: ({ rows }) => progress.update(rows),
      });
      progress.finish(`→ ${options.output}`);
      if (result.rejected > 0) {
        process.stderr.write(`${result.written} rows written, ${result.rejected} rejected → ${result.rejectsPath}\n`);
      } else if (!options.quiet) process.stderr.write(`${result.written} rows written, 0 rejected\n`);
    });
}
