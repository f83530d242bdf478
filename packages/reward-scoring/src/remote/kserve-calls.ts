/**
 * The KServe v2 calls both remote clients make (reward scores in protocols.ts, log-probs in
 * logprob-protocols.ts): the model path, the metadata read with its input checks, and one inference
 * request with its answer decoded. The protocol: kserve.github.io "Open Inference Protocol (V2)",
 * `GET /v2/models/{name}[/versions/{v}]` and `POST …/infer`.
 */
import { RemoteScoringError } from '../errors';
import { decodeKServeMessage, encodeKServeMessage, INFERENCE_HEADER_LENGTH, KServeWireError, type KServeTensor } from './kserve-wire';
import { parseJsonAnswer, request } from './http';

/** A server's answer pref cannot use: the error names the endpoint and the batch. */
export function badAnswer(endpoint: string, batch: number | undefined, message: string): never {
  throw new RemoteScoringError({ endpoint, batch, message });
}

/** What the calls need from the run. */
export interface KServeCallContext {
  remoteName: string | undefined;
  remoteVersion: string | undefined;
  binary: boolean;
  headers: Record<string, string>;
  timeoutMs: number;
}

/** `/v2/models/{name}[/versions/{v}]`; the name is required. */
export function kserveModelPath({ remoteName, remoteVersion }: Pick<KServeCallContext, 'remoteName' | 'remoteVersion'>): string {
  if (remoteName === undefined || remoteName === '') {
    throw new RemoteScoringError({ endpoint: '(kserve)', code: 'INVALID_ARGUMENT', message: 'the KServe protocol needs the model name on the server (remoteName / --remote-name)' });
  }
  return `/v2/models/${encodeURIComponent(remoteName)}${remoteVersion === undefined ? '' : `/versions/${encodeURIComponent(remoteVersion)}`}`;
}

/** An input of the deployed graph pref fills. */
export interface KServeInput {
  name: string;
  datatype: 'INT32' | 'INT64';
}

/** A listed output: its name and shape when the server gives them. */
export interface KServeListedOutput {
  name?: unknown;
  shape?: unknown;
}

/**
 * Reads the model metadata and checks its inputs: each must be one pref sends (`accepted`), INT32 or
 * INT64, and `input_ids` must be there. `refuse(name, i)` may reject an input with its own reason first.
 */
export async function readKServeMetadata(
  url: string,
  modelPath: string,
  ctx: KServeCallContext,
  accepted: ReadonlySet<string>,
  signal?: AbortSignal,
  refuse?: (name: unknown, index: number) => void,
): Promise<{ inputs: KServeInput[]; outputs: KServeListedOutput[] }> {
  const answer = await request(`${url}${modelPath}`, { method: 'GET', headers: ctx.headers, timeoutMs: ctx.timeoutMs, signal, endpoint: url });
  const metadata = parseJsonAnswer(answer, url) as Record<string, unknown> | null;
  const inputs = metadata?.inputs;
  const outputs = metadata?.outputs;
  if (!Array.isArray(inputs) || !Array.isArray(outputs)) badAnswer(url, undefined, `model metadata ${modelPath} has no "inputs"/"outputs" arrays`);
  const parsed = inputs.map((input: unknown, i: number): KServeInput => {
    const { name, datatype } = (input ?? {}) as { name?: unknown; datatype?: unknown };
    refuse?.(name, i);
    if (typeof name !== 'string' || !accepted.has(name)) {
      badAnswer(url, undefined, `model metadata inputs[${i}]: the deployed graph takes ${JSON.stringify(name)}; pref sends only ${[...accepted].join(', ')}`);
    }
    if (datatype !== 'INT64' && datatype !== 'INT32') badAnswer(url, undefined, `model metadata input "${name}": datatype ${JSON.stringify(datatype)}, expected INT64 or INT32`);
    return { name, datatype };
  });
  if (!parsed.some((input) => input.name === 'input_ids')) badAnswer(url, undefined, 'model metadata lists no "input_ids" input');
  return { inputs: parsed, outputs: outputs.map((o: unknown) => (o ?? {}) as KServeListedOutput) };
}

/** One inference request (`tensors` in, the output `output` back), binary or JSON as `ctx.binary` says. */
export async function kserveInfer(
  url: string,
  modelPath: string,
  ctx: KServeCallContext,
  tensors: KServeTensor[],
  output: string,
  batch: number,
  signal?: AbortSignal,
): Promise<KServeTensor> {
  const header = { id: `pref-batch-${batch}`, outputs: [{ name: output, parameters: { binary_data: ctx.binary } }] };
  const { body, headers } = encodeKServeMessage('inputs', header, tensors, { binary: ctx.binary });
  const answer = await request(`${url}${modelPath}/infer`, { method: 'POST', headers: { ...ctx.headers, ...headers }, body, timeoutMs: ctx.timeoutMs, signal, endpoint: url, batch });
  const lengthHeader = answer.headers.get(INFERENCE_HEADER_LENGTH);
  let decoded;
  try {
    decoded = decodeKServeMessage('outputs', answer.body, lengthHeader === null ? undefined : Number(lengthHeader));
  } catch (error) {
    if (error instanceof KServeWireError) badAnswer(url, batch, `malformed inference answer: ${error.message}`);
    throw error;
  }
  const tensor = decoded.tensors.find((t) => t.name === output);
  if (tensor === undefined) badAnswer(url, batch, `the answer has no output "${output}" (outputs: ${decoded.tensors.map((t) => t.name).join(', ') || 'none'})`);
  return tensor;
}

/**
 * `prepare(url)` once per endpoint, shared by concurrent batches; a failed preparation is forgotten,
 * so the next batch on that endpoint retries it.
 */
export function preparedOnce(prepared: Map<string, Promise<void>>, url: string, prepare: () => Promise<void>): Promise<void> {
  let ready = prepared.get(url);
  if (ready === undefined) {
    ready = prepare();
    prepared.set(url, ready);
    ready.catch(() => prepared.delete(url));
  }
  return ready;
}
