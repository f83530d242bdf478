// Test helpers (not exported from the package): 127.0.0.1 HTTP servers for the remote clients' tests,
// shared by the reward-model and causal-LM suites.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a fault-injecting server does with a request: answer it, never answer, or answer with an HTTP error. */
export type HttpFault = 'ok' | 'hang' | { status: number; retryAfter?: string };

async function readAll(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A server on a free 127.0.0.1 port calling `handler` with each request's whole body; a thrown error is a 500. */
export async function listen(handler: (request: IncomingMessage, response: ServerResponse, body: Buffer) => Promise<void> | void): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    readAll(request)
      .then((body) => handler(request, response, body))
      .catch((error: unknown) => {
        if (!response.headersSent) response.writeHead(500).end(String(error));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/**
 * Applies `fault` to a response: true when the fault answered (or swallowed) it, false for `ok`.
 * Hung responses are kept in `hanging` so the test can destroy them when it closes the server.
 */
export function injectFault(response: ServerResponse, fault: HttpFault, hanging: ServerResponse[]): boolean {
  if (fault === 'ok') return false;
  if (fault === 'hang') {
    hanging.push(response);
    return true;
  }
  response.writeHead(fault.status, { 'content-type': 'application/json', ...(fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter }) });
  response.end(JSON.stringify({ error: `injected ${fault.status}` }));
  return true;
}

/** Closes a fake server, dropping hung responses first. */
export async function closeFake(server: Server, hanging: readonly ServerResponse[] = []): Promise<void> {
  for (const response of hanging) response.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
