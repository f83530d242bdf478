import type { DataRecord } from '@pref/io';
import { histogram } from '@pref/margins';
import { privatizePairs, seedWarning } from '@pref/privacy';
import type { Mechanism, PrivacySummary } from '@pref/privacy';
import { histogramChart, lineChart } from '../report/charts';
import type { ChartSpec } from '../report/charts';
import { flipRateChart, marginHistogramChart, pKeepHistogramChart } from '../report/distribution-charts';
import type { ReportDocument } from '../report/write-report';
import type { PrivatizeSettings } from './privatize';
import { numericColumn } from './runner';

/** What the privatize report is written from: the earlier steps' results and files. */
export interface PrivatizeReportData {
  score: { read: number; rejected: number };
  summary: PrivacySummary;
  /** The margins step's rows (margin_raw, margin_clipped, margin_normalized). */
  withMargins: DataRecord[];
  /** The audit rows (p_keep, flipped, epsilon_i). */
  audit: DataRecord[];
}

/** The privatize pipeline's report: text, tables and chart specs (no I/O). */
export function privatizeReport(
  { input, model, mechanism, epsilon, rng, seed, clip, normalize, mechanismOptions }: PrivatizeSettings,
  { score: scoreResult, summary, withMargins, audit: auditRows }: PrivatizeReportData,
): ReportDocument {
  const raw = numericColumn(withMargins, 'margin_raw');
  const clipped = numericColumn(withMargins, 'margin_clipped');
  const normalized = numericColumn(withMargins, 'margin_normalized');
  const pKeep = numericColumn(auditRows, 'p_keep');
  const flipped = auditRows.map((row) => (row.flipped === true ? 1 : 0));
  const clippedCount = raw.reduce((n, value, i) => (value !== clipped[i] ? n + 1 : n), 0);
  const scalarRows = Object.entries(summary)
    .filter((entry): entry is [string, number | null] => typeof entry[1] === 'number' || entry[1] === null);
  const warning = rng !== 'crypto' && seed !== undefined ? seedWarning(seed) : undefined;
  return {
    title: 'Privatization report',
    intro: [
      `Input: ${input} (${scoreResult.read} rows read, ${scoreResult.rejected} rejected). Reward model: ${model}.`,
      `Mechanism ${mechanism}, ε = ${epsilon}, draws: ${rng === 'crypto' ? 'OS CSPRNG (crypto; not reproducible)' : 'seeded (the seed is not written here: it undoes the flips)'}; margins clipped to [${clip[0]}, ${clip[1]}] and normalized with ${normalize} for the charts; p_keep is computed by the privatize step from the raw margins (see Guarantee).`,
      ...(warning ? [`Warning: ${warning}`] : []),
    ],
    sections: [
      {
        heading: 'Summary',
        paragraphs: [`${summary.total_examples} pairs, ${Math.round(summary.flip_rate * summary.total_examples)} flipped; expected ${summary.expected_flips.value.toFixed(1)} (99% interval ${summary.expected_flips.interval_99[0].toFixed(1)}–${summary.expected_flips.interval_99[1].toFixed(1)}).`],
        table: { columns: ['key', 'value'], rows: scalarRows },
      },
      {
        heading: 'Guarantee',
        paragraphs: guaranteeParagraphs(summary),
        charts: [
          { name: 'per-instance-epsilon', caption: 'Per-instance label-DP ε of this release (worst-case log-likelihood ratio when one label is flipped)', spec: epsilonHistogramChart(Float64Array.from(auditRows, (row) => Number(row.epsilon_i)).filter((e) => Number.isFinite(e))) },
          ...(withMargins.length <= 50_000
            ? [{ name: 'privacy-utility', caption: `Privacy–utility on this data: for ε = ${SWEEP.join(', ')}, the maximum per-instance ε against the expected share of released pairs that keep the human label (mean p_keep), for ${mechanism} and randomized response`, spec: privacyUtilityChart(withMargins, mechanism, mechanismOptions) }]
            : []),
        ],
      },
      {
        heading: 'Margins',
        paragraphs: [
          `The reward model prefers the chosen response (raw margin > 0) on ${raw.filter((value) => value > 0).length} of ${raw.length} pairs. ${clippedCount} raw margins fell outside [${clip[0]}, ${clip[1]}] and were clipped.`,
          'Normalization centres the margins, so pairs whose margin is below the mean get p_keep < 0.5 even when the model agrees with their label (the seed procedure).',
        ],
        charts: [{ name: 'margin-histogram', caption: 'Reward margin (chosen − rejected score) before and after clipping', spec: marginHistogramChart({ raw, clipped }) }],
      },
      {
        heading: 'Label flips',
        charts: [
          { name: 'p-keep-histogram', caption: 'p_keep = sigmoid(ε · normalized margin), 10 bins over [0, 1]', spec: pKeepHistogramChart(pKeep) },
          { name: 'flip-rate-by-margin', caption: 'Observed flip rate per normalized-margin bin against the expected mean 1 − p_keep', spec: flipRateChart({ margins: normalized, flipped, pKeep }) },
        ],
      },
      {
        heading: 'Outputs',
        table: {
          columns: ['step', 'file'],
          rows: [
            ['scored', '../01-scored/scored.jsonl'],
            ['margins', '../02-margins/margins.jsonl'],
            ['privatized', '../03-privatized/privatized.jsonl'],
            ['audit (keep private)', '../03-privatized/audit.jsonl'],
            ['summary', '../03-privatized/summary.json'],
            ['train-ready', '../04-train/train.jsonl'],
          ],
        },
      },
    ],
  };
}

/** The summary's guarantee section as readable sentences. */
function guaranteeParagraphs(summary: PrivacySummary): string[] {
  const g = summary.guarantee;
  const lines: string[] = [g.statement, `ε-label-DP over all datasets: ${g.label_dp ? `yes, ε = ${String(g.epsilon)}` : 'no'}.`, `What is released: ${g.releases}`];
  const p = g.per_instance_epsilon;
  lines.push(
    `Per-instance ε of this release (${p.method === 'exact' ? 'every record computed exactly' : `maximum and its records exact; ${p.exact_records} records exact, the others proven upper bounds`}): max ${fmt(p.max)} (${p.attained_by} records), mean ${fmt(p.mean)}, median ${fmt(p.quantiles.p50)}, p90 ${fmt(p.quantiles.p90)}, p99 ${fmt(p.quantiles.p99)}. Which records: the audit file (epsilon_i), kept private.`,
  );
  if (g.reward_model_agreement !== undefined) lines.push(`Reward model agreement with the labels: ${fmt(100 * g.reward_model_agreement)}%.`);
  for (const warning of g.warnings) lines.push(`Warning: ${warning}`);
  for (const caveat of g.caveats) lines.push(`Caveat: ${caveat}`);
  return lines;
}

const fmt = (x: number | string) => (typeof x === 'number' && Number.isFinite(x) ? String(Number(x.toPrecision(4))) : String(x));

const SWEEP = [0.25, 0.5, 1, 2, 4, 8];

/** The privacy–utility curve of a mechanism on this data (flips are not needed: crypto draws, discarded). */
function privacyUtilityChart(records: DataRecord[], mechanism: Mechanism, options: PrivatizeSettings["mechanismOptions"]): ChartSpec {
  const points: { x: number; y: number; series: string }[] = [];
  const mechanisms: Mechanism[] = mechanism === 'randomized-response' ? [mechanism] : [mechanism, 'randomized-response'];
  for (const name of mechanisms) {
    for (const epsilon of SWEEP) {
      const own = name === mechanism ? options : {};
      const { summary } = privatizePairs(records, { ...own, mechanism: name, epsilon, rng: 'crypto' });
      const max = summary.guarantee.per_instance_epsilon.max;
      // a release with a deterministic record (ε_i = Infinity) has no point on a finite axis
      if (typeof max === 'number') points.push({ x: max, y: summary.mean_p_keep, series: name });
    }
  }
  return lineChart({ title: 'Privacy–utility on this data', xTitle: 'max per-instance ε', yTitle: 'expected share of labels kept', points });
}

/** Histogram of the per-instance ε over the records. */
function epsilonHistogramChart(epsilons: Float64Array): ChartSpec {
  let max = 0;
  for (const e of epsilons) if (e > max) max = e;
  const hist = histogram(epsilons, { bins: 20, range: [0, max > 0 ? max : 1] });
  return histogramChart({ title: 'Per-instance ε', xTitle: 'ε_i', series: [{ name: 'records', edges: hist.binEdges, counts: hist.counts }] });
}
