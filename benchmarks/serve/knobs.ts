/** The service settings of the load benchmark (one window per 32-text call, 4 gold labels, an update every call). */
export const SERVICE_KNOBS = { sampN: 32, relabels: 4, relabCriteria: 'conf', updateEpochs: 2, batchSize: 4, seed: 1, saveFreq: 50 } as const;
