import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One repository the fake Hub serves. */
export interface FakeHubRepo {
  type: 'model' | 'dataset';
  /** `org/name`. */
  name: string;
  /** The commit every revision resolves to. */
  sha: string;
  /** Files by path inside the repository. */
  files: ReadonlyMap<string, Buffer>;
}

/**
 * Hostile answers, changed between requests by tests of what pref does with a Hub it cannot trust
 * (all off by default).
 */
export interface FakeHubAnswers {
  /** The commit answered for a revision instead of the repository's. */
  sha?: string;
  /** The path listed for a file instead of its own (e.g. one with `..`). */
  path?: (path: string) => string;
  /** The blob id listed for a file instead of its git sha-1. */
  oid?: (path: string) => string;
  /** Bytes appended to every download beyond the listed size. */
  extraBytes?: number;
}

/** A running fake Hub. */
export interface FakeHub {
  /** `http://127.0.0.1:<port>`: pass as `hubUrl` (or `HF_ENDPOINT`). */
  url: string;
  /** `METHOD /path` of every request, in order. */
  requests: string[];
  /** Mutable: set fields to answer as a hostile Hub; `reset()` clears them. */
  answers: FakeHubAnswers;
  reset(): void;
  close(): Promise<void>;
}

/**
 * A Hugging Face Hub on 127.0.0.1 serving the routes @huggingface/hub calls for models and datasets
 * (revision info, `paths-info`, `tree`, `resolve` with ranges), for tests that must not reach the
 * network. Blob ids are the files' git-style sha-1s.
 */
export async function startFakeHub(repos: readonly FakeHubRepo[]): Promise<FakeHub> {
  const requests: string[] = [];
  const answers: FakeHubAnswers = {};
  const oid = (data: Buffer) => createHash('sha1').update(data).digest('hex');
  const entry = (repo: FakeHubRepo, path: string) => {
    const data = repo.files.get(path)!;
    return { type: 'file', path: answers.path?.(path) ?? path, oid: answers.oid?.(path) ?? oid(data), size: data.length, lastCommit: { id: repo.sha, title: 'init', date: '2026-01-01T00:00:00.000Z' } };
  };
  const json = (res: import('node:http').ServerResponse, status: number, value: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(value));
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://localhost');
    requests.push(`${req.method} ${url.pathname}`);
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk));
    req.on('end', () => {
      for (const repo of repos) {
        const api = `/api/${repo.type}s/${repo.name}`;
        if (req.method === 'GET' && url.pathname.startsWith(`${api}/revision/`)) {
          json(res, 200, { _id: 'x1', id: repo.name, sha: answers.sha ?? repo.sha, private: false, gated: false, downloads: 0, likes: 0, tags: [], lastModified: '2026-01-01T00:00:00.000Z' });
          return;
        }
        if (req.method === 'POST' && url.pathname === `${api}/paths-info/${repo.sha}`) {
          const { paths } = JSON.parse(body) as { paths: string[] };
          json(res, 200, paths.filter((path) => repo.files.has(path)).map((path) => entry(repo, path)));
          return;
        }
        if (req.method === 'GET' && url.pathname === `${api}/tree/${repo.sha}`) {
          json(res, 200, [...repo.files.keys()].map((path) => entry(repo, path)));
          return;
        }
        const prefix = `${repo.type === 'dataset' ? '/datasets' : ''}/${repo.name}/resolve/${repo.sha}/`;
        if (req.method === 'GET' && url.pathname.startsWith(prefix)) {
          const listed = repo.files.get(decodeURIComponent(url.pathname.slice(prefix.length)));
          if (listed === undefined) {
            res.writeHead(404, { 'X-Error-Code': 'EntryNotFound' });
            res.end('not found');
            return;
          }
          const data = answers.extraBytes ? Buffer.concat([listed, Buffer.alloc(answers.extraBytes)]) : listed;
          const headers = { ETag: `"${oid(data)}"`, 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream' };
          const range = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
          if (range) {
            const start = Number(range[1]);
            const end = range[2] ? Math.min(Number(range[2]), data.length - 1) : data.length - 1;
            res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${data.length}`, 'Content-Length': end - start + 1 });
            res.end(data.subarray(start, end + 1));
          } else {
            res.writeHead(200, { ...headers, 'Content-Length': data.length });
            res.end(data);
          }
          return;
        }
      }
      json(res, 404, { error: `no route ${req.method} ${url.pathname}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    answers,
    reset: () => {
      for (const key of Object.keys(answers) as (keyof FakeHubAnswers)[]) delete answers[key];
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
