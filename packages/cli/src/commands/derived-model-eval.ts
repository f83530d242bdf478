import { collectPairs, type SchemaName } from '@pref/io';
import { compareRewardModels, loadRewardModel, type InputFormat, type RewardModelComparison } from '@pref/reward-scoring';
import type { ProgressReporter } from '../progress';

/** The `--eval` flags `pref quantize` and `pref optimize` share. */
export interface DerivedModelEvalFlags {
  eval?: string;
  modelInput: InputFormat;
  schema?: string;
}

/**
 * With `--eval`: the first `evalLimit` pairs of that file scored by the source model and by the
 * folder derived from it (`pref quantize`, `pref optimize`), for the figures in the new folder's
 * README. Without it: undefined.
 */
export async function evaluateDerivedModel(
  sourceDir: string,
  derivedDir: string,
  flags: DerivedModelEvalFlags,
  { evalLimit, threads, progress }: { evalLimit: number; threads: number | undefined; progress: ProgressReporter },
): Promise<RewardModelComparison | undefined> {
  if (flags.eval === undefined) return undefined;
  const { pairs } = await collectPairs(flags.eval, { schema: (flags.schema ?? 'auto') as SchemaName | 'auto' });
  const sample = pairs.slice(0, evalLimit);
  progress.update(1, 2, `measuring on ${sample.length} pairs`);
  const reference = await loadRewardModel(sourceDir, { threads, tokenizerWorkers: 0 });
  const candidate = await loadRewardModel(derivedDir, { threads, tokenizerWorkers: 0 });
  try {
    return await compareRewardModels(sample, reference, candidate, { inputFormat: flags.modelInput });
  } finally {
    await Promise.all([reference.dispose(), candidate.dispose()]);
  }
}
