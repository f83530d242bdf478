import { asSpec, boolField, checkKeys, TokenizerLoadError, type Spec, type SpecContext } from './errors';

/** A tokenization model: appends the ids of one pre-tokenized piece to `out`. */
export interface Model {
  tokenize(text: string, out: number[]): void;
  tokenToId(token: string): number | undefined;
  vocabSize(): number;
}

function vocabMap(value: unknown, field: string, context: SpecContext): Map<string, number> {
  const spec = asSpec(value, field, context);
  const vocab = new Map<string, number>();
  for (const token in spec) {
    const id = spec[token];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new TokenizerLoadError(context.file, `${field}.${token}`, `expected a token id, got ${JSON.stringify(id)}`);
    }
    vocab.set(token, id);
  }
  return vocab;
}

function optionalString(spec: Spec, key: string, field: string, context: SpecContext): string | undefined {
  const value = spec[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new TokenizerLoadError(context.file, `${field}.${key}`, `expected a string, got ${JSON.stringify(value)}`);
  return value;
}

const utf8 = new TextEncoder();
const BYTE_TOKENS = Array.from({ length: 256 }, (_, byte) => `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`);

/** Open-addressing hash table from a pair of token ids to a merge slot (a Map keyed by idA * n + idB is slow to build). */
class PairTable {
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly slots: Int32Array;
  private readonly mask: number;

  constructor(capacity: number) {
    let size = 16;
    while (size < capacity * 2) size *= 2;
    this.left = new Int32Array(size).fill(-1);
    this.right = new Int32Array(size);
    this.slots = new Int32Array(size);
    this.mask = size - 1;
  }

  private index(a: number, b: number): number {
    let at = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77)) & this.mask;
    while (this.left[at] !== -1 && (this.left[at] !== a || this.right[at] !== b)) at = (at + 1) & this.mask;
    return at;
  }

  get(a: number, b: number): number {
    const at = this.index(a, b);
    return this.left[at] === -1 ? -1 : this.slots[at]!;
  }

  set(a: number, b: number, slot: number): void {
    const at = this.index(a, b);
    this.left[at] = a;
    this.right[at] = b;
    this.slots[at] = slot;
  }
}

/** Byte-pair encoding as tokenizers' `BPE` model (merge queue by rank, then position). */
class BpeModel implements Model {
  private readonly merges: PairTable;
  private readonly mergeRank: number[] = [];
  private readonly mergeId: number[] = [];
  private readonly cache = new Map<string, number[]>();
  private readonly byteIds: Array<number | undefined>;
  private readonly unkId: number | undefined;

  constructor(
    private readonly vocab: Map<string, number>,
    merges: Array<[string, string]>,
    private readonly options: {
      unkToken: string | undefined;
      prefix: string | undefined;
      suffix: string | undefined;
      fuseUnk: boolean;
      byteFallback: boolean;
      ignoreMerges: boolean;
    },
    field: string,
    context: SpecContext,
  ) {
    this.merges = new PairTable(merges.length);
    const prefixLength = options.prefix?.length ?? 0;
    merges.forEach(([a, b], rank) => {
      const idA = vocab.get(a);
      const idB = vocab.get(b);
      if (idA === undefined || idB === undefined) {
        throw new TokenizerLoadError(context.file, `${field}.merges[${rank}]`, `merge "${a} ${b}" uses a token missing from the vocabulary`);
      }
      const merged = a + b.slice(prefixLength);
      const newId = vocab.get(merged);
      if (newId === undefined) {
        throw new TokenizerLoadError(context.file, `${field}.merges[${rank}]`, `the merge result "${merged}" is missing from the vocabulary`);
      }
      let slot = this.merges.get(idA, idB);
      if (slot < 0) {
        slot = this.mergeRank.length;
        this.merges.set(idA, idB, slot);
        this.mergeRank.push(rank);
        this.mergeId.push(newId);
      } else {
        // A repeated pair keeps its last rank, as the Rust HashMap built from the list does.
        this.mergeRank[slot] = rank;
        this.mergeId[slot] = newId;
      }
    });
    this.byteIds = BYTE_TOKENS.map((token) => vocab.get(token));
    this.unkId = options.unkToken === undefined ? undefined : vocab.get(options.unkToken);
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  vocabSize(): number {
    return this.vocab.size;
  }

  tokenize(text: string, out: number[]): void {
    if (text.length === 0) return;
    const cached = this.cache.get(text);
    if (cached !== undefined) {
      for (const id of cached) out.push(id);
      return;
    }
    const ids = this.encodeWord(text);
    if (text.length < 256) {
      if (this.cache.size >= 20_000) this.cache.clear();
      this.cache.set(text, ids);
    }
    for (const id of ids) out.push(id);
  }

  private encodeWord(text: string): number[] {
    const { prefix, suffix, fuseUnk, byteFallback, ignoreMerges } = this.options;
    if (ignoreMerges) {
      const whole = this.vocab.get(text);
      if (whole !== undefined) return [whole];
    }
    const symbols: number[] = [];
    let pendingUnk = false;
    const flushUnk = (): void => {
      if (pendingUnk) symbols.push(this.unkId!);
      pendingUnk = false;
    };
    for (let i = 0; i < text.length; ) {
      const cp = text.codePointAt(i)!;
      const width = cp > 0xffff ? 2 : 1;
      let piece = text.slice(i, i + width);
      if (prefix !== undefined && i > 0) piece = prefix + piece;
      i += width;
      if (suffix !== undefined && i >= text.length) piece += suffix;
      const id = this.vocab.get(piece);
      if (id !== undefined) {
        flushUnk();
        symbols.push(id);
        continue;
      }
      if (byteFallback) {
        const bytes = utf8.encode(piece);
        const byteIds: number[] = [];
        for (const byte of bytes) {
          const byteId = this.byteIds[byte];
          if (byteId === undefined) break;
          byteIds.push(byteId);
        }
        if (byteIds.length === bytes.length) {
          for (const byteId of byteIds) symbols.push(byteId);
          continue;
        }
      }
      if (this.unkId !== undefined) {
        if (pendingUnk && !fuseUnk) symbols.push(this.unkId);
        pendingUnk = true;
      }
    }
    flushUnk();
    return this.mergeAll(symbols);
  }

  private mergeAll(ids: number[]): number[] {
    const n = ids.length;
    if (n < 2) return ids;
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    const alive = new Uint8Array(n).fill(1);
    for (let k = 0; k < n; k++) {
      next[k] = k + 1 < n ? k + 1 : -1;
      prev[k] = k - 1;
    }
    // Min-heap of (rank, position, merge slot), ordered by rank then position.
    const heapKey: number[] = [];
    const heapSlot: number[] = [];
    const push = (rank: number, position: number, slot: number): void => {
      let at = heapKey.length;
      const key = rank * 0x4000000 + position;
      heapKey.push(key);
      heapSlot.push(slot);
      while (at > 0) {
        const parent = (at - 1) >> 1;
        if (heapKey[parent]! <= key) break;
        heapKey[at] = heapKey[parent]!;
        heapSlot[at] = heapSlot[parent]!;
        at = parent;
      }
      heapKey[at] = key;
      heapSlot[at] = slot;
    };
    const pop = (): [number, number] => {
      const topKey = heapKey[0]!;
      const topSlot = heapSlot[0]!;
      const lastKey = heapKey.pop()!;
      const lastSlot = heapSlot.pop()!;
      const size = heapKey.length;
      if (size > 0) {
        let at = 0;
        for (;;) {
          const left = 2 * at + 1;
          if (left >= size) break;
          const right = left + 1;
          const child = right < size && heapKey[right]! < heapKey[left]! ? right : left;
          if (heapKey[child]! >= lastKey) break;
          heapKey[at] = heapKey[child]!;
          heapSlot[at] = heapSlot[child]!;
          at = child;
        }
        heapKey[at] = lastKey;
        heapSlot[at] = lastSlot;
      }
      return [topKey, topSlot];
    };
    const merges = this.merges;
    const consider = (position: number): void => {
      const right = next[position]!;
      if (right < 0) return;
      const slot = merges.get(ids[position]!, ids[right]!);
      if (slot >= 0) push(this.mergeRank[slot]!, position, slot);
    };
    if (n >= 0x4000000) throw new RangeError('a pre-tokenized piece is too long for BPE');
    for (let k = 0; k < n - 1; k++) consider(k);
    while (heapKey.length > 0) {
      const [key, slot] = pop();
      const position = key % 0x4000000;
      if (!alive[position]) continue;
      const right = next[position]!;
      if (right < 0) continue;
      const current = merges.get(ids[position]!, ids[right]!);
      if (current < 0 || this.mergeId[current] !== this.mergeId[slot]) continue;
      ids[position] = this.mergeId[slot]!;
      alive[right] = 0;
      const after = next[right]!;
      next[position] = after;
      if (after >= 0) prev[after] = position;
      if (prev[position]! >= 0) consider(prev[position]!);
      consider(position);
    }
    const out: number[] = [];
    for (let k = 0; k >= 0; k = next[k]!) out.push(ids[k]!);
    return out;
  }
}

/** Greedy longest-match-first WordPiece, as tokenizers' `WordPiece` model. */
class WordPieceModel implements Model {
  constructor(
    private readonly vocab: Map<string, number>,
    private readonly unkToken: string,
    private readonly prefix: string,
    private readonly maxChars: number,
  ) {}

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  vocabSize(): number {
    return this.vocab.size;
  }

  private unk(): number {
    const id = this.vocab.get(this.unkToken);
    if (id === undefined) throw new Error(`WordPiece: the unk token "${this.unkToken}" is not in the vocabulary`);
    return id;
  }

  tokenize(text: string, out: number[]): void {
    const direct = this.vocab.get(text);
    if (direct !== undefined && text.length <= this.maxChars) {
      out.push(direct);
      return;
    }
    let chars = 0;
    for (let i = 0; i < text.length; i++) {
      const unit = text.charCodeAt(i);
      if (unit < 0xdc00 || unit > 0xdfff) chars++;
    }
    if (chars > this.maxChars) {
      out.push(this.unk());
      return;
    }
    const pieces: number[] = [];
    let start = 0;
    while (start < text.length) {
      let end = text.length;
      let found: number | undefined;
      while (start < end) {
        const sub = start > 0 ? this.prefix + text.slice(start, end) : text.slice(start, end);
        found = this.vocab.get(sub);
        if (found !== undefined) break;
        const last = text.charCodeAt(end - 1);
        end -= last >= 0xdc00 && last <= 0xdfff && end - 2 >= start ? 2 : 1;
      }
      if (found === undefined) {
        out.push(this.unk());
        return;
      }
      pieces.push(found);
      start = end;
    }
    for (const id of pieces) out.push(id);
  }
}

class WordLevelModel implements Model {
  constructor(
    private readonly vocab: Map<string, number>,
    private readonly unkToken: string | undefined,
  ) {}

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  vocabSize(): number {
    return this.vocab.size;
  }

  tokenize(text: string, out: number[]): void {
    const id = this.vocab.get(text) ?? (this.unkToken === undefined ? undefined : this.vocab.get(this.unkToken));
    if (id === undefined) throw new Error(`WordLevel: "${text}" is not in the vocabulary and there is no unk token`);
    out.push(id);
  }
}

/**
 * Unigram (SentencePiece) with the Viterbi search of tokenizers' `encode_optimized`: positions in
 * order, candidate pieces from shortest to longest, a candidate replaces the best path ending at the
 * same place only when strictly better (so on ties the earliest-found path stays), an unknown
 * character scores `min_score - 10`, consecutive unknown pieces are fused.
 */
class UnigramModel implements Model {
  private readonly ids = new Map<string, number>();
  private readonly scores: Float64Array;
  private readonly minScore: number;
  private readonly children: Array<Map<number, number>> = [new Map()];
  private readonly terminal: number[] = [-1];
  private readonly byteIds: Array<number | undefined>;

  constructor(
    pieces: Array<[string, number]>,
    private readonly unkId: number | undefined,
    private readonly byteFallback: boolean,
  ) {
    this.scores = new Float64Array(pieces.length);
    let minScore = Infinity;
    pieces.forEach(([piece, score], id) => {
      this.ids.set(piece, id);
      this.scores[id] = score;
      if (score < minScore) minScore = score;
      let node = 0;
      for (let i = 0; i < piece.length; i++) {
        const unit = piece.charCodeAt(i);
        let child = this.children[node]!.get(unit);
        if (child === undefined) {
          child = this.children.length;
          this.children.push(new Map());
          this.terminal.push(-1);
          this.children[node]!.set(unit, child);
        }
        node = child;
      }
      if (piece.length > 0) this.terminal[node] = 1;
    });
    this.minScore = minScore;
    this.byteIds = BYTE_TOKENS.map((token) => this.ids.get(token));
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  vocabSize(): number {
    return this.scores.length;
  }

  private readonly cache = new Map<string, number[]>();

  tokenize(text: string, out: number[]): void {
    if (text.length === 0) return;
    const cached = this.cache.get(text);
    if (cached !== undefined) {
      for (const id of cached) out.push(id);
      return;
    }
    const ids: number[] = [];
    this.viterbi(text, ids);
    // The Rust model caches short pieces the same way; results do not depend on it.
    if (text.length < 256) {
      if (this.cache.size >= 20_000) this.cache.clear();
      this.cache.set(text, ids);
    }
    for (const id of ids) out.push(id);
  }

  private viterbi(text: string, out: number[]): void {
    const n = text.length;
    const unkScore = this.minScore - 10;
    const bestScore = new Float64Array(n + 1);
    const startsAt = new Int32Array(n + 1).fill(-1);
    const nodeId = new Int32Array(n + 1);
    const unkId = this.unkId;
    for (let start = 0; start < n; ) {
      const base = bestScore[start]!;
      const first = text.charCodeAt(start);
      const charLength = first >= 0xd800 && first <= 0xdbff && start + 1 < n ? 2 : 1;
      let hasSingle = false;
      let node = 0;
      for (let end = start; end < n; ) {
        const child = this.children[node]!.get(text.charCodeAt(end));
        if (child === undefined) break;
        node = child;
        end++;
        if (this.terminal[node] === 1) {
          const id = this.ids.get(text.slice(start, end))!;
          const candidate = this.scores[id]! + base;
          if (startsAt[end] === -1 || candidate > bestScore[end]!) {
            bestScore[end] = candidate;
            startsAt[end] = start;
            nodeId[end] = id;
          }
          if (end - start === charLength) hasSingle = true;
        }
      }
      if (!hasSingle) {
        if (unkId === undefined) throw new Error('Unigram: a character is not in the vocabulary and the model has no unk_id');
        const end = start + charLength;
        const candidate = unkScore + base;
        if (startsAt[end] === -1 || candidate > bestScore[end]!) {
          bestScore[end] = candidate;
          startsAt[end] = start;
          nodeId[end] = unkId;
        }
      }
      start += charLength;
    }
    const pieces: string[] = [];
    let unkRun = '';
    for (let end = n; end > 0; ) {
      const start = startsAt[end]!;
      if (nodeId[end] === unkId) unkRun = text.slice(start, end) + unkRun;
      else {
        if (unkRun !== '') pieces.push(unkRun);
        unkRun = '';
        pieces.push(text.slice(start, end));
      }
      end = start;
    }
    if (unkRun !== '') pieces.push(unkRun);
    for (let k = pieces.length - 1; k >= 0; k--) {
      const piece = pieces[k]!;
      const id = this.ids.get(piece);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      if (this.byteFallback) {
        const bytes = utf8.encode(piece);
        const byteIds = Array.from(bytes, (byte) => this.byteIds[byte]);
        if (byteIds.every((byteId) => byteId !== undefined)) {
          for (const byteId of byteIds) out.push(byteId);
          continue;
        }
      }
      if (unkId === undefined) throw new Error('Unigram: missing unk_id');
      out.push(unkId);
    }
  }
}

/** Builds tokenizer.json's `model`. */
export function buildModel(value: unknown, field: string, context: SpecContext): Model {
  const spec = asSpec(value, field, context);
  const type = spec.type ?? (spec.merges !== undefined ? 'BPE' : undefined);
  switch (type) {
    case 'BPE': {
      checkKeys(spec, field, context, ['dropout', 'unk_token', 'continuing_subword_prefix', 'end_of_word_suffix', 'fuse_unk', 'byte_fallback', 'ignore_merges', 'vocab', 'merges']);
      if (spec.dropout !== undefined && spec.dropout !== null && spec.dropout !== 0) {
        context.unsupported(`${field}.dropout`, 'BPE dropout is random; pref tokenizes deterministically');
      }
      const vocab = vocabMap(spec.vocab, `${field}.vocab`, context);
      if (!Array.isArray(spec.merges)) throw new TokenizerLoadError(context.file, `${field}.merges`, 'expected an array');
      const merges = spec.merges.map((entry, index): [string, string] => {
        if (typeof entry === 'string') {
          const space = entry.indexOf(' ');
          if (space < 0) throw new TokenizerLoadError(context.file, `${field}.merges[${index}]`, 'expected "a b"');
          return [entry.slice(0, space), entry.slice(space + 1)];
        }
        if (Array.isArray(entry) && entry.length === 2 && typeof entry[0] === 'string' && typeof entry[1] === 'string') return [entry[0], entry[1]];
        throw new TokenizerLoadError(context.file, `${field}.merges[${index}]`, 'expected "a b" or ["a", "b"]');
      });
      const prefix = optionalString(spec, 'continuing_subword_prefix', field, context);
      const suffix = optionalString(spec, 'end_of_word_suffix', field, context);
      return new BpeModel(
        vocab,
        merges,
        {
          unkToken: optionalString(spec, 'unk_token', field, context),
          prefix: prefix === '' ? undefined : prefix,
          suffix: suffix === '' ? undefined : suffix,
          fuseUnk: boolField(spec, 'fuse_unk', field, context, false),
          byteFallback: boolField(spec, 'byte_fallback', field, context, false),
          ignoreMerges: boolField(spec, 'ignore_merges', field, context, false),
        },
        field,
        context,
      );
    }
    case 'WordPiece': {
      checkKeys(spec, field, context, ['unk_token', 'continuing_subword_prefix', 'max_input_chars_per_word', 'vocab']);
      const max = spec.max_input_chars_per_word ?? 100;
      if (typeof max !== 'number') throw new TokenizerLoadError(context.file, `${field}.max_input_chars_per_word`, 'expected a number');
      return new WordPieceModel(
        vocabMap(spec.vocab, `${field}.vocab`, context),
        optionalString(spec, 'unk_token', field, context) ?? '[UNK]',
        optionalString(spec, 'continuing_subword_prefix', field, context) ?? '##',
        max,
      );
    }
    case 'WordLevel':
      checkKeys(spec, field, context, ['unk_token', 'vocab']);
      return new WordLevelModel(vocabMap(spec.vocab, `${field}.vocab`, context), optionalString(spec, 'unk_token', field, context));
    case 'Unigram': {
      checkKeys(spec, field, context, ['unk_id', 'vocab', 'byte_fallback']);
      if (!Array.isArray(spec.vocab)) throw new TokenizerLoadError(context.file, `${field}.vocab`, 'expected an array of [piece, score]');
      const pieces = spec.vocab.map((entry, index): [string, number] => {
        if (Array.isArray(entry) && typeof entry[0] === 'string' && typeof entry[1] === 'number') return [entry[0], entry[1]];
        throw new TokenizerLoadError(context.file, `${field}.vocab[${index}]`, 'expected [piece, score]');
      });
      const unkId = spec.unk_id;
      if (unkId !== undefined && unkId !== null && (typeof unkId !== 'number' || !Number.isInteger(unkId) || unkId < 0 || unkId >= pieces.length)) {
        throw new TokenizerLoadError(context.file, `${field}.unk_id`, `expected an index into the vocabulary, got ${JSON.stringify(unkId)}`);
      }
      return new UnigramModel(pieces, typeof unkId === 'number' ? unkId : undefined, boolField(spec, 'byte_fallback', field, context, false));
    }
    default:
      context.unsupported(`${field}.type`, `model ${JSON.stringify(type)} is not reproduced by pref`);
      throw new TokenizerLoadError(context.file, `${field}.type`, `model ${JSON.stringify(type)} is not reproduced by pref`);
  }
}
