/**
 * The BPE model as pref had it before the typed-array merge loop (models.ts): the same heap of
 * (rank, position) merges over a linked list, written with JS arrays, closures and a Map lookup per
 * character. Kept, unchanged in behaviour, as a second oracle for the property test of the fast
 * model (bpe-model.test.ts). Test support only: not exported from the package.
 */
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
export class ReferenceBpeModel {
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
  ) {
    this.merges = new PairTable(merges.length);
    const prefixLength = options.prefix?.length ?? 0;
    merges.forEach(([a, b], rank) => {
      const idA = vocab.get(a);
      const idB = vocab.get(b);
      if (idA === undefined || idB === undefined) {
        throw new Error(`merge ${rank} uses a token missing from the vocabulary`);
      }
      const merged = a + b.slice(prefixLength);
      const newId = vocab.get(merged);
      if (newId === undefined) {
        throw new Error(`the merge result "${merged}" is missing from the vocabulary`);
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
