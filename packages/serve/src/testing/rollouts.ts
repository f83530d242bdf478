// Rollout batches the way D2PO's PPO loop posts them: per prompt two sampled responses, consecutive,
// in `Question: …\n\nAnswer: …` form. Responses come from @pref/synthetic pairs; which of the two comes
// first is decided by a seeded draw, so the gold winner is not always the first text.
import { createKeyedUniform } from '@pref/core';
import { goldInputText } from '@pref/reward-scoring';
import { generateSyntheticPairs } from '@pref/synthetic';

export function syntheticRollouts({ calls, pairsPerCall, seed, startIndex = 0 }: { calls: number; pairsPerCall: number; seed: number; startIndex?: number }): string[][] {
  const pairs = generateSyntheticPairs({ n: calls * pairsPerCall, seed, startIndex });
  const order = createKeyedUniform({ seed, domain: 'rollout-order' });
  const batches: string[][] = [];
  for (let c = 0; c < calls; c++) {
    const texts: string[] = [];
    for (const pair of pairs.slice(c * pairsPerCall, (c + 1) * pairsPerCall)) {
      const a = goldInputText(pair.prompt, pair.chosen);
      const b = goldInputText(pair.prompt, pair.rejected);
      texts.push(...(order(pair.id) < 0.5 ? [a, b] : [b, a]));
    }
    batches.push(texts);
  }
  return batches;
}
