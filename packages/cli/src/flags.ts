import { InvalidArgumentError } from '@pref/core';

/**
 * An integer flag value of at least `min`; undefined when the flag was not given. Blank text, decimals
 * and anything Number() cannot read exactly as an integer are errors naming the flag and quoting the value.
 */
export function integerFlag(value: string | undefined, flag: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isInteger(parsed) || parsed < min) {
    throw new InvalidArgumentError({ argument: flag, message: `expected an integer >= ${min}, got "${value}"` });
  }
  return parsed;
}
