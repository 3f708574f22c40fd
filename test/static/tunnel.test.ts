/**
 * The tunnel commands through the built CLI: `infra tunnel token` with the real sops and an age key
 * generated here, `infra tunnel handover` and the ownership check against a stand-in of the Cloudflare
 * API on loopback (the real API cannot be reached from here), and the API client's pagination,
 * retries and timeouts. Bad input ends in one line with its exit code, and nothing changes.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { exec } from "../../src/adapters/exec.js";
import { InfraError } from "../../src/errors.js";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { toolPath } from "../../src/toolchain/paths.js";
import { loadVersions } from "../../src/toolchain/versions.js";
import { CloudflareApi } from "../../src/tunnel/cloudflare-api.js";
import { assertTunnelOwnership } from "../../src/tunnel/ownership.js";
import { TOKEN_SECRET_FILE } from "../../src/tunnel/secret.js";
import { runCli } from "../helpers/cli.js";
import { type FakeCloudflare, startFakeCloudflare, tunnelToken } from "../helpers/cloudflare-fake.js";

const ACCOUNT = "fedcba9876543210fedcba9876543210";
const TUNNEL_FIXTURE = join(PACKAGE_ROOT, "test", "fixtures", "config", "ingress", "valid", "tunnel.yaml");

const cleanup: string[] = [];
let api: FakeCloudflare;
let keyFile = "";
let recipient = "";

beforeAll(async () => {
  api = await startFakeCloudflare();
  const home = await mkdtemp(join(tmpdir(), "infra-tunnel-key-"));
  cleanup.push(home);
  const { generateIdentity, identityToRecipient } = await import("age-encryption");
  const identity = await generateIdentity();
  recipient = await identityToRecipient(identity);
  keyFile = join(home, "keys.txt");
  await writeFile(keyFile, `${identity}\n`, { mode: 0o600 });
});

afterAll(async () => {
  await api?.stop();
  await Promise.all(cleanup.map((dir) => rm(dir, { recursive: true, force: true })));
});

afterEach(() => {
  api.tunnels.length = 0;
  api.zones.length = 0;
  api.records.clear();
  api.failNext.length = 0;
  api.requests.length = 0;
});

/** A repository with the tunnel fixture as cluster.yaml, .sops.yaml for the test's key, the example token Secret. */
async function repository(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "infra-tunnel-repo-"));
  cleanup.push(root);
  await cp(TUNNEL_FIXTURE, join(root, "cluster.yaml"));
  await writeFile(
    join(root, ".sops.yaml"),
    `creation_rules:\n  - path_regex: kubernetes/.*\\.sops\\.ya?ml$\n    encrypted_regex: ^(data|stringData)$\n    age: ${recipient}\n`,
  );
  await mkdir(join(root, "kubernetes", "infrastructure", "cloudflared"), { recursive: true });
  await cp(join(PACKAGE_ROOT, TOKEN_SECRET_FILE), join(root, TOKEN_SECRET_FILE));
  return root;
}

/** The built CLI without blocking this process: the stand-in API answers from here meanwhile. */
async function cliAsync(root: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = await exec(process.execPath, [join(PACKAGE_ROOT, "dist", "bin.js"), ...args], {
    cwd: root,
    env: { ...process.env, NO_COLOR: "1", CLOUDFLARE_TUNNEL_TOKEN: "", ...env },
    input: "",
    check: false,
    timeoutMs: 60_000,
  });
  return { code: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

function cli(root: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli(args, {
    cwd: root,
    env: { CLOUDFLARE_TUNNEL_TOKEN: "", CLOUDFLARE_API_TOKEN: "", SOPS_AGE_KEY_FILE: keyFile, ...env },
  });
}

async function decrypt(root: string): Promise<string> {
  const versions = await loadVersions(PACKAGE_ROOT);
  const result = await exec("sops", ["--decrypt", join(root, TOKEN_SECRET_FILE)], {
    env: { ...process.env, PATH: toolPath(process.env, versions), SOPS_AGE_KEY_FILE: keyFile },
  });
  return (parse(result.stdout) as { stringData: { token: string } }).stringData.token;
}

describe("infra tunnel token", () => {
  it("writes the token as a Secret encrypted for the repository's key; only the key decrypts it", async () => {
    const root = await repository();
    const token = tunnelToken(ACCOUNT);
    const run = cli(root, ["tunnel", "token"], { CLOUDFLARE_TUNNEL_TOKEN: `${token}\n` });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /✓ written {2}kubernetes\/infrastructure\/cloudflared\/tunnel-token\.sops\.yaml/,
    );
    const text = await readFile(join(root, TOKEN_SECRET_FILE), "utf8");
    expect(text).not.toContain(token);
    expect(text).toContain(recipient);
    expect(await decrypt(root)).toBe(token);
    // A second write replaces a real token only when confirmed.
    const again = cli(root, ["tunnel", "token"], { CLOUDFLARE_TUNNEL_TOKEN: tunnelToken(ACCOUNT) });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/CONFIRMATION_REQUIRED|refusing without confirmation/);
    expect(await decrypt(root)).toBe(token);
  });

  it("a missing token: one line, exit 3, the next step; the file is left as it was", async () => {
    const root = await repository();
    const before = readFileSync(join(root, TOKEN_SECRET_FILE), "utf8");
    const run = cli(root, ["tunnel", "token"]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("✗ CLOUDFLARE_TUNNEL_TOKEN is not set; nothing was written");
    expect(run.stderr).toContain(
      'export CLOUDFLARE_TUNNEL_TOKEN="$(tofu -chdir=tofu output -raw tunnel_token)"',
    );
    expect(readFileSync(join(root, TOKEN_SECRET_FILE), "utf8")).toBe(before);
  });

  it.each([
    [
      "a token of another account",
      () => tunnelToken("0123456789abcdef0123456789abcdef"),
      /is the token of a tunnel in account 0123456789abcdef0123456789abcdef, not of cloudflare\.accountId/,
    ],
    [
      "a pasted command line",
      () => "cloudflared tunnel run --token eyJh",
      /is not a tunnel token: it is not base64/,
    ],
  ])("%s: exit 2, nothing written", async (_what, token, message) => {
    const root = await repository();
    const before = readFileSync(join(root, TOKEN_SECRET_FILE), "utf8");
    const run = cli(root, ["tunnel", "token", "--yes"], { CLOUDFLARE_TUNNEL_TOKEN: token() });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(readFileSync(join(root, TOKEN_SECRET_FILE), "utf8")).toBe(before);
  });

  it("a token of another tunnel than the one in the local OpenTofu state is refused", async () => {
    const root = await repository();
    await mkdir(join(root, "tofu"));
    await writeFile(
      join(root, "tofu", "terraform.tfstate"),
      JSON.stringify({
        resources: [
          {
            type: "cloudflare_zero_trust_tunnel_cloudflared",
            instances: [{ attributes: { id: randomUUID() } }],
          },
        ],
      }),
    );
    const run = cli(root, ["tunnel", "token", "--yes"], { CLOUDFLARE_TUNNEL_TOKEN: tunnelToken(ACCOUNT) });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/but OpenTofu's state holds infra-k3s-home as /);
  });

  it("--dry-run checks the token and writes nothing; public mode has no tunnel", async () => {
    const root = await repository();
    const before = readFileSync(join(root, TOKEN_SECRET_FILE), "utf8");
    const dry = cli(root, ["tunnel", "token", "--dry-run"], {
      CLOUDFLARE_TUNNEL_TOKEN: tunnelToken(ACCOUNT),
    });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(
      /^would write {2}kubernetes\/infrastructure\/cloudflared\/tunnel-token\.sops\.yaml/m,
    );
    expect(readFileSync(join(root, TOKEN_SECRET_FILE), "utf8")).toBe(before);
    await writeFile(
      join(root, "cluster.yaml"),
      readFileSync(join(root, "cluster.yaml"), "utf8")
        .replace("mode: tunnel", "mode: public")
        .replace("publicIPv4: 8.8.4.4", "publicIPv4: 8.8.4.4\n    ingress: true"),
    );
    const run = cli(root, ["tunnel", "token"], { CLOUDFLARE_TUNNEL_TOKEN: tunnelToken(ACCOUNT) });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("ingress.mode is public: there is no tunnel to hold a token for");
  });
});

describe("the Cloudflare API client", () => {
  const client = (options: { retries?: number; timeoutMs?: number } = {}) =>
    new CloudflareApi({ token: api.token, baseUrl: api.url, ...options });

  it("follows pagination", async () => {
    api.perPage = 2;
    api.zones.push({ id: "z", name: "example.net" });
    api.records.set(
      "z",
      Array.from({ length: 5 }, (_, i) => ({
        id: `r${i}`,
        name: `n${i}.example.net`,
        type: "A",
        content: "8.8.4.4",
      })),
    );
    expect((await client().records("z")).map((r) => r.id)).toEqual(["r0", "r1", "r2", "r3", "r4"]);
    expect(api.requests.filter((r) => r.endsWith("/dns_records"))).toHaveLength(3);
    api.perPage = 50;
  });

  it("retries 5xx and 429 with backoff, then answers", async () => {
    api.zones.push({ id: "z", name: "example.net" });
    api.failNext.push(500, 429);
    expect(await client().zoneId("example.net")).toBe("z");
    expect(api.requests).toHaveLength(3);
  });

  it("a stalled server: each attempt times out, then one error names the call", async () => {
    api.failNext.push("stall", "stall");
    const error = await client({ retries: 1, timeoutMs: 300 })
      .zoneId("example.net")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfraError);
    expect((error as InfraError).code).toBe("CLOUDFLARE_API_UNREACHABLE");
    expect((error as InfraError).message).toMatch(/^Cloudflare API GET \/zones: no answer after 2 attempts/);
  });

  it("an interrupt while the server stalls ends the call with the interrupt, not after the retries", async () => {
    api.failNext.push("stall", "stall", "stall", "stall");
    const controller = new AbortController();
    const call = new CloudflareApi({
      token: api.token,
      baseUrl: api.url,
      timeoutMs: 60_000,
      signal: controller.signal,
    })
      .zoneId("example.net")
      .catch((e: unknown) => e);
    setTimeout(() => controller.abort(new Error("interrupted")), 200);
    const error = (await call) as Error;
    // The interrupt's own reason, not CLOUDFLARE_API_UNREACHABLE after four 60 s attempts.
    expect(error.message).toBe("interrupted");
    api.failNext.length = 0;
  });

  it("a refused token is a preflight error with what the token needs", async () => {
    const error = (await new CloudflareApi({ token: "wrong", baseUrl: api.url, retries: 0 })
      .zoneId("example.net")
      .catch((e: unknown) => e)) as InfraError;
    expect(error.code).toBe("CLOUDFLARE_API_FAILED");
    expect(error.exitCode).toBe(3);
    expect(error.message).toBe("Cloudflare API GET /zones: HTTP 403: Authentication error (10000)");
    expect(error.hint).toMatch(/Cloudflare Tunnel:Read/);
  });
});

describe("a tunnel of the same name this project did not make", () => {
  const client = () => new CloudflareApi({ token: api.token, baseUrl: api.url });
  const tunnel = (id: string) => ({
    id,
    name: "infra-k3s-home",
    account: ACCOUNT,
    created_at: "2026-11-01T10:00:00Z",
    deleted_at: null,
  });

  it("stops the run before anything is applied, with the import that adopts it", async () => {
    const id = randomUUID();
    api.tunnels.push(tunnel(id));
    const error = (await assertTunnelOwnership(client(), {
      accountId: ACCOUNT,
      name: "infra-k3s-home",
      stateId: undefined,
    }).catch((e: unknown) => e)) as InfraError;
    expect(error.code).toBe("TUNNEL_NAME_TAKEN");
    expect(error.exitCode).toBe(3);
    expect(error.message).toBe(
      `a Cloudflare Tunnel named infra-k3s-home already exists (id ${id}, created 2026-11-01T10:00:00Z) and this project's OpenTofu state does not hold it; nothing was changed`,
    );
    expect(error.hint).toContain(
      `tofu import 'module.cloudflare_tunnel[0].cloudflare_zero_trust_tunnel_cloudflared.this' ${ACCOUNT}/${id}`,
    );
    expect(error.hint).toContain("otherwise choose another ingress.tunnel.name");
  });

  it("goes on when the state holds it, when none exists, and ignores deleted tunnels", async () => {
    const id = randomUUID();
    api.tunnels.push(tunnel(id), { ...tunnel(randomUUID()), deleted_at: "2026-11-02T00:00:00Z" });
    await expect(
      assertTunnelOwnership(client(), { accountId: ACCOUNT, name: "infra-k3s-home", stateId: id }),
    ).resolves.toBeUndefined();
    await expect(
      assertTunnelOwnership(client(), { accountId: ACCOUNT, name: "other", stateId: undefined }),
    ).resolves.toBeUndefined();
  });
});

describe("infra tunnel handover", () => {
  const tunnelId = "f70ff985-a4ef-4643-bbbc-4a0ed4fc8415";
  function zone() {
    api.zones.push({ id: "z1", name: "example.net" });
    api.tunnels.push({
      id: tunnelId,
      name: "infra-k3s-home",
      account: ACCOUNT,
      created_at: "2026-11-01T10:00:00Z",
      deleted_at: null,
    });
    api.records.set("z1", [
      {
        id: "w",
        name: "*.example.net",
        type: "CNAME",
        content: `${tunnelId}.cfargotunnel.com`,
        proxied: true,
      },
      { id: "a1", name: "shop.example.net", type: "A", content: "8.8.4.4" },
      {
        id: "t1",
        name: "a-shop.example.net",
        type: "TXT",
        content: '"heritage=external-dns,external-dns/owner=home,external-dns/resource=httproute/shop/shop"',
      },
      { id: "a2", name: "blog.example.net", type: "A", content: "8.8.4.4" },
    ]);
  }
  const env = () => ({ CLOUDFLARE_API_TOKEN: api.token, INFRA_CLOUDFLARE_API_URL: api.url });

  it("--dry-run lists what it would delete and what it leaves alone; deletes nothing", async () => {
    zone();
    const run = await cliAsync(await repository(), ["tunnel", "handover", "--dry-run"], env());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(
      "would delete  shop.example.net  A 8.8.4.4  -> resolves to the tunnel (*.example.net)",
    );
    expect(run.stdout).toContain("would delete  a-shop.example.net  TXT (external-dns ownership)");
    expect(run.stdout).toContain(
      "left alone  blog.example.net: not owned by this cluster's external-dns (owner id home)",
    );
    expect(api.records.get("z1")).toHaveLength(4);
    expect(api.requests.some((r) => r.startsWith("DELETE"))).toBe(false);
  });

  it("refuses without --yes when nobody can answer, and then deletes exactly the records it listed", async () => {
    zone();
    const root = await repository();
    const refused = await cliAsync(root, ["tunnel", "handover"], env());
    expect(refused.code).toBe(2);
    expect(api.records.get("z1")).toHaveLength(4);
    const run = await cliAsync(root, ["tunnel", "handover", "--yes"], env());
    expect(run.code, run.stderr).toBe(0);
    expect(api.records.get("z1")?.map((r) => r.id)).toEqual(["w", "a2"]);
    expect(api.requests.filter((r) => r.startsWith("DELETE"))).toEqual([
      "DELETE /client/v4/zones/z1/dns_records/a1",
      "DELETE /client/v4/zones/z1/dns_records/t1",
    ]);
    const again = await cliAsync(root, ["tunnel", "handover", "--yes"], env());
    expect(again.stdout).toContain(
      "No external-dns record of example.net stands between the tunnel infra-k3s-home and its names.",
    );
  });

  it("without CLOUDFLARE_API_TOKEN: one line, exit 3", async () => {
    const run = cli(await repository(), ["tunnel", "handover", "--dry-run"]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("CLOUDFLARE_API_TOKEN is not set");
  });
});
