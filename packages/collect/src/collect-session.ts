import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createKeyedUniform, InvalidArgumentError } from '@pref/core';
import type { CandidateGenerator, CandidateItem } from './candidates';
import { CollectError } from './errors';
import { openJournal, type Choice, type DecisionEntry, type ItemEntry, type Journal, type SessionEntry, type Side, type UndoEntry } from './journal';
import type { CollectionPrompt } from './read-prompt-list';
import { buildCollectedPairs, datasetPaths, writeCollectedDataset } from './write-collected-dataset';

/** Where the items of a session come from. */
export type ItemSource =
  | { kind: 'items'; items: readonly CandidateItem[]; description: string }
  | { kind: 'generate'; prompts: readonly CollectionPrompt[]; generator: CandidateGenerator; description?: string };

export interface OpenSessionOptions {
  /** The dataset folder (`datasets/`); files go to `<outDir>/user_collected/`. */
  outDir: string;
  source: ItemSource;
  /** Annotators per item. Default: 1. */
  k?: number;
  /** Seed of the left/right draws. Default: a random one, written to the journal (so a resume reuses it). */
  seed?: string;
  /** Journal file. Default: `<outDir>/user_collected/collect-<sessionId>.journal.jsonl`. */
  journalPath?: string;
  /** Items generated ahead of the furthest item served. Default: 2. */
  ahead?: number;
  /** Called when background generation fails (the item is retried when it is next needed). */
  onGenerationError?: (error: unknown, index: number) => void;
}

/** What an annotator sees: one item with its sides resolved. */
export interface ShownItem {
  index: number;
  id: string;
  prompt: string;
  left: string;
  right: string;
  /** Which candidate is on the left. */
  leftSide: Side;
  category?: string;
}

export interface Progress {
  /** Items in the queue. */
  total: number;
  /** Items with k labels (left/right/tie). */
  complete: number;
  labels: number;
  ties: number;
  skips: number;
  /** Pairs in the dataset file now. */
  pairs: number;
  /** This annotator's decisions (labels + skips). */
  mine: number;
  /** Items this annotator could still get. */
  remainingForMe: number;
}

function hash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function sourceIdentity(source: ItemSource): { id: string; description: string; total: number } {
  if (source.kind === 'items') {
    const digest = hash(JSON.stringify(['items', source.items.map((item) => [item.id, item.prompt, item.a, item.b])]));
    return { id: digest.slice(0, 12), description: source.description, total: source.items.length };
  }
  const description = source.description ?? source.generator.description;
  const digest = hash(JSON.stringify(['generate', description, source.prompts.map((p) => [p.id ?? '', p.prompt, p.category ?? ''])]));
  return { id: digest.slice(0, 12), description, total: source.prompts.length };
}

/** The first NNN ≥ 1 not used by a `user_preferences_NNN.json(l)` in the folder. */
export function firstFreeNumber(folder: string): number {
  const used = new Set<number>();
  if (existsSync(folder)) {
    for (const name of readdirSync(folder)) {
      const match = /^user_preferences_(\d+)\.jsonl?$/.exec(name);
      if (match) used.add(Number(match[1]));
    }
  }
  let number = 1;
  while (used.has(number)) number += 1;
  return number;
}

const LEASE_MS = 30 * 60 * 1000;

/**
 * One collection queue with its journal. Every decision is appended (fsync) before it is acknowledged;
 * the dataset files are rewritten atomically after each one. Items go to annotators in order; each item
 * is offered until it has `k` labels (left/right/tie; skips do not count), never twice to one
 * annotator. An item being shown to an annotator is held for them (a lease) so k = 1 with two pages
 * shows two different items. Reopening the same source resumes: items, sides and decisions come back
 * from the journal.
 */
export class CollectSession {
  readonly journalPath: string;
  readonly session: SessionEntry;
  readonly total: number;
  readonly datasetJsonPath: string;
  readonly datasetJsonlPath: string;
  private readonly journal: Journal;
  private readonly source: ItemSource;
  private readonly items: (ItemEntry | undefined)[];
  private readonly pending = new Map<number, Promise<ItemEntry>>();
  private readonly decisions: DecisionEntry[] = [];
  private readonly undone = new Set<number>();
  /** annotator → item index → seq of the active decision. */
  private readonly byAnnotator = new Map<string, Map<number, number>>();
  private readonly labelCount: number[];
  private readonly leases = new Map<string, { index: number; since: number }>();
  private readonly ahead: number;
  private readonly onGenerationError: ((error: unknown, index: number) => void) | undefined;
  private writing: Promise<void> = Promise.resolve();
  private writeQueued = false;
  private closed = false;
  private seq = 0;

  private constructor(parts: { journal: Journal; session: SessionEntry; source: ItemSource; total: number; outDir: string; ahead: number; onGenerationError?: (error: unknown, index: number) => void }) {
    this.journal = parts.journal;
    this.journalPath = parts.journal.path;
    this.session = parts.session;
    this.source = parts.source;
    this.total = parts.total;
    this.items = new Array(parts.total).fill(undefined);
    this.labelCount = new Array(parts.total).fill(0);
    this.ahead = parts.ahead;
    this.onGenerationError = parts.onGenerationError;
    if (parts.source.kind === 'items') parts.source.items.forEach((item, index) => (this.items[index] = { type: 'item', index, ...item }));
    const paths = datasetPaths(parts.outDir, parts.session.number);
    this.datasetJsonPath = paths.json;
    this.datasetJsonlPath = paths.jsonl;
  }

  /** Opens (or resumes) the session for a source. */
  static async open(options: OpenSessionOptions): Promise<CollectSession> {
    const { outDir, source, k = 1, seed, ahead = 2, onGenerationError } = options;
    if (!(Number.isInteger(k) && k >= 1)) throw new InvalidArgumentError({ argument: 'k', message: `expected an integer >= 1, got ${k}` });
    if (!(Number.isInteger(ahead) && ahead >= 0)) throw new InvalidArgumentError({ argument: 'ahead', message: `expected an integer >= 0, got ${ahead}` });
    const identity = sourceIdentity(source);
    if (identity.total === 0) throw new InvalidArgumentError({ argument: 'source', message: 'no items to label' });
    const folder = join(outDir, 'user_collected');
    const journalPath = options.journalPath ?? join(folder, `collect-${identity.id}.journal.jsonl`);
    const { journal, entries } = openJournal(journalPath);
    let session = entries[0] as SessionEntry | undefined;
    try {
      if (session === undefined) {
        session = { type: 'session', version: 1, sessionId: identity.id, number: firstFreeNumber(folder), seed: seed ?? randomBytes(8).toString('hex'), k, source: identity.description, createdAt: new Date().toISOString() };
        journal.append(session);
      } else {
        if (session.sessionId !== identity.id) throw new CollectError({ file: journalPath, message: `this journal belongs to another source (session ${session.sessionId}, this source is ${identity.id}); give another --journal` });
        if (seed !== undefined && seed !== session.seed) throw new CollectError({ code: 'INVALID_ARGUMENT', file: journalPath, message: `the session was started with seed "${session.seed}", not "${seed}"` });
        if (k !== session.k) throw new CollectError({ code: 'INVALID_ARGUMENT', file: journalPath, message: `the session was started with k = ${session.k}, not ${k}` });
      }
    } catch (error) {
      journal.close();
      throw error;
    }
    const collect = new CollectSession({ journal, session, source, total: identity.total, outDir, ahead, ...(onGenerationError ? { onGenerationError } : {}) });
    collect.replay(entries);
    await collect.writeDataset();
    // The first items are generated before anyone asks, so the first page load does not wait for them.
    collect.prefetch(collect.items.findIndex((item) => item === undefined));
    return collect;
  }

  private replay(entries: readonly (SessionEntry | ItemEntry | DecisionEntry | UndoEntry)[]): void {
    for (const entry of entries) {
      if (entry.type === 'item' && entry.index >= 0 && entry.index < this.total) this.items[entry.index] = entry;
      else if (entry.type === 'decision') this.applyDecision(entry);
      else if (entry.type === 'undo') this.applyUndo(entry);
      if (entry.type === 'decision' || entry.type === 'undo') this.seq = Math.max(this.seq, entry.seq);
    }
  }

  private mine(annotator: string): Map<number, number> {
    let map = this.byAnnotator.get(annotator);
    if (map === undefined) this.byAnnotator.set(annotator, (map = new Map()));
    return map;
  }

  private applyDecision(entry: DecisionEntry): void {
    this.decisions.push(entry);
    this.mine(entry.annotator).set(entry.index, entry.seq);
    if (entry.choice !== 'skip') this.labelCount[entry.index] = (this.labelCount[entry.index] ?? 0) + 1;
  }

  private applyUndo(entry: UndoEntry): void {
    const target = this.decisions.find((d) => d.seq === entry.undoes);
    if (target === undefined || this.undone.has(target.seq)) return;
    this.undone.add(target.seq);
    this.mine(target.annotator).delete(target.index);
    if (target.choice !== 'skip') this.labelCount[target.index] = (this.labelCount[target.index] ?? 1) - 1;
  }

  /** Which candidate goes left for this annotator: createKeyedUniform({ seed, domain: 'side' })(id ␟ annotator) < 0.5 → a. */
  leftSide(itemId: string, annotator: string): Side {
    return createKeyedUniform({ seed: this.session.seed, domain: 'side' })(`${itemId}\u001f${annotator}`) < 0.5 ? 'a' : 'b';
  }

  private async item(index: number): Promise<ItemEntry> {
    const existing = this.items[index];
    if (existing !== undefined) return existing;
    let pending = this.pending.get(index);
    if (pending === undefined) {
      pending = this.makeItem(index).finally(() => this.pending.delete(index));
      this.pending.set(index, pending);
    }
    return pending;
  }

  private async makeItem(index: number): Promise<ItemEntry> {
    const source = this.source;
    let candidate: CandidateItem;
    if (source.kind === 'items') {
      candidate = source.items[index]!;
    } else {
      const prompt = source.prompts[index]!;
      const id = prompt.id ?? `prompt-${index + 1}`;
      // One generation at a time: a local model uses every core already, and a server keeps its order.
      const a = await source.generator.generate(prompt.prompt, `${id}:a`);
      const b = await source.generator.generate(prompt.prompt, `${id}:b`);
      candidate = { id, prompt: prompt.prompt, a, b, ...(prompt.category !== undefined ? { category: prompt.category } : {}), metadata: { generator: source.generator.description } };
    }
    if (this.closed) throw new CollectError({ message: 'the session is closed' });
    const entry: ItemEntry = { type: 'item', index, ...candidate };
    if (source.kind === 'generate') this.journal.append(entry);
    this.items[index] = entry;
    return entry;
  }

  /** Starts generating the next few items in the background (errors go to onGenerationError). */
  private prefetch(from: number): void {
    if (this.source.kind !== 'generate' || from < 0) return;
    let chain: Promise<unknown> = Promise.resolve();
    for (let index = from; index < Math.min(this.total, from + this.ahead); index++) {
      if (this.items[index] !== undefined || this.pending.has(index)) continue;
      chain = chain.then(() => (this.closed ? undefined : this.item(index))).catch((error) => this.onGenerationError?.(error, index));
    }
  }

  private available(index: number, annotator: string, now: number): boolean {
    if (this.mine(annotator).has(index)) return false;
    let held = 0;
    for (const [other, lease] of this.leases) if (other !== annotator && lease.index === index && now - lease.since < LEASE_MS) held += 1;
    return (this.labelCount[index] ?? 0) + held < this.session.k;
  }

  /**
   * The item this annotator should see now: the one they hold (a reload shows it again), else the
   * first item they have not decided that still needs labels. Null when there is none.
   */
  async next(annotator: string): Promise<ShownItem | null> {
    checkAnnotator(annotator);
    const now = Date.now();
    const lease = this.leases.get(annotator);
    let index: number | undefined = lease !== undefined && !this.mine(annotator).has(lease.index) ? lease.index : undefined;
    if (index === undefined) {
      this.leases.delete(annotator);
      for (let i = 0; i < this.total; i++) {
        if (this.available(i, annotator, now)) {
          index = i;
          break;
        }
      }
    }
    if (index === undefined) return null;
    if (lease?.index !== index) this.leases.set(annotator, { index, since: now });
    const item = await this.item(index);
    this.prefetch(index + 1);
    return this.show(item, annotator);
  }

  private show(item: ItemEntry, annotator: string): ShownItem {
    const leftSide = this.leftSide(item.id, annotator);
    return {
      index: item.index,
      id: item.id,
      prompt: item.prompt,
      left: leftSide === 'a' ? item.a : item.b,
      right: leftSide === 'a' ? item.b : item.a,
      leftSide,
      ...(item.category !== undefined ? { category: item.category } : {}),
    };
  }

  /**
   * Records a decision on an item shown to this annotator: journaled (fsync), then the dataset files
   * rewritten (atomically), before this resolves.
   * Throws when the item was not shown yet or was already decided by them.
   */
  async decide(annotator: string, index: number, choice: Choice, { note, category }: { note?: string; category?: string } = {}): Promise<DecisionEntry> {
    checkAnnotator(annotator);
    if (this.closed) throw new CollectError({ message: 'the session is closed' });
    if (!['left', 'right', 'tie', 'skip'].includes(choice)) throw new InvalidArgumentError({ argument: 'choice', message: `expected left, right, tie or skip, got "${String(choice)}"` });
    if (!(Number.isInteger(index) && index >= 0 && index < this.total)) throw new InvalidArgumentError({ argument: 'index', message: `no item ${index}` });
    const item = this.items[index];
    if (item === undefined) throw new InvalidArgumentError({ argument: 'index', message: `item ${index} was not shown yet` });
    if (this.mine(annotator).has(index)) throw new CollectError({ code: 'INVALID_ARGUMENT', message: `${annotator} already decided item ${index} (undo first)` });
    if (note !== undefined && (typeof note !== 'string' || note.length > 10_000)) throw new InvalidArgumentError({ argument: 'note', message: 'expected a string of at most 10000 characters' });
    if (category !== undefined && (typeof category !== 'string' || category.length > 200)) throw new InvalidArgumentError({ argument: 'category', message: 'expected a string of at most 200 characters' });
    const lease = this.leases.get(annotator);
    const now = Date.now();
    const since = lease?.index === index ? lease.since : now;
    const entry: DecisionEntry = {
      type: 'decision',
      seq: ++this.seq,
      index,
      itemId: item.id,
      annotator,
      choice,
      left: this.leftSide(item.id, annotator),
      ...(note ? { note } : {}),
      ...(category ? { category } : {}),
      ms: now - since,
      at: new Date(now).toISOString(),
    };
    this.journal.append(entry);
    this.applyDecision(entry);
    if (lease?.index === index) this.leases.delete(annotator);
    // Acknowledged only once the dataset files show it too (concurrent decisions share one write).
    this.scheduleWrite();
    await this.flush();
    return entry;
  }

  /** Withdraws this annotator's latest decision; its item is shown to them again. Null when there is nothing to undo. */
  async undo(annotator: string): Promise<ShownItem | null> {
    checkAnnotator(annotator);
    if (this.closed) throw new CollectError({ message: 'the session is closed' });
    const mine = this.mine(annotator);
    let latest: DecisionEntry | undefined;
    for (const decision of this.decisions) if (decision.annotator === annotator && !this.undone.has(decision.seq) && mine.get(decision.index) === decision.seq) latest = decision;
    if (latest === undefined) return null;
    const entry: UndoEntry = { type: 'undo', seq: ++this.seq, annotator, undoes: latest.seq, at: new Date().toISOString() };
    this.journal.append(entry);
    this.applyUndo(entry);
    this.leases.set(annotator, { index: latest.index, since: Date.now() });
    this.scheduleWrite();
    await this.flush();
    return this.show(this.items[latest.index]!, annotator);
  }

  /** Active (not undone) decisions in journal order. */
  activeDecisions(): DecisionEntry[] {
    return this.decisions.filter((d) => !this.undone.has(d.seq));
  }

  progress(annotator?: string): Progress {
    const active = this.activeDecisions();
    let complete = 0;
    for (const count of this.labelCount) if (count >= this.session.k) complete += 1;
    const now = Date.now();
    let remainingForMe = 0;
    if (annotator !== undefined) for (let i = 0; i < this.total; i++) if (this.available(i, annotator, now) || this.leases.get(annotator)?.index === i) remainingForMe += 1;
    return {
      total: this.total,
      complete,
      labels: active.filter((d) => d.choice !== 'skip').length,
      ties: active.filter((d) => d.choice === 'tie').length,
      skips: active.filter((d) => d.choice === 'skip').length,
      pairs: buildCollectedPairs(this.items, active, this.session).length,
      mine: annotator === undefined ? 0 : this.mine(annotator).size,
      remainingForMe,
    };
  }

  /** Categories seen in the items (for the page's category list). */
  categories(): string[] {
    const seen = new Set<string>();
    if (this.source.kind === 'generate') {
      for (const p of this.source.prompts) if (p.category) seen.add(p.category);
    } else {
      for (const item of this.source.items) if (item.category) seen.add(item.category);
    }
    return [...seen].sort();
  }

  private scheduleWrite(): void {
    if (this.writeQueued) return;
    this.writeQueued = true;
    this.writing = this.writing.then(async () => {
      this.writeQueued = false;
      await this.writeDataset();
    });
  }

  private async writeDataset(): Promise<void> {
    await writeCollectedDataset({ json: this.datasetJsonPath, jsonl: this.datasetJsonlPath }, buildCollectedPairs(this.items, this.activeDecisions(), this.session));
  }

  /** Waits for the dataset write in progress (and the one queued after it). */
  async flush(): Promise<void> {
    let current: Promise<void>;
    do {
      current = this.writing;
      await current;
    } while (current !== this.writing);
  }

  /** Finishes the current write, closes the journal and releases the generator. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush();
    this.journal.close();
    if (this.source.kind === 'generate') await this.source.generator.dispose?.();
  }
}

function checkAnnotator(annotator: string): void {
  if (typeof annotator !== 'string' || annotator.trim() === '' || annotator.length > 100 || /[\u0000-\u001f]/.test(annotator)) {
    throw new InvalidArgumentError({ argument: 'annotator', message: 'expected a name of 1 to 100 printable characters' });
  }
}
