import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { InvalidArgumentError } from '@pref/core';
import { integerFlag, numberFlag, deprecatedOption } from '../flags';
import { closeOnSignals, createLinearModel, loadOnlineRewardModel, serveD2po, serveKServe } from '@pref/serve';

interface ServeD2poFlags {
  gold: string;
  model?: string;
  pooling?: 'mean' | 'cls';
  port: string;
  host: string;
  output: string;
  sampN: string;
  relabels: string;
  relabCriteria: 'conf' | 'rand';
  goldTies: 'spend' | 'skip';
  updateEpochs: string;
  stopUpdates: string;
  saveFreq: string;
  learningRate: string;
  batchSize: string;
  seed: string;
  maxBodyBytes: string;
  quiet?: boolean;
}


interface ServeKServeFlags {
  model: string;
  name?: string;
  port: string;
  host: string;
  device: 'cpu' | 'cuda';
  threads?: string;
  batchTokens: string;
  maxQueueDelayMs: string;
  maxBodyBytes: string;
  task: 'auto' | 'reward' | 'causal-lm';
  maxLogitsBytes: string;
  quiet?: boolean;
}

/**
 * `pref serve d2po`: D2PO's discriminator as an HTTP service, a drop-in for upstream's newupdateapi.sh.
 * `pref serve kserve`: an ONNX reward model or causal LM over the KServe v2 inference protocol.
 */
export function registerServeCommands(program: Command): void {
  const serve = program.command('serve').description('Run pref as a service');
  serve
    .command('d2po')
    .description("D2PO's discriminator (rmapi.py protocol): POST /train and /predict {\"texts\": [...]} → scores; GET /health")
    .requiredOption('--gold <name>', 'gold reward labelling the selected pairs: a gold function with optional -noise/-exponent (e.g. bagofwords)')
    .option('--model <dir>', 'start from this ONNX folder: a linear Bradley-Terry model (pref train-rm output, a linear step_N checkpoint), or any encoder export (last_hidden_state output) that gets a Bradley-Terry head over its pooled embeddings (or an encoder-head step_N checkpoint); default: an empty linear word model')
    .addOption(new Option('--pooling <p>', 'encoder models: token states pooled by mean over the attention mask or the first ([CLS]) token (default: mean)').choices(['mean', 'cls']))
    .option('--port <n>', 'port (0: any free port)', '5007')
    .option('--host <addr>', 'address to bind (the service has no authentication: keep it on loopback)', '127.0.0.1')
    .option('-o, --output <dir>', 'run folder: log.jsonl, log.index.jsonl, state.json, step_N/ checkpoints; an existing run is resumed', 'd2po-run')
    .addOption(deprecatedOption('--out <dir>', '--output'))
    .option('--samp-n <n>', 'texts per window (samp_n)', '1')
    .option('--relabels <n>', 'gold labels (pairs) per window (relabels)', '1')
    .addOption(new Option('--relab-criteria <c>', 'which pairs get gold labels: conf (smallest score gap) or rand').choices(['conf', 'rand']).default('conf'))
    .addOption(new Option('--gold-ties <mode>', 'a selected pair whose golds tie: spend its label (upstream) or skip it without spending').choices(['spend', 'skip']).default('spend'))
    .option('--update-epochs <n>', 'passes over the window\'s labelled pairs per update (update_epochs)', '1')
    .option('--stop-updates <n>', 'stop updating after this many gold labels (stopupdates)', '100000')
    .option('--save-freq <n>', 'checkpoint every this many calls (save_freq)', '50')
    .option('--learning-rate <lr>', 'AdamW step size of the linear model or the encoder head', '0.05')
    .option('--batch-size <n>', 'pairs per optimizer step (batch_size)', '32')
    .option('--seed <n>', 'seed of rand selection, update shuffles and gold noise', '0')
    .option('--max-body-bytes <n>', 'largest request body (413 beyond)', String(16 * 1024 * 1024))
    .option('-q, --quiet', 'no per-call output')
    .action(async (flags: ServeD2poFlags) => {
      const learningRate = numberFlag(flags.learningRate, '--learning-rate', { above: 0 });
      if (flags.pooling !== undefined && flags.model === undefined) throw new InvalidArgumentError({ argument: '--pooling', message: 'applies to an encoder given with --model' });
      const model = flags.model === undefined ? createLinearModel({ learningRate }) : await loadOnlineRewardModel(flags.model, { learningRate, ...(flags.pooling === undefined ? {} : { pooling: flags.pooling }) });
      const out = resolve(flags.output);
      const server = await serveD2po({
        gold: flags.gold,
        model,
        modelSettings: { learningRate, initialModel: flags.model === undefined ? null : resolve(flags.model), ...(model.kind === 'encoder-head' ? { pooling: flags.pooling ?? 'mean' } : {}) },
        out,
        port: integerFlag(flags.port, '--port', 0),
        host: flags.host,
        sampN: integerFlag(flags.sampN, '--samp-n', 1),
        relabels: integerFlag(flags.relabels, '--relabels', 0),
        relabCriteria: flags.relabCriteria,
        goldTiesSpendBudget: flags.goldTies === 'spend',
        updateEpochs: integerFlag(flags.updateEpochs, '--update-epochs', 1),
        stopUpdates: integerFlag(flags.stopUpdates, '--stop-updates', 0),
        saveFreq: integerFlag(flags.saveFreq, '--save-freq', 1),
        batchSize: integerFlag(flags.batchSize, '--batch-size', 1),
        seed: integerFlag(flags.seed, '--seed', 0),
        maxBodyBytes: integerFlag(flags.maxBodyBytes, '--max-body-bytes', 1),
        onCall: flags.quiet
          ? undefined
          : (result, stats) => {
              const { agree, total } = result.agreement;
              const update = result.update === undefined ? '' : `, updated on ${result.update.pairs} pairs (last loss ${result.update.losses.at(-1)?.toFixed(4)})`;
              process.stderr.write(`call ${result.call}: ${result.scores.length} texts, ${result.labelled.length} labelled, agreement ${agree}/${total}${update}, ${stats.labels} labels used${stats.updatesStopped ? ', updates stopped' : ''}\n`);
            },
      });
      const { calls, replayed, droppedBytes } = server.resume;
      const resumed = calls === 0 ? '' : `; resumed at call ${calls} (${replayed} replayed from the log${droppedBytes > 0 ? `, ${droppedBytes} bytes of an interrupted call dropped` : ''})`;
      process.stderr.write(`pref serve d2po: listening on ${server.url} (run folder ${out}${resumed})\n`);
      const signal = await closeOnSignals(server);
      process.stderr.write(`pref serve d2po: ${signal}: checkpoint written after call ${server.stats().calls}, stopped\n`);
    });

  serve
    .command('kserve')
    .description('An ONNX reward model or causal LM over the KServe v2 inference protocol (JSON and binary tensors, dynamic batching), for `pref score --endpoint`, `pref logprobs --policy-endpoint` or any v2 client')
    .requiredOption('--model <dir|org/name>', 'model folder (model.onnx, tokenizer.json, config.json) or Hugging Face Hub id')
    .option('--name <name>', 'model name in the URL paths /v2/models/{name} (default: the folder name)')
    .option('--port <n>', 'port (0: any free port)', '8000')
    .option('--host <addr>', 'address to bind (no authentication: keep it on loopback or behind a gateway)', '127.0.0.1')
    .addOption(new Option('--device <device>', 'execution provider').choices(['cpu', 'cuda']).default('cpu'))
    .option('--threads <n>', 'onnxruntime intra-op threads')
    .option('--batch-tokens <n>', 'dynamic batching: padded tokens per merged model run', '16384')
    .option('--max-queue-delay-ms <ms>', 'dynamic batching: longest a request waits for others to join its batch', '2')
    .option('--max-body-bytes <n>', 'largest request body (413 beyond)', String(64 * 1024 * 1024))
    .addOption(new Option('--task <task>', 'reward (output logits [B, labels]) or causal-lm (outputs token_logprobs [B, T] computed on the server, and logits [B, T, V]); auto: causal-lm when config.json architectures names a …ForCausalLM/…LMHeadModel').choices(['auto', 'reward', 'causal-lm']).default('auto'))
    .option('--max-logits-bytes <n>', 'causal LMs: largest logits answer (413 beyond; token_logprobs is B × T × 8 bytes)', String(256 * 1024 * 1024))
    .option('-q, --quiet', 'no start and stop lines')
    .action(async (flags: ServeKServeFlags) => {
      const server = await serveKServe({
        model: flags.model,
        name: flags.name,
        port: integerFlag(flags.port, '--port', 0, 65535),
        host: flags.host,
        device: flags.device,
        threads: integerFlag(flags.threads, '--threads', 1),
        batchTokens: integerFlag(flags.batchTokens, '--batch-tokens', 1),
        maxQueueDelayMs: numberFlag(flags.maxQueueDelayMs, '--max-queue-delay-ms', { min: 0 }),
        maxBodyBytes: integerFlag(flags.maxBodyBytes, '--max-body-bytes', 1),
        task: flags.task,
        maxLogitsBytes: integerFlag(flags.maxLogitsBytes, '--max-logits-bytes', 1),
      });
      if (!flags.quiet) process.stderr.write(`pref serve kserve: model "${server.name}" on ${server.url} (POST ${server.url}/v2/models/${server.name}/infer)\n`);
      const signal = await closeOnSignals(server);
      const { requests, batches } = server.stats();
      if (!flags.quiet) process.stderr.write(`pref serve kserve: ${signal}: ${requests} requests in ${batches} model runs, stopped\n`);
    });
}
