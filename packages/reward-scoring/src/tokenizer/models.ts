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

/** SentencePiece's visible space, which Metaspace and the Llama-2 normalizers put in place of " ". */
const METASPACE = 0x2581;

/**
 * Whether BPE on a word equals BPE on its pieces cut before every "▁" that follows another
 * character. Rust's merge loop only ever merges adjacent symbols whose pair is in the merge table,
 * and orders merges by (rank, position), which orders each piece's merges as if it were alone; so
 * when no pair across such a cut can be in the table, the pieces never interact and the ids are the
 * same. Across a cut, the left symbol's token text ends with the character before the "▁", its
 * `<0xNN>` byte token or the unk token (never with "▁" unless the unk token does), and the right
 * symbol's starts with "▁" (when "▁" is in the vocabulary). It is exact when: no merge (a, b) has b
 * starting with "▁" and a not ending with it, merged texts are the concatenation (no subword prefix
 * or suffix), each id has one token text, "▁" is a token, the unk token does not end with "▁", and
 * merges are not skipped for whole words in the vocabulary (`ignore_merges` looks up the whole word).
 * Llama-2's and Gemma's tokenizer.json qualify.
 */
function wordSplitIsExact(
  vocab: Map<string, number>,
  merges: ReadonlyArray<readonly [string, string]>,
  options: { unkToken: string | undefined; prefix: string | undefined; suffix: string | undefined; ignoreMerges: boolean },
): boolean {
  const space = String.fromCharCode(METASPACE);
  if (options.prefix !== undefined || options.suffix !== undefined || options.ignoreMerges) return false;
  if (!vocab.has(space) || options.unkToken?.endsWith(space) === true) return false;
  const ids = new Set<number>();
  for (const id of vocab.values()) {
    if (ids.has(id)) return false;
    ids.add(id);
  }
  for (const [a, b] of merges) if (b.charCodeAt(0) === METASPACE && a.charCodeAt(a.length - 1) !== METASPACE) return false;
  return true;
}

/** Heap keys are `rank * POSITION_SPAN + position`: exact in a double up to 2^27 merges. */
const POSITION_SPAN = 0x4000000;
/** A symbol merged into its left neighbour (ids are never negative). */
const MERGED_AWAY = -1;

/** Slot of a pair of ids in the merge table; a multiplicative mix of both (the table size is a power of 2). */
function pairHash(left: number, right: number): number {
  let h = Math.imul(left, 0x9e3779b1) ^ Math.imul(right + 0x7f4a7c15, 0x85ebca77);
  h ^= h >>> 15;
  return Math.imul(h, 0x2c1b3c6d);
}

/**
 * Byte-pair encoding as tokenizers' `BPE` model (`Word::merge_all`): a min-heap of candidate merges
 * keyed by (rank, then leftmost position) over a doubly linked list of symbols, so a word of n
 * symbols costs O(n log n) (a SentencePiece BPE such as Llama-2's or Gemma's makes a whole text one
 * word). Stale heap entries are skipped as in Rust: an entry is applied when the pair now at its
 * position merges into the same new id (not necessarily the same rank). Everything a word needs
 * lives in typed arrays kept on the model and grown on demand, so encoding allocates only the ids it
 * returns: the merge table is one open-addressing Int32Array of (left, right, rank) slots, a merge's
 * new id is read by rank, single characters map to ids through a code-unit table, and byte fallback
 * encodes UTF-8 by hand.
 */
class BpeModel implements Model {
  /** Slots of 4 int32: left id (-1: empty), right id, rank, unused (a slot never straddles a cache line). */
  private readonly table: Int32Array;
  private readonly tableMask: number;
  /** The id a merge produces, by rank (the merge's index in tokenizer.json). */
  private readonly newIdByRank: Int32Array;
  /** Id of the one-code-unit token for each BMP code unit (-1: none); unused with a prefix or suffix. */
  private readonly charIds: Int32Array;
  /** Id of each astral character's token. */
  private readonly astralIds = new Map<number, number>();
  /** Id of `<0xNN>` per byte (-1: none). */
  private readonly byteIds = new Int32Array(256).fill(-1);
  private readonly unkId: number;
  /**
   * True when no merge can join a symbol ending in something other than U+2581 (SentencePiece's
   * "▁" space) to one starting with "▁": a word is then tokenized as the pieces before each "▁"
   * that follows another character, with the same ids as the whole (see `wordSplitIsExact`), and
   * the pieces are cached like the words of a pre-tokenized model.
   */
  private readonly splitAtSpaces: boolean;
  private readonly cache = new Map<string, number[]>();
  // Scratch of one word, reused: symbol ids, linked list, heap of (rank, position) keys.
  private symbols = new Int32Array(0);
  private next = new Int32Array(0);
  private prev = new Int32Array(0);
  private heap = new Float64Array(0);

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
    if (merges.length >= 2 ** 53 / POSITION_SPAN) throw new TokenizerLoadError(context.file, `${field}.merges`, 'too many merges');
    let size = 16;
    while (size < merges.length * 2) size *= 2;
    this.table = new Int32Array(size * 4).fill(-1);
    this.tableMask = size - 1;
    this.newIdByRank = new Int32Array(merges.length);
    const prefixLength = options.prefix?.length ?? 0;
    for (let rank = 0; rank < merges.length; rank++) {
      const [a, b] = merges[rank]!;
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
      this.newIdByRank[rank] = newId;
      // A repeated pair keeps its last rank, as the Rust HashMap built from the list does.
      const at = this.slotOf(idA, idB);
      this.table[at] = idA;
      this.table[at + 1] = idB;
      this.table[at + 2] = rank;
    }
    this.charIds = new Int32Array(0x10000).fill(-1);
    for (const [token, id] of vocab) {
      if (token.length === 1) this.charIds[token.charCodeAt(0)] = id;
      else if (token.length === 2) {
        const cp = token.codePointAt(0)!;
        if (cp > 0xffff) this.astralIds.set(cp, id);
      }
    }
    BYTE_TOKENS.forEach((token, byte) => (this.byteIds[byte] = vocab.get(token) ?? -1));
    this.unkId = options.unkToken === undefined ? -1 : (vocab.get(options.unkToken) ?? -1);
    this.splitAtSpaces = wordSplitIsExact(vocab, merges, options);
  }

  /** Index in `table` of the pair's slot, or of the empty slot where it would go. */
  private slotOf(left: number, right: number): number {
    const table = this.table;
    const mask = this.tableMask;
    let slot = pairHash(left, right) & mask;
    for (;;) {
      const at = slot << 2;
      const stored = table[at]!;
      if (stored === -1 || (stored === left && table[at + 1] === right)) return at;
      slot = (slot + 1) & mask;
    }
  }

  /** Rank of the merge of (left, right), or -1. */
  private rankOf(left: number, right: number): number {
    const at = this.slotOf(left, right);
    return this.table[at] === -1 ? -1 : this.table[at + 2]!;
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  vocabSize(): number {
    return this.vocab.size;
  }

  tokenize(text: string, out: number[]): void {
    if (!this.splitAtSpaces) {
      this.tokenizeWord(text, out);
      return;
    }
    let start = 0;
    for (let i = 1; i < text.length; i++) {
      if (text.charCodeAt(i) === METASPACE && text.charCodeAt(i - 1) !== METASPACE) {
        this.tokenizeWord(text.slice(start, i), out);
        start = i;
      }
    }
    this.tokenizeWord(start === 0 ? text : text.slice(start), out);
  }

  private tokenizeWord(text: string, out: number[]): void {
    if (text.length === 0) return;
    const cached = this.cache.get(text);
    if (cached !== undefined) {
      for (let k = 0; k < cached.length; k++) out.push(cached[k]!);
      return;
    }
    const start = out.length;
    this.encodeWord(text, out);
    if (text.length < 256) {
      if (this.cache.size >= 20_000) this.cache.clear();
      this.cache.set(text, out.slice(start));
    }
  }

  private reserve(symbols: number): void {
    if (this.symbols.length >= symbols) return;
    const size = Math.max(symbols, 2 * this.symbols.length, 256);
    this.symbols = new Int32Array(size);
    this.next = new Int32Array(size);
    this.prev = new Int32Array(size);
    // Pushes: one per initial pair, at most two per merge.
    this.heap = new Float64Array(3 * size);
  }

  /** The symbols of one word (characters, byte fallback, unknowns as tokenizers' `merge_word`), merged into `out`. */
  private encodeWord(text: string, out: number[]): void {
    const { prefix, suffix, fuseUnk, byteFallback, ignoreMerges } = this.options;
    if (ignoreMerges) {
      const whole = this.vocab.get(text);
      if (whole !== undefined) {
        out.push(whole);
        return;
      }
    }
    // At most 4 byte symbols per character (2 code units for the 4-byte ones) plus pending unknowns.
    const length = text.length;
    const extra = prefix === undefined && suffix === undefined ? 0 : utf8.encode((prefix ?? '') + (suffix ?? '')).length;
    this.reserve(4 * length + extra + 2);
    const symbols = this.symbols;
    const charIds = this.charIds;
    const byteIds = this.byteIds;
    const plain = prefix === undefined && suffix === undefined;
    const unkId = this.unkId;
    let n = 0;
    let pendingUnk = false;
    for (let i = 0; i < length; ) {
      const unit = text.charCodeAt(i);
      let cp = unit;
      let width = 1;
      if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < length) {
        const low = text.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          cp = ((unit - 0xd800) << 10) + (low - 0xdc00) + 0x10000;
          width = 2;
        }
      }
      let id: number;
      let piece: string | undefined;
      if (plain) id = width === 1 ? charIds[unit]! : (this.astralIds.get(cp) ?? -1);
      else {
        piece = text.slice(i, i + width);
        if (prefix !== undefined && i > 0) piece = prefix + piece;
        if (suffix !== undefined && i + width >= length) piece += suffix;
        id = this.vocab.get(piece) ?? -1;
      }
      i += width;
      if (id >= 0) {
        if (pendingUnk) symbols[n++] = unkId;
        pendingUnk = false;
        symbols[n++] = id;
        continue;
      }
      // Byte fallback does not flush a pending unknown first (nor does Rust's merge_word).
      if (byteFallback) {
        if (piece === undefined) {
          const written = this.pushUtf8(cp, n);
          if (written > 0) {
            n += written;
            continue;
          }
        } else {
          const bytes = utf8.encode(piece);
          let known = 0;
          while (known < bytes.length && byteIds[bytes[known]!]! >= 0) known++;
          if (known === bytes.length) {
            for (let k = 0; k < bytes.length; k++) symbols[n++] = byteIds[bytes[k]!]!;
            continue;
          }
        }
      }
      if (unkId >= 0) {
        if (pendingUnk && !fuseUnk) symbols[n++] = unkId;
        pendingUnk = true;
      }
    }
    if (pendingUnk) symbols[n++] = unkId;
    this.mergeAll(n, out);
  }

  /** Writes the `<0xNN>` ids of `cp`'s UTF-8 bytes at `symbols[at]`; 0 when one of them is missing. */
  private pushUtf8(cp: number, at: number): number {
    const byteIds = this.byteIds;
    const symbols = this.symbols;
    // A lone surrogate is U+FFFD in UTF-8 (TextEncoder; napi does the same before Rust sees it).
    const code = cp >= 0xd800 && cp <= 0xdfff ? 0xfffd : cp;
    let count: number;
    let b0: number;
    let b1 = 0;
    let b2 = 0;
    let b3 = 0;
    if (code < 0x80) {
      count = 1;
      b0 = code;
    } else if (code < 0x800) {
      count = 2;
      b0 = 0xc0 | (code >> 6);
      b1 = 0x80 | (code & 0x3f);
    } else if (code < 0x10000) {
      count = 3;
      b0 = 0xe0 | (code >> 12);
      b1 = 0x80 | ((code >> 6) & 0x3f);
      b2 = 0x80 | (code & 0x3f);
    } else {
      count = 4;
      b0 = 0xf0 | (code >> 18);
      b1 = 0x80 | ((code >> 12) & 0x3f);
      b2 = 0x80 | ((code >> 6) & 0x3f);
      b3 = 0x80 | (code & 0x3f);
    }
    const i0 = byteIds[b0]!;
    const i1 = count > 1 ? byteIds[b1]! : 0;
    const i2 = count > 2 ? byteIds[b2]! : 0;
    const i3 = count > 3 ? byteIds[b3]! : 0;
    if (i0 < 0 || i1 < 0 || i2 < 0 || i3 < 0) return 0;
    symbols[at] = i0;
    if (count > 1) symbols[at + 1] = i1;
    if (count > 2) symbols[at + 2] = i2;
    if (count > 3) symbols[at + 3] = i3;
    return count;
  }

  /** tokenizers' `Word::merge_all` without dropout on `symbols[0..n)`; appends the merged ids to `out`. */
  private mergeAll(n: number, out: number[]): void {
    const symbols = this.symbols;
    if (n < 2) {
      if (n === 1) out.push(symbols[0]!);
      return;
    }
    if (n >= POSITION_SPAN) throw new RangeError('a pre-tokenized piece is too long for BPE');
    const next = this.next;
    const prev = this.prev;
    const heap = this.heap;
    const newIdByRank = this.newIdByRank;
    let size = 0;
    // Initial candidates in position order: each is pushed up a min-heap as usual.
    for (let k = 0; k < n; k++) {
      next[k] = k + 1 < n ? k + 1 : -1;
      prev[k] = k - 1;
      if (k + 1 < n) {
        const rank = this.rankOf(symbols[k]!, symbols[k + 1]!);
        if (rank >= 0) size = heapPush(heap, size, rank * POSITION_SPAN + k);
      }
    }
    while (size > 0) {
      const key = heap[0]!;
      size = heapPopTop(heap, size);
      const rank = Math.floor(key / POSITION_SPAN);
      const position = key - rank * POSITION_SPAN;
      const left = symbols[position]!;
      if (left === MERGED_AWAY) continue;
      const right = next[position]!;
      if (right < 0) continue;
      const newId = newIdByRank[rank]!;
      const current = this.rankOf(left, symbols[right]!);
      if (current < 0 || newIdByRank[current] !== newId) continue;
      symbols[position] = newId;
      symbols[right] = MERGED_AWAY;
      const after = next[right]!;
      next[position] = after;
      if (after >= 0) prev[after] = position;
      const before = prev[position]!;
      if (before >= 0) {
        const rankBefore = this.rankOf(symbols[before]!, newId);
        if (rankBefore >= 0) size = heapPush(heap, size, rankBefore * POSITION_SPAN + before);
      }
      if (after >= 0) {
        const rankAfter = this.rankOf(newId, symbols[after]!);
        if (rankAfter >= 0) size = heapPush(heap, size, rankAfter * POSITION_SPAN + position);
      }
    }
    for (let k = 0; k >= 0; k = next[k]!) out.push(symbols[k]!);
  }
}

/** Adds `key` to the binary min-heap `heap[0..size)`; returns the new size. */
function heapPush(heap: Float64Array, size: number, key: number): number {
  let at = size;
  while (at > 0) {
    const parent = (at - 1) >> 1;
    const above = heap[parent]!;
    if (above <= key) break;
    heap[at] = above;
    at = parent;
  }
  heap[at] = key;
  return size + 1;
}

/** Removes the smallest key of `heap[0..size)`; returns the new size. */
function heapPopTop(heap: Float64Array, size: number): number {
  const last = heap[size - 1]!;
  const count = size - 1;
  let at = 0;
  for (;;) {
    const left = 2 * at + 1;
    if (left >= count) break;
    const right = left + 1;
    const child = right < count && heap[right]! < heap[left]! ? right : left;
    const below = heap[child]!;
    if (below >= last) break;
    heap[at] = below;
    at = child;
  }
  heap[at] = last;
  return count;
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
