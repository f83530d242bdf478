/** How a pair that is too long is shortened (Hugging Face `tokenizers` strategies). */
export type TruncationStrategy = 'longest_first' | 'only_second';

/**
 * Lengths to keep of two sequences so that `lengthA + lengthB <= budget`, with the algorithm of the
 * Rust `tokenizers` crate (`truncate_encodings`, used by every fast tokenizer and therefore by
 * `transformers` by default): `longest_first` shortens the longer sequence down to the other's
 * length, then splits the budget in half, the longer sequence getting the odd token. Which one counts
 * as longer is decided on the lengths the Rust library has when truncation starts: since 0.23 it
 * stops tokenizing a sequence at the end of the first pre-token that reaches the full max length
 * (`cappedLength`); pass those as `capped` (checked against the Rust binding, tokenizers 0.23.2).
 * `only_second` shortens the second sequence only and throws when that is not enough.
 */
export function truncatedPairLengths(
  lengthA: number,
  lengthB: number,
  budget: number,
  strategy: TruncationStrategy,
  capped: readonly [number, number] = [lengthA, lengthB],
): [number, number] {
  if (lengthA + lengthB <= budget) return [lengthA, lengthB];
  if (strategy === 'only_second') {
    const keep = budget - lengthA;
    if (keep < 0) {
      throw new RangeError(
        `only_second truncation: the first sequence alone has ${lengthA} tokens, more than the ${budget} available`,
      );
    }
    return [lengthA, keep];
  }
  let n1 = capped[0];
  let n2 = capped[1];
  const swap = n1 > n2;
  if (swap) [n1, n2] = [n2, n1];
  n2 = n1 > budget ? n1 : Math.max(n1, budget - n1);
  if (n1 + n2 > budget) {
    n1 = Math.floor(budget / 2);
    n2 = n1 + (budget % 2);
  }
  if (swap) [n1, n2] = [n2, n1];
  return [Math.min(n1, lengthA), Math.min(n2, lengthB)];
}
