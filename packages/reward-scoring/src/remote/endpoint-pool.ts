import { RemoteScoringError } from '../errors';

/** A failure worth another try: a network error, a timeout, 429 or a 5xx answer. */
export class RetryableError extends Error {
  /** From a `Retry-After` header, when the server sent one. */
  readonly retryAfterMs?: number;
  /** False for 429 (the server is busy, not broken): it does not count towards taking an endpoint out of rotation. */
  readonly countsAsFailure: boolean;
  readonly status?: number;
  constructor(message: string, options: { retryAfterMs?: number; countsAsFailure?: boolean; status?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'RetryableError';
    this.retryAfterMs = options.retryAfterMs;
    this.countsAsFailure = options.countsAsFailure ?? true;
    this.status = options.status;
  }
}

/** Per-endpoint counters, for progress lines and the run summary. */
export interface EndpointStats {
  url: string;
  /** Requests answered successfully. */
  requests: number;
  sequences: number;
  tokens: number;
  /** Attempts that failed and were retried (here or on another endpoint). */
  retries: number;
  inRotation: boolean;
  /** Successful sequences per second since the endpoint's first request. */
  sequencesPerSecond: number;
}

/** Retry and rotation settings of an {@link EndpointPool}. */
export interface EndpointPoolOptions {
  /** Requests in flight per endpoint. Default: 4. */
  maxInFlight?: number;
  /** Further attempts of a failed batch (on any endpoint). Default: 5. */
  retries?: number;
  /** Consecutive failures (timeouts, network errors, 5xx) that take an endpoint out of rotation. Default: 3. */
  maxConsecutiveFailures?: number;
  /** First backoff step; attempt k waits a uniform draw in [0, min(maxBackoffMs, backoffMs·2^k)] ("full jitter"). Default: 200. */
  backoffMs?: number;
  /** Default: 10000. */
  maxBackoffMs?: number;
  /** Source of the jitter draws. Default: Math.random. */
  random?: () => number;
}

interface Endpoint {
  url: string;
  inFlight: number;
  consecutiveFailures: number;
  inRotation: boolean;
  pausedUntil: number;
  lastError?: string;
  stats: { requests: number; sequences: number; tokens: number; retries: number; firstStart?: number; lastEnd?: number };
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (ms <= 0) return resolve();
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Spreads work over several endpoints: at most `maxInFlight` requests per endpoint, the least busy
 * endpoint first; a failed attempt is retried with exponential backoff and full jitter (at least the
 * server's `Retry-After`), on whichever endpoint is free; an endpoint that fails
 * `maxConsecutiveFailures` times in a row is taken out of rotation, and when every endpoint is out,
 * every waiting and future request fails with a {@link RemoteScoringError} listing their last errors.
 */
export class EndpointPool {
  private readonly endpoints: Endpoint[];
  private readonly waiters: { resolve: (endpoint: Endpoint) => void; reject: (error: unknown) => void }[] = [];
  private readonly maxInFlight: number;
  private readonly retries: number;
  private readonly maxConsecutiveFailures: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly random: () => number;
  private wakeTimer: ReturnType<typeof setTimeout> | undefined;
  private next = 0;

  constructor(urls: readonly string[], options: EndpointPoolOptions = {}) {
    const { maxInFlight = 4, retries = 5, maxConsecutiveFailures = 3, backoffMs = 200, maxBackoffMs = 10000, random = Math.random } = options;
    const positive = (value: number, name: string, min: number): void => {
      if (!Number.isInteger(value) || value < min) throw new RemoteScoringError({ endpoint: urls.join(', '), code: 'INVALID_ARGUMENT', message: `${name} must be an integer >= ${min}, got ${value}` });
    };
    positive(maxInFlight, 'maxInFlight', 1);
    positive(retries, 'retries', 0);
    positive(maxConsecutiveFailures, 'maxConsecutiveFailures', 1);
    if (!(backoffMs >= 0) || !(maxBackoffMs >= backoffMs)) throw new RemoteScoringError({ endpoint: urls.join(', '), code: 'INVALID_ARGUMENT', message: `need 0 <= backoffMs <= maxBackoffMs, got ${backoffMs} and ${maxBackoffMs}` });
    this.endpoints = urls.map((url) => ({ url, inFlight: 0, consecutiveFailures: 0, inRotation: true, pausedUntil: 0, stats: { requests: 0, sequences: 0, tokens: 0, retries: 0 } }));
    this.maxInFlight = maxInFlight;
    this.retries = retries;
    this.maxConsecutiveFailures = maxConsecutiveFailures;
    this.backoffMs = backoffMs;
    this.maxBackoffMs = maxBackoffMs;
    this.random = random;
  }

  get urls(): string[] {
    return this.endpoints.map((e) => e.url);
  }

  stats(): EndpointStats[] {
    return this.endpoints.map((e) => {
      const seconds = e.stats.firstStart === undefined || e.stats.lastEnd === undefined ? 0 : (e.stats.lastEnd - e.stats.firstStart) / 1000;
      return {
        url: e.url,
        requests: e.stats.requests,
        sequences: e.stats.sequences,
        tokens: e.stats.tokens,
        retries: e.stats.retries,
        inRotation: e.inRotation,
        sequencesPerSecond: seconds > 0 ? e.stats.sequences / seconds : 0,
      };
    });
  }

  private allOutError(batch?: number): RemoteScoringError {
    const reasons = this.endpoints.map((e) => `${e.url}: ${e.lastError ?? 'no answer'}`).join('; ');
    return new RemoteScoringError({ endpoint: this.urls.join(', '), batch, message: `every endpoint was taken out of rotation after ${this.maxConsecutiveFailures} consecutive failures (${reasons})` });
  }

  /** The free endpoint with the fewest requests in flight (round robin among ties), or undefined. */
  private pick(now: number): Endpoint | undefined {
    let best: Endpoint | undefined;
    for (let k = 0; k < this.endpoints.length; k++) {
      const e = this.endpoints[(this.next + k) % this.endpoints.length]!;
      if (!e.inRotation || e.inFlight >= this.maxInFlight || e.pausedUntil > now) continue;
      if (best === undefined || e.inFlight < best.inFlight) best = e;
    }
    if (best !== undefined) this.next = (this.endpoints.indexOf(best) + 1) % this.endpoints.length;
    return best;
  }

  private acquire(signal?: AbortSignal): Promise<Endpoint> {
    if (!this.endpoints.some((e) => e.inRotation)) return Promise.reject(this.allOutError());
    const endpoint = this.waiters.length === 0 ? this.pick(Date.now()) : undefined;
    if (endpoint !== undefined) {
      endpoint.inFlight++;
      return Promise.resolve(endpoint);
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (e: Endpoint) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(e);
        },
        reject: (error: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      const onAbort = (): void => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.dispatch();
    });
  }

  /** Hands free slots to waiters in arrival order; wakes itself when a paused endpoint's pause ends. */
  private dispatch(): void {
    if (!this.endpoints.some((e) => e.inRotation)) {
      for (const waiter of this.waiters.splice(0)) waiter.reject(this.allOutError());
      return;
    }
    const now = Date.now();
    while (this.waiters.length > 0) {
      const endpoint = this.pick(now);
      if (endpoint === undefined) break;
      endpoint.inFlight++;
      this.waiters.shift()!.resolve(endpoint);
    }
    if (this.waiters.length > 0 && this.wakeTimer === undefined) {
      const pauses = this.endpoints.filter((e) => e.inRotation && e.pausedUntil > now && e.inFlight < this.maxInFlight).map((e) => e.pausedUntil);
      if (pauses.length > 0) {
        this.wakeTimer = setTimeout(() => {
          this.wakeTimer = undefined;
          this.dispatch();
        }, Math.min(...pauses) - now);
        this.wakeTimer.unref?.();
      }
    }
  }

  private release(endpoint: Endpoint): void {
    endpoint.inFlight--;
    this.dispatch();
  }

  /**
   * Runs `attempt` on a free endpoint, retrying retryable failures (see {@link RetryableError}) up to
   * `retries` more times; any other error is final. `batch` (1-based) and `size` name the work in
   * errors and statistics.
   */
  async run<T>(
    batch: number,
    size: { sequences: number; tokens: number },
    attempt: (url: string, signal?: AbortSignal) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    let lastError: unknown;
    for (let attemptIndex = 0; attemptIndex <= this.retries; attemptIndex++) {
      signal?.throwIfAborted();
      const endpoint = await this.acquire(signal);
      endpoint.stats.firstStart ??= Date.now();
      try {
        const result = await attempt(endpoint.url, signal);
        endpoint.consecutiveFailures = 0;
        endpoint.stats.requests++;
        endpoint.stats.sequences += size.sequences;
        endpoint.stats.tokens += size.tokens;
        endpoint.stats.lastEnd = Date.now();
        this.release(endpoint);
        return result;
      } catch (error) {
        if (!(error instanceof RetryableError) || signal?.aborted) {
          this.release(endpoint);
          throw error;
        }
        lastError = error;
        endpoint.stats.retries++;
        endpoint.lastError = error.message;
        if (error.countsAsFailure) {
          endpoint.consecutiveFailures++;
          if (endpoint.consecutiveFailures >= this.maxConsecutiveFailures) endpoint.inRotation = false;
        }
        if (error.retryAfterMs !== undefined) endpoint.pausedUntil = Math.max(endpoint.pausedUntil, Date.now() + error.retryAfterMs);
        this.release(endpoint);
        if (!this.endpoints.some((e) => e.inRotation)) throw this.allOutError(batch);
        if (attemptIndex === this.retries) break;
        const cap = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** attemptIndex);
        await sleep(Math.max(this.random() * cap, error.retryAfterMs ?? 0), signal);
      }
    }
    const message = lastError instanceof Error ? lastError.message : String(lastError);
    throw new RemoteScoringError({
      endpoint: this.urls.join(', '),
      batch,
      status: lastError instanceof RetryableError ? lastError.status : undefined,
      message: `gave up after ${this.retries + 1} attempts; last error: ${message}`,
      cause: lastError,
    });
  }

  close(): void {
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
  }
}
