import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CandidateGenerator, CandidateItem } from './candidates';
import { CollectSession, firstFreeNumber } from './collect-session';
import { collectStats } from './collect-stats';
import { readJournal } from './journal';

const root = mkdtempSync(join(tmpdir(), 'pref-collect-session-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = () => join(root, `run-${++counter}`);

const items: CandidateItem[] = Array.from({ length: 6 }, (_, i) => ({ id: `q${i}`, prompt: `prompt ${i}`, a: `A${i}`, b: `B${i}`, category: i % 2 ? 'odd' : 'even' }));
const source = { kind: 'items' as const, items, description: 'test pairs' };

describe('CollectSession', () => {
  it('journals decisions, writes the upstream layout, and resumes after a restart', async () => {
    const outDir = freshDir();
    const first = await CollectSession.open({ outDir, source, seed: 's1' });
    expect(first.datasetJsonPath).toBe(join(outDir, 'user_collected', 'user_preferences_001.json'));
    const shown = (await first.next('ann'))!;
    expect(shown.index).toBe(0);
    // The left side is the seeded draw, and the texts follow it.
    expect(shown.left).toBe(shown.leftSide === 'a' ? 'A0' : 'B0');
    await first.decide('ann', 0, 'left', { note: 'clearer', category: 'custom' });
    const second = (await first.next('ann'))!;
    await first.decide('ann', second.index, 'tie');
    const third = (await first.next('ann'))!;
    await first.decide('ann', third.index, 'skip');
    await first.flush();
    const dataset = JSON.parse(readFileSync(first.datasetJsonPath, 'utf8')) as Array<{ prompt: string; chosen: string; rejected: string; metadata: Record<string, unknown> }>;
    expect(dataset).toHaveLength(1);
    expect(dataset[0]).toMatchObject({ prompt: 'prompt 0', chosen: shown.left, rejected: shown.right, metadata: { category: 'custom', quality: 'medium', source: 'user_collected', item_id: 'q0', notes: ['clearer'], annotators: ['ann'] } });
    expect(readFileSync(first.datasetJsonlPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l))).toEqual(dataset);
    // A second writer on the same journal is refused while the first holds it.
    await expect(CollectSession.open({ outDir, source })).rejects.toThrow(/in use by process/);
    // Simulate kill -9: a half-written line at the end of the journal, and a lock left by a dead process.
    await first.close();
    appendFileSync(first.journalPath, '{"type":"decision","seq":99,"ind');
    writeFileSync(`${first.journalPath}.lock`, '2147483646\n');
    const resumed = await CollectSession.open({ outDir, source });
    expect(resumed.session.seed).toBe('s1');
    const progress = resumed.progress('ann');
    expect(progress).toMatchObject({ total: 6, labels: 2, ties: 1, skips: 1, pairs: 1, mine: 3 });
    expect((await resumed.next('ann'))!.index).toBe(3);
    expect(readFileSync(resumed.journalPath, 'utf8').endsWith('\n')).toBe(true);
    await resumed.close();
  });

  it('undo withdraws the latest decision and shows its item again', async () => {
    const session = await CollectSession.open({ outDir: freshDir(), source, seed: 'u' });
    await session.next('x');
    await session.decide('x', 0, 'right');
    await session.next('x');
    await session.decide('x', 1, 'left');
    const undone = await session.undo('x');
    expect(undone!.index).toBe(1);
    expect((await session.next('x'))!.index).toBe(1);
    expect(session.progress('x').labels).toBe(1);
    await session.decide('x', 1, 'tie');
    expect(await session.decide('x', 1, 'left').catch((e: Error) => e.message)).toMatch(/already decided/);
    await session.close();
    const stats = collectStats(readJournal(session.journalPath));
    expect(stats).toMatchObject({ decisions: 2, undos: 1, labels: 2, ties: 1 });
  });

  it('k annotators per item; leases give two pages different items when k = 1', async () => {
    const k1 = await CollectSession.open({ outDir: freshDir(), source, seed: 'k' });
    const a = (await k1.next('alice'))!;
    const b = (await k1.next('bob'))!;
    expect(a.index).toBe(0);
    expect(b.index).toBe(1);
    await k1.close();
    const k2 = await CollectSession.open({ outDir: freshDir(), source, seed: 'k', k: 2 });
    for (let i = 0; i < 6; i++) {
      for (const who of ['alice', 'bob', 'carol']) {
        const item = await k2.next(who);
        if (item === null) continue;
        await k2.decide(who, item.index, who === 'carol' ? 'left' : item.leftSide === 'a' ? 'left' : 'right');
      }
    }
    // 6 items × 2 labels = 12 labels; nobody labels an item twice.
    expect(k2.progress()).toMatchObject({ complete: 6, labels: 12 });
    expect(await k2.next('dave')).toBeNull();
    await k2.close();
    const stats = collectStats(readJournal(k2.journalPath));
    expect(stats.labels).toBe(12);
    expect(stats.fleiss?.raters).toBe(2);
    const alice = stats.annotators.find((s) => s.annotator === 'alice')!;
    expect(alice.left + alice.right).toBe(alice.decisions);
    // alice and bob always pick candidate a, so where both labeled they agree.
    const ab = stats.cohen.find((c) => c.annotators.join() === 'alice,bob');
    if (ab) expect(ab.kappa === 1 || Number.isNaN(ab.kappa)).toBe(true);
    const dataset = JSON.parse(readFileSync(k2.datasetJsonPath, 'utf8')) as Array<{ metadata: { quality: string; votes: { chosen: number } } }>;
    for (const pair of dataset) expect(pair.metadata.votes.chosen).toBeGreaterThan(0);
  });

  it('generates ahead, journals generated items, and never regenerates them on resume', async () => {
    const outDir = freshDir();
    const calls: string[] = [];
    const generator: CandidateGenerator = { description: 'fake', generate: async (prompt, key) => (calls.push(key), `${prompt} → ${key} #${calls.length}`) };
    const prompts = [{ prompt: 'p1' }, { prompt: 'p2', category: 'c' }, { prompt: 'p3' }, { prompt: 'p4' }];
    const session = await CollectSession.open({ outDir, source: { kind: 'generate', prompts, generator }, seed: 'g', ahead: 2 });
    const first = (await session.next('a'))!;
    expect([first.left, first.right].sort()).toEqual(['p1 → prompt-1:a #1', 'p1 → prompt-1:b #2']);
    await session.decide('a', 0, 'left');
    await session.next('a');
    await session.close();
    const made = calls.length;
    expect(made).toBeGreaterThanOrEqual(4);
    const resumed = await CollectSession.open({ outDir, source: { kind: 'generate', prompts, generator } });
    const again = (await resumed.next('a'))!;
    expect(again.index).toBe(1);
    expect(again.left).toMatch(/^p2 → prompt-2:[ab] #[34]$/);
    await resumed.close();
    // Items shown before the restart are not generated again (a generation still in flight at close is).
    for (const key of ['prompt-1:a', 'prompt-1:b', 'prompt-2:a', 'prompt-2:b']) expect(calls.filter((c) => c === key)).toHaveLength(1);
    expect(calls.slice(0, 2)).toEqual(['prompt-1:a', 'prompt-1:b']);
  });

  it('refuses a journal of another source, another seed or another k', async () => {
    const outDir = freshDir();
    const s = await CollectSession.open({ outDir, source, seed: 'z' });
    await s.close();
    await expect(CollectSession.open({ outDir, source, seed: 'other' })).rejects.toThrow(/seed "z"/);
    await expect(CollectSession.open({ outDir, source, k: 3 })).rejects.toThrow(/k = 1/);
    await expect(CollectSession.open({ outDir, source: { ...source, items: items.slice(1) }, journalPath: s.journalPath })).rejects.toThrow(/another source/);
    writeFileSync(join(outDir, 'user_collected', 'user_preferences_002.json'), '[]');
    expect(firstFreeNumber(join(outDir, 'user_collected'))).toBe(3);
    const other = await CollectSession.open({ outDir, source: { ...source, items: items.slice(2) } });
    expect(other.session.number).toBe(3);
    await other.close();
  });

  it('the left side is a fair seeded coin per item and annotator (99.9% binomial bound)', async () => {
    const many = Array.from({ length: 2000 }, (_, i) => ({ id: `i${i}`, prompt: 'p', a: 'a', b: 'b' }));
    const session = await CollectSession.open({ outDir: freshDir(), source: { kind: 'items', items: many, description: 'many' }, seed: 'fair' });
    let lefts = 0;
    for (const item of many) if (session.leftSide(item.id, 'ann') === 'a') lefts += 1;
    // |X − 1000| < 3.29·sqrt(2000·0.25) ≈ 73.6 with probability 0.999 for a fair coin.
    expect(Math.abs(lefts - 1000)).toBeLessThan(74);
    expect(session.leftSide('i1', 'ann')).toBe(session.leftSide('i1', 'ann'));
    await session.close();
  });
});
