import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { collectPairs } from './read-pairs';
import { readRecords } from './read-records';
import { toOpenRlhfRecord, toTrlRecord, writeOpenRlhf, writeTrl } from './trainer-writers';
import type { PreferencePair } from './types';

const dir = mkdtempSync(join(tmpdir(), 'pref-io-trainers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const plain: PreferencePair = { id: '1', prompt: 'Hi', chosen: 'Hello', rejected: 'Go', system: 'Be nice.', margin_raw: 0.7 };
const chat: PreferencePair = {
  id: '2',
  prompt: 'user: Hi\n\nassistant: Hey\n\nuser: Bye',
  chosen: 'Bye!',
  rejected: 'No.',
  conversation: {
    prompt: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hey' }, { role: 'user', content: 'Bye' }],
    chosen: [{ role: 'assistant', content: 'Bye!' }],
    rejected: [{ role: 'assistant', content: 'No.' }],
  },
};

describe('TRL', () => {
  it('standard rows put the system prompt before the prompt', () => {
    expect(toTrlRecord(plain)).toEqual({ prompt: 'Be nice.\n\nHi', chosen: 'Hello', rejected: 'Go' });
    expect(toTrlRecord(plain, { keep: ['id', 'margin_raw', 'absent'] })).toEqual({ prompt: 'Be nice.\n\nHi', chosen: 'Hello', rejected: 'Go', id: '1', margin_raw: 0.7 });
  });
  it('conversational rows use the conversation, or build one from the text fields', () => {
    expect(toTrlRecord(chat, { style: 'conversational' })).toEqual({ prompt: chat.conversation!.prompt, chosen: chat.conversation!.chosen, rejected: chat.conversation!.rejected });
    expect(toTrlRecord(plain, { style: 'conversational' })).toEqual({
      prompt: [{ role: 'system', content: 'Be nice.' }, { role: 'user', content: 'Hi' }],
      chosen: [{ role: 'assistant', content: 'Hello' }],
      rejected: [{ role: 'assistant', content: 'Go' }],
    });
  });
  it('writeTrl output reads back as the same pairs text', async () => {
    const path = join(dir, 'trl.jsonl');
    await writeTrl(path, [chat], { style: 'conversational', keep: ['id'] });
    const { pairs } = await collectPairs(path);
    expect(pairs[0]).toMatchObject({ id: '2', prompt: chat.prompt, chosen: 'Bye!', rejected: 'No.' });
  });
});

describe('OpenRLHF', () => {
  it('uses the configured keys and copies a margin column', () => {
    expect(toOpenRlhfRecord(plain, { promptKey: 'input', chosenKey: 'pos', rejectedKey: 'neg', marginFrom: 'margin_raw' })).toEqual({ input: 'Hi', pos: 'Hello', neg: 'Go', margin: 0.7 });
    expect(toOpenRlhfRecord(chat, { messages: true })).toEqual({ prompt: chat.conversation!.prompt, chosen: chat.conversation!.chosen, rejected: chat.conversation!.rejected });
  });
  it('writeOpenRlhf writes Parquet too', async () => {
    const path = join(dir, 'rlhf.parquet');
    await writeOpenRlhf(path, [plain, chat], { messages: true });
    const rows = [];
    for await (const { record } of readRecords(path)) rows.push(record);
    expect(rows[1]).toEqual({ prompt: chat.conversation!.prompt, chosen: chat.conversation!.chosen, rejected: chat.conversation!.rejected });
  });
});

describe('more inputs', () => {
  it('CSV with quoted cells, CRLF, BOM and JSON message-list cells', async () => {
    const path = join(dir, 'chat.csv');
    const messages = (answer: string) => JSON.stringify([{ role: 'user', content: 'Hi, you' }, { role: 'assistant', content: answer }]).replace(/"/g, '""');
    writeFileSync(path, `\ufeffid,chosen,rejected\r\n7,"${messages('Hello')}","${messages('Go')}"\r\n`);
    const { pairs, stats } = await collectPairs(path);
    expect(stats.schema).toBe('chat-messages');
    expect(pairs[0]).toMatchObject({ id: '7', prompt: 'Hi, you', chosen: 'Hello', rejected: 'Go' });
  });
  it('TSV', async () => {
    const path = join(dir, 'data.tsv');
    writeFileSync(path, 'question\tresponse_j\tresponse_k\nQ\tA, with comma\tB\n');
    const { pairs } = await collectPairs(path);
    expect(pairs[0]).toEqual({ prompt: 'Q', chosen: 'A, with comma', rejected: 'B' });
  });
  it('gzip content is detected even without a .gz name', async () => {
    const path = join(dir, 'sneaky.jsonl');
    writeFileSync(path, gzipSync('{"prompt":"p","chosen":"c","rejected":"r"}\n'));
    expect((await collectPairs(path)).pairs).toHaveLength(1);
  });
  it('reads stdin with `-` and writes stdout with `-` (child process)', () => {
    const run = (options: string) => {
      const script = `
        import { readPairs, writePairs } from ${JSON.stringify(new URL('./index.ts', import.meta.url).pathname)};
        await writePairs('-', readPairs('-', ${options}));
      `;
      return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        input: '{"prompt":"p","chosen":"c","rejected":"r","x":1}\n[not json\n',
        encoding: 'utf8',
        cwd: new URL('../../..', import.meta.url).pathname,
      });
    };
    const skipping = run("{ onInvalid: 'skip' }");
    expect(skipping.stdout).toBe('{"prompt":"p","chosen":"c","rejected":"r","x":1}\n');
    expect(skipping.status).toBe(0);
    const strict = run('{}');
    expect(strict.stderr).toContain('-:2: record: expected a line that is valid JSON');
    expect(strict.status).not.toBe(0);
  });
});

describe('ShareGPT, D2PO and TRL log-prob columns', () => {
  it('a ShareGPT row reads as a pair and writes back the same', async () => {
    const { recordToPair } = await import('./schema');
    const { detectSchema } = await import('./schema');
    const { toShareGptRecord, toD2poRecord, toTrlRecord } = await import('./trainer-writers');
    const row = {
      id: 's1',
      conversations: [{ from: 'system', value: 'Be brief.' }, { from: 'human', value: 'Hi?' }, { from: 'gpt', value: 'Hello.' }, { from: 'human', value: 'Capital of France?' }],
      chosen: { from: 'gpt', value: 'Paris.' },
      rejected: { from: 'gpt', value: 'Lyon.' },
    };
    expect(detectSchema(row)).toBe('sharegpt');
    const pair = recordToPair(row, 'sharegpt', { file: 'x', line: 1 });
    expect([pair.system, pair.chosen, pair.rejected]).toEqual(['Be brief.', 'Paris.', 'Lyon.']);
    expect(pair.conversation!.prompt.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect({ ...toShareGptRecord(pair, { keep: ['id'] }) }).toEqual(row);
    expect(() => recordToPair({ ...row, chosen: { from: 'robot', value: 'x' } }, 'sharegpt', { file: 'x', line: 3 })).toThrow(/x:3: field "chosen.from": expected one of human/);
    expect(() => recordToPair({ ...row, rejected: { value: ' ' } }, 'sharegpt', { file: 'x', line: 4 })).toThrow(/field "rejected.value": expected a non-empty string/);
    const d2po = recordToPair({ question: 'q', response_j: 'a', response_k: 'b', magnitude: 3 }, 'question-response', { file: 'x', line: 1 });
    expect({ ...toD2poRecord(d2po) }).toEqual({ question: 'q', response_j: 'a', response_k: 'b', magnitude: 3 });
    const trl = recordToPair({ prompt: 'p', chosen: 'c', rejected: 'r', ref_chosen_logps: -1.5, ref_rejected_logps: -2.5 }, 'prompt-chosen-rejected', { file: 'x', line: 1 });
    expect([trl.reference_chosen_logps, trl.reference_rejected_logps, trl.ref_chosen_logps]).toEqual([-1.5, -2.5, undefined]);
    expect({ ...toTrlRecord(trl) }).toEqual({ prompt: 'p', chosen: 'c', rejected: 'r', ref_chosen_logps: -1.5, ref_rejected_logps: -2.5 });
    expect(() => recordToPair({ prompt: 'p', chosen: 'c', rejected: 'r', ref_chosen_logps: 'x' }, 'prompt-chosen-rejected', { file: 'x', line: 9 })).toThrow(/field "ref_chosen_logps": expected a finite number/);
  });
});
