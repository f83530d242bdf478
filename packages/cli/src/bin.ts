import { runCli } from './program';

runCli(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`pref: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
