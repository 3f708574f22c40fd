import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Credentials } from "../../../src/kube/credentials.js";

const dir = mkdtempSync(join(tmpdir(), "infra-credentials-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A credential plugin that appends a line to a file each time it runs, then prints a token. */
function countingPlugin(expires?: string): { command: string; runs: () => number } {
  const log = join(dir, `runs-${Math.random().toString(36).slice(2)}`);
  writeFileSync(log, "");
  const command = `${log}.sh`;
  const status = { token: "t0ken", ...(expires ? { expirationTimestamp: expires } : {}) };
  writeFileSync(
    command,
    `#!/bin/sh\necho run >> ${log}\nsleep 0.2\necho '${JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status })}'\n`,
  );
  chmodSync(command, 0o755);
  return { command, runs: () => readFileSync(log, "utf8").split("\n").filter(Boolean).length };
}

const credentialsFor = (command: string) =>
  new Credentials(
    { exec: { apiVersion: "client.authentication.k8s.io/v1", command, args: [], env: [], dir } },
    process.env,
  );

describe("an exec credential plugin", () => {
  it("runs once for concurrent requests, and its token is kept until it expires", async () => {
    const plugin = countingPlugin();
    const credentials = credentialsFor(plugin.command);
    const requests: https.RequestOptions[] = [{}, {}, {}, {}];
    await Promise.all(requests.map((options) => credentials.apply(options)));
    await credentials.apply({});
    expect(plugin.runs()).toBe(1);
    for (const options of requests) {
      expect(options.headers).toMatchObject({ Authorization: "Bearer t0ken" });
    }
  });

  it("runs again after the credential is invalidated (a 401) or has expired", async () => {
    const fresh = countingPlugin();
    const credentials = credentialsFor(fresh.command);
    await credentials.apply({});
    credentials.invalidate();
    await credentials.apply({});
    expect(fresh.runs()).toBe(2);

    const expired = countingPlugin(new Date(Date.now() - 1000).toISOString());
    const short = credentialsFor(expired.command);
    await short.apply({});
    await short.apply({});
    expect(expired.runs()).toBe(2);
  });
});
