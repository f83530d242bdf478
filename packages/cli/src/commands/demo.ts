import type { Command } from 'commander';

/** Registers this group's subcommands on the program. Filled in by the issue that owns it. */
export function registerDemoCommands(_program: Command): void {}
