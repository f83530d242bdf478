import { createKeyedUniform, InvalidArgumentError } from '@pref/core';
import { goldReward, parseGoldSpec, type GoldRewardSpec } from '@pref/reward-scoring';
import { selectForRelabel, WindowRelabelBudget } from '@pref/selection';
import { ResumeError } from './errors';
import type { OnlinePreference, OnlineRewardModel } from './online-reward-model';

/** Options of {@link createD2poDiscriminator}; names follow `src/rmapi.py`'s arguments. */
export interface D2poOptions {
  /** Gold reward spec: a gold function name with optional `-noise` / `-exponent` (e.g. `bagofwords`). */
  gold: string;
  /** The reward model that scores and learns. */
  model: OnlineRewardModel;
  /** `samp_n`: texts per window; the window's buffers reset once they hold at least this many. Default: 1 (upstream). */
  sampN?: number;
  /** `relabels`: gold labels (pairs) per window. Default: 1 (upstream). */
  relabels?: number;
  /** `relab_criteria`: `conf` (smallest |Δscore| first, ties in arrival order) or `rand` (seeded). Default: 'conf'. */
  relabCriteria?: 'conf' | 'rand';
  /**
   * A selected pair whose gold scores tie teaches nothing. `true` (upstream): it still spends a label of
   * the window's budget. `false`: ties are passed over and the next candidate is labelled instead.
   * Default: true.
   */
  goldTiesSpendBudget?: boolean;
  /** `update_epochs`: passes over the window's labelled pairs at each update. Default: 1. */
  updateEpochs?: number;
  /** `stopupdates`: no more updates once this many gold labels were spent on updates. Default: 100000. */
  stopUpdates?: number;
  /** `batch_size`: pairs per optimizer step. Default: 32. */
  batchSize?: number;
  /** Seed of `rand` selection, of the update shuffles and of gold noise. Default: 0 (newupdateapi.sh). */
  seed?: number;
}

/** One upstream log line: one pair of a call (`append_dict_to_jsonl` in `src/utils/api_utils.py`). */
export interface D2poLogLine {
  texts: [string, string];
  /** The discriminator's scores before this call's update. */
  rewards: [number, number];
  /** Gold scores of both texts (computed for every pair, as upstream does for function golds). */
  golds: [number, number];
  /** The call number, once per text. */
  call: [number, number];
}

/** What one `/train` call did. */
export interface D2poTrainResult {
  call: number;
  /**
   * The response: scores before the update, one per text, except that each labelled pair with a gold
   * winner gets its two scores reordered so the gold winner holds the higher one (upstream's
   * "flip labels when we do rescoring").
   */
  scores: number[];
  /** The raw scores before the update (the log's `rewards`). */
  rewards: number[];
  logLines: D2poLogLine[];
  /** Pair indices (within the call) that were sent to the gold labeler, in selection order. */
  labelled: number[];
  /** Whether the reward model was updated in this call, and its loss per step. */
  update?: { pairs: number; losses: number[] };
  /** Pairs of this call whose gold scores differ, and how many of them the raw scores order the same way. */
  agreement: { agree: number; total: number };
}

/** The service state counters reported by `/health`. */
export interface D2poStats {
  calls: number;
  /** Gold labels spent on updates so far (compared with `stopUpdates`). */
  labels: number;
  updates: number;
  updatesStopped: boolean;
  windowTexts: number;
  windowBudgetLeft: number;
}

/** The discriminator: the state machine of `/train` and the model behind it. */
export interface D2poDiscriminator {
  readonly options: Required<Omit<D2poOptions, 'model'>>;
  readonly model: OnlineRewardModel;
  /** `/train`: scores `texts` (an even number, consecutive texts are one prompt's two rollouts), labels, maybe updates. */
  train(texts: readonly string[]): Promise<D2poTrainResult>;
  /** `/predict`: scores without touching any state. */
  predict(texts: readonly string[]): Promise<number[]>;
  stats(): D2poStats;
  /** The whole state (counters, window buffers, model and optimizer) as JSON-safe data. */
  saveState(): D2poState;
  restoreState(state: D2poState): void;
}

/** Serialised {@link D2poDiscriminator} state. */
export interface D2poState {
  version: 1;
  calls: number;
  labels: number;
  updates: number;
  updatesStopped: boolean;
  /** Upstream's `rmready`: the window has not had its update yet. */
  windowReady: boolean;
  windowTexts: number;
  windowBudgetLeft: number;
  windowLabels: number;
  windowPairs: OnlinePreference[];
  model: unknown;
}

function positiveInteger(value: number, argument: string, allowZero = false): void {
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new InvalidArgumentError({ argument, message: `expected ${allowZero ? 'a non-negative' : 'a positive'} integer, got ${value}` });
  }
}

/**
 * Creates D2PO's discriminator (Singhal et al. 2024; `src/rmapi.py` of PrasannS/d2po). Per `/train` call:
 * 1. if the window is empty, it gets a fresh budget of `relabels` labels;
 * 2. every text is scored by the current model (these scores are returned and logged);
 * 3. the call's pairs are ordered (`conf`: ascending |Δ|, stable; `rand`: seeded) and the first ones up
 *    to the window's remaining budget are gold-labelled; each with a gold winner becomes a training pair
 *    and has its two returned scores reordered so the winner holds the higher one;
 * 4. once the window's budget is spent, the model is updated once on the window's pairs (`updateEpochs`
 *    passes, minibatches of `batchSize`), unless updates have stopped;
 * 5. once the window holds `sampN` texts, it resets.
 * The window and its budget are @pref/selection's `WindowRelabelBudget` (what `pref gold relabel
 * --budget-mode window` uses); the selection is its `selectForRelabel`.
 */
export function createD2poDiscriminator(options: D2poOptions): D2poDiscriminator {
  const {
    gold,
    model,
    sampN = 1,
    relabels = 1,
    relabCriteria = 'conf',
    goldTiesSpendBudget = true,
    updateEpochs = 1,
    stopUpdates = 100000,
    batchSize = 32,
    seed = 0,
  } = options;
  positiveInteger(sampN, 'sampN');
  positiveInteger(relabels, 'relabels', true);
  positiveInteger(updateEpochs, 'updateEpochs');
  positiveInteger(stopUpdates, 'stopUpdates', true);
  positiveInteger(batchSize, 'batchSize');
  if (!Number.isSafeInteger(seed)) throw new InvalidArgumentError({ argument: 'seed', message: `expected an integer, got ${seed}` });
  if (relabCriteria !== 'conf' && relabCriteria !== 'rand') throw new InvalidArgumentError({ argument: 'relabCriteria', message: `expected conf or rand, got ${String(relabCriteria)}` });
  if (typeof goldTiesSpendBudget !== 'boolean') throw new InvalidArgumentError({ argument: 'goldTiesSpendBudget', message: 'expected a boolean' });
  const goldSpec: GoldRewardSpec = parseGoldSpec(gold, seed);
  // The minibatch shuffles of each update: a keyed draw per (update, epoch, position in the window).
  const updateDraw = createKeyedUniform({ seed, domain: 'd2po-update' });

  const budget = new WindowRelabelBudget({ sampN, relabels, goldTies: goldTiesSpendBudget ? 'spend' : 'skip' });
  /** Everything but the window's text count and budget, which live in `budget`. */
  let state: Omit<D2poState, 'model' | 'version' | 'windowTexts' | 'windowBudgetLeft'> = {
    calls: 0,
    labels: 0,
    updates: 0,
    updatesStopped: stopUpdates === 0,
    windowReady: true,
    windowLabels: 0,
    windowPairs: [],
  };
  const resetWindow = (): void => {
    state.windowPairs = [];
    state.windowLabels = 0;
    state.windowReady = true;
  };

  return {
    options: { gold, sampN, relabels, relabCriteria, goldTiesSpendBudget, updateEpochs, stopUpdates, batchSize, seed },
    model,
    async predict(texts) {
      return [...(await model.score(texts))];
    },
    async train(texts) {
      if (texts.length % 2 !== 0) throw new InvalidArgumentError({ argument: 'texts', message: `expected an even number of texts (two rollouts per prompt), got ${texts.length}` });
      state.calls += 1;
      const call = state.calls;
      const rewards = [...(await model.score(texts))];
      const golds = texts.map((text) => goldReward(goldSpec, text));

      const pairCount = texts.length / 2;
      const candidates = Array.from({ length: pairCount }, (_, p) => ({
        id: `${call}/${p}`,
        score_a: rewards[2 * p]!,
        score_b: rewards[2 * p + 1]!,
        gold_a: golds[2 * p]!,
        gold_b: golds[2 * p + 1]!,
      }));
      const selection = selectForRelabel(candidates, { mode: relabCriteria, budget, seed, goldFields: ['gold_a', 'gold_b'] });
      const labelled = [...selection.toLabel];
      const window = selection.window!;
      state.windowLabels += labelled.length;

      const scores = rewards.slice();
      for (const p of labelled) {
        const [a, b] = [2 * p, 2 * p + 1];
        if (golds[a] === golds[b]) continue;
        const [winner, loser] = golds[a]! > golds[b]! ? [a, b] : [b, a];
        scores[winner] = Math.max(rewards[a]!, rewards[b]!);
        scores[loser] = Math.min(rewards[a]!, rewards[b]!);
        state.windowPairs.push({ chosen: texts[winner]!, rejected: texts[loser]! });
      }
      let agree = 0;
      let total = 0;
      const logLines = candidates.map((pair, p): D2poLogLine => {
        if (pair.gold_a !== pair.gold_b) {
          total += 1;
          if (pair.gold_a > pair.gold_b === pair.score_a > pair.score_b) agree += 1;
        }
        return { texts: [texts[2 * p]!, texts[2 * p + 1]!], rewards: [pair.score_a, pair.score_b], golds: [pair.gold_a, pair.gold_b], call: [call, call] };
      });

      let update: D2poTrainResult['update'];
      if (state.windowReady && window.left === 0) {
        state.windowReady = false;
        if (state.updatesStopped || state.windowPairs.length === 0) {
          // Nothing to learn from (or updates are over): upstream resets the window at once.
          budget.closeWindow();
          resetWindow();
        } else {
          const updateIndex = state.updates;
          const report = await model.update(state.windowPairs, {
            epochs: updateEpochs,
            batchSize,
            shuffleKey: (epoch, i) => updateDraw(`${updateIndex}/${epoch}/${i}`),
          });
          update = { pairs: state.windowPairs.length, losses: report.losses };
          state.updates += 1;
          state.labels += state.windowLabels;
          if (state.labels >= stopUpdates) state.updatesStopped = true;
        }
      }
      if (window.closed) resetWindow();
      return { call, scores, rewards, logLines, labelled, ...(update === undefined ? {} : { update }), agreement: { agree, total } };
    },
    stats() {
      return {
        calls: state.calls,
        labels: state.labels,
        updates: state.updates,
        updatesStopped: state.updatesStopped,
        windowTexts: budget.windowTexts,
        windowBudgetLeft: budget.remaining,
      };
    },
    saveState() {
      const { calls, labels, updates, updatesStopped, windowReady, windowLabels, windowPairs } = structuredClone(state);
      const { textsInWindow, left } = budget.snapshot();
      // Same fields, same order as before the window moved into WindowRelabelBudget: state.json is unchanged.
      return { version: 1, calls, labels, updates, updatesStopped, windowReady, windowTexts: textsInWindow, windowBudgetLeft: left, windowLabels, windowPairs, model: model.saveState() };
    },
    restoreState(saved) {
      if (saved === null || typeof saved !== 'object' || saved.version !== 1) throw new ResumeError({ file: '<state>', message: 'not a d2po state (version 1)' });
      const { version: _version, model: modelState, windowTexts, windowBudgetLeft, ...rest } = saved;
      try {
        budget.restore({ textsInWindow: windowTexts, left: windowBudgetLeft });
      } catch (error) {
        throw new ResumeError({ file: '<state>', message: `window: ${(error as Error).message}`, cause: error });
      }
      model.restoreState(modelState);
      state = structuredClone(rest);
    },
  };
}
