import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/** One entry point of a package: `.` or a subpath such as `./testing`, and the names it exports. */
export interface EntryExports {
  subpath: string;
  file: string;
  values: string[];
  types: string[];
}

const hasExportModifier = (node: ts.Node): boolean =>
  ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword);

/** Names exported by one source file, read from its syntax (the entries use explicit named exports only). */
export function exportsOf(file: string): { values: string[]; types: string[] } {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const values = new Set<string>();
  const types = new Set<string>();
  for (const statement of source.statements) {
    if (ts.isExportDeclaration(statement)) {
      if (statement.exportClause === undefined || !ts.isNamedExports(statement.exportClause)) {
        throw new Error(`${file}: \`export *\` hides the public API; name every export`);
      }
      for (const element of statement.exportClause.elements) (statement.isTypeOnly || element.isTypeOnly ? types : values).add(element.name.text);
    } else if (hasExportModifier(statement)) {
      if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) types.add(statement.name.text);
      else if (ts.isVariableStatement(statement)) for (const declaration of statement.declarationList.declarations) values.add(declaration.name.getText(source));
      else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) || ts.isEnumDeclaration(statement)) && statement.name) values.add(statement.name.text);
    }
  }
  return { values: [...values].sort(), types: [...types].sort() };
}

/** Every entry of a package as its package.json `exports` declares them (`./x` is `src/x/index.ts`). */
export function packageEntries(packageDir: string): EntryExports[] {
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { exports?: Record<string, unknown> };
  return Object.keys(manifest.exports ?? { '.': null })
    .filter((key) => key !== './package.json')
    .map((subpath) => {
      const file = join(packageDir, 'src', subpath === '.' ? 'index.ts' : `${subpath.slice(2)}/index.ts`);
      if (!existsSync(file)) throw new Error(`${packageDir}: exports "${subpath}" but ${file} does not exist`);
      return { subpath, file, ...exportsOf(file) };
    });
}

/** The README's API section: from its first `## …API…` heading to the next `## ` heading. */
export function apiSection(readme: string): string | undefined {
  const lines = readme.split('\n');
  const start = lines.findIndex((line) => /^## .*\bAPI\b/.test(line));
  if (start < 0) return undefined;
  const end = lines.findIndex((line, i) => i > start && /^## /.test(line));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

/** The names of `names` that do not appear as a word in `text`. */
export function missingNames(text: string, names: readonly string[]): string[] {
  return names.filter((name) => !new RegExp(`(^|[^A-Za-z0-9_$])${name.replace(/\$/g, '\\$')}($|[^A-Za-z0-9_$])`).test(text));
}
