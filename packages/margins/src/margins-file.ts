import { InvalidArgumentError } from '@pref/core';
import { readRecords, writeRecords, type DataRecord } from '@pref/io';
import { rawMarginOf } from './add-margins';
import { clipMargins } from './clip-margins';
import { describeValues, type ValueStatistics } from './describe-values';
import { fitNormalization, normalizeValue, type NormalizationParams, type NormalizeOptions } from './normalize-margins';

export interface MarginsFileOptions extends NormalizeOptions {
  /** Clip range [min, max]. Default: [-6, 6]. */
  clip?: readonly [number, number];
  signal?: AbortSignal;
  /** Called every few thousand rows: `pass` 1 reads the margins, pass 2 writes the output. */
  onProgress?: (progress: { pass: 1 | 2; rows: number; bytesRead: number; totalBytes?: number }) => void;
}

export interface MarginsFileResult {
  rows: number;
  params: NormalizationParams;
  raw: ValueStatistics;
  clipped: ValueStatistics;
  normalized: ValueStatistics;
}

/**
 * Adds `margin_raw`, `margin_clipped` and `margin_normalized` to every row of a file (any format
 * @pref/io reads) and writes the result atomically. Two passes over the input: the first collects the
 * margins (8 bytes a row) and fits the normalization, the second writes. `margin_raw` is taken from the
 * rows when present, else `chosen_score − rejected_score`; missing, NaN or infinite values are an
 * InvalidRecordError naming file, line and field. Stdin cannot be read twice and is refused.
 */
export async function marginsFile(input: string, output: string, { clip = [-6, 6], signal, onProgress, ...normalize }: MarginsFileOptions = {}): Promise<MarginsFileResult> {
  if (input === '-') throw new InvalidArgumentError({ argument: 'input', message: 'margins reads its input twice; pass a file, not stdin' });
  let raw = new Float64Array(1 << 16);
  let rows = 0;
  for await (const { record, file, line } of readRecords(input, { signal, onProgress: (p) => onProgress?.({ pass: 1, ...p }) })) {
    if (rows === raw.length) {
      const grown = new Float64Array(raw.length * 2);
      grown.set(raw);
      raw = grown;
    }
    raw[rows++] = rawMarginOf(record, { file, line });
  }
  raw = raw.slice(0, rows);
  const clipped = clipMargins(raw, { min: clip[0], max: clip[1] });
  const params = fitNormalization(clipped, normalize);
  const normalized = new Float64Array(rows);
  for (let i = 0; i < rows; i++) normalized[i] = normalizeValue(clipped[i] as number, params);

  async function* annotated(): AsyncGenerator<DataRecord> {
    let i = 0;
    for await (const { record } of readRecords(input, { signal, onProgress: (p) => onProgress?.({ pass: 2, ...p }) })) {
      if (i >= rows) throw new InvalidArgumentError({ argument: 'input', message: `${input} changed while it was being read (more rows on the second pass)` });
      yield { ...record, margin_raw: raw[i], margin_clipped: clipped[i], margin_normalized: normalized[i] };
      i += 1;
    }
    if (i !== rows) throw new InvalidArgumentError({ argument: 'input', message: `${input} changed while it was being read (fewer rows on the second pass)` });
  }
  await writeRecords(output, annotated(), { signal });
  const stats = (values: Float64Array, field: string) => describeValues(values, { field });
  return { rows, params, raw: stats(raw, 'margin_raw'), clipped: stats(clipped, 'margin_clipped'), normalized: stats(normalized, 'margin_normalized') };
}
