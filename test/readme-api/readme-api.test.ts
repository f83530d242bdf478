/**
 * Every export of every package entry (`.` and each subpath of package.json `exports`), values and
 * types, is named in the package README's API section (its first `## …API…` heading up to the next
 * `## `). Adding an export without documenting it fails here, naming the README and the export.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { apiSection, exportsOf, missingNames, packageEntries } from './exports';

const packagesDir = join(__dirname, '../../packages');
const packages = readdirSync(packagesDir).filter((name) => existsSync(join(packagesDir, name, 'package.json')));

describe('README API sections list every export', () => {
  it('finds the packages', () => {
    expect(packages).toContain('io');
    expect(packages.length).toBeGreaterThanOrEqual(10);
  });

  for (const name of packages) {
    it(`@pref/${name}`, () => {
      const readmePath = join(packagesDir, name, 'README.md');
      const section = apiSection(readFileSync(readmePath, 'utf8'));
      expect(section, `${readmePath} has no "## … API" section`).toBeDefined();
      const missing = packageEntries(join(packagesDir, name)).flatMap((entry) =>
        missingNames(section!, [...entry.values, ...entry.types]).map((exported) => `${entry.subpath === '.' ? '' : `${entry.subpath.slice(2)}: `}${exported}`),
      );
      expect(missing, `exports missing from the API section of ${readmePath}`).toEqual([]);
    });
  }
});

describe('the checker itself', () => {
  it('reads named, type-only and declared exports', () => {
    const dir = join(__dirname, 'fixtures');
    const found = exportsOf(join(dir, 'entry.ts'));
    expect(found.values).toEqual(['Thing', 'VALUE', 'helper', 'renamed']);
    expect(found.types).toEqual(['Alias', 'Options', 'Shape']);
  });

  it('matches whole words only, so a longer name does not hide a missing one', () => {
    expect(missingNames('readPairs(path)  collectPairsFast', ['readPairs', 'collectPairs', 'path'])).toEqual(['collectPairs']);
    expect(missingNames('// types: Shape  ShapeOptions', ['Shape', 'Options'])).toEqual(['Options']);
  });

  it('takes the section from the first API heading to the next heading of the same level', () => {
    const section = apiSection('# x\n\nintro\n\n## API\n\n`a`\n### detail\n`b`\n## Example\n`c`\n');
    expect(section).toContain('`b`');
    expect(section).not.toContain('`c`');
    expect(apiSection('# x\n## Usage\n')).toBeUndefined();
  });
});
