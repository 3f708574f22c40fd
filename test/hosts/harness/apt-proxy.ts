/**
 * The VMs' package mirror: a small caching HTTP proxy on the host loopback that forwards only to
 * the Debian mirrors the host's own apt uses (anything else gets 403). Package files (`.deb`) and
 * `by-hash` indexes are immutable and kept on disk under the tool cache, so a warm run installs
 * packages without downloading them again; release files always go to the mirror.
 *
 * The guest reaches it as http://10.0.2.100:3142 through QEMU's guestfwd (see vm.ts).
 */
import { createReadStream, createWriteStream, existsSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import { dirname, join } from "node:path";

export interface AptProxy {
  port: number;
  /** Requests served: from the disk cache, from the mirror, refused. */
  stats: { hits: number; misses: number; refused: number };
  close(): Promise<void>;
}

const PASS_HEADERS = ["content-type", "content-length", "last-modified", "etag", "date"];

export async function startAptProxy(cacheDir: string, allowedHosts: readonly string[]): Promise<AptProxy> {
  const stats = { hits: 0, misses: 0, refused: 0 };
  const server: Server = createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? "");
    } catch {
      stats.refused++;
      res.writeHead(400).end("absolute URL expected (this is a proxy)\n");
      return;
    }
    if (
      url.protocol !== "http:" ||
      !allowedHosts.includes(url.host) ||
      (req.method !== "GET" && req.method !== "HEAD")
    ) {
      stats.refused++;
      res.writeHead(403).end(`only GET/HEAD to ${allowedHosts.join(", ")} is forwarded\n`);
      return;
    }
    const cacheable = url.pathname.endsWith(".deb") || url.pathname.includes("/by-hash/");
    const file = join(cacheDir, url.host, decodeURIComponent(url.pathname));
    if (cacheable && req.method === "GET" && existsSync(file)) {
      stats.hits++;
      res.writeHead(200, { "content-type": "application/octet-stream" });
      createReadStream(file).pipe(res);
      return;
    }
    stats.misses++;
    const headers: Record<string, string> = {
      host: url.host,
      "user-agent": req.headers["user-agent"] ?? "apt",
    };
    for (const h of ["if-modified-since", "if-none-match", "range"]) {
      const v = req.headers[h];
      if (typeof v === "string" && !cacheable) headers[h] = v;
    }
    const upstream = httpRequest(
      {
        host: url.hostname,
        port: url.port || 80,
        path: url.pathname + url.search,
        method: req.method,
        headers,
      },
      (up: IncomingMessage) => {
        const out: Record<string, string> = {};
        for (const h of PASS_HEADERS) {
          const v = up.headers[h];
          if (typeof v === "string") out[h] = v;
        }
        res.writeHead(up.statusCode ?? 502, out);
        if (cacheable && req.method === "GET" && up.statusCode === 200) {
          const partial = `${file}.part-${process.pid}-${Math.random().toString(36).slice(2)}`;
          void mkdir(dirname(file), { recursive: true }).then(() => {
            const sink = createWriteStream(partial);
            up.on("data", (chunk: Buffer) => {
              sink.write(chunk);
              res.write(chunk);
            });
            up.on("end", () => {
              res.end();
              sink.end(() => void rename(partial, file).catch(() => rm(partial, { force: true })));
            });
            up.on("error", () => {
              sink.destroy();
              void rm(partial, { force: true });
              res.destroy();
            });
          });
        } else {
          up.pipe(res);
        }
      },
    );
    upstream.setTimeout(60_000, () => upstream.destroy(new Error("mirror timeout")));
    upstream.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(`mirror error: ${error.message}\n`);
    });
    upstream.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
