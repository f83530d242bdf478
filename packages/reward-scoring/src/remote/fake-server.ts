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

/** A running fake server: its URL, counters and what it was sent. */
export interface FakeServer {
  url: string;
  /** Requests to the inference route so far (faulty ones included). */
  readonly requests: number;
  /** Most requests computed at once. */
  readonly maxConcurrent: number;
  /** The JSON bodies of the requests it answered. */
  bodies: unknown[];
  close(): Promise<void>;
}

/** A fault of the vLLM fake: an HTTP fault, or an answer without prompt_logprobs / with other prompt token ids. */
export type VllmFault = HttpFault | 'no-prompt-logprobs' | 'wrong-ids';

/**
 * A 127.0.0.1 server with vLLM's documented `POST /v1/completions` shapes for token-id prompts with
 * `prompt_logprobs` (see `vllmLogProbClient` for the cited shapes): `envelope` is a recorded
 * `CompletionResponse` whose `choices` are replaced by one per prompt (answered in reverse order,
 * every other one with `prompt_token_ids`), the prompt log-probs computed by `modelFor(request.model)`
 * in this process. Request `n` (0-based) misbehaves as `faults(n)` says.
 */
export async function vllmCompletionsFake(
  modelFor: (name: string | undefined) => { tokenLogProbs(rows: readonly (readonly number[])[]): Promise<Float64Array[]>; tokenizer: { decode(ids: readonly number[]): string } },
  envelope: Record<string, unknown> & { choices: readonly Record<string, unknown>[] },
  faults: (n: number) => VllmFault = () => 'ok',
): Promise<FakeServer> {
  const hanging: ServerResponse[] = [];
  const state = { requests: 0, bodies: [] as unknown[], maxConcurrent: 0, concurrent: 0 };
  const { server, url } = await listen(async (request, response, body) => {
    if (request.url !== '/v1/completions') return void response.writeHead(404).end(JSON.stringify({ error: { message: 'not found' } }));
    const n = state.requests++;
    const fault = faults(n);
    if ((fault === 'hang' || typeof fault === 'object') && injectFault(response, fault, hanging)) return;
    const payload = JSON.parse(body.toString()) as { prompt: number[][]; model?: string };
    state.bodies.push(payload);
    state.concurrent++;
    state.maxConcurrent = Math.max(state.maxConcurrent, state.concurrent);
    try {
      const model = modelFor(payload.model);
      const perToken = await model.tokenLogProbs(payload.prompt);
      await new Promise((resolve) => setTimeout(resolve, 5)); // let concurrent requests overlap
      const [template] = envelope.choices;
      const choices = payload.prompt.map((ids, index) => ({
        ...template,
        index,
        ...(index % 2 === 0 ? { prompt_token_ids: fault === 'wrong-ids' ? ids.slice(1) : ids } : {}),
        prompt_logprobs:
          fault === 'no-prompt-logprobs'
            ? null
            : ids.map((id, t) => (t === 0 ? null : { [String(id)]: { logprob: perToken[index]![t]!, rank: 1 + (id % 7), decoded_token: model.tokenizer.decode([id]) } })),
      }));
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ...envelope, model: payload.model ?? envelope.model, choices: choices.reverse() }));
    } finally {
      state.concurrent--;
    }
  });
  return {
    url,
    get requests() {
      return state.requests;
    },
    get maxConcurrent() {
      return state.maxConcurrent;
    },
    bodies: state.bodies,
    close: () => closeFake(server, hanging),
  };
}
