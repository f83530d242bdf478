import { InvalidArgumentError } from '@pref/core';
import { NonFiniteValueError } from './errors';

/** Numbers in any array-like form; hot paths are fastest with `Float64Array`. */
export type NumericArray = Float64Array | Float32Array | readonly number[];

/**
 * Throws {@link NonFiniteValueError} naming the first NaN or infinite entry.
 * @param field the field name used in the error message.
 */
export function assertFinite(values: NumericArray, field: string): void {
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (!Number.isFinite(value)) throw new NonFiniteValueError({ row: i, field, value });
  }
}

/**
 * Reward margins `margin_raw = chosen_score − rejected_score` (the Truthy-DPO seed scripts).
 * NaN or infinite scores are an error naming the row and field.
 */
export function computeMargins(chosenScores: NumericArray, rejectedScores: NumericArray): Float64Array {
  if (chosenScores.length !== rejectedScores.length) {
    throw new InvalidArgumentError({
      argument: 'rejectedScores',
      message: `length ${rejectedScores.length} differs from chosenScores length ${chosenScores.length}`,
    });
  }
  const out = new Float64Array(chosenScores.length);
  for (let i = 0; i < out.length; i++) {
    const chosen = chosenScores[i] as number;
    const rejected = rejectedScores[i] as number;
    if (!Number.isFinite(chosen)) throw new NonFiniteValueError({ row: i, field: 'chosen_score', value: chosen });
    if (!Number.isFinite(rejected)) throw new NonFiniteValueError({ row: i, field: 'rejected_score', value: rejected });
    out[i] = chosen - rejected;
  }
  return out;
}
