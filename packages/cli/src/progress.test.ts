import { afterEach, describe, expect, it, vi } from 'vitest';
import { createProgress } from './progress';

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = { isTTY, write: (chunk: string) => chunks.push(chunk) } as unknown as NodeJS.WriteStream;
  return { stream, chunks };
}

describe('createProgress', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('off a terminal, a short step prints only its final line', () => {
    vi.useFakeTimers({ now: 0 });
    const { stream, chunks } = fakeStream(false);
    const progress = createProgress('score', { unit: 'pairs', stream });
    progress.update(10, 100);
    vi.setSystemTime(1_000);
    progress.update(100, 100);
    progress.finish('done');
    expect(chunks).toEqual(['score: 100/100 (100.0%) pairs 100 pairs/s done\n']);
  });

  it('off a terminal, a long step prints a plain line per interval with rate and ETA', () => {
    vi.useFakeTimers({ now: 0 });
    const { stream, chunks } = fakeStream(false);
    const progress = createProgress('score', { unit: 'pairs', stream, plainIntervalSeconds: 5 });
    vi.setSystemTime(5_000);
    progress.update(50, 100);
    vi.setSystemTime(6_000);
    progress.update(60, 100); // within the interval: not printed
    expect(chunks).toEqual(['score: 50/100 (50.0%) pairs 10 pairs/s ETA 5s\n']);
  });

  it('on a terminal, redraws one line; quiet prints nothing', () => {
    vi.useFakeTimers({ now: 0 });
    const terminal = fakeStream(true);
    const progress = createProgress('margins', { stream: terminal.stream });
    vi.setSystemTime(2_000);
    progress.update(4);
    progress.finish();
    expect(terminal.chunks).toEqual([
      '\r\x1b[2Kmargins: 4 records 2.00 records/s',
      '\r\x1b[2Kmargins: 4 records 2.00 records/s\n',
    ]);
    const silent = fakeStream(false);
    const quiet = createProgress('x', { stream: silent.stream, quiet: true });
    quiet.update(1);
    quiet.finish();
    expect(silent.chunks).toEqual([]);
  });
});
