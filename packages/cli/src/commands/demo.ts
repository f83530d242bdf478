import { resolve } from 'node:path';
import type { Command } from 'commander';
import { defaultModelDir, defaultSamplePath } from '../pipeline/defaults';
import { interruptSignal, runPipeline } from '../pipeline/run-pipeline';
import { seedWarning } from '@pref/privacy';
import { deprecatedOption } from '../flags';

/**
 * The demo's seed: explicit, so the demo is reproducible — and weak on purpose, so the warning a weak
 * seed gets is part of the demo. A release uses `--set rng=crypto`.
 */
const DEMO_SEED = 42;

interface DemoCliOptions {
  output: string;
  force?: boolean;
  quiet?: boolean;
}

/** `pref demo`: the privatize pipeline on the embedded sample with the shipped reward model. */
export function registerDemoCommands(program: Command): void {
  program
    .command('demo')
    .description('Run the privatization pipeline (score → margins → privatize → prepare → report) on the embedded sample dataset with the shipped reward model')
    .option('-o, --output <dir>', 'output folder', 'out/demo')
    .addOption(deprecatedOption('--out <dir>', '--output'))
    .option('--force', 'rerun every step even when its inputs did not change')
    .option('-q, --quiet', 'no progress output')
    .action(async (options: DemoCliOptions) => {
      const out = resolve(options.output);
      const started = performance.now();
      const input = defaultSamplePath();
      const model = defaultModelDir();
      const interrupt = interruptSignal();
      let result;
      try {
        result = await runPipeline('privatize', { input, model, seed: DEMO_SEED, epsilon: 1 }, { out, force: options.force, quiet: options.quiet, signal: interrupt.signal });
      } finally {
        interrupt.dispose();
      }
      const seconds = (performance.now() - started) / 1000;
      const lines = [
        `pref demo: done in ${seconds.toFixed(1)}s${result.skipped.length ? ` (${result.skipped.length} unchanged steps skipped)` : ''}`,
        `  input:            ${input}`,
        `  reward model:     ${model}`,
        `  scored:           ${resolve(out, '01-scored/scored.jsonl')}`,
        `  margins:          ${resolve(out, '02-margins/margins.jsonl')}`,
        `  privatized:       ${resolve(out, '03-privatized/privatized.jsonl')}`,
        `  summary:          ${resolve(out, '03-privatized/summary.json')}`,
        `  train-ready:      ${resolve(out, '04-train/train.jsonl')}`,
        `  report:           ${resolve(out, 'report/report.md')} (also report.html, plots/*.png|svg)`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
      process.stderr.write(`warning: the demo uses the public seed ${DEMO_SEED}. ${seedWarning(DEMO_SEED) ?? ''}\n`);
    });
}
