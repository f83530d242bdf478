/**
 * SentencePiece's precompiled normalizer (`precompiled_charsmap` in tokenizer.json, produced from
 * the model's normalizer spec, e.g. `nmt_nfkc`), reproducing the Rust `spm_precompiled` crate used by
 * Hugging Face `tokenizers`:
 *
 * - The charsmap is `u32le trieSize`, then `trieSize / 4` little-endian u32 units of a darts-clone
 *   double-array trie keyed by UTF-8 bytes, then the NUL-separated normalized strings the trie's
 *   values point into.
 * - The text is cut into extended grapheme clusters. A cluster shorter than 6 UTF-8 bytes whose
 *   bytes start with a key of the trie is replaced, as a whole, by the value of the SHORTEST such
 *   key (that crate takes the first common-prefix result; SentencePiece itself would take the
 *   longest — the crate's choice is what transformers' fast tokenizers do). Otherwise each code
 *   point of the cluster is looked up the same way on its own and kept when nothing matches.
 */
import { utf8Length } from './unicode';
export class PrecompiledCharsmap {
  private readonly trie: Uint32Array;
  private readonly normalized: Uint8Array;
  private readonly decoded = new Map<number, string>();
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private readonly encoder = new TextEncoder();
  private readonly scratch = new Uint8Array(64);
  private readonly charCache = new Map<number, string | null>();
  private readonly segmenter = new Intl.Segmenter('und', { granularity: 'grapheme' });

  constructor(charsmap: Uint8Array) {
    if (charsmap.length < 4) throw new Error('precompiled_charsmap is shorter than its header');
    const view = new DataView(charsmap.buffer, charsmap.byteOffset, charsmap.byteLength);
    const trieSize = view.getUint32(0, true);
    const units = Math.floor(trieSize / 4);
    if (4 + units * 4 > charsmap.length) throw new Error('precompiled_charsmap trie is longer than the data');
    this.trie = new Uint32Array(units);
    for (let k = 0; k < units; k++) this.trie[k] = view.getUint32(4 + 4 * k, true);
    this.normalized = charsmap.subarray(4 + units * 4);
    // The crate rejects a normalized table that is not UTF-8.
    this.decoder.decode(this.normalized);
  }

  /** Value of the shortest key that is a prefix of `bytes[0, length)`, or -1. */
  private shortestPrefixValue(bytes: Uint8Array, length: number): number {
    const trie = this.trie;
    let node = 0;
    let unit = trie[0]!;
    node ^= offsetOf(unit);
    for (let k = 0; k < length; k++) {
      const byte = bytes[k]!;
      if (byte === 0) return -1;
      node ^= byte;
      unit = trie[node]!;
      if (unit === undefined || (unit & 0x800000ff) >>> 0 !== byte) return -1;
      node ^= offsetOf(unit);
      if ((unit >>> 8) & 1) return trie[node]! & 0x7fffffff;
    }
    return -1;
  }

  private valueText(index: number): string {
    let text = this.decoded.get(index);
    if (text === undefined) {
      let end = index;
      while (end < this.normalized.length && this.normalized[end] !== 0) end++;
      text = this.decoder.decode(this.normalized.subarray(index, end));
      this.decoded.set(index, text);
    }
    return text;
  }

  /** The replacement of `chunk` (a grapheme or one code point), or undefined when none applies. */
  private transform(chunk: string): string | undefined {
    let bytes: Uint8Array = this.scratch;
    let length: number;
    if (chunk.length * 3 <= bytes.length) {
      length = this.encoder.encodeInto(chunk, bytes).written;
    } else {
      bytes = this.encoder.encode(chunk);
      length = bytes.length;
    }
    const value = this.shortestPrefixValue(bytes, length);
    return value < 0 ? undefined : this.valueText(value);
  }

  private transformChar(cp: number, char: string): string | null {
    let result = this.charCache.get(cp);
    if (result === undefined) {
      result = this.transform(char) ?? null;
      this.charCache.set(cp, result);
    }
    return result;
  }

  normalize(text: string): string {
    let out = '';
    // ASCII fast path: where the next character is also ASCII (and not a CR LF pair), each character
    // is its own grapheme, so only single-character lookups apply.
    let i = 0;
    const n = text.length;
    while (i < n) {
      const unit = text.charCodeAt(i);
      const nextUnit = i + 1 < n ? text.charCodeAt(i + 1) : 0;
      if (unit < 0x80 && nextUnit < 0x80 && !(unit === 0x0d && nextUnit === 0x0a)) {
        const replaced = this.transformChar(unit, text[i]!);
        out += replaced ?? text[i]!;
        i++;
        continue;
      }
      // A stretch to segment: up to the next place between two ASCII characters (other than CR LF),
      // which is always a grapheme boundary.
      let end = i + 1;
      while (end < n) {
        const before = text.charCodeAt(end - 1);
        const after = text.charCodeAt(end);
        if (before < 0x80 && after < 0x80 && !(before === 0x0d && after === 0x0a)) break;
        end++;
      }
      for (const { segment } of this.segmenter.segment(text.slice(i, end))) out += this.normalizeGrapheme(segment);
      i = end;
    }
    return out;
  }

  private normalizeGrapheme(grapheme: string): string {
    if (grapheme.length === 1 || (grapheme.length === 2 && grapheme.codePointAt(0)! > 0xffff)) {
      const cp = grapheme.codePointAt(0)!;
      return this.transformChar(cp, grapheme) ?? grapheme;
    }
    if (utf8Length(grapheme) < 6) {
      const whole = this.transform(grapheme);
      if (whole !== undefined) return whole;
    }
    let out = '';
    for (const char of grapheme) out += this.transformChar(char.codePointAt(0)!, char) ?? char;
    return out;
  }
}

function offsetOf(unit: number): number {
  return (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
}

