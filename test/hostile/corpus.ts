/**
 * The hostile corpus: inputs, folders and situations a careless or hostile user produces, each with
 * the outcome pref must give. Every case builds its files in a fresh folder (big inputs are generated
 * here rather than committed) and returns the `pref` arguments to run; corpus.test.ts runs them all
 * in-process and checks, besides each case's own expectation, that no run prints "unexpected error"
 * or a stack, that a failed run leaves every file exactly as it was, and that no temp or lock file
 * is left behind.
 *
 * Disk-full, read-only, kill -9, SIGTERM and concurrent runs are in situations.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

export interface HostileCase {
  /** Unique, kebab-case. */
  id: string;
  /** Which part of issue 13 the case belongs to. */
  area: 'outputs' | 'locks' | 'errors' | 'input';
  /** Builds the case's files under `dir` and returns the arguments of `pref`. */
  setup(dir: string): string[];
  expect: {
    code: 0 | 1;
    /** Must match stderr (errors) — the message names the file, flag or limit. */
    stderr?: RegExp;
    /** Files (relative to the case folder) that a successful run may replace or create. */
    writes?: string[];
    /** Extra checks after the run. */
    check?(dir: string): void;
  };
}

export const TINY_BERT = fileURLToPath(new URL('../../packages/reward-scoring/fixtures/tiny-bert', import.meta.url));

/** `n` valid pairs as JSONL text. */
export function pairsJsonl(n: number, extra: (i: number) => Record<string, unknown> = () => ({})): string {
  let text = '';
  for (let i = 0; i < n; i++) text += `${JSON.stringify({ id: `p${i}`, prompt: `question ${i}?`, chosen: `a good answer ${i}`, rejected: `a bad answer ${i}`, ...extra(i) })}\n`;
  return text;
}

/** Pairs with the columns `pref privatize` (margin-sigmoid) needs. */
export function marginsJsonl(n: number): string {
  return pairsJsonl(n, (i) => ({ chosen_score: (i % 7) - 3, rejected_score: 0, margin_raw: (i % 7) - 3, margin_clipped: (i % 7) - 3, margin_normalized: ((i % 7) - 3) / 2 }));
}

function write(dir: string, name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
}

/** A folder that looks like a user's: files pref did not write. */
function userFolder(dir: string, name: string): string {
  write(dir, `${name}/thesis.tex`, '\\documentclass{article}');
  write(dir, `${name}/notes/todo.txt`, 'do not lose me');
  return join(dir, name);
}

/** A `save_to_disk` Dataset folder as pref writes it (written by pref itself, synchronously via the CLI binary is too slow: by hand). */
function datasetFolder(dir: string, name: string): string {
  write(dir, `${name}/data-00000-of-00001.arrow`, 'not really arrow, but the names match');
  write(dir, `${name}/dataset_info.json`, '{"features":{}}');
  write(dir, `${name}/state.json`, '{"_data_files":[{"filename":"data-00000-of-00001.arrow"}]}');
  return join(dir, name);
}

/** The pid of a process that has exited (so a lock naming it is stale). */
export function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

function lockFile(pid: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ pid, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z', command: 'pref convert (another run)', ...extra });
}

/** A copy of the tiny-bert fixture with `chat_template` replaced (undefined: removed). */
function modelWithTemplate(dir: string, template: string | undefined): string {
  const model = join(dir, 'model');
  cpSync(TINY_BERT, model, { recursive: true });
  const config = JSON.parse(readFileSync(join(model, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  if (template === undefined) delete config.chat_template;
  else config.chat_template = template;
  writeFileSync(join(model, 'tokenizer_config.json'), JSON.stringify(config));
  return model;
}

const scoreChat = (dir: string, template: string | undefined): string[] => ['score', write(dir, 'in.jsonl', pairsJsonl(2)), '-o', join(dir, 'out.jsonl'), '--model', modelWithTemplate(dir, template), '--input-format', 'chat', '-q'];

export const CORPUS: HostileCase[] = [
  // ---------------------------------------------------------------- outputs never destroy user data
  {
    id: 'convert-into-user-folder',
    area: 'outputs',
    setup: (dir) => ['convert', write(dir, 'in.jsonl', pairsJsonl(3)), userFolder(dir, 'mydir')],
    expect: { code: 1, stderr: /mydir is a non-empty folder that is not a dataset.*thesis\.tex/ },
  },
  {
    id: 'convert-into-user-folder-with-overwrite',
    area: 'outputs',
    setup: (dir) => ['convert', write(dir, 'in.jsonl', pairsJsonl(3)), userFolder(dir, 'mydir'), '--overwrite'],
    expect: { code: 1, stderr: /pref will not replace or write into it/ },
  },
  {
    id: 'convert-into-dataset-folder-without-overwrite',
    area: 'outputs',
    setup: (dir) => ['convert', write(dir, 'in.jsonl', pairsJsonl(3)), datasetFolder(dir, 'ds')],
    expect: { code: 1, stderr: /already holds a dataset .*pass --overwrite/ },
  },
  {
    id: 'convert-into-dataset-folder-with-overwrite',
    area: 'outputs',
    setup: (dir) => ['convert', write(dir, 'in.jsonl', pairsJsonl(3)), datasetFolder(dir, 'ds'), '--overwrite'],
    expect: {
      code: 0,
      writes: ['ds/data-00000-of-00001.arrow', 'ds/dataset_info.json', 'ds/state.json'],
      check: (dir) => {
        if (!readFileSync(join(dir, 'ds/state.json'), 'utf8').includes('_fingerprint')) throw new Error('the dataset was not rewritten');
      },
    },
  },
  {
    id: 'convert-into-dataset-folder-with-a-user-file',
    area: 'outputs',
    setup: (dir) => {
      datasetFolder(dir, 'ds');
      write(dir, 'ds/my-notes.md', 'mine');
      return ['convert', write(dir, 'in.jsonl', pairsJsonl(3)), join(dir, 'ds'), '--overwrite'];
    },
    expect: { code: 1, stderr: /not a dataset .*my-notes\.md/ },
  },
  {
    id: 'convert-into-empty-folder',
    area: 'outputs',
    setup: (dir) => {
      mkdirSync(join(dir, 'empty'));
      return ['convert', write(dir, 'in.jsonl', pairsJsonl(3)), join(dir, 'empty')];
    },
    expect: { code: 0, writes: ['empty/data-00000-of-00001.arrow', 'empty/dataset_info.json', 'empty/state.json'] },
  },
  {
    id: 'convert-dataset-dict-folder-with-overwrite',
    area: 'outputs',
    setup: (dir) => {
      datasetFolder(dir, 'dd/train');
      datasetFolder(dir, 'dd/test');
      write(dir, 'dd/dataset_dict.json', '{"splits":["train","test"]}');
      return ['convert', write(dir, 'in.jsonl', pairsJsonl(3)), join(dir, 'dd'), '--overwrite'];
    },
    expect: { code: 0, writes: ['dd/*'], check: (dir) => readFileSync(join(dir, 'dd/state.json')) },
  },
  {
    id: 'convert-hf-out-format-into-user-folder',
    area: 'outputs',
    setup: (dir) => ['convert', write(dir, 'in.jsonl', pairsJsonl(3)), `${userFolder(dir, 'out.jsonl')}`, '--out-format', 'hf'],
    expect: { code: 1, stderr: /not a dataset/ },
  },
  {
    id: 'convert-folder-output-over-a-file',
    area: 'outputs',
    setup: (dir) => ['convert', write(dir, 'in.jsonl', pairsJsonl(3)), write(dir, 'README', 'my readme')],
    expect: { code: 1, stderr: /README is an existing file, and this output is a folder/ },
  },
  {
    id: 'privatize-into-user-folder',
    area: 'outputs',
    setup: (dir) => ['privatize', write(dir, 'm.jsonl', marginsJsonl(5)), '-o', userFolder(dir, 'mydir'), '--seed', '1'],
    expect: { code: 1, stderr: /--output .*mydir is a non-empty folder that is not a dataset/ },
  },
  {
    id: 'synth-into-user-folder',
    area: 'outputs',
    setup: (dir) => ['synth', '--n', '5', '-o', userFolder(dir, 'home')],
    expect: { code: 1, stderr: /not a dataset/ },
  },
  {
    id: 'train-rm-into-user-folder',
    area: 'outputs',
    setup: (dir) => ['train-rm', write(dir, 'in.jsonl', pairsJsonl(20)), '-o', userFolder(dir, 'model'), '--epochs', '2'],
    expect: { code: 1, stderr: /not a model folder written by pref/ },
  },
  {
    id: 'train-rm-over-pref-model-without-overwrite',
    area: 'outputs',
    setup: (dir) => {
      write(dir, 'model/config.json', '{"model_type":"pref-linear-bt"}');
      write(dir, 'model/model.onnx', 'x');
      return ['train-rm', write(dir, 'in.jsonl', pairsJsonl(20)), '-o', join(dir, 'model'), '--epochs', '2'];
    },
    expect: { code: 1, stderr: /already holds a model folder written by pref; pass --overwrite/ },
  },
  {
    id: 'train-rm-over-pref-model-with-overwrite',
    area: 'outputs',
    setup: (dir) => {
      write(dir, 'model/config.json', '{"model_type":"pref-linear-bt"}');
      write(dir, 'model/model.onnx', 'x');
      return ['train-rm', write(dir, 'in.jsonl', pairsJsonl(20)), '-o', join(dir, 'model'), '--epochs', '2', '--min-count', '1', '-q', '--overwrite'];
    },
    expect: { code: 0, writes: ['model/config.json', 'model/model.onnx', 'model/tokenizer.json', 'model/tokenizer_config.json', 'model/training-report.json'] },
  },
  {
    id: 'pipeline-into-user-folder',
    area: 'outputs',
    setup: (dir) => ['pipeline', 'privatize', '--in', write(dir, 'in.jsonl', pairsJsonl(3)), '--out', userFolder(dir, 'work'), '--set', 'rng=crypto', '-q'],
    expect: { code: 1, stderr: /work is a non-empty folder that is not a pref pipeline folder/ },
  },
  {
    id: 'convert-output-is-input',
    area: 'outputs',
    setup: (dir) => {
      const input = write(dir, 'in.jsonl', pairsJsonl(3));
      return ['convert', input, input];
    },
    expect: { code: 1, stderr: /<out> .*in\.jsonl is the input <in>/ },
  },
  {
    id: 'convert-output-is-input-through-dotdot',
    area: 'outputs',
    setup: (dir) => {
      mkdirSync(join(dir, 'sub'));
      return ['convert', write(dir, 'in.jsonl', pairsJsonl(3)), join(dir, 'sub', '..', 'in.jsonl')];
    },
    expect: { code: 1, stderr: /is the input/ },
  },
  {
    id: 'convert-output-symlink-to-input',
    area: 'outputs',
    setup: (dir) => {
      const input = write(dir, 'in.jsonl', pairsJsonl(3));
      symlinkSync(input, join(dir, 'link.jsonl'));
      return ['convert', input, join(dir, 'link.jsonl')];
    },
    expect: { code: 1, stderr: /is the input .*through a link/ },
  },
  {
    id: 'convert-output-hard-link-to-input',
    area: 'outputs',
    setup: (dir) => {
      const input = write(dir, 'in.jsonl', pairsJsonl(3));
      linkSync(input, join(dir, 'hard.jsonl'));
      return ['convert', input, join(dir, 'hard.jsonl')];
    },
    expect: { code: 1, stderr: /is the input .*through a link/ },
  },
  {
    id: 'convert-output-in-symlinked-folder-is-input',
    area: 'outputs',
    setup: (dir) => {
      const input = write(dir, 'real/in.jsonl', pairsJsonl(3));
      symlinkSync(join(dir, 'real'), join(dir, 'alias'));
      return ['convert', input, join(dir, 'alias', 'in.jsonl')];
    },
    expect: { code: 1, stderr: /is the input/ },
  },
  {
    id: 'convert-rejects-is-input',
    area: 'outputs',
    setup: (dir) => {
      const input = write(dir, 'in.jsonl', pairsJsonl(3));
      return ['convert', input, join(dir, 'out.jsonl'), '--rejects', input];
    },
    expect: { code: 1, stderr: /--rejects .* is the input/ },
  },
  {
    id: 'convert-rejects-is-output',
    area: 'outputs',
    setup: (dir) => ['convert', write(dir, 'in.jsonl', pairsJsonl(3)), join(dir, 'out.jsonl'), '--rejects', join(dir, 'out.jsonl')],
    expect: { code: 1, stderr: /--rejects and <out> are the same file/ },
  },
  {
    id: 'convert-output-folder-holds-input',
    area: 'outputs',
    setup: (dir) => ['convert', write(dir, 'data/in.jsonl', pairsJsonl(3)), join(dir, 'data')],
    expect: { code: 1, stderr: /folder that holds the input/ },
  },
  {
    id: 'convert-output-inside-input-dataset-folder',
    area: 'outputs',
    setup: (dir) => ['convert', datasetFolder(dir, 'ds'), join(dir, 'ds', 'out.jsonl')],
    expect: { code: 1, stderr: /inside the input folder/ },
  },
  {
    id: 'privatize-output-equals-audit',
    area: 'outputs',
    setup: (dir) => ['privatize', write(dir, 'm.jsonl', marginsJsonl(5)), '-o', join(dir, 'x.jsonl'), '--audit', join(dir, 'x.jsonl'), '--seed', '1'],
    expect: { code: 1, stderr: /--audit and --output are the same file/ },
  },
  {
    id: 'privatize-summary-is-input',
    area: 'outputs',
    setup: (dir) => {
      const input = write(dir, 'm.jsonl', marginsJsonl(5));
      return ['privatize', input, '-o', join(dir, 'x.jsonl'), '--summary', input, '--seed', '1'];
    },
    expect: { code: 1, stderr: /--summary .* is the input/ },
  },
  {
    id: 'privatize-train-ready-is-output',
    area: 'outputs',
    setup: (dir) => ['privatize', write(dir, 'm.jsonl', marginsJsonl(5)), '-o', join(dir, 'x.jsonl'), '--train-ready', join(dir, 'x.jsonl'), '--seed', '1'],
    expect: { code: 1, stderr: /--train-ready and --output are the same file/ },
  },
  {
    id: 'privatize-audit-is-input-through-symlink',
    area: 'outputs',
    setup: (dir) => {
      const input = write(dir, 'm.jsonl', marginsJsonl(5));
      symlinkSync(input, join(dir, 'audit.jsonl'));
      return ['privatize', input, '-o', join(dir, 'x.jsonl'), '--audit', join(dir, 'audit.jsonl'), '--seed', '1'];
    },
    expect: { code: 1, stderr: /--audit .* is the input/ },
  },
  {
    id: 'prepare-default-rejects-is-input',
    area: 'outputs',
    setup: (dir) => ['prepare', write(dir, 'x.rejects.jsonl', pairsJsonl(3)), '-o', join(dir, 'x.jsonl')],
    expect: { code: 1, stderr: /--rejects .* is the input/ },
  },
  {
    id: 'prepare-rejects-equals-output',
    area: 'outputs',
    setup: (dir) => ['prepare', write(dir, 'in.jsonl', pairsJsonl(3)), '-o', join(dir, 'x.jsonl'), '--rejects', join(dir, 'x.jsonl')],
    expect: { code: 1, stderr: /same file/ },
  },
  {
    id: 'margins-stats-equals-output',
    area: 'outputs',
    setup: (dir) => ['margins', write(dir, 's.jsonl', marginsJsonl(5)), '-o', join(dir, 'm.jsonl'), '--stats', join(dir, 'm.jsonl')],
    expect: { code: 1, stderr: /--stats and --output are the same file/ },
  },
  {
    id: 'gold-output-is-input',
    area: 'outputs',
    setup: (dir) => {
      const input = write(dir, 'in.jsonl', pairsJsonl(3));
      return ['gold', input, '--fn', 'bagofwords', '-o', input];
    },
    expect: { code: 1, stderr: /is the input/ },
  },
  {
    id: 'score-output-is-input',
    area: 'outputs',
    setup: (dir) => {
      const input = write(dir, 'in.jsonl', pairsJsonl(3));
      return ['score', input, '-o', input, '--model', TINY_BERT];
    },
    expect: { code: 1, stderr: /is the input/ },
  },
  {
    id: 'score-output-inside-model-folder',
    area: 'outputs',
    setup: (dir) => ['score', write(dir, 'in.jsonl', pairsJsonl(3)), '-o', join(TINY_BERT, 'scores.jsonl'), '--model', TINY_BERT],
    expect: { code: 1, stderr: /inside the input folder --model/ },
  },
  {
    id: 'select-report-equals-output',
    area: 'outputs',
    setup: (dir) => ['select', write(dir, 'in.jsonl', pairsJsonl(5, (i) => ({ reward_gap: i }))), '-o', join(dir, 'o.json'), '--ratio', '0.5', '--report', join(dir, 'o.json')],
    expect: { code: 1, stderr: /--report and --output are the same file/ },
  },
  {
    id: 'pairs-skipped-is-input',
    area: 'outputs',
    setup: (dir) => {
      const input = write(dir, 'g.jsonl', `${JSON.stringify({ prompt: 'q', generations: ['a', 'b'], scores: [1, 0] })}\n`);
      return ['pairs', input, '-o', join(dir, 'p.jsonl'), '--skipped', input];
    },
    expect: { code: 1, stderr: /--skipped .* is the input/ },
  },
  {
    id: 'logprobs-output-is-input',
    area: 'outputs',
    setup: (dir) => {
      const input = write(dir, 'in.jsonl', pairsJsonl(3));
      return ['logprobs', input, '-o', input];
    },
    expect: { code: 1, stderr: /is the input/ },
  },
  {
    id: 'quantize-output-inside-model-folder',
    area: 'outputs',
    setup: () => ['quantize', '--model', TINY_BERT, '-o', join(TINY_BERT, 'quantized')],
    expect: { code: 1, stderr: /inside the input folder --model/ },
  },
  {
    id: 'train-rm-output-folder-holds-input',
    area: 'outputs',
    setup: (dir) => ['train-rm', write(dir, 'work/in.jsonl', pairsJsonl(20)), '-o', join(dir, 'work')],
    expect: { code: 1, stderr: /folder that holds the input|not a model folder/ },
  },

  // ---------------------------------------------------------------- one run per output
  {
    id: 'output-locked-by-a-live-run',
    area: 'locks',
    setup: (dir) => {
      write(dir, '.out.jsonl.pref-lock', lockFile(process.ppid));
      return ['convert', write(dir, 'in.jsonl', pairsJsonl(3)), join(dir, 'out.jsonl')];
    },
    expect: { code: 1, stderr: new RegExp(`another pref run is writing this output \\(pid ${process.ppid} on `) },
  },
  {
    id: 'stale-lock-of-a-dead-run-is-taken-over',
    area: 'locks',
    setup: (dir) => {
      const pid = deadPid();
      write(dir, '.out.jsonl.pref-lock', lockFile(pid));
      write(dir, `.out.jsonl.tmp-${pid}-deadbeef`, 'half a file left by kill -9');
      return ['convert', write(dir, 'in.jsonl', pairsJsonl(3)), join(dir, 'out.jsonl')];
    },
    expect: { code: 0, writes: ['out.jsonl', '.out.jsonl.pref-lock', '.out.jsonl.tmp-*'] },
  },
  {
    id: 'lock-of-a-reused-pid-is-taken-over',
    area: 'locks',
    setup: (dir) => {
      // The pid is alive (the test runner) but started at another time than the lock says.
      write(dir, '.out.jsonl.pref-lock', lockFile(process.ppid, { processStart: '1' }));
      return ['convert', write(dir, 'in.jsonl', pairsJsonl(3)), join(dir, 'out.jsonl')];
    },
    expect: { code: 0, writes: ['out.jsonl', '.out.jsonl.pref-lock'] },
  },
  {
    id: 'unreadable-lock-file',
    area: 'locks',
    setup: (dir) => {
      write(dir, '.out.jsonl.pref-lock', '');
      return ['convert', write(dir, 'in.jsonl', pairsJsonl(3)), join(dir, 'out.jsonl')];
    },
    expect: { code: 1, stderr: /a process whose lock file cannot be read.*remove .*\.out\.jsonl\.pref-lock/ },
  },
  {
    id: 'audit-locked-while-output-free',
    area: 'locks',
    setup: (dir) => {
      write(dir, '.a.jsonl.pref-lock', lockFile(process.ppid));
      return ['privatize', write(dir, 'm.jsonl', marginsJsonl(5)), '-o', join(dir, 'x.jsonl'), '--audit', join(dir, 'a.jsonl'), '--seed', '1'];
    },
    expect: { code: 1, stderr: /a\.jsonl: another pref run/, check: (dir) => mustNotExist(join(dir, '.x.jsonl.pref-lock')) },
  },
  {
    id: 'pipeline-folder-locked-by-a-live-run',
    area: 'locks',
    setup: (dir) => {
      write(dir, 'work/pipeline-state.json', '{"version":2,"pipeline":"privatize","steps":{}}');
      write(dir, 'work/.pref.lock', lockFile(process.ppid));
      return ['pipeline', 'privatize', '--in', write(dir, 'in.jsonl', pairsJsonl(3)), '--out', join(dir, 'work'), '--set', 'rng=crypto', '-q'];
    },
    expect: { code: 1, stderr: /work: another pref run is writing this output/ },
  },

  // ---------------------------------------------------------------- every failure an error
  {
    id: 'score-into-a-missing-folder',
    area: 'errors',
    setup: (dir) => ['score', write(dir, 'in.jsonl', pairsJsonl(3)), '-o', join(dir, 'new', 'deeper', 'scored.jsonl'), '--model', TINY_BERT, '-q'],
    expect: { code: 0, writes: ['new/deeper/scored.jsonl'] },
  },
  {
    id: 'output-under-a-file',
    area: 'errors',
    setup: (dir) => ['convert', write(dir, 'in.jsonl', pairsJsonl(3)), join(write(dir, 'plain.txt', 'x'), 'out.jsonl')],
    expect: { code: 1, stderr: /plain\.txt.*: cannot create the output folder: a part of the path is not a folder \(ENOTDIR\)/ },
  },
  {
    id: 'output-name-too-long',
    area: 'errors',
    setup: (dir) => ['convert', write(dir, 'in.jsonl', pairsJsonl(3)), join(dir, `${'x'.repeat(300)}.jsonl`)],
    expect: { code: 1, stderr: /file name is too long \(ENAMETOOLONG\)/ },
  },
  {
    id: 'missing-input',
    area: 'errors',
    setup: (dir) => ['convert', join(dir, 'nope.jsonl'), join(dir, 'out.jsonl')],
    expect: { code: 1, stderr: /nope\.jsonl/ },
  },
  {
    id: 'input-symlink-loop',
    area: 'errors',
    setup: (dir) => {
      symlinkSync(join(dir, 'b.jsonl'), join(dir, 'a.jsonl'));
      symlinkSync(join(dir, 'a.jsonl'), join(dir, 'b.jsonl'));
      return ['validate', join(dir, 'a.jsonl')];
    },
    expect: { code: 1, stderr: /a\.jsonl/ },
  },
  {
    id: 'csv-output-format',
    area: 'errors',
    setup: (dir) => ['convert', write(dir, 'in.jsonl', pairsJsonl(3)), join(dir, 'out.csv')],
    expect: { code: 1, stderr: /CSV is read-only/ },
  },
  {
    id: 'unknown-flag',
    area: 'errors',
    setup: (dir) => ['convert', write(dir, 'in.jsonl', pairsJsonl(3)), join(dir, 'out.jsonl'), '--overwrit'],
    expect: { code: 1, stderr: /unknown option '--overwrit'/ },
  },
  {
    id: 'resume-with-corrupt-checkpoint',
    area: 'errors',
    setup: (dir) => {
      write(dir, '.s.jsonl.checkpoint.json', '{"version":1,');
      write(dir, '.s.jsonl.partial', '');
      return ['score', write(dir, 'in.jsonl', pairsJsonl(3)), '-o', join(dir, 's.jsonl'), '--model', TINY_BERT, '--resume', '-q'];
    },
    expect: { code: 1, stderr: /checkpoint .* cannot be read/ },
  },

  {
    id: 'chat-template-syntax-error',
    area: 'errors',
    setup: (dir) => scoreChat(dir, '{% for %}{{ message }}'),
    expect: { code: 1, stderr: /chat template \(.*tokenizer_config\.json\): has a syntax error/ },
  },
  {
    id: 'chat-template-raises',
    area: 'errors',
    setup: (dir) => scoreChat(dir, "{{ raise_exception('only user/assistant roles are supported') }}"),
    expect: { code: 1, stderr: /chat template \(.*tokenizer_config\.json\): the template raised an exception: only user\/assistant roles/ },
  },
  {
    id: 'chat-template-calls-an-undefined-function',
    area: 'errors',
    setup: (dir) => scoreChat(dir, '{{ no_such_function(messages) }}'),
    expect: { code: 1, stderr: /chat template \(.*tokenizer_config\.json\): Cannot call something that is not a function/ },
  },
  {
    id: 'chat-input-without-a-chat-template',
    area: 'errors',
    setup: (dir) => scoreChat(dir, undefined),
    expect: { code: 1, stderr: /needs a chat template in .*\(chat_template\.jinja or tokenizer_config\.json chat_template\)/ },
  },

  // ---------------------------------------------------------------- hostile input (already handled on main)
  { id: 'empty-file', area: 'input', setup: (dir) => ['validate', write(dir, 'e.jsonl', '')], expect: { code: 1, stderr: /no rows/ } },
  { id: 'dev-null', area: 'input', setup: () => ['validate', '/dev/null', '--format', 'jsonl'], expect: { code: 1, stderr: /no rows/ } },
  { id: 'invalid-json-line', area: 'input', setup: (dir) => ['validate', write(dir, 'bad.jsonl', `${pairsJsonl(2)}{"prompt": "x",\n`)], expect: { code: 1, stderr: /bad\.jsonl:3/ } },
  { id: 'row-is-an-array', area: 'input', setup: (dir) => ['validate', write(dir, 'arr.jsonl', '["p","c","r"]\n')], expect: { code: 1, stderr: /arr\.jsonl:1/ } },
  { id: 'chosen-missing', area: 'input', setup: (dir) => ['validate', write(dir, 'm.jsonl', `${pairsJsonl(1)}{"prompt":"q","rejected":"r"}\n`)], expect: { code: 1, stderr: /m\.jsonl:2.*chosen/ } },
  { id: 'chosen-is-a-number', area: 'input', setup: (dir) => ['validate', write(dir, 'n.jsonl', `${pairsJsonl(1)}{"prompt":"q","chosen":5,"rejected":"r"}\n`)], expect: { code: 1, stderr: /n\.jsonl:2.*chosen/ } },
  { id: 'binary-garbage', area: 'input', setup: (dir) => ['validate', write(dir, 'g.jsonl', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)))], expect: { code: 1, stderr: /g\.jsonl/ } },
  { id: 'truncated-gzip', area: 'input', setup: (dir) => ['validate', write(dir, 't.jsonl.gz', gzipSync(pairsJsonl(200)).subarray(0, 300))], expect: { code: 1, stderr: /t\.jsonl\.gz/ } },
  { id: 'gzip-in-disguise', area: 'input', setup: (dir) => ['validate', write(dir, 'plain.jsonl', gzipSync(pairsJsonl(3)))], expect: { code: 0 } },
  { id: 'corrupt-parquet', area: 'input', setup: (dir) => ['validate', write(dir, 'c.parquet', Buffer.from('PAR1 this is not parquet at all PAR1'))], expect: { code: 1, stderr: /c\.parquet/ } },
  { id: 'unclosed-json-array', area: 'input', setup: (dir) => ['validate', write(dir, 'u.json', `[${JSON.stringify({ prompt: 'q', chosen: 'a', rejected: 'b' })},`)], expect: { code: 1, stderr: /u\.json/ } },
  { id: 'csv-unbalanced-quote', area: 'input', setup: (dir) => ['validate', write(dir, 'q.csv', 'prompt,chosen,rejected\n"q,a,b\n')], expect: { code: 1, stderr: /q\.csv/ } },
  { id: 'utf8-bom-and-crlf', area: 'input', setup: (dir) => ['validate', write(dir, 'bom.jsonl', `\ufeff${pairsJsonl(3).replace(/\n/g, '\r\n')}`)], expect: { code: 0 } },
  { id: 'nul-bytes-in-text', area: 'input', setup: (dir) => ['convert', write(dir, 'nul.jsonl', `${JSON.stringify({ prompt: 'a\u0000b', chosen: 'c', rejected: 'd' })}\n`), join(dir, 'out.jsonl')], expect: { code: 0, writes: ['out.jsonl'] } },
  { id: 'large-single-line', area: 'input', setup: (dir) => ['convert', write(dir, 'big.jsonl', `${JSON.stringify({ prompt: 'x'.repeat(4 << 20), chosen: 'c', rejected: 'd' })}\n`), join(dir, 'out.jsonl.gz')], expect: { code: 0, writes: ['out.jsonl.gz'] } },
  {
    id: 'deeply-nested-value-to-jsonl',
    area: 'errors',
    setup: (dir) => ['convert', write(dir, 'deep.jsonl', `{"prompt":"p","chosen":"c","rejected":"r","x":${'['.repeat(100_000)}${']'.repeat(100_000)}}\n`), join(dir, 'out.jsonl')],
    // refused when read, naming the line and the limit, before anything is written
    expect: { code: 1, stderr: /deep\.jsonl:1: .*nested at most 1000 deep/ },
  },
  { id: 'hf-folder-missing-arrow-file', area: 'input', setup: (dir) => { write(dir, 'ds/state.json', '{"_data_files":[{"filename":"data-00000-of-00001.arrow"}]}'); return ['validate', join(dir, 'ds')]; }, expect: { code: 1, stderr: /data-00000-of-00001\.arrow/ } },
  { id: 'unknown-output-extension', area: 'input', setup: (dir) => ['convert', write(dir, 'in.jsonl', pairsJsonl(3)), join(dir, 'out.xyz')], expect: { code: 1, stderr: /cannot tell the format/ } },
  { id: 'spaces-and-unicode-in-paths', area: 'input', setup: (dir) => ['convert', write(dir, 'dätä sët/in put.jsonl', pairsJsonl(3)), join(dir, 'dätä sët', 'öut put.parquet')], expect: { code: 0, writes: ['dätä sët/öut put.parquet'] } },
];

function mustNotExist(path: string): void {
  try {
    readFileSync(path);
  } catch {
    return;
  }
  throw new Error(`${path} should not exist`);
}
