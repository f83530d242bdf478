import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { atomicWriteFile } from '@pref/io';
import { quantizeModel, type InputFormat, type RewardModelComparison } from '@pref/reward-scoring';
import { integerFlag, deprecatedOption } from '../flags';
import { createProgress } from '../progress';
import { evaluateDerivedModel } from './derived-model-eval';

interface QuantizeFlags {
  model: string;
  output: string;
  granularity: 'per-channel' | 'per-tensor';
  activations: 'per-token' | 'per-tensor';
  minElements: string;
  overwrite?: boolean;
  eval?: string;
  evalLimit: string;
  modelInput: InputFormat;
  schema?: string;
  threads?: string;
  quiet?: boolean;
  json?: boolean;
}


function readme(model: string, granularity: string, activations: string, nodes: number, comparison: RewardModelComparison | undefined, evalFile: string | undefined): string {
  const lines = [
    '# int8 dynamic quantization',
    '',
    `Made by \`pref quantize\` from \`${model}\`: ${nodes} MatMul/Gemm weight matrices stored as int8 (symmetric, ${granularity} scales).`,
    activations === 'per-token'
      ? 'Activations are quantized per call to int8 with one scale per token, so a score does not depend on the rest of its batch.'
      : 'Activations are quantized per call with DynamicQuantizeLinear (one uint8 scale per batch tensor, as onnxruntime\'s `quantize_dynamic`): scores move slightly with the other sequences in a batch.',
    'Load it like any model folder (`pref score --model THIS_FOLDER`). `quantization.json` lists what was quantized and what was left in float32.',
    '',
  ];
  if (comparison === undefined) {
    lines.push('No evaluation was run (`pref quantize --eval pairs.jsonl` measures speed and score changes).', '');
  } else {
    lines.push(
      `## Against the float32 model on ${comparison.pairs} pairs of \`${evalFile}\` (one run, alternating rounds)`,
      '',
      '| figure | value |',
      '| --- | --- |',
      `| throughput, int8 ÷ float32 | ${comparison.speedup.toFixed(2)}× (${comparison.candidatePairsPerSecond.toFixed(1)} vs ${comparison.referencePairsPerSecond.toFixed(1)} pairs/s) |`,
      `| max \\|score change\\| | ${comparison.maxAbsScoreChange.toPrecision(3)} |`,
      `| mean \\|score change\\| | ${comparison.meanAbsScoreChange.toPrecision(3)} |`,
      `| Pearson (all scores) | ${comparison.pearson.toFixed(4)} |`,
      `| pairs whose chosen-vs-rejected order is unchanged | ${(100 * comparison.rankingAgreement).toFixed(2)}% |`,
      '',
      'Speed depends on the CPU: int8 pays off where it has VNNI/AMX (recent x86) and on models whose time is in matrix products.',
      '',
    );
  }
  return `${lines.join('\n')}`;
}

/** `pref quantize`: int8 dynamic quantization of an ONNX reward model or causal LM. */
export function registerQuantizeCommands(program: Command): void {
  program
    .command('quantize')
    .description('int8 dynamic quantization of an ONNX model folder (MatMul/Gemm weights), optionally measured against the float32 model')
    .requiredOption('--model <dir>', 'model folder (model.onnx, tokenizer.json, config.json)')
    .requiredOption('-o, --output <dir>', 'new folder for the quantized model (refused if it holds anything pref did not write)')
    .addOption(new Option('--granularity <g>', 'weight scales per output channel or per matrix').choices(['per-channel', 'per-tensor']).default('per-channel'))
    .addOption(new Option('--activations <a>', 'activation scales: per token (scores independent of the batch) or per batch tensor (DynamicQuantizeLinear, as onnxruntime quantize_dynamic; scores move with the batch)').choices(['per-token', 'per-tensor']).default('per-token'))
    .option('--min-elements <N>', 'leave smaller weight matrices in float32', '1024')
    .option('--overwrite', 'replace a folder that an earlier `pref quantize` wrote')
    .option('--eval <pairs>', 'pairs to measure throughput ratio, score change and ranking agreement on (written to the folder README)')
    .option('--eval-limit <N>', 'use at most this many pairs of --eval', '512')
    .addOption(new Option('--model-input <format>', 'how prompt and response are fed in the evaluation to the model').choices(['pair', 'joined', 'chat']).default('pair'))
    .addOption(deprecatedOption('--input-format <format>', '--model-input').choices(['pair', 'joined', 'chat']))
    .option('--schema <name>', 'schema of --eval (default: auto)')
    .option('--threads <N>', 'onnxruntime intra-op threads in the evaluation')
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (flags: QuantizeFlags) => {
      const minElements = integerFlag(flags.minElements, '--min-elements', 1);
      const evalLimit = integerFlag(flags.evalLimit, '--eval-limit', 1);
      const threads = integerFlag(flags.threads, '--threads', 1);
      const progress = createProgress('quantize', { unit: 'steps', quiet: flags.quiet });
      const result = await quantizeModel(flags.model, flags.output, { granularity: flags.granularity, activations: flags.activations, minElements, overwrite: Boolean(flags.overwrite) });
      const comparison = await evaluateDerivedModel(flags.model, result.outDir, flags, { evalLimit, threads, progress });
      await atomicWriteFile(join(result.outDir, 'README.md'), readme(flags.model, flags.granularity, flags.activations, result.quantizedNodes, comparison, flags.eval));
      const figures = comparison === undefined
        ? ''
        : `; ${comparison.speedup.toFixed(2)}× float32 speed, max |Δscore| ${comparison.maxAbsScoreChange.toPrecision(3)}, ranking kept on ${(100 * comparison.rankingAgreement).toFixed(1)}% of pairs`;
      progress.finish(`${result.quantizedNodes} weight matrices → int8 (${(result.weightBytesBefore / 2 ** 20).toFixed(1)} → ${(result.weightBytesAfter / 2 ** 20).toFixed(1)} MiB)${figures} → ${result.outDir}`);
      if (flags.json) process.stdout.write(`${JSON.stringify({ ...result, comparison }, null, 2)}\n`);
    });
}
