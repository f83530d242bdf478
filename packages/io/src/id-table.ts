/**
 * A compact open-addressing hash table from 53-bit id hashes to where the id was first seen
 * (file index, line) and how often it occurred: 18 bytes per slot in typed arrays instead of ~50 bytes per entry for a
 * `Map<number, number>` with heap-number keys, so duplicate-id tracking on a million rows costs
 * ~30 MB rather than ~50 MB. Linear probing, load factor ≤ 0.75.
 */
export class IdTable {
  private keys: Float64Array;
  private lines: Uint32Array;
  private files: Uint16Array;
  private counts: Uint32Array;
  private mask: number;
  size = 0;

  constructor(initialCapacity = 1 << 14) {
    this.keys = new Float64Array(initialCapacity);
    this.lines = new Uint32Array(initialCapacity);
    this.files = new Uint16Array(initialCapacity);
    this.counts = new Uint32Array(initialCapacity);
    this.mask = initialCapacity - 1;
  }

  /**
   * Where `hash` was first seen and how often it has been seen counting this call, or inserts it at
   * (file, line) and returns undefined (its first occurrence).
   */
  getOrInsert(hash: number, file: number, line: number): { file: number; line: number; count: number } | undefined {
    const key = hash + 1; // 0 marks an empty slot; hash < 2^53 so hash + 1 stays exact
    let slot = this.slotOf(key);
    while (this.keys[slot] !== 0) {
      if (this.keys[slot] === key) {
        const count = this.counts[slot]! === 0xffffffff ? 0xffffffff : this.counts[slot]! + 1;
        this.counts[slot] = count;
        return { file: this.files[slot]!, line: this.lines[slot]!, count };
      }
      slot = (slot + 1) & this.mask;
    }
    this.keys[slot] = key;
    this.lines[slot] = Math.min(line, 0xffffffff);
    this.files[slot] = Math.min(file, 0xffff);
    this.counts[slot] = 1;
    this.size += 1;
    if (this.size * 4 > this.keys.length * 3) this.grow();
    return undefined;
  }

  private slotOf(key: number): number {
    // The low 32 bits of the hash are well mixed (cyrb53).
    return (key % 4294967296) & this.mask;
  }

  private grow(): void {
    const { keys, lines, files, counts } = this;
    const capacity = keys.length * 2;
    this.keys = new Float64Array(capacity);
    this.lines = new Uint32Array(capacity);
    this.files = new Uint16Array(capacity);
    this.counts = new Uint32Array(capacity);
    this.mask = capacity - 1;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (key === 0) continue;
      let slot = this.slotOf(key);
      while (this.keys[slot] !== 0) slot = (slot + 1) & this.mask;
      this.keys[slot] = key;
      this.lines[slot] = lines[i]!;
      this.files[slot] = files[i]!;
      this.counts[slot] = counts[i]!;
    }
  }
}
