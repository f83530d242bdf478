import { readFileSync } from 'node:fs';
import seedrandom from 'seedrandom';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors';
import { createKeyedUniform, cyrb53, hash53, seedKeyWords, uniformFromHash, uniformsFromKeyHashes } from './keyed-random';

// Golden vectors from fixtures/keyed_random.py, an independent Python implementation.
const golden = JSON.parse(readFileSync(new URL('../fixtures/keyed-random.json', import.meta.url), 'utf8')) as {
  cyrb53: { text: string; seed: number; lanes: [number, number] }[];
  hash53: { text: string; seed: number; value: number }[];
  seedKeyWords: { seed: string; words: number[] }[];
  keyedUniform: { seed: string; key: string; u: number }[];
  numberSeeds: { seed: number; string: string; words: number[] }[];
  domainUniform: { seed: string | number; domain: string; key: string; u: number }[];
};

describe('cyrb53 / hash53', () => {
  it('matches the Python reference lane for lane', () => {
    for (const { text, seed, lanes } of golden.cyrb53) expect([...cyrb53(text, seed)], `${text}/${seed}`).toEqual(lanes);
  });
  it('hash53 is bryc\'s 53-bit form', () => {
    for (const { text, seed, value } of golden.hash53) expect(hash53(text, seed)).toBe(value);
  });
  it('writes into a given slot', () => {
    const out = new Uint32Array(6);
    cyrb53('pair-0', 0, out, 2);
    expect([...out.subarray(4)]).toEqual([...cyrb53('pair-0')]);
    expect([...out.subarray(0, 4)]).toEqual([0, 0, 0, 0]);
  });
});

describe('seedKeyWords', () => {
  it('matches the Python reference', () => {
    for (const { seed, words } of golden.seedKeyWords) expect([...seedKeyWords(seed)], seed.slice(0, 20)).toEqual(words);
  });
  it('equals the first four int32() of seedrandom(String(seed)) for many seeds', () => {
    const seeds: (string | number)[] = [0, 1, -1, 0.5, 1e21, 'seed', 'ß∂ƒ©', '\u{1F600}', 'z'.repeat(257), 'ab'.repeat(300)];
    for (let i = 0; i < 200; i++) seeds.push(`s${i * 7919}`);
    for (const seed of seeds) {
      const prng = seedrandom(String(seed));
      expect([...seedKeyWords(seed)], String(seed).slice(0, 20)).toEqual([prng.int32() >>> 0, prng.int32() >>> 0, prng.int32() >>> 0, prng.int32() >>> 0]);
    }
  });
  it('a number seed is String(seed), as the Python reference writes it', () => {
    for (const { seed, string, words } of golden.numberSeeds) {
      expect(String(seed)).toBe(string);
      expect([...seedKeyWords(seed)], string).toEqual(words);
    }
  });
  it('refuses what is not a string or a finite number', () => {
    for (const bad of [Number.NaN, Infinity, undefined, null, {}]) {
      expect(() => seedKeyWords(bad as never)).toThrow(InvalidArgumentError);
    }
  });
});

describe('the keyed uniform', () => {
  it('matches the Python reference', () => {
    for (const { seed, key, u } of golden.keyedUniform) {
      const lanes = cyrb53(key);
      expect(uniformFromHash(seedKeyWords(seed), lanes[0]!, lanes[1]!)).toBe(u);
      expect(createKeyedUniform({ seed })(key)).toBe(u);
    }
  });
  it('the typed-array form gives the same draws', () => {
    const keys = ['a', 'b', 'c'];
    const hashes = new Uint32Array(6);
    keys.forEach((key, i) => cyrb53(key, 0, hashes, i));
    const draw = createKeyedUniform({ seed: 'x' });
    expect([...uniformsFromKeyHashes(hashes, 'x')]).toEqual(keys.map(draw));
  });
  it('with a domain matches the Python reference (string, unicode and number seeds; every domain pref uses)', () => {
    expect(golden.domainUniform.length).toBeGreaterThan(200);
    for (const { seed, domain, key, u } of golden.domainUniform) {
      expect(createKeyedUniform({ seed, domain })(key), `${String(seed)}/${domain}/${key}`).toBe(u);
    }
  });
  it('a domain is hashed in front of the key, so domains draw independently', () => {
    expect(createKeyedUniform({ seed: 's', domain: 'd' })('k')).toBe(createKeyedUniform({ seed: 's' })('d\u001fk'));
    expect(createKeyedUniform({ seed: 's', domain: 'd' })('k')).not.toBe(createKeyedUniform({ seed: 's', domain: 'e' })('k'));
  });
  it('draws made with other seeds in between keep their own seed', () => {
    const a = createKeyedUniform({ seed: 'a', domain: 'd' });
    const b = createKeyedUniform({ seed: 'b', domain: 'd' });
    const a2 = createKeyedUniform({ seed: 'a', domain: 'd' });
    expect(a('k')).toBe(a2('k'));
    expect(a('k')).not.toBe(b('k'));
    expect(createKeyedUniform({ seed: 1 })('k')).toBe(createKeyedUniform({ seed: '1' })('k'));
  });
  it('two domains of one seed draw independently: the joint quadrant count is binomial (99.99%)', () => {
    const split = createKeyedUniform({ seed: 'shared seed', domain: 'split' });
    const drop = createKeyedUniform({ seed: 'shared seed', domain: 'drop' });
    let both = 0;
    for (let i = 0; i < 20_000; i++) both += split(`pair-${i}`) < 0.5 && drop(`pair-${i}`) < 0.5 ? 1 : 0;
    // independent: p = 1/4, sd = sqrt(20000·0.25·0.75) ≈ 61.2; z = 3.89 for 99.99% two-sided
    expect(Math.abs(both - 5000)).toBeLessThan(3.89 * 61.2);
  });
  it('has no default seed', () => {
    expect(() => createKeyedUniform({} as never)).toThrow(InvalidArgumentError);
  });
  it('is uniform: the count below 0.3 over 20 000 keys is inside its 99.99% binomial interval', () => {
    const draw = createKeyedUniform({ seed: 'statistics' });
    let below = 0;
    for (let i = 0; i < 20_000; i++) below += draw(`key-${i}`) < 0.3 ? 1 : 0;
    // mean 6000, sd = sqrt(20000·0.3·0.7) ≈ 64.8; z = 3.9 for 99.99% two-sided
    expect(Math.abs(below - 6000)).toBeLessThan(3.9 * 64.8);
  });
});
