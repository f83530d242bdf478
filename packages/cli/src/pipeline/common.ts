import { join } from 'node:path';
import { atomicWriteFile } from '@pref/io';
import type { ProgressReporter } from '../progress';
import { writeReport } from '../report/write-report';
import type { ReportDocument, WrittenReport } from '../report/write-report';

/** Writes pretty JSON atomically. */
export async function writeJson(path: string, value: unknown): Promise<void> {
  await atomicWriteFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Mean of the finite values (NaN when there are none). */
export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (Number.isFinite(value)) {
      sum += value;
      count++;
    }
  }
  return count === 0 ? Number.NaN : sum / count;
}

/**
 * The `report` step's common ending: `report.md`, `report.html`, `plots/*.{svg,png}` and `summary.json`
 * in the step's folder; resolves to the written report and every file the step must list as output.
 */
export async function writeReportFolder(
  dir: string,
  document: ReportDocument,
  summary: unknown,
  { signal, progress }: { signal?: AbortSignal; progress: ProgressReporter },
): Promise<{ written: WrittenReport; outputs: string[] }> {
  const written = await writeReport(dir, document, { signal, onProgress: (done, total) => progress.update(done, total) });
  await writeJson(join(dir, 'summary.json'), summary);
  return { written, outputs: [written.markdownPath, written.htmlPath, join(dir, 'summary.json'), ...written.charts.flatMap((chart) => [chart.svgPath, chart.pngPath])] };
}
