/**
 * Packs every publishable package the way `pnpm publish` would, installs the tarballs into a fresh
 * project outside the workspace, and imports each package with both `import` and `require`.
 * Catches what unit tests cannot: files missing from `files`, wrong `exports` paths, workspace-only
 * dependencies, CJS/ESM builds that do not load. Needs the packages built (`pnpm test` builds first).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const packageDirs = readdirSync(join(root, 'packages')).filter((name) =>
  existsSync(join(root, 'packages', name, 'package.json')),
);
const packageNames = packageDirs.map(
  (dir) => (JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as { name: string }).name,
);
// Every entry point: each package and each of its subpath exports (`@pref/reward-scoring/testing`).
const entryPoints = packageDirs.flatMap((dir, index) => {
  const { exports = {} } = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as { exports?: Record<string, unknown> };
  return Object.keys(exports)
    .filter((key) => key !== './package.json')
    .map((key) => (key === '.' ? packageNames[index]! : `${packageNames[index]!}/${key.slice(2)}`));
});
const built = packageDirs.every((dir) => existsSync(join(root, 'packages', dir, 'dist', 'index.js')));

describe.skipIf(!built)('published packages', () => {
  let project = '';

  beforeAll(() => {
    project = mkdtempSync(join(tmpdir(), 'pref-e2e-'));
    const tarballs: Record<string, string> = {};
    for (const [index, dir] of packageDirs.entries()) {
      const output = execFileSync('pnpm', ['pack', '--pack-destination', project], {
        cwd: join(root, 'packages', dir),
        encoding: 'utf8',
        env: { ...process.env, npm_config_ignore_scripts: 'true' },
      });
      const tarball = output.trim().split('\n').pop()!.trim();
      tarballs[packageNames[index]!] = `file:${tarball}`;
    }
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'pref-e2e', private: true, dependencies: tarballs, overrides: tarballs }, null, 2),
    );
    // Install scripts off: onnxruntime-node's would try to download CUDA binaries.
    execFileSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: project,
      stdio: 'pipe',
    });
  }, 600_000);

  afterAll(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it.each(entryPoints)('%s loads with import and require, with the same exports', (name) => {
    const script = `
      const viaRequire = Object.keys(require(${JSON.stringify(name)})).sort();
      import(${JSON.stringify(name)}).then((module) => {
        const viaImport = Object.keys(module).filter((key) => key !== 'default' && key !== 'module.exports').sort();
        console.log(JSON.stringify({ viaRequire, viaImport }));
      });`;
    const output = execFileSync('node', ['-e', script], { cwd: project, encoding: 'utf8' });
    const { viaRequire, viaImport } = JSON.parse(output) as { viaRequire: string[]; viaImport: string[] };
    expect(viaImport).toEqual(viaRequire);
  });

  it('finds the data files it ships (sample dataset, default model, report font) from both builds', () => {
    const script = `
      const { existsSync } = require('node:fs');
      const check = (label, paths) => { for (const p of paths) if (!existsSync(p)) throw new Error(label + ': missing ' + p); };
      const cjs = [require('@pref/synthetic').truthySamplePath(), require('@pref/reward-scoring').defaultRewardModelDir(),
        ...Object.values(require('@pref/cli').reportFontFiles())];
      check('require', cjs);
      Promise.all([import('@pref/synthetic'), import('@pref/reward-scoring'), import('@pref/cli')]).then(([s, r, c]) => {
        const esm = [s.truthySamplePath(), r.defaultRewardModelDir(), ...Object.values(c.reportFontFiles())];
        check('import', esm);
        console.log(JSON.stringify({ cjs, esm }));
      });`;
    const output = execFileSync('node', ['-e', script], { cwd: project, encoding: 'utf8' });
    const { cjs, esm } = JSON.parse(output) as { cjs: string[]; esm: string[] };
    expect(esm).toEqual(cjs);
    expect(cjs.every((path) => path.includes(`${join(project, 'node_modules')}`))).toBe(true);
  });

  it('installs the pref binary, which runs the demo from the installed packages alone', () => {
    const pref = join(project, 'node_modules', '.bin', 'pref');
    expect(execFileSync(pref, ['--help'], { cwd: project, encoding: 'utf8' })).toContain('Usage: pref');
    execFileSync(pref, ['demo', '--out', 'demo-out', '--quiet'], { cwd: project, encoding: 'utf8' });
    const train = readFileSync(join(project, 'demo-out', '04-train', 'train.jsonl'), 'utf8').trim().split('\n');
    const summary = JSON.parse(readFileSync(join(project, 'demo-out', '03-privatized', 'summary.json'), 'utf8')) as {
      total_examples: number;
    };
    expect(summary.total_examples).toBe(260);
    expect(train).toHaveLength(260);
    expect(Object.keys(JSON.parse(train[0]!) as object).sort()).toEqual(['chosen', 'prompt', 'rejected']);
    expect(existsSync(join(project, 'demo-out', 'report', 'plots', 'p-keep-histogram.png'))).toBe(true);
  });
});
