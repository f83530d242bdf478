import type { IncomingMessage } from 'node:http';
import { BadRequestError } from './errors';

/** Reads a request body up to `limit` bytes (413 beyond it, checked against Content-Length first). */
export function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BadRequestError({ status: 413, message: `request body of ${declared} bytes exceeds the limit of ${limit} bytes` }));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    request.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new BadRequestError({ status: 413, message: `request body exceeds the limit of ${limit} bytes` }));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    request.on('error', (error) => {
      if (!failed) reject(error);
    });
  });
}

/**
 * Parses `{"texts": [string, ...]}`, the body `get_scores_from_api` posts. Other keys, other types and
 * invalid JSON are 400s naming the field; `/train` also needs an even, non-zero number of texts.
 */
export function parseTextsBody(body: Buffer, { route }: { route: '/train' | '/predict' }): string[] {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new BadRequestError({ message: `the body is not valid JSON (${(error as Error).message})`, cause: error });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new BadRequestError({ message: `expected a JSON object {"texts": [...]}, found ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}` });
  }
  for (const key of Object.keys(value)) {
    if (key !== 'texts') throw new BadRequestError({ field: key, message: 'unknown key (the body has only "texts")' });
  }
  const texts = (value as { texts?: unknown }).texts;
  if (!Array.isArray(texts)) {
    throw new BadRequestError({ field: 'texts', message: `expected an array of strings, found ${texts === undefined ? 'nothing (missing)' : texts === null ? 'null' : typeof texts}` });
  }
  texts.forEach((text, i) => {
    if (typeof text !== 'string') throw new BadRequestError({ field: `texts.${i}`, message: `expected a string, found ${text === null ? 'null' : Array.isArray(text) ? 'an array' : typeof text}` });
  });
  if (route === '/train') {
    if (texts.length === 0) throw new BadRequestError({ field: 'texts', message: 'expected at least one pair of texts, found none' });
    if (texts.length % 2 !== 0) {
      throw new BadRequestError({ field: 'texts', message: `expected an even number of texts (consecutive texts are the two rollouts of one prompt), found ${texts.length}` });
    }
  }
  return texts as string[];
}
