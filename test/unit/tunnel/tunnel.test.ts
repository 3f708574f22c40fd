/**
 * The tunnel slice's pure parts: reading a tunnel token, the state's tunnel id, which external-dns
 * records a handover deletes, and what `infra up` says when the token Secret is not written.
 */
import { randomUUID } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InfraError } from "../../../src/errors.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import { planHandover, txtOwner } from "../../../src/tunnel/handover.js";
import { assertTokenSecret } from "../../../src/tunnel/preflight.js";
import { PLACEHOLDER_MARKER, TOKEN_SECRET_FILE, tokenSecretState } from "../../../src/tunnel/secret.js";
import { tunnelIdFromShow, tunnelIdInLocalState } from "../../../src/tunnel/state.js";
import { parseTunnelToken } from "../../../src/tunnel/token-format.js";
import { tunnelToken } from "../../helpers/cloudflare-fake.js";

const ACCOUNT = "fedcba9876543210fedcba9876543210";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), "infra-tunnel-unit-"));
  dirs.push(dir);
  return dir;
}

describe("tunnel tokens", () => {
  it("reads the account and tunnel of a token (and a trailing line break)", () => {
    const id = randomUUID();
    expect(parseTunnelToken(`${tunnelToken(ACCOUNT, id)}\n`)).toEqual({ accountTag: ACCOUNT, tunnelId: id });
  });

  it.each([
    ["", "it is empty"],
    ['"eyJh"', "it is not base64 (a pasted command line or quote?)"],
    ["cloudflared tunnel run --token x", "it is not base64 (a pasted command line or quote?)"],
    [Buffer.from("not json").toString("base64"), "it does not decode to the JSON a tunnel token holds"],
    [
      Buffer.from('{"a":"x","s":"abcd"}').toString("base64"),
      "it lacks the account (a), tunnel (t) or secret (s) of a tunnel token",
    ],
    [Buffer.from('{"a":"x","t":"nope","s":"abcd"}').toString("base64"), 'its tunnel id "nope" is not a UUID'],
    ["A".repeat(5000), "it is longer than any tunnel token (4096 characters)"],
  ])("refuses %j: %s", (text, problem) => {
    expect(parseTunnelToken(text)).toEqual({ problem });
  });
});

describe("the tunnel in OpenTofu's state", () => {
  it("finds the tunnel's id in `tofu show -json`, in a child module", () => {
    const json = JSON.stringify({
      values: {
        root_module: {
          resources: [{ type: "cloudflare_dns_record", values: { id: "r1" } }],
          child_modules: [
            { resources: [{ type: "cloudflare_zero_trust_tunnel_cloudflared", values: { id: "tid" } }] },
          ],
        },
      },
    });
    expect(tunnelIdFromShow(json)).toBe("tid");
    expect(tunnelIdFromShow('{"format_version":"1.0"}')).toBeUndefined();
    expect(tunnelIdFromShow("not json")).toBeUndefined();
  });

  it("reads a local state file, and not a remote one", async () => {
    const root = temp();
    mkdirSync(join(root, "tofu"));
    expect(await tunnelIdInLocalState(root)).toBeUndefined();
    writeFileSync(
      join(root, "tofu", "terraform.tfstate"),
      JSON.stringify({
        resources: [
          { type: "cloudflare_zero_trust_tunnel_cloudflared", instances: [{ attributes: { id: "abc" } }] },
        ],
      }),
    );
    expect(await tunnelIdInLocalState(root)).toBe("abc");
    writeFileSync(join(root, "tofu", "backend_override.tf"), "terraform {}\n");
    expect(await tunnelIdInLocalState(root)).toBeUndefined();
  });
});

describe("which records a handover deletes", () => {
  const tunnelId = "f70ff985-a4ef-4643-bbbc-4a0ed4fc8415";
  const txt = (name: string, owner: string) => ({
    id: `t-${name}`,
    name,
    type: "TXT",
    content: `"heritage=external-dns,external-dns/owner=${owner},external-dns/resource=httproute/shop/shop"`,
  });
  const records = [
    { id: "w", name: "*.example.net", type: "CNAME", content: `${tunnelId}.cfargotunnel.com`, proxied: true },
    { id: "a1", name: "shop.example.net", type: "A", content: "8.8.4.4" },
    { id: "a2", name: "shop.example.net", type: "A", content: "45.32.1.1" },
    txt("a-shop.example.net", "home"),
    { id: "a3", name: "blog.example.net", type: "A", content: "8.8.4.4" },
    txt("a-blog.example.net", "someone-else"),
    { id: "a4", name: "www.example.net", type: "A", content: "8.8.4.4", comment: "managed by OpenTofu" },
    { id: "a5", name: "deep.team.example.net", type: "A", content: "8.8.4.4" },
    txt("a-deep.team.example.net", "home"),
    { id: "a6", name: "mail.other.org", type: "A", content: "8.8.4.4" },
    { id: "a7", name: "old.example.net", type: "A", content: "8.8.4.4" },
    txt("old.example.net", "home"),
  ];

  it("deletes only this cluster's external-dns address records that the tunnel's wildcard covers", () => {
    const plan = planHandover(records, { patterns: ["*.example.net"], owner: "home", tunnelId });
    expect(plan.records.map((r) => `${r.name} ${r.content}`)).toEqual([
      "shop.example.net 8.8.4.4",
      "shop.example.net 45.32.1.1",
      "old.example.net 8.8.4.4",
    ]);
    expect(plan.ownership.map((r) => r.name)).toEqual(["a-shop.example.net", "old.example.net"]);
    expect(plan.skipped).toEqual([
      { name: "blog.example.net", why: "not owned by this cluster's external-dns (owner id home)" },
      { name: "www.example.net", why: "not owned by this cluster's external-dns (owner id home)" },
      {
        name: "deep.team.example.net",
        why: `no tunnel wildcard CNAME *.team.example.net to ${tunnelId}.cfargotunnel.com yet (run \`infra dns apply\`)`,
      },
    ]);
  });

  it("deletes nothing before the tunnel's wildcard points at this tunnel", () => {
    const plan = planHandover(records, {
      patterns: ["*.example.net"],
      owner: "home",
      tunnelId: randomUUID(),
    });
    expect(plan.records).toEqual([]);
    expect(plan.skipped.map((s) => s.name)).toContain("shop.example.net");
  });

  it("leaves an exact tunnel name alone: its CNAME cannot exist beside the A record", () => {
    const plan = planHandover(records, { patterns: ["shop.example.net"], owner: "home", tunnelId });
    expect(plan.records).toEqual([]);
    expect(plan.skipped[0]?.why).toMatch(/switch with the wildcard first/);
  });

  it("reads external-dns's owner from a TXT registry record", () => {
    expect(txtOwner('"heritage=external-dns,external-dns/owner=home,external-dns/resource=x"')).toBe("home");
    expect(txtOwner("v=spf1 -all")).toBeUndefined();
  });
});

describe("infra up's check of the token Secret", () => {
  function repo(mode: "public" | "tunnel", secret: "missing" | "example" | "ours" | "placeholder"): string {
    const root = temp();
    mkdirSync(join(root, "tofu"));
    writeFileSync(
      join(root, "tofu", "cluster.auto.tfvars.json"),
      JSON.stringify({
        tunnel: mode === "tunnel" ? { name: "infra-k3s-home", hostnames: ["*.example.net"] } : null,
      }),
    );
    const ours = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq";
    writeFileSync(
      join(root, ".sops.yaml"),
      `creation_rules:\n  - path_regex: kubernetes/.*\n    age: ${ours}\n`,
    );
    if (secret !== "missing") {
      mkdirSync(join(root, "kubernetes/infrastructure/cloudflared"), { recursive: true });
      cpSync(join(PACKAGE_ROOT, TOKEN_SECRET_FILE), join(root, TOKEN_SECRET_FILE));
      if (secret !== "example") {
        // The header init writes (its plaintext comment marks the placeholder), or the token's.
        const header = secret === "placeholder" ? `# yamllint disable\n${PLACEHOLDER_MARKER}\n` : "";
        const text = `${header}stringData:\n    token: ENC[x]\nsops:\n    age:\n        - recipient: ${ours}\n`;
        writeFileSync(join(root, TOKEN_SECRET_FILE), text);
      }
    }
    return root;
  }

  it("tells the states apart: missing, the shipped example, init's placeholder, the token", async () => {
    expect(await tokenSecretState(repo("tunnel", "missing"))).toBe("missing");
    expect(await tokenSecretState(repo("tunnel", "example"))).toBe("foreign");
    expect(await tokenSecretState(repo("tunnel", "placeholder"))).toBe("placeholder");
    expect(await tokenSecretState(repo("tunnel", "ours"))).toBe("written");
  });

  it("stops on init's placeholder like on the example: it names `infra tunnel token`", async () => {
    const error = (await assertTokenSecret(repo("tunnel", "placeholder"), {}).catch(
      (e: unknown) => e,
    )) as InfraError;
    expect(error).toBeInstanceOf(InfraError);
    expect([error.code, error.exitCode]).toEqual(["TUNNEL_TOKEN_MISSING", 3]);
    expect(error.message).toBe(
      "the tunnel infra-k3s-home has no token for cloudflared: kubernetes/infrastructure/cloudflared/tunnel-token.sops.yaml holds `infra init`'s placeholder, not the tunnel's token and CLOUDFLARE_TUNNEL_TOKEN is not set; nothing was applied",
    );
    expect(error.hint).toMatch(/, run `infra tunnel token`, commit and push, then `infra up` again$/);
  });

  it("passes in public mode and when the Secret is encrypted for this cluster", async () => {
    expect(await assertTokenSecret(repo("public", "missing"), {})).toBeUndefined();
    expect(await assertTokenSecret(repo("tunnel", "ours"), {})).toBe("infra-k3s-home");
  });

  it("stops on a missing Secret: one line, exit 3, the next steps", async () => {
    const error = await assertTokenSecret(repo("tunnel", "missing"), {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfraError);
    expect((error as InfraError).code).toBe("TUNNEL_TOKEN_MISSING");
    expect((error as InfraError).exitCode).toBe(3);
    expect((error as InfraError).message).toBe(
      "the tunnel infra-k3s-home has no token for cloudflared: kubernetes/infrastructure/cloudflared/tunnel-token.sops.yaml does not exist and CLOUDFLARE_TUNNEL_TOKEN is not set; nothing was applied",
    );
    expect((error as InfraError).hint).toMatch(
      /^create the tunnel with `infra dns apply`, export CLOUDFLARE_TUNNEL_TOKEN=/,
    );
  });

  it("stops on the shipped example, and names `infra tunnel token` when the token is in the environment", async () => {
    const error = (await assertTokenSecret(repo("tunnel", "example"), {
      CLOUDFLARE_TUNNEL_TOKEN: tunnelToken(ACCOUNT),
    }).catch((e: unknown) => e)) as InfraError;
    expect(error.message).toMatch(
      /is not encrypted for this cluster's age key \(still the example\?\); nothing was applied$/,
    );
    expect(error.hint).toBe(
      "run `infra tunnel token` (it reads CLOUDFLARE_TUNNEL_TOKEN), commit and push, then `infra up` again",
    );
  });
});
