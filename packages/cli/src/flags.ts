import { InvalidArgumentError } from '@pref/core';

/**
 * An integer flag value in [min, max]; undefined when the flag was not given. Blank text, decimals
 * and anything Number() cannot read exactly as an integer are errors naming the flag and quoting the value.
 */
export function integerFlag(value: string, flag: string, min?: number, max?: number): number;
export function integerFlag(value: string | undefined, flag: string, min?: number, max?: number): number | undefined;
export function integerFlag(value: string | undefined, flag: string, min = 1, max = Number.POSITIVE_INFINITY): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isInteger(parsed) || parsed < min || parsed > max) {
    const range = max === Number.POSITIVE_INFINITY ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new InvalidArgumentError({ argument: flag, message: `expected an integer ${range}, got "${value}"` });
  }
  return parsed;
}

/** Bounds of a {@link numberFlag}: `min`/`max` are inclusive, `above`/`below` exclusive. */
export interface NumberRange {
  min?: number;
  max?: number;
  above?: number;
  below?: number;
}

function describeRange({ min, max, above, below }: NumberRange): string {
  const low = min ?? above;
  const high = max ?? below;
  if (low !== undefined && high !== undefined) return ` in ${min !== undefined ? '[' : '('}${low}, ${high}${max !== undefined ? ']' : ')'}`;
  if (min !== undefined) return ` >= ${min}`;
  if (above !== undefined) return ` > ${above}`;
  if (max !== undefined) return ` <= ${max}`;
  if (below !== undefined) return ` < ${below}`;
  return '';
}

/**
 * A finite number flag value inside `range`; undefined when the flag was not given. Blank text, `NaN`,
 * `Infinity` and values outside the range are errors naming the flag and quoting the value.
 */
export function numberFlag(value: string, flag: string, range?: NumberRange): number;
export function numberFlag(value: string | undefined, flag: string, range?: NumberRange): number | undefined;
export function numberFlag(value: string | undefined, flag: string, range: NumberRange = {}): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  const { min, max, above, below } = range;
  const inside = (min === undefined || parsed >= min) && (max === undefined || parsed <= max) && (above === undefined || parsed > above) && (below === undefined || parsed < below);
  if (value.trim() === '' || !Number.isFinite(parsed) || !inside) {
    throw new InvalidArgumentError({ argument: flag, message: `expected a number${describeRange(range)}, got "${value}"` });
  }
  return parsed;
}

/** A seed flag: digits (with an optional minus) are the number, anything else the string itself. */
export function seedFlag(value: string): string | number {
  return /^-?\d+$/.test(value) ? Number(value) : value;
}

/** A flag spelling kept working for old scripts: `flag` on `command` (e.g. `pipeline`, `rectify rm-data`) now reads as `use`. */
export interface DeprecatedFlag {
  command: string;
  flag: string;
  use: string;
}

/**
 * Old spellings of flags renamed to follow the rule in the CLI README (`-o, --output` for what a
 * command writes, `-i, --input` for an input given as a flag, `--out-format` for the output's file
 * format and `--to` for its row layout, `--model-input` for how a pair is fed to a model).
 */
export const DEPRECATED_FLAGS: readonly DeprecatedFlag[] = [
  ...['pipeline', 'demo', 'collect', 'serve d2po', 'rectify rm-data', 'rectify value-prompts', 'rectify value-data'].map((command) => ({ command, flag: '--out', use: '--output' })),
  { command: 'pipeline', flag: '--in', use: '--input' },
  { command: 'd2po data', flag: '--format', use: '--out-format' },
  { command: 'prepare', flag: '--format', use: '--to' },
  { command: 'score', flag: '--input-format', use: '--model-input' },
  { command: 'quantize', flag: '--input-format', use: '--model-input' },
];

/**
 * Rewrites the deprecated flag spellings of `args` (the words after `pref`) to their new names, with a
 * one-line warning on stderr for each (none with `-q`/`--quiet`). `commandPath` names the command the
 * words run (`rectify rm-data`); only that command's old spellings are rewritten, and nothing after `--`.
 */
export function rewriteDeprecatedFlags(args: readonly string[], commandPath: string, warn: (line: string) => void): string[] {
  const renames = DEPRECATED_FLAGS.filter((entry) => entry.command === commandPath);
  if (renames.length === 0) return [...args];
  const quiet = args.includes('-q') || args.includes('--quiet');
  const end = args.indexOf('--');
  return args.map((word, index) => {
    if (end !== -1 && index > end) return word;
    for (const { flag, use } of renames) {
      if (word === flag || word.startsWith(`${flag}=`)) {
        if (!quiet) warn(`pref: warning: ${flag} is deprecated in \`pref ${commandPath}\`; use ${use} (see pref ${commandPath} --help)`);
        return use + word.slice(flag.length);
      }
    }
    return word;
  });
}
