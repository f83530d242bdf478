import { Agent, request as httpRequest } from 'node:http';
import { InvalidArgumentError } from '@pref/core';
import { D2poClientError } from './errors';

/** Options of {@link createD2poClient}. */
export interface D2poClientOptions {
  /** Per-attempt timeout in milliseconds. Default: 1000000 (the 1000 s of D2PO's `get_scores_from_api`). */
  timeoutMs?: number;
  /** Extra attempts after a failure that is safe to retry (see {@link createD2poClient}). Default: 2. */
  retries?: number;
  /** Wait before retry k (1-based): `retryDelayMs · 2^(k−1)`. Default: 250. */
  retryDelayMs?: number;
}

/** A client of `pref serve d2po` (or of upstream's `rmapi.py`). */
export interface D2poClient {
  /** `POST /train`: one score per text; the service may label some pairs and update its model. */
  train(texts: readonly string[]): Promise<number[]>;
  /** `POST /predict`: one score per text, no state change. */
  predict(texts: readonly string[]): Promise<number[]>;
  /** `GET /health`. */
  health(): Promise<Record<string, unknown>>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function connectionRefused(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === 'ECONNREFUSED') return true;
  }
  return false;
}

/**
 * A client with timeouts and retries. `/train` changes the service's state, so it is retried only
 * when the service certainly did not process the request: connection refused (not started yet, or
 * restarting after a crash) and 503 (shutting down). `/predict` and `/health` are also retried after
 * timeouts, resets and 5xx. 4xx answers are never retried: the error carries the service's message.
 */
export function createD2poClient(url: string, options: D2poClientOptions = {}): D2poClient {
  const { timeoutMs = 1_000_000, retries = 2, retryDelayMs = 250 } = options;
  if (!(timeoutMs > 0)) throw new InvalidArgumentError({ argument: 'timeoutMs', message: `expected a number > 0, got ${timeoutMs}` });
  if (!Number.isInteger(retries) || retries < 0) throw new InvalidArgumentError({ argument: 'retries', message: `expected a non-negative integer, got ${retries}` });
  if (!(retryDelayMs >= 0)) throw new InvalidArgumentError({ argument: 'retryDelayMs', message: `expected a number >= 0, got ${retryDelayMs}` });
  let base: URL;
  try {
    base = new URL(url);
  } catch (error) {
    throw new InvalidArgumentError({ argument: 'url', message: `not a URL: ${url}`, cause: error });
  }
  if (base.protocol !== 'http:') throw new InvalidArgumentError({ argument: 'url', message: `expected an http:// URL (the service binds loopback without TLS), got ${url}` });

  const agent = new Agent({ keepAlive: true });
  /** One HTTP exchange; the body is sent with its Content-Length in one write (fetch's streamed body costs ~15 ms a call on loopback). */
  const exchange = (target: URL, body: string | undefined): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const req = httpRequest(
        target,
        {
          method: body === undefined ? 'GET' : 'POST',
          agent,
          headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', (error) => {
            clearTimeout(timer);
            reject(error);
          });
        },
      );
      const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { name: 'TimeoutError' })), timeoutMs);
      req.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      req.end(body);
    });

  const request = async (path: string, body: unknown, idempotent: boolean): Promise<unknown> => {
    const target = new URL(path, base);
    const where = target.toString();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      let retryable = false;
      let failure: D2poClientError;
      try {
        const response = await exchange(target, payload);
        if (response.status >= 200 && response.status < 300) {
          try {
            return JSON.parse(response.text) as unknown;
          } catch (error) {
            throw new D2poClientError({ url: where, status: response.status, message: 'the answer is not JSON', cause: error });
          }
        }
        let message = response.text.slice(0, 500);
        try {
          const parsed = JSON.parse(response.text) as { error?: { message?: string } };
          if (typeof parsed.error?.message === 'string') message = parsed.error.message;
        } catch {
          // not JSON: keep the text
        }
        failure = new D2poClientError({ url: where, status: response.status, message: `HTTP ${response.status}: ${message}` });
        retryable = response.status === 503 || (idempotent && response.status >= 500);
      } catch (error) {
        if (D2poClientError.isInstance(error)) throw error;
        const timedOut = error instanceof Error && error.name === 'TimeoutError';
        failure = new D2poClientError({ url: where, message: timedOut ? `no answer within ${timeoutMs} ms` : `request failed (${error instanceof Error ? error.message : String(error)})`, cause: error });
        retryable = connectionRefused(error) || idempotent;
      }
      if (!retryable || attempt >= retries) throw failure;
      await sleep(retryDelayMs * 2 ** attempt);
    }
  };

  const scores = (value: unknown, path: string, count: number): number[] => {
    if (!Array.isArray(value) || value.length !== count || value.some((v) => typeof v !== 'number')) {
      throw new D2poClientError({ url: new URL(path, base).toString(), message: `expected an array of ${count} numbers in the answer` });
    }
    return value as number[];
  };
  return {
    train: async (texts) => scores(await request('/train', { texts }, false), '/train', texts.length),
    predict: async (texts) => scores(await request('/predict', { texts }, true), '/predict', texts.length),
    health: async () => (await request('/health', undefined, true)) as Record<string, unknown>,
  };
}
