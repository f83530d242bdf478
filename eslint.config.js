// ESLint 9 flat config: type-aware typescript-eslint rules for what the code review found (casts that
// change nothing, promises nobody awaits or handles, unused variables and imports). Unused files,
// exports and dependencies are knip's job (knip.json). Run: `pnpm lint:code`.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', '**/*.d.ts', '**/fixtures/**', '.ci/**', '.turbo/**', '**/coverage/**'],
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: {
      parserOptions: {
        // Config files and the e2e/hostile tests belong to no package tsconfig; they get a default project.
        // (checked with the strict base options, so a `!` they need is not called unnecessary).
        projectService: {
          allowDefaultProject: ['vitest.config.ts', 'packages/*/tsup.config.ts', 'test/*/*.ts'],
          defaultProject: 'tsconfig.base.json',
          maximumDefaultProjectFileMatchCount_THIS_WILL_SLOW_DOWN_LINTING: 24,
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { args: 'after-used', argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
    },
  },
);
