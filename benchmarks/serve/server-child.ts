// The service under load, in its own process like `pref serve d2po` next to a training loop.
// argv: <out dir> <updates: 1|0>. Prints `listening <url>`; stops on SIGTERM.
import { closeOnSignals, createLinearModel, serveD2po } from '@pref/serve';
import { SERVICE_KNOBS } from './knobs';

const [out, updates] = process.argv.slice(2) as [string, string];
const server = await serveD2po({ gold: 'bagofwords', model: createLinearModel(), out, port: 0, ...SERVICE_KNOBS, stopUpdates: updates === '1' ? 100_000 : 0 });
process.stdout.write(`listening ${server.url}\n`);
await closeOnSignals(server);
