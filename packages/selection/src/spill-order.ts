import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AbortedError } from '@pref/core';
import { spillReplacer, spillReviver, type DataRecord } from '@pref/io';

/**
 * Yields records that arrive in any order, each with a distinct `position` in 0..count−1, in position
 * order: they are spilled as JSON lines to a temporary file next to `near` (offset and length kept per
 * position: 12 bytes a record in memory), then read back by position. The records themselves are never
 * all in memory; the file is removed when the iteration ends.
 */
export async function* inPositionOrder(rows: AsyncIterable<{ record: DataRecord; position: number }>, count: number, near: string, signal?: AbortSignal): AsyncGenerator<{ record: DataRecord; position: number }> {
  const spillPath = join(near === '-' ? '.' : dirname(near), `.pref-select-${process.pid}-${Date.now()}.spill`);
  const offsets = new Float64Array(count);
  const lengths = new Uint32Array(count);
  const spill = openSync(spillPath, 'w+');
  try {
    let offset = 0;
    for await (const { record, position } of rows) {
      const bytes = Buffer.from(JSON.stringify(record, spillReplacer), 'utf8');
      writeSync(spill, bytes, 0, bytes.length, offset);
      offsets[position] = offset;
      lengths[position] = bytes.length;
      offset += bytes.length;
    }
    let buffer = Buffer.alloc(1 << 16);
    for (let position = 0; position < count; position++) {
      if (position % 4096 === 0 && signal?.aborted) throw new AbortedError({ cause: signal.reason });
      const length = lengths[position]!;
      if (length > buffer.length) buffer = Buffer.alloc(length);
      readSync(spill, buffer, 0, length, offsets[position]!);
      yield { record: JSON.parse(buffer.toString('utf8', 0, length), spillReviver) as DataRecord, position };
    }
  } finally {
    closeSync(spill);
    rmSync(spillPath, { force: true });
  }
}
