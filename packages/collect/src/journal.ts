import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { CollectError } from './errors';

/** What the annotator decided: the left or right response, a tie, or skip (no label). */
export type Choice = 'left' | 'right' | 'tie' | 'skip';
/** Which candidate is shown on the left. */
export type Side = 'a' | 'b';

/** The first line of a journal: what the session collects and how. */
export interface SessionEntry {
  type: 'session';
  version: 1;
  /** Identity of the queue (hash of the source); a journal is only resumed by the same source. */
  sessionId: string;
  /** NNN of `user_preferences_NNN.json`, fixed at creation so a resumed session writes the same file. */
  number: number;
  /** Seed of the left/right draws. */
  seed: string;
  /** Annotators per item. */
  k: number;
  /** What the candidates come from (shown in stats). */
  source: string;
  createdAt: string;
}

/** One item with its two candidates, journaled when it is first made (generated texts are never redrawn). */
export interface ItemEntry {
  type: 'item';
  index: number;
  id: string;
  prompt: string;
  a: string;
  b: string;
  category?: string;
  /** Columns carried to the dataset's metadata (e.g. the generator, the original pair's label). */
  metadata?: Record<string, unknown>;
}

export interface DecisionEntry {
  type: 'decision';
  /** Position in the journal's decision sequence (1-based, never reused). */
  seq: number;
  index: number;
  itemId: string;
  annotator: string;
  choice: Choice;
  /** The candidate shown on the left. */
  left: Side;
  note?: string;
  category?: string;
  /** Milliseconds from the item being shown to the decision (server clock). */
  ms: number;
  at: string;
}

export interface UndoEntry {
  type: 'undo';
  seq: number;
  annotator: string;
  /** seq of the decision it withdraws. */
  undoes: number;
  at: string;
}

export type JournalEntry = SessionEntry | ItemEntry | DecisionEntry | UndoEntry;

/**
 * An append-only JSONL journal. Each `append` writes one line and fsyncs before returning, so a
 * decision acknowledged to the annotator survives kill -9 and power loss. A last line without its
 * newline (a write cut short) is the only thing a crash can leave behind: `openJournal` drops it.
 */
export class Journal {
  readonly path: string;
  private fd: number;
  private readonly lockPath: string | undefined;

  /** Use {@link openJournal}. */
  constructor(path: string, fd: number, lockPath?: string) {
    this.path = path;
    this.fd = fd;
    this.lockPath = lockPath;
  }

  append(entry: JournalEntry): void {
    if (this.fd < 0) throw new CollectError({ file: this.path, message: 'the journal is closed' });
    const line = `${JSON.stringify(entry)}\n`;
    try {
      writeSync(this.fd, line);
      fsyncSync(this.fd);
    } catch (cause) {
      throw new CollectError({ file: this.path, message: `cannot append to the journal: ${(cause as Error).message}`, cause });
    }
  }

  /** Closes the file and releases the lock. */
  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      if (this.lockPath !== undefined) rmSync(this.lockPath, { force: true });
    }
    this.fd = -1;
  }
}

function isEntry(value: unknown): value is JournalEntry {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return type === 'session' || type === 'item' || type === 'decision' || type === 'undo';
}

/** Reads every complete entry of a journal (for stats; never writes). */
export function readJournal(path: string): JournalEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new CollectError({ file: path, message: `cannot read the journal: ${(cause as Error).message}`, cause });
  }
  return parseJournal(text, path).entries;
}

function parseJournal(text: string, path: string): { entries: JournalEntry[]; completeBytes: number } {
  const end = text.lastIndexOf('\n') + 1;
  const entries: JournalEntry[] = [];
  const lines = text.slice(0, end).split('\n');
  lines.pop();
  lines.forEach((line, i) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (cause) {
      throw new CollectError({ file: path, message: `line ${i + 1}: not a JSON journal entry (${(cause as Error).message}); the journal was edited or damaged`, cause });
    }
    if (!isEntry(value)) throw new CollectError({ file: path, message: `line ${i + 1}: field "type": expected session, item, decision or undo` });
    entries.push(value);
  });
  if (entries.length > 0 && entries[0]!.type !== 'session') throw new CollectError({ file: path, message: 'line 1: field "type": expected the session entry first' });
  return { entries, completeBytes: Buffer.byteLength(text.slice(0, end), 'utf8') };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `<journal>.lock` (O_EXCL, holding the pid). A lock whose process is gone (kill -9) is taken
 * over; one held by a live process — this one included — is refused, so two writers never interleave.
 */
function lockJournal(path: string): string {
  const lockPath = `${path}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return lockPath;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
        throw new CollectError({ file: path, message: `the journal is in use by process ${pid} (another pref collect on the same source); stop it first, or remove ${lockPath} if that process is not pref` });
      }
      rmSync(lockPath, { force: true });
    }
  }
  throw new CollectError({ file: path, message: `cannot take the lock ${lockPath}` });
}

/**
 * Opens (creating when absent) a journal for appending and returns its complete entries. A trailing
 * partial line is cut off the file. The journal is locked until `close()`.
 */
export function openJournal(path: string): { journal: Journal; entries: JournalEntry[] } {
  mkdirSync(dirname(path), { recursive: true });
  let lockPath: string;
  try {
    lockPath = lockJournal(path);
  } catch (cause) {
    if (CollectError.isInstance(cause)) throw cause;
    throw new CollectError({ file: path, message: `cannot lock the journal: ${(cause as Error).message}`, cause });
  }
  let entries: JournalEntry[] = [];
  let fd: number;
  try {
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      const parsed = parseJournal(text, path);
      entries = parsed.entries;
      fd = openSync(path, 'r+');
      if (parsed.completeBytes !== Buffer.byteLength(text, 'utf8')) {
        ftruncateSync(fd, parsed.completeBytes);
        fsyncSync(fd);
      }
      closeSync(fd);
    }
    fd = openSync(path, 'a');
  } catch (cause) {
    rmSync(lockPath, { force: true });
    if (CollectError.isInstance(cause)) throw cause;
    throw new CollectError({ file: path, message: `cannot open the journal: ${(cause as Error).message}`, cause });
  }
  return { journal: new Journal(path, fd, lockPath), entries };
}
