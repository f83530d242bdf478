import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { atomicWriteFile } from '@pref/io';
import { optimizeModel, type InputFormat, type OptimizeModelResult, type RewardModelComparison } from '@pref/reward-scoring';
import { integerFlag } from '../flags';
import { createProgress } from '../progress';
import { evaluateDerivedModel } from './derived-model-eval';

interface OptimizeFlags {
  model: string;
  output: string;
  overwrite?: boolean;
  verify: boolean;
  fuseAttention: boolean;
  eval?: string;
  evalLimit: string;
  modelInput: InputFormat;
  schema?: string;
  threads?: string;
  quiet?: boolean;
  json?: boolean;
}

function readme(model: string, result: OptimizeModelResult, comparison: RewardModelComparison | undefined, evalFile: string | undefined): string {
  const fusions = Object.entries(result.fused).filter(([, n]) => n > 0).map(([op, n]) => `${n} × ${op}`).join(', ') || 'none';
  const lines = [
    '# Fused graph',
    '',
    `Made by \`pref optimize\` from \`${model}\`: onnxruntime's graph optimizer at level \`extended\` (its fusions, saved), then pref's fusions for the patterns it misses (${fusions}). ${result.nodesBefore} → ${result.nodesAfter} nodes.`,
    result.maxAbsScoreChange === undefined
      ? 'Not verified (`--no-verify`).'
      : `Verified on probe texts: largest score change ${result.maxAbsScoreChange.toPrecision(3)}.`,
    'Load it like any model folder (`pref score --model THIS_FOLDER`). `optimization.json` lists the operators of the new graph.',
    '',
  ];
  if (comparison !== undefined) {
    lines.push(
      `## Against the source graph on ${comparison.pairs} pairs of \`${evalFile}\` (one run, alternating rounds)`,
      '',
      '| figure | value |',
      '| --- | --- |',
      `| throughput, fused ÷ source | ${comparison.speedup.toFixed(2)}× (${comparison.candidatePairsPerSecond.toFixed(1)} vs ${comparison.referencePairsPerSecond.toFixed(1)} pairs/s) |`,
      `| max \\|score change\\| | ${comparison.maxAbsScoreChange.toPrecision(3)} |`,
      `| pairs whose chosen-vs-rejected order is unchanged | ${(100 * comparison.rankingAgreement).toFixed(2)}% |`,
      '',
    );
  }
  return lines.join('\n');
}

/** `pref optimize`: graph fusion of an ONNX model folder. */
export function registerOptimizeCommands(program: Command): void {
  program
    .command('optimize')
    .description("Fuse an ONNX model folder's graph (self-attention, GELU, residual + LayerNorm) into a new folder that loads like any model")
    .requiredOption('--model <dir>', 'model folder (model.onnx, tokenizer.json, config.json)')
    .requiredOption('-o, --output <dir>', 'new folder for the fused model (refused if it holds anything pref did not write)')
    .option('--overwrite', 'replace a folder that an earlier `pref optimize` or `pref quantize` wrote')
    .option('--no-verify', 'skip the check that scores on probe texts stay within 1e-4 (needed for graphs that are not reward models)')
    .option('--no-fuse-attention', 'keep self-attention as separate nodes (by default a BERT-style attention subgraph that matches exactly becomes com.microsoft MultiHeadAttention)')
    .option('--eval <pairs>', 'pairs to measure the throughput ratio and score change on (written to the folder README)')
    .option('--eval-limit <N>', 'use at most this many pairs of --eval', '512')
    .addOption(new Option('--model-input <format>', 'how prompt and response are fed to the model in the evaluation').choices(['pair', 'joined', 'chat']).default('pair'))
    .option('--schema <name>', 'schema of --eval (default: auto)')
    .option('--threads <N>', 'onnxruntime intra-op threads in the evaluation')
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (flags: OptimizeFlags) => {
      const evalLimit = integerFlag(flags.evalLimit, '--eval-limit', 1);
      const threads = integerFlag(flags.threads, '--threads', 1);
      const progress = createProgress('optimize', { unit: 'steps', quiet: flags.quiet });
      const result = await optimizeModel(flags.model, flags.output, { overwrite: Boolean(flags.overwrite), verify: flags.verify, fuseAttention: flags.fuseAttention });
      const comparison = await evaluateDerivedModel(flags.model, result.outDir, flags, { evalLimit, threads, progress });
      await atomicWriteFile(join(result.outDir, 'README.md'), readme(flags.model, result, comparison, flags.eval));
      const figures = comparison === undefined ? '' : `; ${comparison.speedup.toFixed(2)}× the source's speed, max |Δscore| ${comparison.maxAbsScoreChange.toPrecision(3)}`;
      progress.finish(`${result.nodesBefore} → ${result.nodesAfter} nodes${figures} → ${result.outDir}`);
      if (flags.json) process.stdout.write(`${JSON.stringify({ ...result, comparison }, null, 2)}\n`);
    });
}
