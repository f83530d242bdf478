import { Option } from 'commander';
import type { Command } from 'commander';
import { InvalidArgumentError } from '@pref/core';
import { commandPath } from './output-plan';

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

/**
 * An old spelling of a renamed flag, kept working: hidden from the help, its value stored under the new
 * flag's name (so `--out DIR` satisfies a required `--output`). `pref` prints a one-line warning when it
 * is used (see {@link installDeprecationWarnings}).
 */
export class DeprecatedOption extends Option {
  /** The flag to use instead, e.g. `--output`. */
  readonly use: string;
  private readonly target: string;
  constructor(flags: string, use: string) {
    super(flags);
    this.use = use;
    this.target = use.replace(/^--/, '').replace(/-([a-z])/g, (_match, letter: string) => letter.toUpperCase());
    this.hideHelp();
  }
  override attributeName(): string {
    return this.target;
  }
}

/** `--out <dir>` read as `--output`: see {@link DeprecatedOption}. */
export function deprecatedOption(flags: string, use: string): DeprecatedOption {
  return new DeprecatedOption(flags, use);
}

/**
 * For every command under `program` with a {@link DeprecatedOption}: when the old spelling is used, a
 * one-line warning on stderr before the command runs (none with `-q`/`--quiet`).
 */
export function installDeprecationWarnings(program: Command, warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): void {
  const visit = (command: Command): void => {
    const deprecated = command.options.filter((option): option is DeprecatedOption => option instanceof DeprecatedOption);
    if (deprecated.length > 0) {
      const used: DeprecatedOption[] = [];
      for (const option of deprecated) command.on(`option:${option.name()}`, () => used.push(option));
      command.hook('preAction', () => {
        if (command.opts().quiet === true) return;
        for (const option of new Set(used)) warn(`pref: warning: ${option.long ?? option.flags} is deprecated; use ${option.use} (see pref ${commandPath(command)} --help)`);
      });
    }
    command.commands.forEach(visit);
  };
  visit(program);
}
