/**
 * A Hugging Face hub stand-in on 127.0.0.1 serving the endpoints @huggingface/hub 2.17 calls
 * for downloads: repo info (`/api/{models,datasets}/<name>/revision/<rev>`), the file tree
 * (`/api/.../tree/<rev>`), and `resolve/<rev>/<path>` with the headers it reads (ETag,
 * Content-Range on a `bytes=0-0` probe, X-Error-Code on a missing entry).
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRepo {
  type: 'model' | 'dataset';
  name: string;
  /** Branch/tag → commit; `main` must be present. */
  refs: Record<string, string>;
  files: Record<string, Buffer | string>;
  /** Requires `Authorization: Bearer <token>`. */
  token?: string;
  /** A hostile or broken hub: rewrite listing entries, or what a download sends. */
  tamper?: {
    /** Each tree entry as listed (path, oid, lfs.oid computed from the true files). */
    tree?: (entry: Record<string, unknown>) => Record<string, unknown>;
    /**
     * The bytes sent for a file; `declared` is the length announced for them (default: theirs);
     * `stall` sends them and then nothing more, holding the connection open, and calls it.
     */
    body?: (path: string, body: Buffer) => { body: Buffer; declared?: number; stall?: () => void };
  };
}

export interface FakeHub {
  url: string;
  /** Every request: method, path and query, and the Authorization header. */
  requests: { method: string; url: string; auth?: string }[];
  close(): Promise<void>;
}

const LFS_RE = /\.(safetensors|parquet|bin)$/;

function treeEntry(path: string, body: Buffer, commit: string) {
  const oid = crypto.createHash('sha1').update(`blob ${body.length}\0`).update(body).digest('hex');
  const entry: Record<string, unknown> = { type: 'file', path, size: body.length, oid, lastCommit: { id: commit, title: 'x', date: '2024-01-01T00:00:00.000Z' } };
  if (LFS_RE.test(path)) entry.lfs = { oid: crypto.createHash('sha256').update(body).digest('hex'), size: body.length, pointerSize: 134 };
  return entry;
}

export async function startFakeHub(repos: FakeRepo[]): Promise<FakeHub> {
  const requests: FakeHub['requests'] = [];
  const find = (type: string, name: string) => repos.find((r) => r.type === type && r.name === name);
  const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    requests.push({ method: req.method!, url: url.pathname + url.search, auth: req.headers.authorization });
    const api = /^\/api\/(models|datasets)\/(.+?)\/(revision|tree)\/([^/]+)$/.exec(url.pathname);
    const resolve = /^\/(datasets\/)?(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const type = api ? api[1].slice(0, -1) : resolve?.[1] ? 'dataset' : 'model';
    const name = api?.[2] ?? resolve?.[2];
    const repo = name ? find(type, decodeURIComponent(name)) : undefined;
    if (!repo) return json(res, 404, { error: 'Repository not found' }, { 'X-Error-Code': 'RepoNotFound' });
    if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`) {
      return json(res, 401, { error: 'Invalid credentials in Authorization header' });
    }
    const rev = decodeURIComponent((api?.[4] ?? resolve?.[3])!);
    const commit = repo.refs[rev] ?? (Object.values(repo.refs).includes(rev) ? rev : undefined);
    if (!commit) return json(res, 404, { error: `Invalid rev id: ${rev}` }, { 'X-Error-Code': 'RevisionNotFound' });
    const bodies = Object.entries(repo.files).map(([p, b]) => [p, Buffer.from(b)] as const);

    if (api?.[3] === 'revision') {
      return json(res, 200, { _id: 'x', id: repo.name, sha: commit, private: !!repo.token, lastModified: '2024-01-01T00:00:00.000Z' });
    }
    if (api?.[3] === 'tree') return json(res, 200, bodies.map(([p, b]) => (repo.tamper?.tree ?? ((e) => e))(treeEntry(p, b, commit))));
    const file = bodies.find(([p]) => p === resolve![4]);
    if (!file) return json(res, 404, { error: 'Entry not found' }, { 'X-Error-Code': 'EntryNotFound' });
    const [p, trueBody] = file;
    const entry = treeEntry(p, trueBody, commit);
    const served = repo.tamper?.body?.(p, trueBody) ?? { body: trueBody };
    const body = served.body;
    const declared = served.declared ?? body.length;
    const etag = (entry.lfs as { oid: string } | undefined)?.oid ?? (entry.oid as string);
    const headers = { ETag: `"${etag}"`, 'X-Repo-Commit': commit, 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream' };
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (range) {
      const [start, end] = [Number(range[1]), Math.min(Number(range[2]), body.length - 1)];
      res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${declared}`, 'Content-Length': String(end - start + 1) });
      return res.end(body.subarray(start, end + 1));
    }
    res.writeHead(200, { ...headers, 'Content-Length': String(declared) });
    // A slow hub: part of the body, then silence with the connection open.
    if (served.stall) return res.write(body, served.stall);
    // Fewer bytes than announced: send them, then drop the connection, as a dying server does.
    if (declared > body.length) return res.write(body, () => res.destroy());
    res.end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    }),
  };
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}
