import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PairMetadata, PreferencePair } from '@pref/io';
import { InvalidRecordError } from '@pref/io';

declare const __dirname: string | undefined;

/** Directory of the data files shipped with the package (`data/` next to `dist/` and `src/`). */
export function dataDirectory(): string {
  const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
  return join(here, '..', 'data');
}

/** Path of the embedded truthy-style sample (JSONL; columns id, source, system, prompt, chosen, rejected). */
export function truthySamplePath(): string {
  return join(dataDirectory(), 'truthy-sample.jsonl');
}

/** Path of the curated starter sets (JSONL; instruction following, safety, reasoning). */
export function curatedPairsPath(): string {
  return join(dataDirectory(), 'curated.jsonl');
}

/** Path of the prompt collection (JSON array of `{id, category, prompt}`). */
export function promptCollectionPath(): string {
  return join(dataDirectory(), 'prompts.json');
}

/** A row of the embedded truthy-style sample. */
export interface TruthySamplePair extends PreferencePair {
  id: string;
  source: string;
  system: string;
}

/** A curated starter pair. */
export interface CuratedPair extends PreferencePair {
  id: string;
  metadata: PairMetadata & { category: 'instruction-following' | 'safety' | 'reasoning'; quality: 'curated'; source: 'curated' };
}

/** A prompt of the collection. */
export interface CollectionPrompt {
  id: string;
  category: string;
  prompt: string;
}

function readJsonl(file: string, required: readonly string[]): Record<string, unknown>[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const rows: Record<string, unknown>[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (cause) {
      throw new InvalidRecordError({ file, line: index + 1, expected: 'a JSON object', found: 'invalid JSON', cause });
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      throw new InvalidRecordError({ file, line: index + 1, expected: 'a JSON object' });
    }
    for (const field of required) {
      const value = (row as Record<string, unknown>)[field];
      if (typeof value !== 'string' || value.length === 0) {
        throw new InvalidRecordError({ file, line: index + 1, field, expected: 'a non-empty string', found: typeof value });
      }
    }
    rows.push(row as Record<string, unknown>);
  });
  return rows;
}

/** The embedded truthy-style sample: 260 pairs (misconceptions and AI-embodiment questions). */
export function loadTruthySample(): TruthySamplePair[] {
  return readJsonl(truthySamplePath(), ['id', 'source', 'system', 'prompt', 'chosen', 'rejected']) as TruthySamplePair[];
}

/** The curated starter sets. */
export function loadCuratedPairs(): CuratedPair[] {
  return readJsonl(curatedPairsPath(), ['id', 'prompt', 'chosen', 'rejected']) as CuratedPair[];
}

/** The prompt collection (30 prompts over 10 categories). */
export function loadPromptCollection(): CollectionPrompt[] {
  return JSON.parse(readFileSync(promptCollectionPath(), 'utf8')) as CollectionPrompt[];
}
