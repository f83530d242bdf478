import { describe, expect, it } from 'vitest';
import { OUTPUT_PLANS } from './output-plan';
import { createProgram } from './program';

/** Options that name a file or folder a command writes. */
const WRITING_FLAGS = ['--output', '--out', '--audit', '--summary', '--rejects', '--stats', '--report', '--scored', '--skipped', '--train-ready'];
/**
 * Commands whose output folder the pipeline runner checks and locks itself; `collect` never replaces a
 * file (it takes the first free user_preferences_NNN and locks its journal).
 */
const RUNNER_CHECKED = ['pipeline', 'demo', 'collect'];

describe('OUTPUT_PLANS', () => {
  it('covers every command that writes (a new command with an output flag must be added to it)', () => {
    const program = createProgram();
    for (const command of program.commands) {
      const writes = command.options.some((option) => option.long !== undefined && WRITING_FLAGS.includes(option.long)) || command.registeredArguments.some((arg) => arg.name() === 'out');
      if (!writes || RUNNER_CHECKED.includes(command.name())) continue;
      expect(OUTPUT_PLANS[command.name()], command.name()).toBeDefined();
      expect(command.options.some((option) => option.long === '--overwrite'), `${command.name()} --overwrite`).toBe(true);
    }
  });

  it('lists every writing flag of a command among its outputs', () => {
    const program = createProgram();
    for (const command of program.commands) {
      const plan = OUTPUT_PLANS[command.name()];
      if (plan === undefined) continue;
      const opts: Record<string, unknown> = {};
      for (const option of command.options) if (option.long !== undefined && WRITING_FLAGS.includes(option.long)) opts[option.attributeName()] = `/tmp/x${option.long}`;
      const { outputs } = plan({ args: ['/tmp/in', '/tmp/out'], opts });
      for (const flag of Object.keys(opts)) expect(outputs.map((output) => output.path), `${command.name()} ${flag}`).toContain(opts[flag]);
    }
  });
});
