import { RemoteScoringError, RewardModelError } from '../errors';
import { EndpointPool, type EndpointPoolOptions } from './endpoint-pool';

/** The environment variable whose value is sent as `Authorization: Bearer <token>` to every endpoint. */
export const ENDPOINT_TOKEN_ENV = 'PREF_ENDPOINT_TOKEN';

/** Connection options every remote model shares (reward models and causal LMs). */
export interface RemoteConnectionOptions extends EndpointPoolOptions {
  /** Base URLs of the inference servers (`http://host:port`, no path); requests are spread over all of them. */
  endpoints: readonly string[];
  /** Per-request timeout in ms (a timeout is retried). Default: 120000. */
  timeoutMs?: number;
  /** Bearer token. Default: `$PREF_ENDPOINT_TOKEN`; none when unset. Never printed. */
  token?: string;
  /** Extra request headers (e.g. a gateway's API key). */
  headers?: Readonly<Record<string, string>>;
}

/** The option names of {@link RemoteConnectionOptions}, for unknown-key checks. */
export const CONNECTION_OPTION_KEYS = ['endpoints', 'timeoutMs', 'token', 'headers', 'maxInFlight', 'retries', 'maxConsecutiveFailures', 'backoffMs', 'maxBackoffMs', 'random'] as const;

/** Checks an endpoint URL: http(s), no credentials in it (they belong in the environment), no query. Returns it without a trailing slash. */
function endpointUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new RemoteScoringError({ endpoint: JSON.stringify(value), code: 'INVALID_ARGUMENT', message: 'not a URL (expected http://host:port)' });
  }
  const shown = `${url.protocol}//${url.host}${url.pathname}`;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RemoteScoringError({ endpoint: shown, code: 'INVALID_ARGUMENT', message: 'expected an http:// or https:// URL' });
  if (url.username !== '' || url.password !== '') {
    throw new RemoteScoringError({ endpoint: shown, code: 'INVALID_ARGUMENT', message: `credentials in the URL are refused (they would be printed in logs): set ${ENDPOINT_TOKEN_ENV} instead` });
  }
  if (url.search !== '' || url.hash !== '') throw new RemoteScoringError({ endpoint: shown, code: 'INVALID_ARGUMENT', message: 'the URL must not have a query or fragment' });
  return shown.replace(/\/+$/, '');
}

/**
 * Validates the shared connection options and opens the endpoint pool: checked, de-duplicated URLs,
 * the request headers (bearer token from `$PREF_ENDPOINT_TOKEN` unless `token` is given) and the timeout.
 */
export function openConnection(options: RemoteConnectionOptions): { pool: EndpointPool; headers: Record<string, string>; timeoutMs: number } {
  const { endpoints, timeoutMs = 120_000, token = process.env[ENDPOINT_TOKEN_ENV], headers = {} } = options;
  if (!Array.isArray(endpoints) || endpoints.length === 0) throw new RewardModelError('INVALID_ARGUMENT', 'endpoints: give at least one server URL');
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new RewardModelError('INVALID_ARGUMENT', `timeoutMs must be a positive integer, got ${timeoutMs}`);
  const urls = endpoints.map(endpointUrl);
  const duplicate = urls.find((url, i) => urls.indexOf(url) !== i);
  if (duplicate !== undefined) throw new RemoteScoringError({ endpoint: duplicate, code: 'INVALID_ARGUMENT', message: 'given twice (use maxInFlight for more concurrency on one server)' });
  const requestHeaders: Record<string, string> = { ...headers };
  if (token !== undefined && token !== '') requestHeaders.authorization = `Bearer ${token}`;
  return { pool: new EndpointPool(urls, options), headers: requestHeaders, timeoutMs };
}
