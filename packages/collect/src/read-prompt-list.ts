import { PrefError } from '@pref/core';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { InvalidRecordError, readRecords } from '@pref/io';

/** One prompt to collect preferences on. */
export interface CollectionPrompt {
  prompt: string;
  /** Category shown to the annotator and written to metadata.category. */
  category?: string;
  id?: string;
}

function describe(value: unknown): string {
  return value === undefined ? 'nothing (missing)' : value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

function fromValue(value: unknown, file: string, line: number): CollectionPrompt {
  if (typeof value === 'string') {
    if (value.trim() === '') throw new InvalidRecordError({ file, line, expected: 'a non-empty prompt', found: 'an empty string' });
    return { prompt: value };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidRecordError({ file, line, expected: 'a string or an object with "prompt"', found: describe(value) });
  const record = value as Record<string, unknown>;
  if (typeof record.prompt !== 'string' || record.prompt.trim() === '') throw new InvalidRecordError({ file, line, field: 'prompt', expected: 'a non-empty string', found: describe(record.prompt) });
  const category = record.category ?? (record.metadata as Record<string, unknown> | undefined)?.category;
  if (category !== undefined && typeof category !== 'string') throw new InvalidRecordError({ file, line, field: 'category', expected: 'a string', found: describe(category) });
  if (record.id !== undefined && typeof record.id !== 'string' && typeof record.id !== 'number') throw new InvalidRecordError({ file, line, field: 'id', expected: 'a string or number', found: describe(record.id) });
  return { prompt: record.prompt, ...(category !== undefined ? { category } : {}), ...(record.id !== undefined ? { id: String(record.id) } : {}) };
}

/**
 * Reads a prompt list: `.txt` (one prompt a line, as the upstream `collection_prompts.txt`; blank lines
 * skipped, CRLF and a BOM accepted), `.json` (an array of strings or of `{prompt, category?, id?}`) or
 * `.jsonl` (one such value a line). Errors name file, line (1-based; the array index + 1 for JSON)
 * and field.
 * `.txt` goes through @pref/io's reader; JSON arrays of plain strings are read here, since io's rows
 * are objects.
 */
export async function readPromptList(path: string): Promise<CollectionPrompt[]> {
  const extension = extname(path).toLowerCase();
  if (extension === '.txt') {
    // @pref/io's prompt-list reader: one prompt a line, blank lines skipped, bad lines named.
    const prompts: CollectionPrompt[] = [];
    for await (const { record } of readRecords(path)) prompts.push({ prompt: record.prompt as string });
    if (prompts.length === 0) throw new InvalidRecordError({ file: path, line: 1, expected: 'at least one prompt', found: 'none' });
    return prompts;
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new PrefError({ code: 'IO', message: `${path}: cannot read the prompt list: ${(cause as Error).message}`, cause });
  }
  text = text.replace(/^\uFEFF/, '');
  const prompts: CollectionPrompt[] = [];
  if (extension === '.json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      throw new InvalidRecordError({ file: path, line: 1, expected: 'a JSON array of prompts', found: `invalid JSON (${(cause as Error).message})`, cause });
    }
    if (!Array.isArray(parsed)) throw new InvalidRecordError({ file: path, line: 1, expected: 'a JSON array of prompts', found: describe(parsed) });
    parsed.forEach((value, index) => prompts.push(fromValue(value, path, index + 1)));
  } else if (extension === '.jsonl') {
    text.split(/\r?\n/).forEach((line, index) => {
      if (line.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (cause) {
        throw new InvalidRecordError({ file: path, line: index + 1, expected: 'a JSON value', found: `invalid JSON (${(cause as Error).message})`, cause });
      }
      prompts.push(fromValue(value, path, index + 1));
    });
  } else {
    throw new PrefError({ code: 'UNSUPPORTED_FORMAT', message: `${path}: a prompt list is .txt (one prompt a line), .json or .jsonl` });
  }
  if (prompts.length === 0) throw new InvalidRecordError({ file: path, line: 1, expected: 'at least one prompt', found: 'none' });
  return prompts;
}
