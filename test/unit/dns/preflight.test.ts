import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CommandContext } from "../../../src/context.js";
import { dnsApply, dnsPlan } from "../../../src/dns/dns.js";
import { dnsPreflight, EXAMPLE_ACCOUNT_ID } from "../../../src/dns/preflight.js";
import { InfraError } from "../../../src/errors.js";
import { silentReporter } from "../../../src/ui/reporter.js";

const ACCOUNT = "9f8e7d6c5b4a39281706f5e4d3c2b1a0";
const TOKEN = "abcdefghijklmnopqrstuvwxyz0123456789ABCD";

async function project(vars: Record<string, unknown> | string | undefined): Promise<string> {
  const cwd = await mkdtemp(join(tmpdir(), "infra-dns-"));
  await mkdir(join(cwd, "tofu"));
  if (vars !== undefined) {
    const text = typeof vars === "string" ? vars : JSON.stringify(vars);
    await writeFile(join(cwd, "tofu", "cluster.auto.tfvars.json"), text);
  }
  return cwd;
}

function rendered(account: string): Record<string, unknown> {
  return {
    "//": "Rendered by `infra configure` from cluster.yaml — do not edit; change cluster.yaml and re-run.",
    cluster_name: "demo",
    cloudflare_account_id: account,
    zone_name: "example.com",
    dns_records: [{ name: "k8s-api", type: "A", content: "100.100.10.1", proxied: false, ttl: 300 }],
    r2_bucket: { name: "demo-backups", location: "weur", storage_class: "Standard", jurisdiction: "default" },
  };
}

async function failure(promise: Promise<unknown>): Promise<InfraError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InfraError);
  return error as InfraError;
}

/** PATH without tofu: if a command reached tofu it would fail with TOOL_NOT_FOUND instead. */
const NO_TOOLS = {
  PATH: "/nonexistent",
  HOME: tmpdir(),
  INFRA_CACHE_DIR: join(tmpdir(), "infra-dns-no-cache"),
};

function context(cwd: string, env: NodeJS.ProcessEnv): CommandContext {
  return { cwd, env, reporter: silentReporter, interactive: false };
}

describe("infra dns preflight", () => {
  it("accepts rendered variables with a real account id and a token", async () => {
    const cwd = await project(rendered(ACCOUNT));
    const pre = await dnsPreflight(cwd, { CLOUDFLARE_API_TOKEN: TOKEN });
    expect(pre.tofuDir).toBe(join(cwd, "tofu"));
    expect(pre.vars.zone_name).toBe("example.com");
    expect(pre.vars.r2_bucket.name).toBe("demo-backups");
  });

  it("a missing CLOUDFLARE_API_TOKEN stops `dns plan` before tofu runs, and says how to set it", async () => {
    const cwd = await project(rendered(ACCOUNT));
    const error = await failure(dnsPlan(context(cwd, { ...NO_TOOLS })));
    expect(error.code).toBe("CLOUDFLARE_TOKEN_MISSING");
    expect(error.kind).toBe("preflight");
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain("CLOUDFLARE_API_TOKEN");
    expect(error.hint).toMatch(/export CLOUDFLARE_API_TOKEN/);
    expect(error.hint).toMatch(/DNS:Edit/);
  });

  it("a blank token counts as missing, for `dns apply` too", async () => {
    const cwd = await project(rendered(ACCOUNT));
    const error = await failure(
      dnsApply(context(cwd, { ...NO_TOOLS, CLOUDFLARE_API_TOKEN: "  " }), { yes: true, dryRun: false }),
    );
    expect(error.code).toBe("CLOUDFLARE_TOKEN_MISSING");
  });

  it("an empty account id is named with the file and field, before the token is even looked at", async () => {
    const cwd = await project(rendered(""));
    const error = await failure(dnsPlan(context(cwd, { ...NO_TOOLS })));
    expect(error.code).toBe("CLOUDFLARE_ACCOUNT_MISSING");
    expect(error.location).toEqual({
      file: join("tofu", "cluster.auto.tfvars.json"),
      path: "cloudflare_account_id",
    });
    expect(error.hint).toMatch(/cloudflare\.accountId in cluster\.yaml/);
  });

  it("the example's placeholder account id is refused", async () => {
    const cwd = await project(rendered(EXAMPLE_ACCOUNT_ID));
    const error = await failure(dnsPlan(context(cwd, { ...NO_TOOLS, CLOUDFLARE_API_TOKEN: TOKEN })));
    expect(error.code).toBe("CLOUDFLARE_ACCOUNT_MISSING");
    expect(error.message).toMatch(/placeholder/);
  });

  it("missing rendered variables point at `infra configure`", async () => {
    const cwd = await project(undefined);
    const error = await failure(dnsPlan(context(cwd, { ...NO_TOOLS, CLOUDFLARE_API_TOKEN: TOKEN })));
    expect(error.code).toBe("TOFU_VARS_MISSING");
    expect(error.hint).toMatch(/infra configure/);
  });

  it("unreadable rendered variables are a config error", async () => {
    const cwd = await project("{ not json");
    const error = await failure(dnsPlan(context(cwd, { ...NO_TOOLS, CLOUDFLARE_API_TOKEN: TOKEN })));
    expect(error.code).toBe("TOFU_VARS_INVALID");
    expect(error.exitCode).toBe(2);
  });

  it("with everything set, the next stop is tofu itself (not on this PATH: TOOL_NOT_FOUND)", async () => {
    const cwd = await project(rendered(ACCOUNT));
    const error = await failure(dnsPlan(context(cwd, { ...NO_TOOLS, CLOUDFLARE_API_TOKEN: TOKEN })));
    expect(error.code).toBe("TOOL_NOT_FOUND");
    expect(error.message).toMatch(/tofu was not found/);
  });
});
