import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { deprecatedOption, installDeprecationWarnings, integerFlag, numberFlag, seedFlag } from './flags';

describe('integerFlag', () => {
  it('reads integers in range and leaves an absent flag undefined', () => {
    expect(integerFlag('12', '--k')).toBe(12);
    expect(integerFlag('0', '--k', 0)).toBe(0);
    expect(integerFlag('65535', '--port', 0, 65535)).toBe(65535);
    expect(integerFlag(undefined, '--k')).toBeUndefined();
  });
  it('refuses blanks, decimals, words and values out of range, naming the flag and the value', () => {
    expect(() => integerFlag('', '--k')).toThrow('--k: expected an integer >= 1, got ""');
    expect(() => integerFlag(' ', '--k')).toThrow(/--k/);
    expect(() => integerFlag('1.5', '--k')).toThrow('got "1.5"');
    expect(() => integerFlag('ten', '--k')).toThrow('got "ten"');
    expect(() => integerFlag('0', '--k')).toThrow('expected an integer >= 1');
    expect(() => integerFlag('65536', '--port', 0, 65535)).toThrow('--port: expected an integer in [0, 65535], got "65536"');
  });
});

describe('numberFlag', () => {
  it('reads finite numbers inside inclusive and exclusive bounds', () => {
    expect(numberFlag('0.5', '--ratio', { min: 0, max: 1 })).toBe(0.5);
    expect(numberFlag('1', '--ratio', { min: 0, max: 1 })).toBe(1);
    expect(numberFlag('-3e2', '--delta')).toBe(-300);
    expect(numberFlag(undefined, '--delta')).toBeUndefined();
  });
  it('states the range it wanted', () => {
    expect(() => numberFlag('2', '--ratio', { min: 0, max: 1 })).toThrow('--ratio: expected a number in [0, 1], got "2"');
    expect(() => numberFlag('1', '--noise', { min: 0, below: 1 })).toThrow('expected a number in [0, 1), got "1"');
    expect(() => numberFlag('0', '--lr', { above: 0 })).toThrow('expected a number > 0, got "0"');
    expect(() => numberFlag('-1', '--epsilon', { min: 0 })).toThrow('expected a number >= 0');
    for (const bad of ['', 'NaN', 'Infinity', '-Infinity', 'fast']) expect(() => numberFlag(bad, '--delta')).toThrow(`--delta: expected a number, got "${bad}"`);
  });
});

describe('seedFlag', () => {
  it('keeps digits as a number and anything else as text', () => {
    expect(seedFlag('42')).toBe(42);
    expect(seedFlag('-7')).toBe(-7);
    expect(seedFlag('0x10')).toBe('0x10');
    expect(seedFlag('my seed')).toBe('my seed');
  });
});

describe('deprecatedOption', () => {
  function program(warnings: string[]): { command: Command; seen: () => Record<string, unknown> } {
    let seen: Record<string, unknown> = {};
    const root = new Command('pref').exitOverride();
    root
      .command('run')
      .requiredOption('-o, --output <dir>', 'output folder')
      .addOption(deprecatedOption('--out <dir>', '--output'))
      .option('--model-input <format>', 'how pairs are fed', 'pair')
      .addOption(deprecatedOption('--input-format <format>', '--model-input').choices(['pair', 'joined']))
      .option('-q, --quiet', 'no progress')
      .action((flags: Record<string, unknown>) => {
        seen = flags;
      });
    installDeprecationWarnings(root, (line) => warnings.push(line));
    return { command: root, seen: () => seen };
  }

  it('reads the old spelling as the new flag, with one warning naming both', async () => {
    const warnings: string[] = [];
    const { command, seen } = program(warnings);
    await command.parseAsync(['node', 'pref', 'run', '--out', 'dir', '--input-format', 'joined']);
    expect(seen()).toMatchObject({ output: 'dir', modelInput: 'joined' });
    expect(warnings).toEqual([
      'pref: warning: --out is deprecated; use --output (see pref run --help)',
      'pref: warning: --input-format is deprecated; use --model-input (see pref run --help)',
    ]);
  });

  it('is silent with --quiet or when only the new spelling is used, keeps the choices, and is not in the help', async () => {
    const warnings: string[] = [];
    const { command, seen } = program(warnings);
    await command.parseAsync(['node', 'pref', 'run', '--out=dir', '-q']);
    expect(seen()).toMatchObject({ output: 'dir', modelInput: 'pair' });
    await program(warnings).command.parseAsync(['node', 'pref', 'run', '-o', 'dir']);
    expect(warnings).toEqual([]);
    await expect(program(warnings).command.parseAsync(['node', 'pref', 'run', '-o', 'd', '--input-format', 'chat'])).rejects.toThrow(/Allowed choices are pair, joined/);
    const help = program(warnings).command.commands[0]!.helpInformation();
    expect(help).toContain('--output');
    expect(help).not.toContain('--out <dir>');
    expect(help).not.toContain('--input-format');
  });
});
