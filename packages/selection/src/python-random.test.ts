import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PythonRandom } from './python-random';

interface Case {
  seed: string;
  uint32: number[];
  random: string[];
  randbelow: Array<[number, number]>;
  getrandbits: Array<[number, string]>;
  sample: Array<[number, number, number[]]>;
  shuffle: number[];
  uniform: string[];
}
// fixtures/python-random/reference.py, run on CPython 3.11.7.
const cases = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'python-random', 'reference.json'), 'utf8')) as Case[];

describe('PythonRandom reproduces CPython 3.11 draw for draw', () => {
  it.each(cases.map((c) => [c.seed, c] as const))('seed %s', (_seed, c) => {
    const rng = new PythonRandom(BigInt(c.seed));
    expect(Array.from({ length: 5 }, () => rng.nextUint32())).toEqual(c.uint32);
    // Python's repr and JavaScript's shortest round trip give the same digits for these values.
    expect(Array.from({ length: 5 }, () => rng.random())).toEqual(c.random.map(Number));
    for (const [n, expected] of c.randbelow) expect(rng.randbelow(n)).toBe(expected);
    for (const [k, expected] of c.getrandbits) expect(rng.getrandbits(k)).toBe(BigInt(expected));
    const population = Array.from({ length: 200 }, (_, i) => i);
    for (const [n, k, expected] of c.sample) expect(rng.sample(population.slice(0, n), k)).toEqual(expected);
    const items = Array.from({ length: 12 }, (_, i) => i);
    rng.shuffle(items);
    expect(items).toEqual(c.shuffle);
    expect(Array.from({ length: 3 }, () => rng.uniform(-1, 1))).toEqual(c.uniform.map(Number));
  });

  it('random.seed(0); random.random() is 0.8444218515250481 (the value every Python user has seen)', () => {
    expect(new PythonRandom(0).random()).toBe(0.8444218515250481);
    expect(new PythonRandom(-3).random()).toBe(new PythonRandom(3).random());
  });

  it('refuses what CPython refuses', () => {
    const rng = new PythonRandom(0);
    expect(() => rng.sample([1, 2], 3)).toThrow(/sample larger than population/);
    expect(() => rng.sample([1, 2], -1)).toThrow(/sample larger than population/);
    expect(() => new PythonRandom(0.5)).toThrow(/integer/);
    expect(() => rng.getrandbits(-1)).toThrow(/non-negative/);
  });
});
