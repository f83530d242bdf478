import { InvalidArgumentError } from '@pref/io';
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

  const request = async (path: string, body: unknown, idempotent: boolean): Promise<unknown> => {
    const target = new URL(path, base).toString();
    for (let attempt = 0; ; attempt++) {
      let retryable = false;
      let failure: D2poClientError;
      try {
        const response = await fetch(target, {
          method: body === undefined ? 'GET' : 'POST',
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await response.text();
        if (response.ok) {
          try {
            return JSON.parse(text) as unknown;
          } catch (error) {
            throw new D2poClientError({ url: target, status: response.status, message: 'the answer is not JSON', cause: error });
          }
        }
        let message = text.slice(0, 500);
        try {
          const parsed = JSON.parse(text) as { error?: { message?: string } };
          if (typeof parsed.error?.message === 'string') message = parsed.error.message;
        } catch {
          // not JSON: keep the text
        }
        failure = new D2poClientError({ url: target, status: response.status, message: `HTTP ${response.status}: ${message}` });
        retryable = response.status === 503 || (idempotent && response.status >= 500);
      } catch (error) {
        if (D2poClientError.isInstance(error)) throw error;
        const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
        failure = new D2poClientError({ url: target, message: timedOut ? `no answer within ${timeoutMs} ms` : `request failed (${error instanceof Error ? error.message : String(error)})`, cause: error });
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
