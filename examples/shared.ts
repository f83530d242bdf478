/** Small helpers shared by the example scripts (argument parsing, reading a data file whole). */
import { fileURLToPath } from 'node:url';
import { readRecords } from '@pref/io';
import type { DataRecord } from '@pref/io';

/** True when `moduleUrl` is the script node was started with (not imported by a test). */
export function isMain(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(moduleUrl) === process.argv[1];
}

/** `--name value` from the command line, or `fallback`. */
export function flag(name: string, fallback: string): string;
export function flag(name: string, fallback?: string): string | undefined;
export function flag(name: string, fallback?: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1] : fallback;
}

/** Every row of a data file, in order. */
export async function readAll(path: string): Promise<DataRecord[]> {
  const rows: DataRecord[] = [];
  for await (const { record } of readRecords(path)) rows.push(record);
  return rows;
}

/** One number column of the rows. */
export function column(rows: readonly DataRecord[], field: string): Float64Array {
  return Float64Array.from(rows, (row) => Number(row[field]));
}
