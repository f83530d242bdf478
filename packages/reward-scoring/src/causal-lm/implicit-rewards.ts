import { InvalidArgumentError } from '@pref/core';
import { InvalidRecordError, type PreferencePair } from '@pref/io';
import { CausalLMError } from './errors';
import type { SequenceInput, SequenceLogProb, SequenceLogProbsOptions } from './load-causal-lm';

/**
 * What {@link addLogProbs} and {@link implicitRewards} need of a model: the in-process `CausalLM`
 * (`loadCausalLM`) or one on inference servers (`loadRemoteCausalLM`).
 */
export interface SequenceLogProbModel {
  /** Longest sequence the model accepts, when known (named in over-length errors). */
  readonly maxLength: number | undefined;
  sequenceLogProbs(inputs: readonly SequenceInput[], options?: SequenceLogProbsOptions): Promise<SequenceLogProb[]>;
}

/** Record columns holding precomputed summed log-probs (the names TRL's DPO trainer logs). */
export const LOGPS_FIELDS = {
  policyChosen: 'policy_chosen_logps',
  policyRejected: 'policy_rejected_logps',
  referenceChosen: 'reference_chosen_logps',
  referenceRejected: 'reference_rejected_logps',
} as const;

/** Columns {@link implicitRewards} adds to each pair. */
export interface ImplicitRewardFields {
  policy_chosen_logps: number;
  policy_rejected_logps: number;
  reference_chosen_logps: number;
  reference_rejected_logps: number;
  /** β·(log π(chosen|x) − log π_ref(chosen|x)). */
  reward_chosen: number;
  /** β·(log π(rejected|x) − log π_ref(rejected|x)). */
  reward_rejected: number;
  /** reward_chosen − reward_rejected; negative when the policy ranks the pair the wrong way round. */
  reward_gap: number;
  /**
   * Present (false) only when a log-prob was computed here and tokenize(prompt) was not a prefix of
   * tokenize(prompt + response) for one of the sides: the prompt/response split is approximate.
   */
  logps_prompt_is_prefix?: false;
}

export interface ImplicitRewardsOptions {
  /** The policy model; needed unless every pair carries policy_chosen_logps and policy_rejected_logps. */
  policy?: SequenceLogProbModel;
  /** The reference model; needed unless every pair carries reference_chosen_logps and reference_rejected_logps. */
  reference?: SequenceLogProbModel;
  /** DPO temperature β. Default: 0.1. */
  beta?: number;
  /** Score `pair.conversation.prompt` through the chat template when the pair has a conversation. Default: false. */
  chatTemplate?: boolean;
  /** Sequences per forward pass. Default: 8. */
  batchSize?: number;
  signal?: AbortSignal;
  /** Called after each model batch. */
  onProgress?: (progress: { model: 'policy' | 'reference'; done: number; total: number }) => void;
  /** Where pair `index` came from, for error messages. Default: `<memory>`, line index + 1. */
  locate?: (index: number) => { file: string; line: number };
  /** Cut over-length sequences to the model's positions instead of failing (see SequenceLogProbsOptions.truncate); such records get `logps_truncated: true`. Default: false. */
  truncate?: boolean;
}

type Side = 'chosen' | 'rejected';

/**
 * DPO implicit rewards of preference pairs (Rafailov et al. 2023, eq. 5 without the partition term):
 * r(x, y) = β·(log π(y|x) − log π_ref(y|x)), with summed response log-probs, and the gap
 * r(x, y_chosen) − r(x, y_rejected). Log-probs already in a record (policy_chosen_logps, …) are used
 * as they are, so numbers from a trainer can be brought in; the others are computed with the models.
 * Returns new records (inputs are not changed), in input order.
 *
 * @example
 * const scored = await implicitRewards(pairs, { policy, reference, beta: 0.1 });
 * scored[0].reward_gap;
 */
export async function implicitRewards<T extends PreferencePair>(pairs: readonly T[], options: ImplicitRewardsOptions = {}): Promise<Array<T & ImplicitRewardFields>> {
  const { beta = 0.1 } = options;
  if (!Number.isFinite(beta) || beta <= 0) throw new InvalidArgumentError({ argument: 'beta', message: `must be a positive number, got ${beta}` });
  const withLogProbs = await addLogProbs(pairs, { ...options, require: true });
  return withLogProbs.map((pair) => {
    const rewardChosen = beta * (pair.policy_chosen_logps! - pair.reference_chosen_logps!);
    const rewardRejected = beta * (pair.policy_rejected_logps! - pair.reference_rejected_logps!);
    return { ...pair, reward_chosen: rewardChosen, reward_rejected: rewardRejected, reward_gap: rewardChosen - rewardRejected } as T & ImplicitRewardFields;
  });
}

/** Log-prob columns {@link addLogProbs} fills in; a column stays absent when neither the record nor a model gives it. */
export type LogProbFields = Partial<Pick<ImplicitRewardFields, 'policy_chosen_logps' | 'policy_rejected_logps' | 'reference_chosen_logps' | 'reference_rejected_logps' | 'logps_prompt_is_prefix'>> & {
  /** Present (true) when a sequence of the record was cut to a model's positions (`truncate: true`). */
  logps_truncated?: boolean;
};

/**
 * Fills in summed response log-probs (`policy_chosen_logps`, … ) with whichever models are given,
 * keeping numbers already in the records. With `require: true`, a column that is missing and has no
 * model to compute it is an InvalidRecordError; otherwise it is left out.
 */
export async function addLogProbs<T extends PreferencePair>(
  pairs: readonly T[],
  { policy, reference, chatTemplate = false, batchSize = 8, signal, onProgress, locate = (i) => ({ file: '<memory>', line: i + 1 }), require = false, truncate = false }: Omit<ImplicitRewardsOptions, 'beta'> & { require?: boolean } = {},
): Promise<Array<T & LogProbFields>> {
  const out = pairs.map((pair): T & LogProbFields => ({ ...pair }));
  for (const [role, model] of [['policy', policy], ['reference', reference]] as const) {
    const todo: Array<{ index: number; side: Side; input: SequenceInput }> = [];
    pairs.forEach((pair, index) => {
      for (const side of ['chosen', 'rejected'] as const) {
        const field = `${role}_${side}_logps` as const;
        const given = pair[field];
        if (typeof given === 'number' && Number.isFinite(given)) continue;
        const { file, line } = locate(index);
        if (given !== undefined) {
          throw new InvalidRecordError({ file, line, field, expected: 'a finite number (summed log-probability) or no value', found: given === null ? 'null' : typeof given === 'number' ? String(given) : `a ${typeof given}` });
        }
        if (model === undefined) {
          if (require) throw new InvalidRecordError({ file, line, field, expected: `a number, or a ${role} model to compute it`, found: 'nothing (missing)' });
          continue;
        }
        const text = pair[side];
        if (typeof text !== 'string') throw new InvalidRecordError({ file, line, field: side, expected: 'a string', found: typeof text });
        const useChat = chatTemplate && pair.conversation !== undefined && pair.conversation.prompt.length > 0;
        todo.push({ index, side, input: useChat ? { messages: pair.conversation!.prompt, response: text } : { prompt: pair.prompt, response: text } });
      }
    });
    if (todo.length === 0 || model === undefined) continue;
    let scored;
    try {
      scored = await model.sequenceLogProbs(
        todo.map((t) => t.input),
        { batchSize, signal, truncate, onProgress: (p) => onProgress?.({ model: role, done: p.done, total: p.total }) },
      );
    } catch (error) {
      const culprit = CausalLMError.isInstance(error) && error.sequenceIndex !== undefined ? todo[error.sequenceIndex] : undefined;
      if (culprit === undefined) throw error;
      const { file, line } = locate(culprit.index);
      throw new InvalidRecordError({ file, line, field: culprit.side, expected: `prompt + ${culprit.side} within the ${role} model's ${model.maxLength} positions`, found: (error as Error).message.replace(/^.*?: sequence \d+ has /, '').replace(/ \(prompt.*$/, ''), cause: error });
    }
    todo.forEach((t, k) => {
      const result = scored[k]!;
      out[t.index]![`${role}_${t.side}_logps`] = result.logProb;
      if (!result.promptIsPrefix) out[t.index]!.logps_prompt_is_prefix = false;
      if (result.truncated) out[t.index]!.logps_truncated = true;
    });
  }
  return out;
}
