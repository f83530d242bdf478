/**
 * Progress reporting shared by every command: a redrawn status line on a terminal, plain periodic
 * lines otherwise (CI logs, pipes), nothing with `--quiet`. Always written to stderr so stdout stays
 * clean for data (`-o -`) and `--json` summaries.
 */
export interface ProgressReporter {
  /** Report that `done` of `total` (when known) units are finished. */
  update(done: number, total?: number, detail?: string): void;
  /** Print the final line. */
  finish(detail?: string): void;
}

export interface ProgressOptions {
  /** What is being counted, e.g. `pairs`. */
  unit?: string;
  /** Print nothing. Default: false. */
  quiet?: boolean;
  /** Stream to write to. Default: process.stderr. */
  stream?: NodeJS.WriteStream;
  /** Seconds between plain lines when not on a terminal. Default: 5. */
  plainIntervalSeconds?: number;
}

export function createProgress(label: string, options: ProgressOptions = {}): ProgressReporter {
  const { unit = 'records', quiet = false, stream = process.stderr, plainIntervalSeconds = 5 } = options;
  const isTerminal = Boolean(stream.isTTY);
  const started = Date.now();
  // Plain lines start one interval in, so a short step prints only its final line.
  let lastPrint = isTerminal ? 0 : started;
  let lastDone = 0;
  let lastTotal: number | undefined;

  const format = (done: number, total: number | undefined, detail?: string): string => {
    const elapsedSeconds = (Date.now() - started) / 1000;
    const rate = elapsedSeconds > 0 ? done / elapsedSeconds : 0;
    const parts = [`${label}: ${done.toLocaleString('en-US')}`];
    if (total !== undefined && total > 0) {
      parts[0] += `/${total.toLocaleString('en-US')} (${((100 * done) / total).toFixed(1)}%)`;
    }
    parts.push(`${unit}`, `${rate.toFixed(rate < 10 ? 2 : 0)} ${unit}/s`);
    if (total !== undefined && rate > 0 && done < total) {
      parts.push(`ETA ${Math.ceil((total - done) / rate)}s`);
    }
    if (detail) parts.push(detail);
    return parts.join(' ');
  };

  return {
    update(done, total, detail) {
      lastDone = done;
      lastTotal = total;
      if (quiet) return;
      const now = Date.now();
      if (isTerminal) {
        if (now - lastPrint < 100) return;
        lastPrint = now;
        stream.write(`\r\x1b[2K${format(done, total, detail)}`);
      } else if (now - lastPrint >= plainIntervalSeconds * 1000) {
        lastPrint = now;
        stream.write(`${format(done, total, detail)}\n`);
      }
    },
    finish(detail) {
      if (quiet) return;
      const line = format(lastDone, lastTotal, detail);
      stream.write(isTerminal ? `\r\x1b[2K${line}\n` : `${line}\n`);
    },
  };
}
