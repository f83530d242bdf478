import { RemoteScoringError } from '../errors';
import { RetryableError } from './endpoint-pool';

/** An HTTP answer read whole. */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/** Parses `Retry-After` (seconds, or an HTTP date) into milliseconds from now; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.min(Number(value) * 1000, 10 * 60 * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.min(Math.max(date - now, 0), 10 * 60 * 1000);
}

/** The server's error text, from `{"error": "..."}` (KServe), `{"error": {"message"}}`, `{"message"}` (vLLM, TEI) or the raw body, cut to 300 characters. */
function answerError(body: Uint8Array): string {
  const text = new TextDecoder().decode(body.subarray(0, 4096));
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    const error = value.error;
    const message = typeof error === 'string' ? error : typeof (error as { message?: unknown })?.message === 'string' ? (error as { message: string }).message : typeof value.message === 'string' ? value.message : undefined;
    if (message !== undefined) return message.slice(0, 300);
  } catch {
    // not JSON: quote the text
  }
  return text.slice(0, 300).replace(/\s+/g, ' ').trim() || '(empty body)';
}

/**
 * One HTTP request with a timeout. Network errors, timeouts, 408, 429 and 5xx become
 * {@link RetryableError}s (429 does not count as a failure of the endpoint); other non-2xx answers are
 * final {@link RemoteScoringError}s quoting the server's error.
 */
export async function request(
  url: string,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: Uint8Array; timeoutMs: number; signal?: AbortSignal; endpoint: string; batch?: number },
): Promise<HttpAnswer> {
  const timeout = AbortSignal.timeout(init.timeoutMs);
  const signal = init.signal === undefined ? timeout : AbortSignal.any([init.signal, timeout]);
  let response: Response;
  let body: Uint8Array;
  try {
    response = await fetch(url, { method: init.method, headers: init.headers, body: init.body, signal });
    body = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    if (init.signal?.aborted) throw init.signal.reason;
    if (timeout.aborted) throw new RetryableError(`no answer within ${init.timeoutMs} ms`, { cause: error });
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new RetryableError(`network error (${cause?.code ?? cause?.message ?? (error as Error).message})`, { cause: error });
  }
  if (response.status >= 200 && response.status < 300) return { status: response.status, headers: response.headers, body };
  const message = `HTTP ${response.status}: ${answerError(body)}`;
  if (response.status === 429 || response.status === 408 || response.status >= 500) {
    throw new RetryableError(message, { status: response.status, retryAfterMs: retryAfterMs(response.headers.get('retry-after')), countsAsFailure: response.status !== 429 });
  }
  throw new RemoteScoringError({ endpoint: init.endpoint, batch: init.batch, status: response.status, message });
}

/** Parses a JSON answer; a body that is not JSON is a final error naming the endpoint and batch. */
export function parseJsonAnswer(answer: HttpAnswer, endpoint: string, batch?: number): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(answer.body));
  } catch (error) {
    throw new RemoteScoringError({ endpoint, batch, message: `the answer is not valid JSON (${(error as Error).message})`, cause: error });
  }
}

/** POSTs `payload` as JSON with {@link request} and parses the JSON answer. */
export async function postJson(
  url: string,
  payload: unknown,
  init: { headers: Record<string, string>; timeoutMs: number; signal?: AbortSignal; endpoint: string; batch: number },
): Promise<unknown> {
  const answer = await request(url, { ...init, method: 'POST', headers: { ...init.headers, 'content-type': 'application/json' }, body: new TextEncoder().encode(JSON.stringify(payload)) });
  return parseJsonAnswer(answer, init.endpoint, init.batch);
}
