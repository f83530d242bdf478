import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { registerOptimizeCommands } from './optimize';

const fixtureDir = fileURLToPath(new URL('../../../reward-scoring/fixtures/tiny-bert', import.meta.url));
const temp = mkdtempSync(join(tmpdir(), 'pref-optimize-cli-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

async function pref(...args: string[]): Promise<void> {
  const program = new Command('pref').exitOverride();
  registerOptimizeCommands(program);
  await program.parseAsync(['node', 'pref', ...args]);
}

describe('pref optimize', () => {
  it('writes a fused folder with its README and the measured figures of --eval', async () => {
    const pairs = join(temp, 'pairs.jsonl');
    writeFileSync(pairs, [
      { id: 'a', prompt: 'how do plants grow?', chosen: 'plants need water and light.', rejected: 'no.' },
      { id: 'b', prompt: 'what is a cat?', chosen: 'a cat is a small animal that people keep.', rejected: 'a tree.' },
    ].map((row) => JSON.stringify(row)).join('\n') + '\n');
    const out = join(temp, 'fused');
    await pref('optimize', '--model', fixtureDir, '-o', out, '--eval', pairs, '-q');
    expect(existsSync(join(out, 'model.onnx'))).toBe(true);
    const readme = readFileSync(join(out, 'README.md'), 'utf8');
    expect(readme).toMatch(/SkipLayerNormalization/);
    expect(readme).toMatch(/2 × MultiHeadAttention/);
    // --no-fuse-attention keeps the Softmax nodes.
    const plain = join(temp, 'fused-no-attention');
    await pref('optimize', '--model', fixtureDir, '-o', plain, '--no-fuse-attention', '-q');
    const manifest = JSON.parse(readFileSync(join(plain, 'optimization.json'), 'utf8')) as { pref_fusions: { MultiHeadAttention: number }; operators: Record<string, number> };
    expect(manifest.pref_fusions.MultiHeadAttention).toBe(0);
    expect(manifest.operators.Softmax).toBe(2);
    expect(readme).toMatch(/throughput, fused ÷ source \| \d+\.\d\d×/);
    expect(readme).toMatch(/order is unchanged \| 100\.00%/);
  });

  it('refuses unknown flags and a folder it did not write', async () => {
    await expect(pref('optimize', '--model', fixtureDir, '-o', join(temp, 'x'), '--fast')).rejects.toThrow(/unknown option '--fast'/);
    // temp holds pairs.jsonl and the fused folder: not a folder pref derived.
    await expect(pref('optimize', '--model', fixtureDir, '-o', temp, '-q')).rejects.toThrow(/did not write/);
    expect(existsSync(join(temp, 'pairs.jsonl'))).toBe(true);
  });
});
