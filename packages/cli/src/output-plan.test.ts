import { describe, expect, it } from 'vitest';
import { allCommands, commandPath, OUTPUT_PLANS } from './output-plan';
import { createProgram } from './program';

/** Options that name a file or folder a command writes. */
const WRITING_FLAGS = ['--output', '--out', '--audit', '--summary', '--rejects', '--stats', '--report', '--scored', '--skipped', '--train-ready', '--ties', '--clipping-info'];
/**
 * Commands whose output folder the pipeline runner checks and locks itself; `collect` never replaces a
 * file (it takes the first free user_preferences_NNN and locks its journal); `serve d2po` checks its
 * state folder itself (it resumes from it).
 */
const RUNNER_CHECKED = ['pipeline', 'demo', 'collect', 'serve d2po'];

describe('OUTPUT_PLANS', () => {
  it('covers every command that writes (a new command with an output flag must be added to it)', () => {
    const program = createProgram();
    for (const command of allCommands(program)) {
      const writes = command.options.some((option) => option.long !== undefined && WRITING_FLAGS.includes(option.long)) || command.registeredArguments.some((arg) => arg.name() === 'out');
      if (!writes || RUNNER_CHECKED.some((path) => commandPath(command) === path || commandPath(command).startsWith(`${path} `))) continue;
      expect(OUTPUT_PLANS[commandPath(command)], commandPath(command)).toBeDefined();
      expect(command.options.some((option) => option.long === '--overwrite'), `${commandPath(command)} --overwrite`).toBe(true);
    }
  });

  it('lists every writing flag of a command among its outputs', () => {
    const program = createProgram();
    for (const command of allCommands(program)) {
      const plan = OUTPUT_PLANS[commandPath(command)];
      if (plan === undefined) continue;
      const opts: Record<string, unknown> = {};
      for (const option of command.options) if (option.long !== undefined && WRITING_FLAGS.includes(option.long)) opts[option.attributeName()] = `/tmp/x${option.long}`;
      const { outputs } = plan({ args: ['/tmp/in', '/tmp/out'], opts });
      // a folder flag may be listed as the fixed files the command writes inside it
      for (const flag of Object.keys(opts)) {
        const value = opts[flag] as string;
        expect(outputs.some((output) => output.path === value || output.path?.startsWith(`${value}/`)), `${commandPath(command)} ${flag}`).toBe(true);
      }
    }
  });
});
