// Child process for serve-d2po.test.ts: serves D2PO's discriminator on a free port until SIGTERM.
// argv: <out dir> <saveFreq> <holdFromCall: calls from this one on are held 400 ms after commit; 0 = none> [model: linear (default) | encoder-head]
// Prints `listening <url>` once up, `call <n>` after each committed call, `closed <signal>` at the end.
import { closeOnSignals } from '../close-on-signals';
import { childOptions, encoderChildOptions } from './child-options';
import { serveD2po } from '../serve-d2po';

const [out, saveFreq, holdFromCall, modelKind = 'linear'] = process.argv.slice(2) as [string, string, string, string?];
const pause = new Int32Array(new SharedArrayBuffer(4));
const server = await serveD2po({
  ...(modelKind === 'encoder-head' ? await encoderChildOptions(out, Number(saveFreq)) : childOptions(out, Number(saveFreq))),
  onCall: (result) => {
    process.stdout.write(`call ${result.call}\n`);
    // Hold the call open (its answer not yet sent) so the parent can signal in the middle of it.
    if (Number(holdFromCall) > 0 && result.call >= Number(holdFromCall)) Atomics.wait(pause, 0, 0, 400);
  },
});
process.stdout.write(`listening ${server.url} resumed ${server.resume.calls} replayed ${server.resume.replayed} dropped ${server.resume.droppedBytes}\n`);
const signal = await closeOnSignals(server);
process.stdout.write(`closed ${signal}\n`);
