import { InvalidArgumentError, PrefError } from '@pref/core';
import type { PreferencePair } from '@pref/io';
import { loadCuratedPairs } from './data-files';
import { generateSyntheticPairs } from './generate-pairs';

/** One named part of a combined dataset. */
export interface DatasetPart {
  /** Provenance name written on every pair of this part, e.g. `synthetic` or `curated`. */
  name: string;
  pairs: readonly PreferencePair[];
}

/** A pair of a combined dataset with its provenance. */
export type ProvenancedPair = PreferencePair & { id: string; provenance: string };

/**
 * Concatenates named parts, writing `provenance` on every pair and keeping ids unique: a pair
 * without an id gets `<name>-<index>`; two pairs with the same id raise a DUPLICATE_ID error.
 */
export function combineWithProvenance(parts: readonly DatasetPart[]): ProvenancedPair[] {
  const seen = new Map<string, string>();
  const combined: ProvenancedPair[] = [];
  for (const part of parts) {
    if (part.name.length === 0) throw new InvalidArgumentError({ argument: 'name', message: 'every part needs a non-empty name' });
    part.pairs.forEach((pair, index) => {
      const id = typeof pair.id === 'string' && pair.id.length > 0 ? pair.id : `${part.name}-${index}`;
      const previous = seen.get(id);
      if (previous !== undefined) {
        throw new PrefError({ code: 'DUPLICATE_ID', message: `id ${id} appears in part ${previous} and in part ${part.name}` });
      }
      seen.set(id, part.name);
      combined.push({ ...pair, id, provenance: part.name });
    });
  }
  return combined;
}

export interface BuildStarterDatasetOptions {
  /** Number of synthetic pairs (mix of the four contrasts). Default: 1000. */
  n?: number;
  /** Default: 0. */
  seed?: number | string;
  /** Default: 0. */
  noiseRate?: number;
}

/** Synthetic mix + curated starter sets, combined with provenance. */
export function buildStarterDataset({ n = 1000, seed = 0, noiseRate = 0 }: BuildStarterDatasetOptions = {}): ProvenancedPair[] {
  return combineWithProvenance([
    { name: 'synthetic', pairs: generateSyntheticPairs({ n, seed, noiseRate }) },
    { name: 'curated', pairs: loadCuratedPairs() },
  ]);
}
