/**
 * Incremental splitter for a top-level JSON array: yields the source text of each element as soon as
 * it is complete, so a multi-GB `[ {...}, {...} ]` file is read with memory bounded by one element.
 * It only tracks strings, escapes and bracket depth; each element is then handed to `JSON.parse`,
 * which does the real validation (so a malformed element is reported alone and the rest still read).
 */
export type ArrayPiece =
  | { kind: 'element'; row: number; text: string }
  | { kind: 'structure-error'; row: number; expected: string; found: string };

const WS = new Set([0x20, 0x09, 0x0a, 0x0d, 0xfeff]);

export async function* splitJsonArrayBatches(texts: AsyncIterable<string>, { maxElementChars = Infinity }: { maxElementChars?: number } = {}): AsyncGenerator<ArrayPiece[]> {
  let partialChars = 0;
  let state: 'start' | 'between' | 'element' | 'end' = 'start';
  let expectComma = false;
  let row = 0;
  let depth = 0;
  let inString = false;
  let escape = false;
  let scalar = false;
  let partial: string[] = [];
  for await (const text of texts) {
    const out: ArrayPiece[] = [];
    let start = state === 'element' ? 0 : -1;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (state === 'element') {
        if (inString) {
          if (escape) escape = false;
          else if (c === 0x5c) escape = true;
          else if (c === 0x22) {
            inString = false;
            if (depth === 0 && !scalar) {
              // a top-level string element ends with its closing quote
              out.push({ kind: 'element', row, text: partial.join('') + text.slice(start, i + 1) });
              partial = [];
              partialChars = 0;
              state = 'between';
              expectComma = true;
            }
          }
          continue;
        }
        if (scalar) {
          if (c === 0x2c || c === 0x5d || WS.has(c)) {
            out.push({ kind: 'element', row, text: partial.join('') + text.slice(start, i) });
            partial = [];
              partialChars = 0;
            state = 'between';
            expectComma = true;
            scalar = false;
            i -= 1; // let 'between' see the delimiter
          }
          continue;
        }
        if (c === 0x22) inString = true;
        else if (c === 0x7b || c === 0x5b) depth += 1;
        else if (c === 0x7d || c === 0x5d) {
          depth -= 1;
          if (depth === 0) {
            out.push({ kind: 'element', row, text: partial.join('') + text.slice(start, i + 1) });
            partial = [];
              partialChars = 0;
            state = 'between';
            expectComma = true;
          }
        }
        continue;
      }
      if (WS.has(c)) continue;
      if (state === 'start') {
        if (c !== 0x5b) {
          out.push({ kind: 'structure-error', row: 1, expected: 'a JSON array ("[")', found: JSON.stringify(text.slice(i, i + 20)) });
          yield out;
          return;
        }
        state = 'between';
        expectComma = false;
        continue;
      }
      if (state === 'end') {
        out.push({ kind: 'structure-error', row: row + 1, expected: 'nothing after the closing "]"', found: JSON.stringify(text.slice(i, i + 20)) });
        yield out;
          return;
      }
      // state === 'between'
      if (c === 0x5d) {
        state = 'end';
        continue;
      }
      if (expectComma) {
        if (c === 0x2c) {
          expectComma = false;
          continue;
        }
        out.push({ kind: 'structure-error', row: row + 1, expected: 'a "," or "]" between array elements', found: JSON.stringify(text.slice(i, i + 20)) });
        yield out;
          return;
      }
      if (c === 0x2c) {
        out.push({ kind: 'structure-error', row: row + 1, expected: 'an array element', found: '","' });
        yield out;
          return;
      }
      row += 1;
      state = 'element';
      start = i;
      depth = 0;
      inString = false;
      escape = false;
      scalar = false;
      if (c === 0x22) inString = true;
      else if (c === 0x7b || c === 0x5b) depth = 1;
      else scalar = true;
    }
    if (state === 'element') {
      const piece = text.slice(start === -1 ? 0 : start);
      partial.push(piece);
      partialChars += piece.length;
      if (partialChars > maxElementChars) {
        // The element cannot be held as one string; the rest of the array cannot be found without it.
        out.push({ kind: 'structure-error', row, expected: `an array element of at most ${maxElementChars} characters (the longest element pref reads)`, found: `an element longer than that` });
        yield out;
        return;
      }
    } else partialChars = 0;
    if (out.length > 0) yield out;
  }
  const finalState = state as 'start' | 'between' | 'element' | 'end';
  if (finalState === 'element' && scalar) {
    yield [{ kind: 'element', row, text: partial.join('') }, { kind: 'structure-error', row: row + 1, expected: 'a closing "]" (the file is truncated)', found: 'end of file' }];
  } else if (finalState === 'element') {
    yield [{ kind: 'structure-error', row, expected: 'a complete array element (the file is truncated)', found: 'end of file' }];
  } else if (finalState === 'between') {
    yield [{ kind: 'structure-error', row: row + 1, expected: 'a closing "]" (the file is truncated)', found: 'end of file' }];
  }
}

/** splitJsonArrayBatches, one piece at a time. */
export async function* splitJsonArray(texts: AsyncIterable<string>): AsyncGenerator<ArrayPiece> {
  for await (const batch of splitJsonArrayBatches(texts)) yield* batch;
}
