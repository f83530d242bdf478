import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { defaultRewardModelDir } from '@pref/reward-scoring';
import { loadOnlineRewardModel } from './load-online-reward-model';
import { TINY_ENCODER_DIR } from './testing/child-options';

const tmp = mkdtempSync(join(tmpdir(), 'pref-serve-online-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test('a linear Bradley–Terry folder starts the linear model, any other ONNX folder an encoder head', async () => {
  const linear = await loadOnlineRewardModel(defaultRewardModelDir(), { learningRate: 0.1 });
  expect(linear.kind).toBe('linear');
  const head = await loadOnlineRewardModel(TINY_ENCODER_DIR, { pooling: 'cls', learningRate: 0.1 });
  try {
    expect(head.kind).toBe('encoder-head');
    expect(head.saveState()).toMatchObject({ pooling: 'cls', hidden: 32 });
  } finally {
    await head.close();
  }
  await expect(loadOnlineRewardModel(defaultRewardModelDir(), { pooling: 'mean' })).rejects.toThrow(/linear word model: pooling applies to encoder folders only/);
  await expect(loadOnlineRewardModel(tmp)).rejects.toThrow(/--model: .*has no config\.json/);
  await expect(loadOnlineRewardModel(join(tmp, 'missing'))).rejects.toThrow(/--model: .*missing: not found/);
  writeFileSync(join(tmp, 'config.json'), '{"model_type": ');
  await expect(loadOnlineRewardModel(tmp)).rejects.toThrow(/config\.json: not valid JSON/);
});
