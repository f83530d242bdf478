import { InvalidArgumentError } from '@pref/core';
import type { Command } from 'commander';
import { collectPairs, type PreferencePair, type SchemaName } from '@pref/io';
import { exportRewardModel, trainRewardModel } from '@pref/reward-scoring';
import { loadTruthySample } from '@pref/synthetic';
import { createProgress } from '../progress';
import { integerFlag, numberFlag } from '../flags';

interface TrainFlags {
  output: string;
  l2: string;
  epochs: string;
  lr: string;
  validationFraction: string;
  seed: string;
  minCount: string;
  maxVocab: string;
  eval: string[];
  evalSample?: boolean;
  schema?: string;
  quiet?: boolean;
  json?: boolean;
}

/** `pref train-rm`: train the linear Bradley–Terry reward model and export it as an ONNX folder. */
export function registerTrainRmCommands(program: Command): void {
  program
    .command('train-rm')
    .description('Train a linear Bradley-Terry reward model and export it as an ONNX folder that `pref score --model` loads')
    .argument('<in>', 'training pairs (JSONL, JSON, CSV, Parquet, ...)')
    .requiredOption('-o, --output <dir>', 'model folder to write (model.onnx, tokenizer.json, tokenizer_config.json, config.json)')
    .option('--l2 <lambda>', 'L2 penalty', '0.001')
    .option('--epochs <N>', 'full-batch Adam steps', '300')
    .option('--lr <rate>', 'Adam step size', '0.05')
    .option('--validation-fraction <f>', 'held-out fraction for the accuracy report', '0.2')
    .option('--seed <S>', 'seed of the held-out split', '0')
    .option('--min-count <N>', 'minimum word count for the vocabulary', '2')
    .option('--max-vocab <N>', 'maximum vocabulary size', '8000')
    .option('--eval <name=file>', 'extra labelled set to report accuracy on (repeatable)', (value: string, all: string[]) => [...all, value], [] as string[])
    .option('--eval-sample', 'also report accuracy on the embedded truthy-style sample')
    .option('--schema <name>', 'input schema (default: auto)')
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print the training report as JSON on stdout')
    .action(async (input: string, flags: TrainFlags) => {
      const schema = (flags.schema ?? 'auto') as SchemaName | 'auto';
      const { pairs } = await collectPairs(input, { schema });
      const evalSets: Record<string, PreferencePair[]> = {};
      for (const entry of flags.eval) {
        const at = entry.indexOf('=');
        if (at <= 0) throw new InvalidArgumentError({ argument: '--eval', message: `expected name=file, got "${entry}"` });
        evalSets[entry.slice(0, at)] = (await collectPairs(entry.slice(at + 1), { schema })).pairs;
      }
      if (flags.evalSample) evalSets['truthy-sample'] = loadTruthySample();
      const progress = createProgress('train-rm', { unit: 'epochs', quiet: flags.quiet });
      const model = await trainRewardModel(pairs, {
        l2: numberFlag(flags.l2, '--l2', { min: 0 }),
        epochs: integerFlag(flags.epochs, '--epochs', 1),
        learningRate: numberFlag(flags.lr, '--lr', { above: 0 }),
        validationFraction: numberFlag(flags.validationFraction, '--validation-fraction', { min: 0, below: 1 }),
        seed: flags.seed,
        minCount: integerFlag(flags.minCount, '--min-count', 0),
        maxVocab: integerFlag(flags.maxVocab, '--max-vocab', 1),
        evalSets,
        onProgress: ({ epoch, epochs, loss }) => progress.update(epoch, epochs, `loss ${loss.toFixed(4)}`),
      });
      exportRewardModel(model, flags.output);
      const { report } = model;
      const extra = Object.entries(report.evalAccuracy).map(([name, acc]) => `, ${name} ${(100 * acc).toFixed(1)}%`).join('');
      progress.finish(`held-out accuracy ${(100 * report.heldOutAccuracy).toFixed(1)}% on ${report.heldOutPairs} pairs${extra} → ${flags.output}`);
      if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    });
}
