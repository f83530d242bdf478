import { chmodSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { marginsFile } from '@pref/margins';
import { prepareFile, privatizeFile } from './index';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pref-privacy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const readJsonl = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
const reference = JSON.parse(readFileSync(`${fixtures}reference.json`, 'utf8')) as { seed: string; keys: string[]; mechanisms: Record<string, { flipped: number[] }> };

describe('margins → privatize → prepare on files', () => {
  it('reproduces the reference flips end to end and writes only prompt/chosen/rejected to the train-ready file', async () => {
    // records.jsonl already carries margin_normalized from the Python reference (z-score of clipped margins);
    // recompute it with `marginsFile` from the scores and check it agrees before privatizing.
    const scored = join(dir, 'scored.jsonl');
    writeFileSync(scored, readJsonl(`${fixtures}records.jsonl`).map(({ margin_normalized: _m, ...r }) => JSON.stringify(r)).join('\n') + '\n');
    const withMargins = join(dir, 'margins.jsonl');
    const stats = await marginsFile(scored, withMargins);
    expect(stats.rows).toBe(200);
    const original = readJsonl(`${fixtures}records.jsonl`);
    readJsonl(withMargins).forEach((r, i) => expect(Math.abs((r.margin_normalized as number) - (original[i]!.margin_normalized as number))).toBeLessThan(1e-12));

    const out = join(dir, 'private.jsonl');
    const { summary, written } = await privatizeFile(withMargins, out, {
      mechanism: 'margin-sigmoid',
      epsilon: 1,
      seed: reference.seed,
      audit: join(dir, 'audit.jsonl'),
      summary: join(dir, 'summary.json'),
      trainReady: join(dir, 'train-direct.jsonl'),
    });
    expect(written).toBe(200);
    const audit = readJsonl(join(dir, 'audit.jsonl'));
    expect(audit.map((a) => (a.flipped ? 1 : 0))).toEqual(reference.mechanisms['margin-sigmoid']!.flipped);
    expect(audit.map((a) => a.key)).toEqual(reference.keys);
    expect(audit.map((a) => a.line)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(summary)));
    // the privatized data carries no audit columns
    for (const r of readJsonl(out)) expect(Object.keys(r).some((k) => k === 'p_keep' || k === 'flipped' || k === 'flip_probability')).toBe(false);
    // no per-side reward-model columns by default (their sign tells the flips)
    for (const r of readJsonl(out)) expect(Object.keys(r).sort()).toEqual(r.id === undefined ? ['chosen', 'prompt', 'rejected'] : ['chosen', 'id', 'prompt', 'rejected']);
    expect(summary.guarantee.dropped_columns).toEqual(expect.arrayContaining(['chosen_score', 'rejected_score', 'margin_raw', 'margin_clipped', 'margin_normalized']));
    // the audit (true labels) is owner-only, and stays so on a rerun even after a chmod
    expect(statSync(join(dir, 'audit.jsonl')).mode & 0o777).toBe(0o600);
    chmodSync(join(dir, 'audit.jsonl'), 0o644);
    await privatizeFile(withMargins, out, { epsilon: 1, seed: reference.seed, audit: join(dir, 'audit.jsonl') });
    expect(statSync(join(dir, 'audit.jsonl')).mode & 0o777).toBe(0o600);

    const train = join(dir, 'train.jsonl');
    const prepared = await prepareFile(out, train, { includeId: true });
    expect(prepared).toEqual({ written: 200, rejected: 0 });
    const rows = readJsonl(train);
    for (const r of rows) expect(Object.keys(r).every((k) => ['id', 'prompt', 'chosen', 'rejected'].includes(k))).toBe(true);
    // 20 fixture records have no id: they get the content hash of the texts as written (not of the original order)
    expect(rows.filter((r) => typeof r.id === 'string' && /^pair-/.test(r.id)).length).toBe(180);
    expect(rows.filter((r) => typeof r.id === 'string' && /^[0-9a-f]{64}$/.test(r.id)).length).toBe(20);
    for (const r of readJsonl(join(dir, 'train-direct.jsonl'))) expect(Object.keys(r).sort()).toEqual(['chosen', 'prompt', 'rejected']);
    const flipped = reference.mechanisms['margin-sigmoid']!.flipped;
    rows.forEach((r, i) => expect(r.chosen).toBe(flipped[i] ? original[i]!.rejected : original[i]!.chosen));
  });

  it('--sort-by-key: byte-identical outputs and summary for shuffled input', async () => {
    const lines = readFileSync(`${fixtures}records.jsonl`, 'utf8').trim().split('\n');
    const shuffled = fc.sample(fc.shuffledSubarray(lines, { minLength: lines.length, maxLength: lines.length }), { numRuns: 1, seed: 11 })[0]!;
    expect(shuffled).not.toEqual(lines);
    writeFileSync(join(dir, 'a.jsonl'), `${lines.join('\n')}\n`);
    writeFileSync(join(dir, 'b.jsonl'), `${shuffled.join('\n')}\n`);
    for (const name of ['a', 'b']) {
      await privatizeFile(join(dir, `${name}.jsonl`), join(dir, `${name}.out.jsonl`), {
        mechanism: 'randomized-response', epsilon: 0.5, seed: 'sorted', sortByKey: true,
        audit: join(dir, `${name}.audit.jsonl`), summary: join(dir, `${name}.summary.json`),
      });
    }
    for (const suffix of ['out.jsonl', 'audit.jsonl', 'summary.json']) {
      expect(readFileSync(join(dir, `b.${suffix}`), 'utf8')).toBe(readFileSync(join(dir, `a.${suffix}`), 'utf8'));
    }
  });

  it('prepare: malformed lines go to the rejects file with line numbers; nothing is dropped silently', async () => {
    const input = join(dir, 'mixed.jsonl');
    writeFileSync(
      input,
      [
        JSON.stringify({ id: 'a', prompt: 'p', chosen: 'c', rejected: 'r', chosen_score: 1, metadata: { x: 1 } }),
        '{"prompt": "p", "chosen": ', // broken JSON
        JSON.stringify({ prompt: 'p', chosen: 3, rejected: 'r' }),
        JSON.stringify({ prompt: 'p2', chosen: 'c2', rejected: 'r2', p_keep: 0.9, flipped: true }),
        JSON.stringify({ prompt: 'p3', rejected: 'r3' }),
      ].join('\n') + '\n',
    );
    const output = join(dir, 'mixed.train.jsonl');
    const result = await prepareFile(input, output);
    expect(result).toEqual({ written: 2, rejected: 3, rejectsPath: join(dir, 'mixed.train.rejects.jsonl') });
    expect(readJsonl(output)).toEqual([{ prompt: 'p', chosen: 'c', rejected: 'r' }, { prompt: 'p2', chosen: 'c2', rejected: 'r2' }]);
    const rejects = readJsonl(result.rejectsPath!);
    expect(rejects.map((r) => [r.line, r.field ?? null])).toEqual([[2, null], [3, 'chosen'], [5, 'chosen']]);
    expect(rejects.every((r) => typeof r.message === 'string' && (r.message).includes('mixed.jsonl:'))).toBe(true);
  });

  it('a failing run leaves no output, audit or temp files behind', async () => {
    const input = join(dir, 'nomargin.jsonl');
    writeFileSync(input, `${JSON.stringify({ id: 'x', prompt: 'p', chosen: 'c', rejected: 'r', margin_raw: 0.1 })}\n${JSON.stringify({ id: 'y', prompt: 'p', chosen: 'c', rejected: 'r' })}\n`);
    const before = readdirSync(dir).length;
    await expect(privatizeFile(input, join(dir, 'fail.out.jsonl'), { seed: 1, audit: join(dir, 'fail.audit.jsonl') })).rejects.toThrow(/nomargin\.jsonl:2: field "chosen_score"/);
    expect(readdirSync(dir).length).toBe(before);
    const rr = join(dir, 'rr-bad.jsonl');
    writeFileSync(rr, `${JSON.stringify({ id: 'x', prompt: 'p', chosen: 'c', rejected: 'r' })}\n{"broken\n`);
    await expect(privatizeFile(rr, join(dir, 'fail2.out.jsonl'), { mechanism: 'randomized-response', seed: 1, audit: join(dir, 'fail2.audit.jsonl') })).rejects.toThrow();
    expect(readdirSync(dir).length).toBe(before + 1);
  });

  it('pdpo writes PDPO\'s clipping_info.json and its summary keys', async () => {
    const ref = JSON.parse(readFileSync(`${fixtures}reference.json`, 'utf8')) as { mechanisms: { pdpo: { clipping_info: Record<string, number>; flipped: number[] } } };
    const { summary } = await privatizeFile(`${fixtures}records.jsonl`, join(dir, 'pdpo.jsonl'), { mechanism: 'pdpo', epsilon: 2, seed: reference.seed, clippingInfo: join(dir, 'clipping_info.json'), audit: join(dir, 'pdpo.audit.jsonl') });
    const info = JSON.parse(readFileSync(join(dir, 'clipping_info.json'), 'utf8')) as Record<string, number>;
    expect(Object.keys(info)).toEqual(['lower_percentile', 'upper_percentile', 'lower_bound', 'upper_bound', 'clipping_range', 'dp_sensitivity', 'num_examples', 'clipped_lower_count', 'clipped_upper_count', 'clipped_total_count']);
    for (const [key, value] of Object.entries(ref.mechanisms.pdpo.clipping_info)) expect(Math.abs((info[key] as number) - value)).toBeLessThan(1e-12);
    expect(readJsonl(join(dir, 'pdpo.audit.jsonl')).map((a) => (a.flipped ? 1 : 0))).toEqual(ref.mechanisms.pdpo.flipped);
    expect(summary.mechanism).toBe('Binary Exponential Mechanism (RR-with-prior)');
    expect(summary.guarantee.label_dp).toBe(false);
  });
});

describe('the audit temp file on SIGTERM', () => {
  it('is created 0600 and removed when the process is told to stop', async () => {
    const { spawn } = await import('node:child_process');
    const sub = mkdtempSync(join(dir, 'signal-'));
    const input = join(sub, 'in.jsonl');
    writeFileSync(input, Array.from({ length: 60_000 }, (_, i) => JSON.stringify({ id: `s${i}`, prompt: 'p', chosen: `c${i}`, rejected: `r${i}` })).join('\n') + '\n');
    const script = join(sub, 'run.mts');
    const entry = fileURLToPath(new URL('./index.ts', import.meta.url));
    // progress callbacks sleep, so the run is still going when the signal comes
    writeFileSync(
      script,
      `import { privatizeFile } from ${JSON.stringify(entry)};\n` +
        `const pause = new Int32Array(new SharedArrayBuffer(4));\n` +
        `await privatizeFile(${JSON.stringify(input)}, ${JSON.stringify(join(sub, 'out.jsonl'))}, { mechanism: 'randomized-response', rng: 'crypto', audit: ${JSON.stringify(join(sub, 'audit.jsonl'))}, onProgress: () => Atomics.wait(pause, 0, 0, 200) });\n`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ? -1 : code)));
    let temp: string | undefined;
    for (let tries = 0; tries < 600 && !temp; tries++) {
      temp = readdirSync(sub).find((name) => name.startsWith('.audit.jsonl.tmp-'));
      if (!temp) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(temp, 'the audit temp file appeared').toBeDefined();
    expect(statSync(join(sub, temp as string)).mode & 0o777).toBe(0o600);
    child.kill('SIGTERM');
    expect(await exited).toBe(-1);
    expect(readdirSync(sub).filter((name) => name.includes('audit'))).toEqual([]);
  }, 60_000);
});
