import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, PrefError } from '@pref/core';
import { createD2poDiscriminator, type D2poOptions, type D2poStats, type D2poTrainResult } from './create-d2po-discriminator';
import { BadRequestError } from './errors';
import type { OnlineRewardModel } from './online-reward-model';
import { parseTextsBody, readBody } from './request-body';
import { RunFolder, type ResumeSummary } from './run-folder';

/** Options of {@link serveD2po}: the discriminator's options plus where and how to serve. */
export interface ServeD2poOptions extends Omit<D2poOptions, 'model'> {
  /** The online reward model (e.g. `createLinearModel()`). */
  model: OnlineRewardModel;
  /** Output folder: log, index, state and `step_N` checkpoints; an existing run there is resumed. */
  out: string;
  /** Settings recorded in `run.json` besides the discriminator's (e.g. the model's options); a resumed run must match them. */
  modelSettings?: Record<string, unknown>;
  /** Default: 5007 (the port D2PO's loop posts to). 0 picks a free port. */
  port?: number;
  /** Default: '127.0.0.1' (loopback only: the service has no authentication). */
  host?: string;
  /** `save_freq`: a checkpoint (`step_N/` and `state.json`) every this many calls. Default: 50 (newupdateapi.sh). */
  saveFreq?: number;
  /** Largest request body in bytes (413 beyond). Default: 16 MiB. */
  maxBodyBytes?: number;
  /** Called after every committed `/train` call (for progress output). */
  onCall?: (result: D2poTrainResult, stats: D2poStats) => void;
}

/** A running service. */
export interface D2poServer {
  /** `http://host:port`. */
  readonly url: string;
  readonly port: number;
  /** What was restored from the output folder at start. */
  readonly resume: ResumeSummary;
  stats(): D2poStats;
  /**
   * Graceful stop: new requests get 503, requests already accepted finish in order, then a
   * checkpoint is written and the port closes. Idempotent.
   */
  close(): Promise<void>;
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

function sendError(response: ServerResponse, status: number, code: string, message: string, field?: string, headers: Record<string, string> = {}): void {
  sendJson(response, status, { error: { code, message, ...(field === undefined ? {} : { field }) } }, headers);
}

/**
 * Serves D2PO's discriminator over HTTP with the protocol of `src/rmapi.py` (PrasannS/d2po):
 * - `POST /train {"texts": [...]}` → JSON array of scores (see `D2poTrainResult.scores`);
 * - `POST /predict {"texts": [...]}` → JSON array of scores, no state change;
 * - `GET /health` → `{"status", "calls", "labels", "updates", ...}`.
 * Requests run one at a time in arrival order (upstream holds a global lock). Every `/train` call is
 * logged before it is answered; a restart on the same `out` folder resumes with the same state.
 */
export async function serveD2po(options: ServeD2poOptions): Promise<D2poServer> {
  const { model, out, modelSettings = {}, port = 5007, host = '127.0.0.1', saveFreq = 50, maxBodyBytes = 16 * 1024 * 1024, onCall, ...d2po } = options;
  if (!Number.isInteger(saveFreq) || saveFreq < 1) throw new InvalidArgumentError({ argument: 'saveFreq', message: `expected a positive integer, got ${saveFreq}` });
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) throw new InvalidArgumentError({ argument: 'maxBodyBytes', message: `expected a positive integer, got ${maxBodyBytes}` });
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError({ argument: 'port', message: `expected an integer in [0, 65535], got ${port}` });
  const discriminator = createD2poDiscriminator({ ...d2po, model });
  const settings = { ...discriminator.options, model: model.kind, ...modelSettings };

  // A model checkpoint every saveFreq calls while updates run (upstream's save_pretrained to step_N).
  const checkpointModel = async (call: number): Promise<void> => {
    if (call % saveFreq !== 0 || discriminator.stats().updatesStopped) return;
    const dir = join(out, `step_${call}`);
    if (!existsSync(join(dir, 'model.onnx'))) await model.exportOnnx(dir, { labels: discriminator.stats().labels, call });
  };
  const { folder, resume } = await RunFolder.open(out, settings, discriminator, checkpointModel);
  let lastSavedCall = resume.calls;

  let queue: Promise<void> = Promise.resolve();
  let pending = 0;
  let draining = false;
  /** Runs `task` after every earlier request: one at a time, in arrival order. */
  const enqueue = <T>(task: () => Promise<T>): Promise<T> => {
    pending += 1;
    const run = queue.then(task);
    queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run.finally(() => {
      pending -= 1;
    });
  };

  // A /train call that fails after it began changing state (a model or disk error) leaves memory and
  // log out of step; from then on /train is refused and a restart resumes from the last committed call.
  let failure: string | undefined;
  const trainCall = async (texts: string[]): Promise<number[]> => {
    if (failure !== undefined) throw new BadRequestError({ status: 500, message: failure });
    let result: D2poTrainResult;
    try {
      result = await discriminator.train(texts);
      folder.appendCall(result);
    } catch (error) {
      const calls = discriminator.stats().calls;
      failure = `call ${calls} failed (${error instanceof Error ? error.message : String(error)}); /train is stopped: restart the service on the same --out to resume from the last committed call`;
      throw new BadRequestError({ status: 500, message: failure, cause: error });
    }
    await checkpointModel(result.call);
    if (result.call % saveFreq === 0) {
      await folder.saveState(result.call, discriminator);
      lastSavedCall = result.call;
    }
    onCall?.(result, discriminator.stats());
    return result.scores;
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/health') {
      if (request.method !== 'GET' && request.method !== 'HEAD') return sendError(response, 405, 'METHOD_NOT_ALLOWED', `${path} takes GET`, undefined, { allow: 'GET, HEAD' });
      return sendJson(response, 200, { status: failure !== undefined ? 'failed' : draining ? 'draining' : 'ok', ...(failure === undefined ? {} : { error: failure }), model: model.kind, queued: pending, ...discriminator.stats() });
    }
    if (path !== '/train' && path !== '/predict') return sendError(response, 404, 'NOT_FOUND', `no route ${path} (routes: POST /train, POST /predict, GET /health)`);
    if (request.method !== 'POST') return sendError(response, 405, 'METHOD_NOT_ALLOWED', `${path} takes POST`, undefined, { allow: 'POST' });
    if (draining) return sendError(response, 503, 'SHUTTING_DOWN', 'the service is shutting down', undefined, { connection: 'close' });
    const texts = parseTextsBody(await readBody(request, maxBodyBytes), { route: path });
    // Shutdown may have begun while the body arrived; what is queued from here on is not awaited by close().
    if (draining) return sendError(response, 503, 'SHUTTING_DOWN', 'the service is shutting down', undefined, { connection: 'close' });
    const scores = await enqueue(() => (path === '/train' ? trainCall(texts) : discriminator.predict(texts)));
    sendJson(response, 200, scores);
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      if (BadRequestError.isInstance(error)) {
        // After a refused body the rest of it may still be arriving: close the connection.
        const code = error.status === 413 ? 'PAYLOAD_TOO_LARGE' : error.status >= 500 ? 'INTERNAL' : 'BAD_REQUEST';
        sendError(response, error.status, code, error.message, error.field, error.status === 413 ? { connection: 'close' } : {});
        return;
      }
      const message = PrefError.isInstance(error) ? error.message : error instanceof Error ? error.message : String(error);
      sendError(response, 500, 'INTERNAL', message);
    });
  });
  server.requestTimeout = 0; // a /train call of a large model may take long; the queue bounds the work.
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new InvalidArgumentError({ argument: 'port', message: `cannot listen on ${host}:${port} (${error.code ?? error.message})`, cause: error })),
    );
    server.listen(port, host, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    resume,
    stats: () => discriminator.stats(),
    close() {
      closing ??= (async () => {
        draining = true;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await queue;
        const { calls } = discriminator.stats();
        if (failure === undefined && calls > lastSavedCall) await folder.saveState(calls, discriminator);
        folder.close();
        server.closeAllConnections();
        await closed;
        await model.close();
      })();
      return closing;
    },
  };
}
