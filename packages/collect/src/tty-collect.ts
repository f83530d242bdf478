import { emitKeypressEvents } from 'node:readline';
import type { CollectSession, ShownItem } from './collect-session';
import type { Choice } from './journal';

export interface TtyCollectOptions {
  annotator: string;
  /** Default: process.stdin. */
  input?: NodeJS.ReadStream;
  /** Default: process.stdout. */
  output?: NodeJS.WriteStream;
  signal?: AbortSignal;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const raw of text.split('\n')) {
    let line = raw;
    if (line === '') lines.push('');
    while (line.length > 0) {
      lines.push(line.slice(0, width));
      line = line.slice(width);
    }
  }
  return lines;
}

/** Makes control characters visible so texts cannot move the cursor or recolour the terminal. */
function visible(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000b-\u001f\u007f\u0080-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * The terminal version of the collection page (for SSH): the same queue, journal and keys — 1/← left,
 * 2/→ right, t tie, s skip, u undo, ? help — plus n (note) and c (category) before deciding, and
 * q / Ctrl-C to quit. Responses side by side when the terminal is at least 100 columns wide, else one
 * above the other. Resolves when the queue is done or the annotator quits.
 */
export async function ttyCollect(session: CollectSession, { annotator, input = process.stdin, output = process.stdout, signal }: TtyCollectOptions): Promise<{ decisions: number; quit: boolean }> {
  emitKeypressEvents(input);
  const raw = input.isTTY === true;
  if (raw) input.setRawMode(true);
  input.resume();
  const write = (text: string) => output.write(text);
  let decisions = 0;
  let message = '';
  let showHelp = false;
  let note = '';
  let category: string | undefined;

  // One listener for the whole session: keys arriving together (a paste, tmux send-keys) are queued,
  // never dropped between two reads.
  type Key = { name?: string; sequence?: string; ctrl?: boolean };
  const queued: Key[] = [];
  let waiting: ((key: Key) => void) | undefined;
  const push = (key: Key) => {
    if (waiting) {
      const resolve = waiting;
      waiting = undefined;
      resolve(key);
    } else queued.push(key);
  };
  const onKeypress = (str: string | undefined, key: Key | undefined) => push({ ...(key ?? {}), sequence: key?.sequence ?? str ?? '' });
  input.on('keypress', onKeypress);
  const onAbort = () => push({ name: 'q', sequence: 'q' });
  signal?.addEventListener('abort', onAbort, { once: true });
  const nextKey = () => new Promise<Key>((resolve) => {
    const key = queued.shift();
    if (key !== undefined) resolve(key);
    else waiting = resolve;
  });

  const readLine = async (label: string): Promise<string> => {
    write(`\n${label}: `);
    let text = '';
    for (;;) {
      const key = await nextKey();
      if (key.name === 'return' || key.name === 'enter') return text;
      if (key.name === 'escape' || (key.ctrl && key.name === 'c')) return '';
      if (key.name === 'backspace') {
        if (text.length > 0) {
          text = text.slice(0, -1);
          write('\b \b');
        }
        continue;
      }
      const sequence = key.sequence ?? '';
      if (sequence.length >= 1 && !/[\u0000-\u001f\u007f]/.test(sequence)) {
        text += sequence;
        write(sequence);
      }
    }
  };

  const render = (item: ShownItem) => {
    const columns = Math.max(40, output.columns ?? 100);
    const p = session.progress(annotator);
    const lines: string[] = ['\x1b[2J\x1b[H'];
    lines.push(`pref collect · ${annotator} · ${p.complete}/${p.total} items done · you: ${p.mine} · pairs ${p.pairs} · ties ${p.ties} · skips ${p.skips}`);
    lines.push(`item ${item.index + 1} (${visible(item.id)})${item.category ? ` · category ${visible(category ?? item.category)}` : category ? ` · category ${visible(category)}` : ''}`);
    lines.push('─'.repeat(Math.min(columns, 120)));
    lines.push('PROMPT');
    lines.push(...wrap(visible(item.prompt), columns));
    lines.push('─'.repeat(Math.min(columns, 120)));
    if (columns >= 100) {
      const half = Math.floor((columns - 3) / 2);
      const left = ['[1] LEFT', ...wrap(visible(item.left), half)];
      const right = ['[2] RIGHT', ...wrap(visible(item.right), half)];
      for (let i = 0; i < Math.max(left.length, right.length); i++) lines.push(`${(left[i] ?? '').padEnd(half)} │ ${right[i] ?? ''}`);
    } else {
      lines.push('[1] LEFT', ...wrap(visible(item.left), columns), '', '[2] RIGHT', ...wrap(visible(item.right), columns));
    }
    lines.push('─'.repeat(Math.min(columns, 120)));
    if (note) lines.push(`note: ${visible(note)}`);
    lines.push(showHelp ? 'keys: 1/← left better · 2/→ right better · t tie · s skip · u undo · n note · c category · ? help · q quit' : '1/← left · 2/→ right · t tie · s skip · u undo · ? help · q quit');
    if (message) lines.push(message);
    write(`${lines.join('\n')}\n`);
  };

  try {
    let item = await session.next(annotator);
    while (item !== null) {
      render(item);
      const key = await nextKey();
      const name = key.name ?? key.sequence;
      let choice: Choice | undefined;
      if ((key.ctrl && name === 'c') || name === 'q') return { decisions, quit: true };
      if (name === '1' || name === 'left') choice = 'left';
      else if (name === '2' || name === 'right') choice = 'right';
      else if (name === 't') choice = 'tie';
      else if (name === 's') choice = 'skip';
      else if (name === 'u') {
        const undone = await session.undo(annotator);
        message = undone ? `undone: item ${undone.index + 1}` : 'nothing to undo';
        if (undone) item = undone;
        continue;
      } else if (key.sequence === '?') showHelp = !showHelp;
      else if (name === 'n') note = await readLine('note (Enter to keep, Esc to cancel)');
      else if (name === 'c') category = (await readLine('category')) || category;
      if (choice === undefined) continue;
      await session.decide(annotator, item.index, choice, { ...(note ? { note } : {}), ...(category ? { category } : {}) });
      decisions += 1;
      message = `saved: ${choice}`;
      note = '';
      category = undefined;
      item = await session.next(annotator);
    }
    write('\nEvery item is labeled. Thank you!\n');
    return { decisions, quit: false };
  } finally {
    input.off('keypress', onKeypress);
    signal?.removeEventListener('abort', onAbort);
    if (raw) input.setRawMode(false);
    input.pause();
  }
}
