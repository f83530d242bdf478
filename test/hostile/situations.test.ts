/**
 * Situations around the commands that write: a full disk and a read-only folder (small tmpfs mounts,
 * when running as root as CI does; skipped otherwise, except read-only which falls back to chmod),
 * kill -9 and SIGTERM in the middle of a run, and a second run on the same output while the first
 * one is alive.
 *
 * Child processes run the CLI from source (test/hostile/support/register-source.mjs + tsx), so no
 * build is needed. Waits poll the file system for the state a child must reach (no timing asserted).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCapturing } from '../../packages/cli/src/testing/run-cli';
import { TINY_BERT, marginsJsonl, pairsJsonl } from './corpus';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'pref-situations-'));
const isRoot = process.getuid?.() === 0;
const mounts: string[] = [];

function mountTmpfs(path: string, options: string): boolean {
  mkdirSync(path, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', path], { stdio: 'ignore' });
    mounts.push(path);
    return true;
  } catch {
    return false;
  }
}

afterAll(() => {
  for (const path of mounts.reverse()) {
    try {
      execFileSync('umount', [path], { stdio: 'ignore' });
    } catch {
      // left for the OS
    }
  }
  rmSync(root, { recursive: true, force: true });
});

/** Text that gzip cannot shrink much (so a .jsonl.gz output fills the disk too). */
function noise(seed: number, length: number): string {
  let state = seed >>> 0;
  let text = '';
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    text += String.fromCharCode(97 + (state >>> 27));
  }
  return text;
}

/** Every file (not folder) under `dir`, relative. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (folder: string, prefix: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(folder, entry.name), `${prefix}${entry.name}/`);
      else out.push(`${prefix}${entry.name}`);
    }
  };
  walk(dir, '');
  return out.sort();
}

describe.skipIf(!isRoot)('disk full (tmpfs of 256 KiB; 32 KiB for the model runs)', () => {
  const full = join(root, 'full');
  const small = join(root, 'full-small');
  const data = join(root, 'full-inputs');
  let mounted = false;
  beforeAll(() => {
    mounted = mountTmpfs(full, 'size=256k') && mountTmpfs(small, 'size=32k');
    mkdirSync(data, { recursive: true });
    const big = (n: number, extra: (i: number) => Record<string, unknown> = () => ({})) =>
      Array.from({ length: n }, (_, i) => `${JSON.stringify({ id: `p${i}`, prompt: noise(i, 200), chosen: noise(i + 1e6, 600), rejected: noise(i + 2e6, 600), ...extra(i) })}\n`).join('');
    writeFileSync(join(data, 'pairs.jsonl'), big(600));
    writeFileSync(join(data, 'margins.jsonl'), big(600, (i) => ({ chosen_score: i % 5, rejected_score: 0, margin_raw: i % 5, margin_clipped: i % 5, margin_normalized: (i % 5) - 2 })));
    writeFileSync(join(data, 'gaps.jsonl'), big(600, (i) => ({ reward_gap: i })));
    writeFileSync(join(data, 'generations.jsonl'), Array.from({ length: 300 }, (_, i) => `${JSON.stringify({ prompt: noise(i, 300), generations: [noise(i + 5e6, 900), noise(i + 6e6, 900)], scores: [1, 0] })}\n`).join(''));
    // Few short pairs: their scored rows fill the 32 KiB disk while scoring stays quick.
    writeFileSync(join(data, 'score-in.jsonl'), Array.from({ length: 40 }, (_, i) => `${JSON.stringify({ id: `s${i}`, prompt: noise(i, 100), chosen: noise(i + 1e6, 600), rejected: noise(i + 2e6, 600) })}\n`).join(''));
  });

  const cases: [string, (d: string, f: string) => string[]][] = [
    ['convert .jsonl', (d, f) => ['convert', join(d, 'pairs.jsonl'), join(f, 'out.jsonl')]],
    ['convert .jsonl.gz', (d, f) => ['convert', join(d, 'pairs.jsonl'), join(f, 'out.jsonl.gz')]],
    ['convert .json', (d, f) => ['convert', join(d, 'pairs.jsonl'), join(f, 'out.json')]],
    ['convert .parquet', (d, f) => ['convert', join(d, 'pairs.jsonl'), join(f, 'out.parquet')]],
    ['convert HF folder', (d, f) => ['convert', join(d, 'pairs.jsonl'), join(f, 'outdir')]],
    ['gold', (d, f) => ['gold', join(d, 'pairs.jsonl'), '--fn', 'bagofwords', '-o', join(f, 'gold.jsonl'), '-q']],
    ['margins', (d, f) => ['margins', join(d, 'margins.jsonl'), '-o', join(f, 'm.jsonl'), '-q']],
    ['privatize', (d, f) => ['privatize', join(d, 'margins.jsonl'), '-o', join(f, 'p.jsonl'), '--seed', '1', '-q']],
    ['prepare', (d, f) => ['prepare', join(d, 'pairs.jsonl'), '-o', join(f, 't.parquet'), '-q']],
    ['select', (d, f) => ['select', join(d, 'gaps.jsonl'), '-o', join(f, 'sel.json'), '--ratio', '1', '-q']],
    ['pairs', (d, f) => ['pairs', join(d, 'generations.jsonl'), '-o', join(f, 'pairs.jsonl'), '-q']],
    ['synth', (_d, f) => ['synth', '--n', '3000', '-o', join(f, 'synth.jsonl.gz'), '-q']],
  ];

  beforeEach(() => {
    if (mounted) for (const folder of [full, small]) for (const entry of readdirSync(folder)) rmSync(join(folder, entry), { recursive: true, force: true });
  });

  it('score into .parquet (not resumable): exit 1 naming the full disk, no temp file left', async () => {
    if (!mounted) return;
    const { code, stderr } = await runCapturing('score', join(data, 'score-in.jsonl'), '-o', join(small, 's.parquet'), '--model', TINY_BERT, '-q');
    expect(stderr).toMatch(/no space left on the device .*\(ENOSPC\)/);
    expect(code).toBe(1);
    expect(filesUnder(small)).toEqual([]);
  });

  it.each(cases)('%s: exit 1 naming the full disk, no temp file left', async (_name, args) => {
    if (!mounted) return;
    const { code, stderr } = await runCapturing(...args(data, full));
    expect(stderr).not.toMatch(/unexpected error|\n\s+at /);
    expect(stderr).toMatch(/no space left on the device .*\(ENOSPC\)/);
    expect(code).toBe(1);
    expect(filesUnder(full)).toEqual([]);
    rmSync(join(full, 'outdir'), { recursive: true, force: true });
  });

  it('score into .jsonl: exit 1; with nothing scored yet, no partial file or checkpoint is left', async () => {
    if (!mounted) return;
    const { code, stderr } = await runCapturing('score', join(data, 'score-in.jsonl'), '-o', join(small, 's.jsonl'), '--model', TINY_BERT, '-q');
    expect(stderr).toMatch(/no space left on the device/);
    expect(code).toBe(1);
    expect(filesUnder(small)).toEqual([]);
  });

  it('pipeline privatize: exit 1, the pipeline folder keeps only its state file', async () => {
    if (!mounted) return;
    const { code, stderr } = await runCapturing('pipeline', 'privatize', '--in', join(data, 'score-in.jsonl'), '--set', 'rng=crypto', '--out', join(small, 'work'), '-q');
    expect(stderr).toMatch(/no space left on the device/);
    expect(code).toBe(1);
    expect(filesUnder(small)).toEqual(['work/pipeline-state.json']);
  });
});

describe('read-only output folder', () => {
  const readonly = join(root, 'readonly');
  let ready = false;
  beforeAll(() => {
    if (isRoot) ready = mountTmpfs(readonly, 'size=64k,ro');
    else {
      mkdirSync(readonly, { recursive: true });
      chmodSync(readonly, 0o555);
      ready = true;
    }
    writeFileSync(join(root, 'ro-in.jsonl'), pairsJsonl(20));
    writeFileSync(join(root, 'ro-m.jsonl'), marginsJsonl(20));
  });
  afterAll(() => {
    if (!isRoot && existsSync(readonly)) chmodSync(readonly, 0o755);
  });

  it.each([
    ['convert .jsonl', () => ['convert', join(root, 'ro-in.jsonl'), join(readonly, 'o.jsonl')]],
    ['convert .jsonl.gz', () => ['convert', join(root, 'ro-in.jsonl'), join(readonly, 'o.jsonl.gz')]],
    ['convert .parquet', () => ['convert', join(root, 'ro-in.jsonl'), join(readonly, 'o.parquet')]],
    ['convert HF folder', () => ['convert', join(root, 'ro-in.jsonl'), join(readonly, 'ds')]],
    ['convert into a missing folder below it', () => ['convert', join(root, 'ro-in.jsonl'), join(readonly, 'sub', 'o.jsonl')]],
    ['privatize', () => ['privatize', join(root, 'ro-m.jsonl'), '-o', join(readonly, 'p.jsonl'), '--seed', '1', '-q']],
    ['score', () => ['score', join(root, 'ro-in.jsonl'), '-o', join(readonly, 's.jsonl'), '--model', TINY_BERT, '-q']],
    ['pipeline', () => ['pipeline', 'privatize', '--in', join(root, 'ro-in.jsonl'), '--set', 'rng=crypto', '--out', join(readonly, 'work'), '-q']],
  ] as const)('%s: exit 1 naming the path and the reason', async (_name, args) => {
    if (!ready) return;
    const { code, stderr } = await runCapturing(...args());
    expect(stderr).not.toMatch(/unexpected error|\n\s+at /);
    expect(stderr).toMatch(new RegExp(`${readonly}.*(read-only \\(EROFS\\)|permission denied \\(EACCES\\))`));
    expect(code).toBe(1);
  });
});

// ---------------------------------------------------------------- signals and concurrent runs

const bin = join(repo, 'packages/cli/src/bin.ts');
const register = join(repo, 'test/hostile/support/register-source.mjs');

/**
 * How to start the CLI: the built `dist/bin.js` when every package's build is newer than every
 * source file (CI builds before testing; it starts several times faster), the sources through tsx
 * otherwise (a stale build would test old code).
 */
function cliEntry(): string[] {
  const packagesDir = join(repo, 'packages');
  let newestSource = 0;
  let oldestBuild = Number.POSITIVE_INFINITY;
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(folder, entry.name));
      else newestSource = Math.max(newestSource, statSync(join(folder, entry.name)).mtimeMs);
    }
  };
  for (const name of readdirSync(packagesDir)) {
    if (!existsSync(join(packagesDir, name, 'src'))) continue;
    walk(join(packagesDir, name, 'src'));
    const built = join(packagesDir, name, 'dist', name === 'cli' ? 'bin.js' : 'index.js');
    oldestBuild = Math.min(oldestBuild, existsSync(built) ? statSync(built).mtimeMs : 0);
  }
  return oldestBuild >= newestSource ? [join(packagesDir, 'cli', 'dist', 'bin.js')] : ['--import', register, '--import', 'tsx', bin];
}

const entry = cliEntry();

function startCli(args: string[]): ChildProcess & { stderrText: () => string } {
  const child = spawn(process.execPath, [...entry, ...args], { cwd: repo, stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  return Object.assign(child, { stderrText: () => stderr });
}

async function waitFor(what: string, condition: () => boolean, child: ChildProcess & { stderrText: () => string }): Promise<void> {
  // Polls until the child reached the state; fails only if it exits first or after a long deadline.
  for (let i = 0; i < 2400; i++) {
    if (condition()) return;
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`child ended before ${what}: ${child.stderrText()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`child never reached ${what}: ${child.stderrText()}`);
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

const hasTemp = (dir: string, name: string) => readdirSync(dir).some((entry) => entry.startsWith(`.${name}.tmp-`));

function processStart(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

describe('kill -9, SIGTERM and a second run while the first is alive', () => {
  const dir = join(root, 'signals');
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('every command that writes', { timeout: 240_000 }, async () => {
    mkdirSync(dir, { recursive: true });
    const old = 'old content pref must keep\n';
    for (const name of ['a.jsonl', 'k.jsonl', 'p.jsonl']) writeFileSync(join(dir, name), old);
    execFileSync('mkfifo', [join(dir, 'in.fifo')]);
    const rows = pairsJsonl(50);

    // A: convert streaming from stdin (its temp file is open); E: the same, to be killed with -9.
    const a = startCli(['convert', '-', join(dir, 'a.jsonl'), '-q']);
    const e = startCli(['convert', '-', join(dir, 'k.jsonl'), '-q']);
    // B: privatize waiting for its input (reads everything first), holding the locks of its outputs.
    const b = startCli(['privatize', '-', '-o', join(dir, 'p.jsonl'), '--audit', join(dir, 'pa.jsonl'), '--mechanism', 'randomized-response', '--seed', '1', '-q']);
    // C: a pipeline hashing an input that never comes (a FIFO), holding OUT/.pref.lock.
    const c = startCli(['pipeline', 'privatize', '--in', join(dir, 'in.fifo'), '--set', 'rng=crypto', '--out', join(dir, 'work'), '-q']);
    children.push(a, b, c, e);
    a.stdin!.write(rows);
    e.stdin!.write(rows);
    await waitFor('a temp file of a.jsonl', () => hasTemp(dir, 'a.jsonl') && existsSync(join(dir, '.a.jsonl.pref-lock')), a);
    await waitFor('a temp file of k.jsonl', () => hasTemp(dir, 'k.jsonl') && existsSync(join(dir, '.k.jsonl.pref-lock')), e);
    await waitFor('the locks of p.jsonl and pa.jsonl', () => existsSync(join(dir, '.p.jsonl.pref-lock')) && existsSync(join(dir, '.pa.jsonl.pref-lock')), b);
    await waitFor('the lock of work/', () => existsSync(join(dir, 'work', '.pref.lock')), c);

    // A second run on each output fails, naming the live holder.
    const holderOf = (pid: number) => new RegExp(`another pref run is writing this output \\(pid ${pid} on `);
    writeFileSync(join(dir, 'in.jsonl'), rows);
    let second = await runCapturing('convert', join(dir, 'in.jsonl'), join(dir, 'a.jsonl'));
    expect(second.stderr).toMatch(holderOf(a.pid!));
    expect(second.code).toBe(1);
    second = await runCapturing('privatize', join(dir, 'in.jsonl'), '-o', join(dir, 'other.jsonl'), '--audit', join(dir, 'pa.jsonl'), '--seed', '1');
    expect(second.stderr).toMatch(holderOf(b.pid!));
    second = await runCapturing('pipeline', 'privatize', '--in', join(dir, 'in.jsonl'), '--set', 'rng=crypto', '--out', join(dir, 'work'), '-q');
    expect(second.stderr).toMatch(holderOf(c.pid!));
    expect(second.code).toBe(1);

    // The other commands: their output locked by a live process (A), as a concurrent run of theirs would.
    const live = JSON.stringify({ pid: a.pid, host: hostname(), startedAt: new Date().toISOString(), processStart: processStart(a.pid!), command: 'pref (concurrent run)' });
    writeFileSync(join(dir, 'm.jsonl'), marginsJsonl(10));
    writeFileSync(join(dir, 'g.jsonl'), `${JSON.stringify({ prompt: 'q', generations: ['a', 'b'], scores: [1, 0] })}\n`);
    const others: [string, string[]][] = [
      ['x-score.jsonl', ['score', join(dir, 'in.jsonl'), '--model', TINY_BERT]],
      ['x-gold.jsonl', ['gold', join(dir, 'in.jsonl'), '--fn', 'bagofwords']],
      ['x-margins.jsonl', ['margins', join(dir, 'm.jsonl')]],
      ['x-prepare.jsonl', ['prepare', join(dir, 'in.jsonl')]],
      ['x-select.jsonl', ['select', join(dir, 'm.jsonl'), '--ratio', '0.5', '--by', 'margin']],
      ['x-pairs.jsonl', ['pairs', join(dir, 'g.jsonl')]],
      ['x-synth.jsonl', ['synth', '--n', '3']],
      ['x-logprobs.jsonl', ['logprobs', join(dir, 'in.jsonl')]],
      ['x-model', ['train-rm', join(dir, 'in.jsonl'), '--epochs', '1']],
      ['x-quantized', ['quantize', '--model', TINY_BERT]],
    ];
    for (const [output, args] of others) {
      writeFileSync(join(dir, `.${output}.pref-lock`), live);
      const run = await runCapturing(...args, '-o', join(dir, output));
      expect(run.stderr, args[0]).toMatch(holderOf(a.pid!));
      expect(run.code).toBe(1);
      rmSync(join(dir, `.${output}.pref-lock`));
    }

    // SIGTERM / SIGINT: the process ends by the signal; its temp files and locks are gone, old outputs intact.
    a.kill('SIGTERM');
    b.kill('SIGINT');
    expect(await exited(a)).toEqual({ code: null, signal: 'SIGTERM' });
    expect(await exited(b)).toEqual({ code: null, signal: 'SIGINT' });
    expect(hasTemp(dir, 'a.jsonl')).toBe(false);
    for (const lock of ['.a.jsonl.pref-lock', '.p.jsonl.pref-lock', '.pa.jsonl.pref-lock']) expect(existsSync(join(dir, lock)), lock).toBe(false);
    expect(readFileSync(join(dir, 'a.jsonl'), 'utf8')).toBe(old);
    expect(readFileSync(join(dir, 'p.jsonl'), 'utf8')).toBe(old);

    // kill -9: the output keeps its old content; the temp file and lock stay until the next run,
    // which takes the lock over and removes the dead run's temp file.
    e.kill('SIGKILL');
    c.kill('SIGKILL');
    expect((await exited(e)).signal).toBe('SIGKILL');
    expect((await exited(c)).signal).toBe('SIGKILL');
    expect(readFileSync(join(dir, 'k.jsonl'), 'utf8')).toBe(old);
    expect(hasTemp(dir, 'k.jsonl')).toBe(true);
    const rerun = await runCapturing('convert', join(dir, 'in.jsonl'), join(dir, 'k.jsonl'), '-q');
    expect(rerun.code).toBe(0);
    expect(readFileSync(join(dir, 'k.jsonl'), 'utf8')).toBe(rows);
    expect(hasTemp(dir, 'k.jsonl')).toBe(false);
    expect(existsSync(join(dir, '.k.jsonl.pref-lock'))).toBe(false);
    // The killed pipeline's lock is taken over: the rerun gets as far as reading its (missing) input.
    const pipelineRerun = await runCapturing('pipeline', 'privatize', '--in', join(dir, 'missing.jsonl'), '--set', 'rng=crypto', '--out', join(dir, 'work'), '-q');
    expect(pipelineRerun.stderr).toMatch(/missing\.jsonl does not exist/);
    expect(existsSync(join(dir, 'work', '.pref.lock'))).toBe(false);
  });
});
