import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// `pref collect --tty` in a real terminal: tmux runs the built CLI; keys go in with send-keys and the
// screen is read with capture-pane.
const bin = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));
let tmux: string | undefined;
try {
  tmux = execFileSync('sh', ['-c', 'command -v tmux'], { encoding: 'utf8' }).trim() || undefined;
} catch {
  tmux = undefined;
}
if (tmux === undefined && !process.env.CI) console.warn('collect-tty.test.ts: SKIPPED — tmux is not installed');
const root = mkdtempSync(join(tmpdir(), 'pref-cli-tty-'));
const socket = `pref-tty-${process.pid}`;
afterAll(() => {
  try {
    execFileSync('tmux', ['-L', socket, 'kill-server'], { stdio: 'ignore' });
  } catch {
    // already gone
  }
  rmSync(root, { recursive: true, force: true });
});

const tmuxRun = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
const screen = () => tmuxRun('capture-pane', '-p', '-t', 's');

/** Waits until the screen contains `text` (no time assertion: only a generous cap against hangs). */
async function waitFor(text: string | RegExp): Promise<string> {
  const giveUp = Date.now() + 90_000;
  while (Date.now() < giveUp) {
    const shown = screen();
    if (typeof text === 'string' ? shown.includes(text) : text.test(shown)) return shown;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the terminal never showed ${String(text)}; it shows:\n${screen()}`);
}

describe.skipIf((tmux === undefined && !process.env.CI) || !existsSync(bin))('pref collect --tty under tmux', () => {
  it('labels with the same keys and journal as the page', async () => {
    const pairs = join(root, 'pairs.jsonl');
    const rows = [
      { id: 'a', prompt: 'First prompt', chosen: 'alpha one', rejected: 'alpha two' },
      { id: 'b', prompt: 'Second prompt \u001b[31mred\u001b[0m', chosen: 'beta one', rejected: 'beta two' },
      { id: 'c', prompt: 'Third prompt', chosen: 'gamma one', rejected: 'gamma two' },
      { id: 'd', prompt: 'Fourth prompt', chosen: 'delta one', rejected: 'delta two' },
    ];
    writeFileSync(pairs, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const out = join(root, 'datasets');
    const done = join(root, 'exit-code');
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} collect --pairs ${JSON.stringify(pairs)} --tty --annotator tim --out ${JSON.stringify(out)} --seed 3; echo $? > ${JSON.stringify(done)}; sleep 60`;
    tmuxRun('new-session', '-d', '-s', 's', '-x', '120', '-y', '40', command);
    await waitFor('First prompt');
    expect(screen()).toMatch(/\[1\] LEFT .*│ \[2\] RIGHT/);
    tmuxRun('send-keys', '-t', 's', '1');
    await waitFor('Second prompt');
    // The escape sequence in the prompt is shown, not executed.
    expect(screen()).toContain('\\x1b[31mred');
    tmuxRun('send-keys', '-t', 's', 'Right');
    await waitFor('Third prompt');
    tmuxRun('send-keys', '-t', 's', 'u');
    await waitFor('undone: item 2');
    tmuxRun('send-keys', '-t', 's', 't');
    await waitFor('Third prompt');
    tmuxRun('send-keys', '-t', 's', 'n');
    await waitFor('note (Enter');
    tmuxRun('send-keys', '-t', 's', '-l', 'too long');
    tmuxRun('send-keys', '-t', 's', 'Enter');
    await waitFor('note: too long');
    tmuxRun('send-keys', '-t', 's', '2');
    await waitFor('Fourth prompt');
    tmuxRun('send-keys', '-t', 's', 's');
    await waitFor('Every item is labeled');
    for (let i = 0; i < 1500 && !existsSync(done); i++) await new Promise((r) => setTimeout(r, 100));
    expect(readFileSync(done, 'utf8').trim()).toBe('0');
    const folder = join(out, 'user_collected');
    const journal = readFileSync(join(folder, readdirSync(folder).find((f) => f.endsWith('.journal.jsonl'))!), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const decisions = journal.filter((e) => e.type === 'decision').map((e) => [e.annotator, e.index, e.choice, e.note ?? null]);
    expect(decisions).toEqual([
      ['tim', 0, 'left', null],
      ['tim', 1, 'right', null],
      ['tim', 1, 'tie', null],
      ['tim', 2, 'right', 'too long'],
      ['tim', 3, 'skip', null],
    ]);
    expect(journal.filter((e) => e.type === 'undo')).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(folder, 'user_preferences_001.json'), 'utf8'))).toHaveLength(2);
  }, 240_000);
});
