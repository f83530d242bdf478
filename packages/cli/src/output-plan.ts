import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { guardOutputs, type NamedPath, type OutputGuard, type OutputPath } from '@pref/io';
import { defaultRejectsPath } from '@pref/privacy';

/** A command's parsed arguments (positional, in order) and options (camelCase keys). */
interface Parsed {
  args: readonly unknown[];
  opts: Record<string, unknown>;
}

/** What a command reads and writes, from its parsed arguments. */
interface CommandPaths {
  inputs: NamedPath[];
  outputs: OutputPath[];
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const arg = (parsed: Parsed, index: number, flag: string): NamedPath => ({ flag, path: text(parsed.args[index]) });
const opt = (parsed: Parsed, key: string, flag: string): NamedPath => ({ flag, path: text(parsed.opts[key]) });
/** Model options: a local folder is an input; a Hub id (no such path here) is not a local path. */
const localModel = (parsed: Parsed, key: string, flag: string): NamedPath[] => {
  const path = text(parsed.opts[key]);
  return path !== undefined && existsSync(path) ? [{ flag, path }] : [];
};
const file = (entry: NamedPath): OutputPath => ({ ...entry, kind: 'file' });

/** The hidden partial output and checkpoint `score` keeps beside a resumable `.jsonl` output. */
function scoreCheckpointPaths(output: string | undefined): OutputPath[] {
  if (output === undefined || !/\.jsonl$/i.test(output)) return [];
  return [
    { flag: '--output (partial)', path: join(dirname(output), `.${basename(output)}.partial`), kind: 'file' },
    { flag: '--output (checkpoint)', path: join(dirname(output), `.${basename(output)}.checkpoint.json`), kind: 'file' },
  ];
}

/** With `--shard`: the order file and manifest beside `--output`; `--stats-from` files are inputs. */
function shardPaths(parsed: Parsed): { inputs: NamedPath[]; outputs: OutputPath[] } {
  const output = text(parsed.opts.output);
  const stats = ((parsed.opts.statsFrom as string[] | undefined) ?? []).map((path) => ({ flag: '--stats-from', path }));
  if (parsed.opts.shard === undefined || output === undefined || parsed.opts.statsOnly) return { inputs: stats, outputs: [] };
  return { inputs: stats, outputs: [file({ flag: '--output (shard manifest)', path: `${output}.shard.json` }), file({ flag: '--output (shard order)', path: `${output}.shard.order` })] };
}

/** `privatize --shard`: the audit and train-ready files' own manifests and order files, the summary's sorted columns. */
function privatizeShardSidePaths(parsed: Parsed): OutputPath[] {
  if (parsed.opts.shard === undefined || parsed.opts.statsOnly) return [];
  const beside = (key: string, flag: string, suffixes: readonly string[]) => {
    const path = text(parsed.opts[key]);
    return path === undefined ? [] : suffixes.map((suffix) => file({ flag: `${flag} (${suffix.slice(1)})`, path: `${path}${suffix}` }));
  };
  return [
    ...beside('audit', '--audit', ['.shard.json', '.shard.order']),
    ...beside('trainReady', '--train-ready', ['.shard.json', '.shard.order']),
    ...beside('summary', '--summary', ['.p_keep.values', '.abs_margin.values', '.epsilon_i.values']),
  ];
}

/** `pref merge`: the shard outputs (with their manifests and order files) are inputs. */
function mergePaths(parsed: Parsed): CommandPaths {
  const shards = [parsed.args[0] ?? []].flat().map((path) => text(path));
  return {
    inputs: shards.flatMap((path) => [{ flag: '<shards>', path }, { flag: '<shards> (manifest)', path: path === undefined ? undefined : `${path}.shard.json` }, { flag: '<shards> (order)', path: path === undefined ? undefined : `${path}.shard.order` }]),
    outputs: [opt(parsed, 'output', '--output'), file(opt(parsed, 'clippingInfo', '--clipping-info'))],
  };
}

/** Fixed file names a command writes inside its `--out` folder. */
function filesIn(folder: string | undefined, names: readonly string[]): OutputPath[] {
  return folder === undefined ? [] : names.map((name) => file({ flag: '--out', path: join(folder, name) }));
}

/** Every command of the program, subcommands included. */
export function allCommands(program: Command): Command[] {
  return program.commands.flatMap((command) => [command, ...allCommands(command)]);
}

/** A command's path below the program: `convert`, `rectify rm-data`. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at?.parent; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

/**
 * Every command that writes, with the paths it reads and writes. `pipeline` and `demo` check their
 * output folder in the pipeline runner (`runSteps`), which also serves library callers.
 */
export const OUTPUT_PLANS: Readonly<Record<string, (parsed: Parsed) => CommandPaths>> = {
  convert: (p) => ({
    inputs: [arg(p, 0, '<in>')],
    outputs: [{ ...arg(p, 1, '<out>'), kind: p.opts.outFormat === 'hf' ? 'dataset-folder' : 'data' }, file(opt(p, 'rejects', '--rejects'))],
  }),
  score: (p) => ({
    inputs: [arg(p, 0, '<in>'), ...localModel(p, 'model', '--model')],
    outputs: [opt(p, 'output', '--output'), ...scoreCheckpointPaths(text(p.opts.output)), ...shardPaths(p).outputs],
  }),
  gold: (p) => ({ inputs: [arg(p, 0, '<in>')], outputs: [opt(p, 'output', '--output')] }),
  margins: (p) => ({
    inputs: [arg(p, 0, '<in>'), ...shardPaths(p).inputs],
    outputs: [p.opts.statsOnly ? file(opt(p, 'output', '--output')) : opt(p, 'output', '--output'), file(opt(p, 'stats', '--stats')), ...shardPaths(p).outputs],
  }),
  privatize: (p) => ({
    inputs: [arg(p, 0, '<in>'), ...shardPaths(p).inputs],
    outputs: [
      p.opts.statsOnly ? file(opt(p, 'output', '--output')) : opt(p, 'output', '--output'),
      file(opt(p, 'audit', '--audit')),
      file(opt(p, 'summary', '--summary')),
      file(opt(p, 'clippingInfo', '--clipping-info')),
      opt(p, 'trainReady', '--train-ready'),
      ...shardPaths(p).outputs,
      ...privatizeShardSidePaths(p),
    ],
  }),
  prepare: (p) => {
    const output = text(p.opts.output);
    return {
      inputs: [arg(p, 0, '<in>')],
      outputs: [{ flag: '--output', path: output }, file({ flag: '--rejects', path: text(p.opts.rejects) ?? (output === undefined ? undefined : defaultRejectsPath(output)) })],
    };
  },
  logprobs: (p) => ({
    inputs: [arg(p, 0, '<in>'), ...localModel(p, 'policy', '--policy'), ...localModel(p, 'reference', '--reference')],
    outputs: [opt(p, 'output', '--output'), ...shardPaths(p).outputs],
  }),
  select: (p) => ({
    inputs: [arg(p, 0, '<in>'), ...localModel(p, 'policy', '--policy'), ...localModel(p, 'reference', '--reference'), ...shardPaths(p).inputs],
    outputs: [p.opts.statsOnly ? file(opt(p, 'output', '--output')) : opt(p, 'output', '--output'), opt(p, 'scored', '--scored'), file(opt(p, 'report', '--report')), ...shardPaths(p).outputs],
  }),
  merge: mergePaths,
  pairs: (p) => ({ inputs: [arg(p, 0, '<generations>')], outputs: [opt(p, 'output', '--output'), file(opt(p, 'skipped', '--skipped'))] }),
  synth: (p) => ({ inputs: [], outputs: [opt(p, 'output', '--output')] }),
  // quantize checks its own output folder (its manifest marks the folders it wrote) and has its own
  // --overwrite; here: distinct paths and the lock.
  quantize: (p) => ({
    inputs: [...localModel(p, 'model', '--model'), opt(p, 'eval', '--eval')],
    outputs: [file(opt(p, 'output', '--output'))],
  }),
  // optimize writes a derived model folder the same way as quantize (the shared manifest, its own --overwrite).
  optimize: (p) => ({
    inputs: [...localModel(p, 'model', '--model'), opt(p, 'eval', '--eval')],
    outputs: [file(opt(p, 'output', '--output'))],
  }),
  // Subcommands are keyed by their path below `pref`.
  'data split': (p) => {
    const folder = text(p.opts.output);
    return {
      inputs: [arg(p, 0, '<input>')],
      outputs: folder === undefined ? [] : [file({ flag: '--output', path: join(folder, 'train.jsonl') }), file({ flag: '--output', path: join(folder, 'validation.jsonl') })],
    };
  },
  'data filter': (p) => ({ inputs: [arg(p, 0, '<input>')], outputs: [opt(p, 'output', '--output')] }),
  'data merge': (p) => ({ inputs: [p.args[0] ?? []].flat().map((path) => ({ flag: '<inputs>', path: text(path) })), outputs: [opt(p, 'output', '--output')] }),
  classify: (p) => ({ inputs: [arg(p, 0, '<generations>'), ...localModel(p, 'model', '--model')], outputs: [opt(p, 'output', '--output')] }),
  // `pref rectify rm-data|value-prompts|value-data`: fixed file names inside -o, as upstream.
  'rectify rm-data': (p) => ({ inputs: [arg(p, 0, '<csv>')], outputs: filesIn(text(p.opts.output), ['rm_train.json', 'rm_valid.json']) }),
  'rectify value-prompts': (p) => ({ inputs: [arg(p, 0, '<csv>')], outputs: [file(opt(p, 'output', '--output'))] }),
  'rectify value-data': (p) => ({ inputs: [arg(p, 0, '<generations>')], outputs: filesIn(text(p.opts.output), ['train.json', 'val.json']) }),
  'd2po data': (p) => ({ inputs: [arg(p, 0, '<pairs>')], outputs: [{ ...opt(p, 'output', '--output'), kind: p.opts.outFormat === 'hf' ? 'dataset-folder' : 'data' }] }),
  'd2po evalgold': (p) => {
    const input = text(p.args[0]);
    return {
      inputs: [arg(p, 0, '<rollouts>')],
      outputs: [file({ flag: '--output', path: text(p.opts.output) ?? (input === undefined ? undefined : `${input.replace('.jsonl', '')}.results`) })],
    };
  },
  'gold relabel': (p) => ({ inputs: [arg(p, 0, '<in>')], outputs: [opt(p, 'output', '--output'), file(opt(p, 'ties', '--ties'))] }),
  'train-rm': (p) => ({
    inputs: [arg(p, 0, '<in>'), ...((p.opts.eval as string[] | undefined) ?? []).map((entry) => ({ flag: '--eval', path: entry.slice(entry.indexOf('=') + 1) }))],
    outputs: [{ ...opt(p, 'output', '--output'), kind: 'model-folder' }],
  }),
};

/**
 * Adds `--overwrite` to every command in {@link OUTPUT_PLANS} and runs the central output check
 * (`guardOutputs`: distinct paths, no folder pref did not write, one lock per output) before each
 * of them; the locks are released when the command ends (see `runCli`).
 */
export function installOutputGuard(program: Command): { release(): void } {
  const guards: OutputGuard[] = [];
  for (const command of allCommands(program)) {
    if (OUTPUT_PLANS[commandPath(command)] === undefined || command.options.some((option) => option.long === '--overwrite')) continue;
    command.option('--overwrite', 'replace an existing dataset or model folder that pref wrote (other folders are never replaced)');
  }
  program.hook('preAction', (_program, action) => {
    const plan = OUTPUT_PLANS[commandPath(action)];
    if (plan === undefined) return;
    const opts = action.opts();
    const { inputs, outputs } = plan({ args: action.processedArgs, opts });
    guards.push(guardOutputs({ inputs, outputs, overwrite: opts.overwrite === true, command: `pref ${commandPath(action)} ${action.args.join(' ')}`.trim() }));
  });
  return { release: () => guards.splice(0).forEach((guard) => guard.release()) };
}
