/**
 * Closes `server` (`pref serve d2po` or `pref serve kserve`) gracefully on the first of `signals`
 * (finish the requests already accepted, write a checkpoint where the server keeps one, close the port) and resolves with the signal's name once it is closed. A second
 * signal while closing is ignored, so the checkpoint is not cut short; kill -9 remains, and a
 * restart resumes from the log.
 */
export function closeOnSignals(server: { close(): Promise<void> }, signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): Promise<NodeJS.Signals> {
  return new Promise((resolve, reject) => {
    const handlers = new Map<NodeJS.Signals, () => void>();
    let closing = false;
    for (const signal of signals) {
      const handler = (): void => {
        if (closing) return;
        closing = true;
        server.close().then(() => {
          for (const [name, registered] of handlers) process.off(name, registered);
          resolve(signal);
        }, reject);
      };
      handlers.set(signal, handler);
      process.on(signal, handler);
    }
  });
}
