import { InvalidArgumentError, PrefError } from '@pref/core';
import { Command, CommanderError } from 'commander';
import { FileSystemError, isSystemError, releaseOutputLocks } from '@pref/io';
import packageJson from '../package.json';
import { registerClassifyCommands } from './commands/classify';
import { registerCollectCommands } from './commands/collect';
import { registerD2poCommands } from './commands/d2po';
import { registerDataCommands } from './commands/data';
import { allCommands, commandPath, installOutputGuard } from './output-plan';
import { registerDemoCommands } from './commands/demo';
import { registerGoldCommands } from './commands/gold';
import { registerIoCommands } from './commands/io';
import { registerLogprobsCommands } from './commands/logprobs';
import { registerMarginsCommands } from './commands/margins';
import { registerPairsCommands } from './commands/pairs';
import { registerPipelineCommands } from './commands/pipeline';
import { registerPrivacyCommands } from './commands/privacy';
import { registerOptimizeCommands } from './commands/optimize';
import { registerQuantizeCommands } from './commands/quantize';
import { registerRectifyCommands } from './commands/rectify';
import { registerScoreCommands } from './commands/score';
import { registerSelectCommands } from './commands/select';
import { registerShardCommands } from './commands/shard';
import { registerServeCommands } from './commands/serve';
import { registerSynthCommands } from './commands/synth';
import { registerTrainRmCommands } from './commands/train-rm';
import { installDeprecationWarnings } from './flags';

/** Builds the `pref` program with every command registered. */
export function createProgram(): Command {
  const program = new Command('pref')
    .description('Turn raw preference data into scored, private, selected, DPO-ready datasets.')
    .version(packageJson.version)
    .exitOverride()
    // Options belong to the command they follow (`pref gold relabel --fn …` is not `pref gold --fn …`).
    .enablePositionalOptions();
  registerIoCommands(program);
  registerScoreCommands(program);
  registerGoldCommands(program);
  registerMarginsCommands(program);
  registerPrivacyCommands(program);
  registerLogprobsCommands(program);
  registerSelectCommands(program);
  registerPairsCommands(program);
  registerSynthCommands(program);
  registerTrainRmCommands(program);
  registerQuantizeCommands(program);
  registerOptimizeCommands(program);
  registerRectifyCommands(program);
  registerClassifyCommands(program);
  registerD2poCommands(program);
  registerPipelineCommands(program);
  registerDemoCommands(program);
  registerServeCommands(program);
  registerCollectCommands(program);
  registerDataCommands(program);
  registerShardCommands(program);
  installOutputGuard(program);
  // A usage error prints the error and where to read more, not the whole help.
  for (const command of [program, ...allCommands(program)]) command.showHelpAfterError(`(see ${['pref', commandPath(command)].filter(Boolean).join(' ')} --help)`);
  installDeprecationWarnings(program);
  return program;
}

/**
 * Runs the CLI and resolves to the process exit code. A usage error prints the error and
 * `(see pref <command> --help)`. PrefErrors print their message (which names file, line and field)
 * without a stack and exit 1 (an invalid flag value with the same pointer to the help); so do operating-system errors that escaped a
 * writer (disk full, permission denied, …), as a {@link FileSystemError} naming the path. Anything
 * else is a bug: "unexpected error", its stack, exit 2. Output locks are released in every case.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = createProgram();
  // the command that ran, for the pointer to its help after an invalid flag value
  let ran: Command | undefined;
  program.hook('preAction', (_program, action) => {
    ran = action;
  });
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode;
    }
    if (PrefError.isInstance(error)) {
      // a wrong flag value gets the same one-line pointer as a wrong flag
      const hint = InvalidArgumentError.isInstance(error) && ran ? `(see pref ${commandPath(ran)} --help)\n` : '';
      process.stderr.write(`pref: ${error.message}\n${hint}`);
      return 1;
    }
    if (isSystemError(error)) {
      const path = typeof error.path === 'string' ? error.path : (error.syscall ?? 'file system');
      process.stderr.write(`pref: ${new FileSystemError({ path, cause: error }).message}\n`);
      return 1;
    }
    process.stderr.write(`pref: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 2;
  } finally {
    releaseOutputLocks();
  }
}
