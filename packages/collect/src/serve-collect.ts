import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidArgumentError, PrefError } from '@pref/core';
import type { CollectSession } from './collect-session';
import type { Choice } from './journal';
import { collectPage } from './page';

export interface ServeCollectOptions {
  /** Interface to bind. Default: '127.0.0.1' (this machine only). */
  host?: string;
  /** Port; 0 picks a free one. Default: 0. */
  port?: number;
  /**
   * Access token every request must carry (`?token=` on the page URL, `x-pref-token` on API calls).
   * Default: none on a loopback host, a random 128-bit token on any other host (it cannot be turned off there).
   */
  token?: string;
  /** Called with unexpected (non-PrefError) failures; they answer 500 without details. */
  onError?: (error: unknown) => void;
}

export interface CollectServer {
  /** The page's URL, with the token when there is one. */
  url: string;
  token: string | undefined;
  server: Server;
  /** Stops accepting connections and waits for open requests to finish. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
const MAX_BODY = 64 * 1024;
const DECIDE_KEYS = new Set(['index', 'choice', 'note', 'category']);

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function readBody(request: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, 'request body too large'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text === '' ? {} : JSON.parse(text));
      } catch {
        reject(new HttpError(400, 'the body is not JSON'));
      }
    });
    request.on('error', reject);
  });
}

function sameToken(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' });
  response.end(JSON.stringify(body));
}

/**
 * Serves the collection page and its JSON API with node:http. The page is one self-contained HTML
 * document under a strict Content-Security-Policy (inline script and style allowed by hash only, no
 * other source, requests to this origin only). On a loopback host the Host header must name the
 * loopback address (no DNS rebinding); POSTs must be `application/json` (no cross-site form posts).
 */
export async function serveCollect(session: CollectSession, { host = '127.0.0.1', port = 0, token, onError }: ServeCollectOptions = {}): Promise<CollectServer> {
  const loopback = LOOPBACK.has(host);
  const accessToken = token ?? (loopback ? undefined : randomBytes(16).toString('base64url'));
  if (accessToken !== undefined && accessToken.length < 16) throw new InvalidArgumentError({ argument: 'token', message: 'use at least 16 characters' });
  const page = collectPage();
  let boundPort = port;

  async function state(annotator: string, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const item = await session.next(annotator);
    return { item, progress: session.progress(annotator), categories: session.categories(), k: session.session.k, ...extra };
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (loopback) {
      const allowed = [`127.0.0.1:${boundPort}`, `localhost:${boundPort}`, `[::1]:${boundPort}`];
      if (!allowed.includes(request.headers.host ?? '')) throw new HttpError(421, 'unexpected Host header');
    }
    if (accessToken !== undefined) {
      const given = url.pathname === '/' ? (url.searchParams.get('token') ?? undefined) : (request.headers['x-pref-token'] as string | undefined);
      if (!sameToken(given, accessToken)) throw new HttpError(403, 'missing or wrong access token (open the URL printed by pref collect)');
    }
    if (url.pathname === '/') {
      if (request.method !== 'GET' && request.method !== 'HEAD') throw new HttpError(405, 'use GET');
      response.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': page.contentSecurityPolicy,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
      });
      response.end(request.method === 'HEAD' ? undefined : page.html);
      return;
    }
    if (!url.pathname.startsWith('/api/')) throw new HttpError(404, 'not found');
    const annotator = url.searchParams.get('annotator') ?? '';
    for (const key of url.searchParams.keys()) if (key !== 'annotator') throw new HttpError(400, `unknown query parameter "${key}"`);
    if (url.pathname === '/api/state') {
      if (request.method !== 'GET') throw new HttpError(405, 'use GET');
      sendJson(response, 200, await state(annotator));
      return;
    }
    if (request.method !== 'POST') throw new HttpError(405, 'use POST');
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) throw new HttpError(415, 'send application/json');
    const body = await readBody(request);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the body must be a JSON object');
    const fields = body as Record<string, unknown>;
    if (url.pathname === '/api/decide') {
      for (const key of Object.keys(fields)) if (!DECIDE_KEYS.has(key)) throw new HttpError(400, `unknown field "${key}"`);
      const { index, choice, note, category } = fields;
      if (typeof index !== 'number') throw new HttpError(400, 'field "index": expected a number');
      if (typeof choice !== 'string') throw new HttpError(400, 'field "choice": expected a string');
      if (note !== undefined && typeof note !== 'string') throw new HttpError(400, 'field "note": expected a string');
      if (category !== undefined && typeof category !== 'string') throw new HttpError(400, 'field "category": expected a string');
      await session.decide(annotator, index, choice as Choice, { ...(note ? { note } : {}), ...(category ? { category } : {}) });
      sendJson(response, 200, await state(annotator));
      return;
    }
    if (url.pathname === '/api/undo') {
      for (const key of Object.keys(fields)) throw new HttpError(400, `unknown field "${key}"`);
      const undone = await session.undo(annotator);
      sendJson(response, 200, await state(annotator, { undone: undone !== null }));
      return;
    }
    throw new HttpError(404, 'not found');
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      if (error instanceof HttpError) sendJson(response, error.status, { error: error.message });
      else if (PrefError.isInstance(error)) sendJson(response, 400, { error: error.message });
      else {
        onError?.(error);
        sendJson(response, 500, { error: 'internal error (see the terminal running pref collect)' });
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (cause) => reject(new PrefError({ code: 'IO', message: `cannot listen on ${host}:${port}: ${cause.message}`, cause })));
    server.listen(port, host, () => resolve());
  });
  boundPort = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${boundPort}/${accessToken === undefined ? '' : `?token=${accessToken}`}`;
  return {
    url,
    token: accessToken,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
