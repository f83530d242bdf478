import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Command } from 'commander';
import {
  CollectSession,
  collectStats,
  createChatGenerator,
  createOnnxGenerator,
  itemsFromGenerations,
  itemsFromPairs,
  readJournal,
  readPromptList,
  serveCollect,
  ttyCollect,
  type CandidateGenerator,
  type CollectServer,
  type CollectStats,
  type ItemSource,
} from '@pref/collect';
import { InvalidArgumentError } from '@pref/core';
import { integerFlag, numberFlag, deprecatedOption } from '../flags';
import { barChart } from '../report/charts';
import { writeReport } from '../report/write-report';

interface CollectFlags {
  prompts?: string;
  pairs?: string;
  generations?: string;
  generator?: string;
  url?: string;
  model?: string;
  temperature?: string;
  topK?: string;
  topP?: string;
  maxNewTokens?: string;
  output: string;
  k: string;
  seed?: string;
  journal?: string;
  ahead: string;
  host: string;
  port: string;
  token?: string;
  open: boolean;
  tty?: boolean;
  annotator?: string;
}


/**
 * A generator created on first use, once the session's seed is known (a resumed session keeps the
 * seed it started with, for the side draws and the sampling alike).
 */
function lazyGenerator(description: string, create: (seed: string) => Promise<CandidateGenerator>, seed: () => string): CandidateGenerator {
  let real: Promise<CandidateGenerator> | undefined;
  return {
    description,
    async generate(prompt, key, signal) {
      real ??= create(seed());
      return (await real).generate(prompt, key, signal);
    },
    async dispose() {
      if (real) await (await real).dispose?.();
    },
  };
}

async function buildSource(flags: CollectFlags, seed: () => string): Promise<ItemSource> {
  const given = [flags.prompts, flags.pairs, flags.generations].filter((v) => v !== undefined);
  if (given.length !== 1) throw new InvalidArgumentError({ argument: '--prompts/--pairs/--generations', message: 'give exactly one source of items' });
  if (flags.pairs !== undefined) return { kind: 'items', items: await itemsFromPairs(flags.pairs), description: `pairs:${flags.pairs}` };
  if (flags.generations !== undefined) return { kind: 'items', items: await itemsFromGenerations(flags.generations), description: `generations:${flags.generations}` };
  const prompts = await readPromptList(flags.prompts!);
  const temperature = numberFlag(flags.temperature, '--temperature', { min: 0, max: 100 });
  const topK = integerFlag(flags.topK, '--top-k', 0);
  const topP = numberFlag(flags.topP, '--top-p', { min: 0, max: 1 });
  const maxNewTokens = integerFlag(flags.maxNewTokens, '--max-new-tokens', 1);
  const generator = flags.generator ?? (process.env.PREF_CHAT_URL ? 'chat' : undefined);
  if (generator === undefined) throw new InvalidArgumentError({ argument: '--generator', message: 'with --prompts, give --generator DIR (a local ONNX causal LM) or --generator chat (--url/--model or PREF_CHAT_URL/PREF_CHAT_MODEL)' });
  if (generator === 'chat') {
    const url = flags.url ?? process.env.PREF_CHAT_URL;
    const model = flags.model ?? process.env.PREF_CHAT_MODEL;
    if (!url) throw new InvalidArgumentError({ argument: '--url', message: 'the chat endpoint URL (or PREF_CHAT_URL) is required with --generator chat' });
    if (!model) throw new InvalidArgumentError({ argument: '--model', message: 'the model name (or PREF_CHAT_MODEL) is required with --generator chat' });
    if (topK !== undefined) throw new InvalidArgumentError({ argument: '--top-k', message: 'not supported by the chat endpoint generator' });
    const apiKey = process.env.PREF_CHAT_API_KEY ?? process.env.OPENAI_API_KEY;
    const options = { url, model, ...(apiKey ? { apiKey } : {}), ...(temperature !== undefined ? { temperature } : {}), ...(topP !== undefined ? { topP } : {}), ...(maxNewTokens !== undefined ? { maxTokens: maxNewTokens } : {}) };
    const description = createChatGenerator(options).description;
    return { kind: 'generate', prompts, generator: lazyGenerator(description, async (s) => createChatGenerator({ ...options, seed: s }), seed) };
  }
  if (flags.url !== undefined || flags.model !== undefined) throw new InvalidArgumentError({ argument: '--url/--model', message: 'only with --generator chat' });
  const sampling = { ...(temperature !== undefined ? { temperature } : {}), ...(topK !== undefined ? { topK } : {}), ...(topP !== undefined ? { topP } : {}), ...(maxNewTokens !== undefined ? { maxNewTokens } : {}) };
  const description = `onnx:${generator} ${JSON.stringify(sampling)}`;
  return { kind: 'generate', prompts, generator: lazyGenerator(description, (s) => createOnnxGenerator(generator, { ...sampling, seed: s }), seed) };
}

function openBrowser(url: string): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'cmd' : 'xdg-open';
  const args = process.platform === 'win32' ? ['/c', 'start', '', url] : [url];
  try {
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // No browser opener: the URL is printed anyway.
  }
}

interface RunningCollect {
  session: CollectSession;
  server?: CollectServer;
  /** Resolves when collection ends (signal, or the terminal annotator is done). */
  done: Promise<void>;
  /** Finishes the current write, closes server, journal and generator. */
  stop(): Promise<void>;
}

/** Starts `pref collect` (web or terminal). Exposed for tests; the command waits for `done`. */
async function startCollect(flags: CollectFlags, { log = (line: string) => process.stderr.write(`${line}\n`) } = {}): Promise<RunningCollect> {
  const k = integerFlag(flags.k, '--k', 1);
  const ahead = integerFlag(flags.ahead, '--ahead', 0);
  const port = integerFlag(flags.port, '--port', 0, 65535);
  if (!flags.tty && flags.annotator !== undefined) throw new InvalidArgumentError({ argument: '--annotator', message: 'only with --tty (the page asks for the name)' });
  let session: CollectSession | undefined;
  const source = await buildSource(flags, () => session!.session.seed);
  session = await CollectSession.open({
    outDir: flags.output,
    source,
    k,
    ahead,
    ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
    ...(flags.journal !== undefined ? { journalPath: flags.journal } : {}),
    onGenerationError: (error, index) => log(`pref collect: generating item ${index + 1} failed (retried when needed): ${(error as Error).message}`),
  });
  const opened = session;
  const before = opened.progress();
  log(`pref collect: ${opened.total} items, ${before.labels} labels so far, k = ${k}; journal ${opened.journalPath}`);
  log(`pref collect: dataset ${opened.datasetJsonPath} (+ .jsonl)`);
  let server: CollectServer | undefined;
  let stopping: Promise<void> | undefined;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const stop = () =>
    (stopping ??= (async () => {
      await server?.close();
      await opened.close();
      finish();
    })());
  try {
    if (flags.tty) {
      const annotator = flags.annotator ?? process.env.USER ?? 'annotator';
      ttyCollect(opened, { annotator }).then(
        () => stop(),
        (error: unknown) => {
          log(`pref collect: ${(error as Error).message}`);
          process.exitCode = 1;
          return stop();
        },
      );
    } else {
      server = await serveCollect(opened, { host: flags.host, port, ...(flags.token !== undefined ? { token: flags.token } : {}), onError: (error) => log(`pref collect: ${(error as Error).stack ?? String(error)}`) });
      process.stdout.write(`${server.url}\n`);
      log(`pref collect: open ${server.url} — Ctrl-C or SIGTERM stops (every decision is already on disk)`);
      if (flags.open) openBrowser(server.url);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { session: opened, ...(server ? { server } : {}), done, stop };
}

function statsDocument(stats: CollectStats, journal: string) {
  const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
  return {
    title: 'Preference collection',
    intro: [`Journal: ${journal}`, ...(stats.session ? [`Source: ${stats.session.source}; k = ${stats.session.k}; dataset user_preferences_${String(stats.session.number).padStart(3, '0')}.json`] : [])],
    sections: [
      {
        heading: 'Decisions',
        paragraphs: [`${stats.decisions} decisions (${stats.labels} labels, ${stats.ties} ties, ${stats.skips} skips; ${stats.undos} undone) on ${stats.itemsShown || 'the'} items.`, `Median time per decision: ${Number.isFinite(stats.medianMs) ? (stats.medianMs / 1000).toFixed(1) : 'n/a'} s.`],
        table: { columns: ['annotator', 'decisions', 'left', 'right', 'tie', 'skip', 'left-win rate', 'median s', 'mean s'], rows: stats.annotators.map((a) => [a.annotator, a.decisions, a.left, a.right, a.tie, a.skip, fmt(a.leftWinRate), (a.medianMs / 1000).toFixed(1), (a.meanMs / 1000).toFixed(1)]) },
        charts: [{ name: 'decisions-per-annotator', caption: 'Decisions per annotator by kind', spec: barChart({ title: 'Decisions per annotator', xTitle: 'annotator', yTitle: 'decisions', rows: stats.annotators.flatMap((a) => (['left', 'right', 'tie', 'skip'] as const).map((kind) => ({ category: a.annotator, value: a[kind], series: kind }))) }) }],
      },
      {
        heading: 'Position bias',
        paragraphs: [`Left-win rate ${fmt(stats.positionBias.rate)} over ${stats.positionBias.leftOrRight} left/right labels (${stats.positionBias.leftWins} left), 95% Wilson interval [${fmt(stats.positionBias.interval95[0])}, ${fmt(stats.positionBias.interval95[1])}]. Sides are drawn at random per item, so an interval excluding 0.5 means annotators favour a side.`],
        charts: [{ name: 'left-win-rate', caption: 'Left-win rate per annotator (0.5 = no position bias)', spec: barChart({ title: 'Left-win rate', xTitle: 'annotator', yTitle: 'left wins / (left + right)', rows: stats.annotators.map((a) => ({ category: a.annotator, value: Number.isFinite(a.leftWinRate) ? a.leftWinRate : 0 })) }) }],
      },
      {
        heading: 'Agreement',
        paragraphs: [stats.fleiss ? `Fleiss' kappa ${fmt(stats.fleiss.kappa)} over ${stats.fleiss.items} items with ${stats.fleiss.raters} labels each (labels: candidate a, candidate b, tie).` : 'No item has two or more labels: agreement needs k ≥ 2.'],
        table: { columns: ['annotators', 'common items', "Cohen's kappa"], rows: stats.cohen.map((c) => [c.annotators.join(' & '), c.items, fmt(c.kappa)]) },
      },
    ],
  };
}

/** `pref collect`: label preferences in a browser page or a terminal; `pref collect stats`: journal statistics. */
export function registerCollectCommands(program: Command): void {
  const collect = program
    .command('collect')
    .description('Collect human preferences on a local web page (or --tty): datasets/user_collected/user_preferences_NNN.json')
    .option('--prompts <file>', 'prompt list: .txt (one a line, like collection_prompts.txt), .json or .jsonl')
    .option('--pairs <file>', 'label the two responses of existing pairs instead')
    .option('--generations <file>', 'label the first two generations of {prompt, generations} rows instead')
    .option('--generator <dir|chat>', 'with --prompts: an ONNX causal LM folder (or Hub id), or "chat" for an OpenAI-compatible endpoint')
    .option('--url <url>', 'chat endpoint base URL (env PREF_CHAT_URL), e.g. http://127.0.0.1:8000/v1')
    .option('--model <name>', 'chat model name (env PREF_CHAT_MODEL); key from PREF_CHAT_API_KEY or OPENAI_API_KEY')
    .option('--temperature <t>', 'sampling temperature (ONNX default 1, chat default 0.7)')
    .option('--top-k <k>', 'ONNX: keep the k most likely tokens (default 50)')
    .option('--top-p <p>', 'nucleus sampling (ONNX default 0.95, chat default 1)')
    .option('--max-new-tokens <n>', 'most tokens per response (ONNX default 128, chat default 256)')
    .option('-o, --output <dir>', 'dataset folder; files go to <dir>/user_collected/', 'datasets')
    .addOption(deprecatedOption('--out <dir>', '--output'))
    .option('--k <n>', 'annotators per item', '1')
    .option('--seed <s>', 'seed of the left/right draws and of sampling (default: random, kept in the journal)')
    .option('--journal <file>', 'journal path (default: <output>/user_collected/collect-<source hash>.journal.jsonl)')
    .option('--ahead <n>', 'items generated ahead of the annotators', '2')
    .option('--host <host>', 'interface to listen on; anything but loopback requires the printed token', '127.0.0.1')
    .option('--port <n>', 'port (0 = a free one)', '0')
    .option('--token <token>', 'access token (default: random when --host is not loopback)')
    .option('--no-open', 'do not open a browser')
    .option('--tty', 'label in this terminal instead of a browser (same queue, journal and keys)')
    .option('--annotator <name>', 'with --tty: the annotator name (default $USER)')
    .action(async (flags: CollectFlags) => {
      const running = await startCollect(flags);
      const onSignal = () => void running.stop();
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      try {
        await running.done;
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
      const progress = running.session.progress();
      process.stderr.write(`pref collect: stopped; ${progress.labels} labels, ${progress.pairs} pairs in ${running.session.datasetJsonPath}\n`);
    });

  collect
    .command('stats')
    .description('Per-annotator counts, agreement (Cohen/Fleiss kappa), position bias and time per item of a collection journal')
    .argument('<journal>', 'a collect-*.journal.jsonl file')
    .option('--report <dir>', 'also write report.md / report.html with plots there')
    .option('--json', 'print the statistics as JSON')
    .action(async (journal: string, flags: { report?: string; json?: boolean }) => {
      const stats = collectStats(readJournal(journal));
      if (flags.json) process.stdout.write(`${JSON.stringify(stats, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
      else {
        const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
        const lines = [`${stats.decisions} decisions: ${stats.labels} labels, ${stats.ties} ties, ${stats.skips} skips, ${stats.undos} undone`];
        for (const a of stats.annotators) lines.push(`  ${a.annotator}: ${a.decisions} (left ${a.left}, right ${a.right}, tie ${a.tie}, skip ${a.skip}), left-win rate ${fmt(a.leftWinRate)}, median ${(a.medianMs / 1000).toFixed(1)} s`);
        lines.push(`position bias: left-win rate ${fmt(stats.positionBias.rate)} (${stats.positionBias.leftWins}/${stats.positionBias.leftOrRight}), 95% interval [${fmt(stats.positionBias.interval95[0])}, ${fmt(stats.positionBias.interval95[1])}]`);
        for (const c of stats.cohen) lines.push(`Cohen's kappa ${c.annotators.join(' & ')}: ${fmt(c.kappa)} over ${c.items} items`);
        if (stats.fleiss) lines.push(`Fleiss' kappa: ${fmt(stats.fleiss.kappa)} over ${stats.fleiss.items} items with ${stats.fleiss.raters} labels`);
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      if (flags.report !== undefined) {
        const written = await writeReport(flags.report, statsDocument(stats, journal));
        process.stderr.write(`report: ${join(written.markdownPath)}\n`);
      }
    });
}
