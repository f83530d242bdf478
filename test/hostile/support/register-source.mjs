// Lets a child process run the CLI from source without a build: `@pref/<name>` resolves to
// packages/<name>/src/index.ts (tsx, imported before this, compiles the TypeScript).
// Usage: node --import tsx --import ./test/hostile/support/register-source.mjs packages/cli/src/bin.ts …
import { register } from 'node:module';

register(new URL('./source-hooks.mjs', import.meta.url));
