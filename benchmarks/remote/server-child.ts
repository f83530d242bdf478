// One `pref serve kserve` in its own process, optionally behind a proxy that delays every request by
// a fixed latency (a stand-in for a network hop to a remote GPU box).
// argv: <model dir> <threads> <latency ms>. Prints `listening <url>`; stops on SIGTERM.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeOnSignals, serveKServe } from '@pref/serve';

const [dir, threads, latency] = process.argv.slice(2) as [string, string, string];
const server = await serveKServe({ model: dir, name: 'rm', port: 0, threads: Number(threads) });
const latencyMs = Number(latency);
if (latencyMs === 0) {
  process.stdout.write(`listening ${server.url}\n`);
  await closeOnSignals(server);
} else {
  const proxy = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      setTimeout(() => {
        const headers: Record<string, string> = {};
        for (const [key, value] of Object.entries(request.headers)) if (typeof value === 'string' && key !== 'host' && key !== 'content-length') headers[key] = value;
        fetch(`${server.url}${request.url}`, { method: request.method, headers, body: request.method === 'POST' ? Buffer.concat(chunks) : undefined })
          .then(async (answer) => {
            const body = Buffer.from(await answer.arrayBuffer());
            const out: Record<string, string> = {};
            answer.headers.forEach((value, key) => {
              if (key !== 'content-length' && key !== 'transfer-encoding' && key !== 'connection' && key !== 'keep-alive') out[key] = value;
            });
            response.writeHead(answer.status, { ...out, 'content-length': body.byteLength });
            response.end(body);
          })
          .catch((error: unknown) => response.writeHead(502).end(String(error)));
      }, latencyMs);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`listening http://127.0.0.1:${(proxy.address() as AddressInfo).port}\n`);
  await closeOnSignals({ close: async () => { proxy.close(); await server.close(); } });
}
