import { statSync } from 'node:fs';
import { InvalidArgumentError } from './errors';

/**
 * File formats @pref/io reads and writes. `hf` is a Hugging Face `save_to_disk` folder (or a Hub
 * dataset repository folder); `txt` is a plain-text prompt list, one prompt a line (`{prompt}` rows).
 */
export type DataFormat = 'jsonl' | 'jsonl.gz' | 'json' | 'parquet' | 'csv' | 'txt' | 'hf';

/** Every supported format name, for option validation and `--help`. */
export const DATA_FORMATS: readonly DataFormat[] = ['jsonl', 'jsonl.gz', 'json', 'parquet', 'csv', 'txt', 'hf'];

/**
 * Picks the format of `path` from its extension, or from the file system for folders
 * (`save_to_disk` folders hold `state.json` or `dataset_dict.json`). `-` (stdin/stdout) is JSONL
 * unless a format is given. Contents are sniffed later by the readers (gzip magic bytes, `[` vs `{`).
 */
export function detectFormat(path: string, { forWriting = false }: { forWriting?: boolean } = {}): DataFormat {
  if (path === '-') return 'jsonl';
  const lower = path.toLowerCase().replace(/[/\\]+$/, '');
  if (lower.endsWith('.jsonl.gz') || lower.endsWith('.ndjson.gz') || lower.endsWith('.json.gz')) return 'jsonl.gz';
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  if (lower.endsWith('.json')) return 'json';
  if (lower.endsWith('.parquet') || lower.endsWith('.pq')) return 'parquet';
  if (lower.endsWith('.csv') || lower.endsWith('.tsv')) return 'csv';
  if (lower.endsWith('.txt')) return 'txt';
  if (lower.endsWith('.arrow')) return 'hf';
  if (!forWriting) {
    try {
      if (statSync(path).isDirectory()) return 'hf';
    } catch {
      // fall through to the error below: the reader reports a missing file itself
    }
  } else if (lower.endsWith('.hf') || lower.endsWith('/') || !/\.[a-z0-9]+$/.test(lower)) {
    // A path without an extension is written as a save_to_disk folder.
    return 'hf';
  }
  throw new InvalidArgumentError({
    argument: 'path',
    message: `cannot tell the format of "${path}" from its name; pass format (one of ${DATA_FORMATS.join(', ')})`,
  });
}

export function assertFormat(format: string): DataFormat {
  if ((DATA_FORMATS as readonly string[]).includes(format)) return format as DataFormat;
  throw new InvalidArgumentError({ argument: 'format', message: `unknown format "${format}"; expected one of ${DATA_FORMATS.join(', ')}` });
}
