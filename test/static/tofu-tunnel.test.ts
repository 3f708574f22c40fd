/**
 * The Cloudflare Tunnel's OpenTofu inputs with the real OpenTofu, offline. The Cloudflare provider
 * cannot be had on these machines (docs/dns.md), so the `tofu test` suites with `mock_provider`
 * (tofu/tests/*_mode.tftest.hcl, cloudflare_tunnel.tftest.hcl) run on users' machines; what needs
 * no provider runs here: the root's and both modules' variable declarations with every validation,
 * and the modules' pure locals (the rule order of the tunnel, the records the DNS module leaves to
 * the tunnel), fed with exactly what `infra configure` renders for each ingress mode.
 */
import { readFileSync } from "node:fs";
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tofuEnv } from "../../src/adapters/tofu.js";
import { validateConfigText } from "../../src/config/load.js";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { tofuVars } from "../../src/render/render.js";
import { runTool } from "../helpers/tools.js";

const TOFU = join(PACKAGE_ROOT, "tofu");
const FIXTURES = join(PACKAGE_ROOT, "test", "fixtures", "config");

/** The root module's wiring of the two modules (tunnel.tf, dns.tf), without the provider's resources. */
const HARNESS = `
module "cloudflare_tunnel" {
  source = "./cloudflare-tunnel"
  count  = var.tunnel == null ? 0 : 1

  account_id        = var.cloudflare_account_id
  zone_id           = "harness"
  zone_name         = var.zone_name
  name              = var.tunnel.name
  hostnames         = var.tunnel.hostnames
  origin_service    = var.tunnel.origin_service
  origin_tls_verify = var.tunnel.origin_tls_verify
}

module "dns" {
  source = "./cloudflare-dns"

  zone_id        = "harness"
  zone_name      = var.zone_name
  records        = var.dns_records
  excluded_fqdns = var.tunnel == null ? [] : [for h in var.tunnel.hostnames : h if !startswith(h, "*.")]
}

output "rule_order" {
  value = try(module.cloudflare_tunnel[0].ordered, [])
}

output "published" {
  value = module.dns.published
}

output "excluded" {
  value = module.dns.excluded
}
`;

let env: NodeJS.ProcessEnv;
let dir: string;

function tofu(args: string[]) {
  return runTool("tofu", [...args, "-no-color"], { cwd: dir, env });
}

function rendered(fixture: string): Record<string, unknown> {
  const { config, problems } = validateConfigText(readFileSync(fixture, "utf8"), fixture);
  if (!config) throw new Error(JSON.stringify(problems));
  return tofuVars(config);
}

async function apply(vars: Record<string, unknown>) {
  await writeFile(join(dir, "vars.json"), JSON.stringify(vars));
  return tofu(["apply", "-auto-approve", "-input=false", "-var-file=vars.json"]);
}

function outputs(): { rule_order: string[]; published: string[]; excluded: string[] } {
  const run = tofu(["output", "-json"]);
  const parsed = JSON.parse(run.output.slice(run.output.indexOf("{"))) as Record<string, { value: unknown }>;
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, v.value])) as ReturnType<
    typeof outputs
  >;
}

beforeAll(async () => {
  env = await tofuEnv(process.env);
  dir = await mkdtemp(join(tmpdir(), "infra-tofu-tunnel-"));
  await cp(join(TOFU, "variables.tf"), join(dir, "variables.tf"));
  for (const module of ["cloudflare-tunnel", "cloudflare-dns"]) {
    await mkdir(join(dir, module));
    for (const file of ["variables.tf", "locals.tf"])
      await cp(join(TOFU, "modules", module, file), join(dir, module, file));
  }
  await writeFile(
    join(dir, "cloudflare-tunnel", "harness.tf"),
    'output "ordered" {\n  value = local.ordered\n}\n',
  );
  await writeFile(
    join(dir, "cloudflare-dns", "harness.tf"),
    'output "published" {\n  value = sort(keys(local.records))\n}\n\noutput "excluded" {\n  value = local.excluded\n}\n',
  );
  await writeFile(join(dir, "harness.tf"), HARNESS);
  const init = tofu(["init", "-input=false", "-backend=false"]);
  if (init.code !== 0) throw new Error(init.output);
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the tunnel's OpenTofu inputs, as `infra configure` renders them", () => {
  it("public (the example): no tunnel, every record published", async () => {
    const run = await apply(rendered(join(PACKAGE_ROOT, "cluster.example.yaml")));
    expect(run.code, run.output).toBe(0);
    expect(outputs()).toEqual({
      rule_order: [],
      published: ["ingress/A/192.0.2.30", "ingress/A/198.51.100.20", "k8s-api/A/100.100.10.1"],
      excluded: [],
    });
  });

  it("tunnel: the wildcard is the one rule; no address record exists to exclude", async () => {
    const run = await apply(rendered(join(FIXTURES, "ingress", "valid", "tunnel.yaml")));
    expect(run.code, run.output).toBe(0);
    expect(outputs()).toEqual({ rule_order: ["*.example.net"], published: [], excluded: [] });
  });

  it("both: exact names before wildcards; the ingress node's record and the extra record stay", async () => {
    const run = await apply(rendered(join(FIXTURES, "ingress", "valid", "both.yaml")));
    expect(run.code, run.output).toBe(0);
    expect(outputs()).toEqual({
      rule_order: ["grafana.example.net", "*.internal.example.net"],
      published: ["ingress/A/8.8.4.4", "status/CNAME/example.pages.dev"],
      excluded: [],
    });
  });

  it("a record named like an exact tunnel host name is left out (no record both ways); its TXT stays", async () => {
    const vars = rendered(join(FIXTURES, "ingress", "valid", "both.yaml"));
    vars.dns_records = [
      { name: "grafana", type: "A", content: "8.8.4.4", proxied: false, ttl: 300 },
      { name: "grafana", type: "TXT", content: "owner=ops", proxied: false, ttl: 300 },
    ];
    const run = await apply(vars);
    expect(run.code, run.output).toBe(0);
    expect(outputs()).toMatchObject({
      published: ["grafana/TXT/owner=ops"],
      excluded: ["grafana/A/8.8.4.4"],
    });
  });
});

describe("bad tunnel input is refused by the variable validations, before any provider call", () => {
  const tunnelVars = () => rendered(join(FIXTURES, "ingress", "valid", "tunnel.yaml"));
  const withTunnel = (change: Record<string, unknown>) => {
    const vars = tunnelVars();
    vars.tunnel = { ...(vars.tunnel as Record<string, unknown>), ...change };
    return vars;
  };

  it.each([
    [
      "a tunnel in public mode",
      () => ({ ...tunnelVars(), ingress_mode: "public" }),
      "tunnel must be set exactly when ingress_mode is tunnel or both",
    ],
    [
      "no tunnel in tunnel mode",
      () => ({ ...tunnelVars(), tunnel: null }),
      "tunnel must be set exactly when ingress_mode is tunnel or both",
    ],
    [
      "an unknown mode",
      () => ({ ...tunnelVars(), ingress_mode: "private" }),
      "ingress_mode must be public, tunnel or both",
    ],
    [
      "a host name outside the zone",
      () => withTunnel({ hostnames: ["app.example.com"] }),
      "must be in the zone",
    ],
    [
      "a wildcard inside a label",
      () => withTunnel({ hostnames: ["app*.example.net"] }),
      "a wildcard is the whole first label",
    ],
    [
      "a duplicate host name",
      () => withTunnel({ hostnames: ["a.example.net", "a.example.net"] }),
      "hostnames has a duplicate",
    ],
    ["no host name", () => withTunnel({ hostnames: [] }), "the tunnel would serve nothing"],
    ["a tunnel name with a space", () => withTunnel({ name: "my tunnel" }), "name must be 1-100 letters"],
    [
      "an origin without a port",
      () => withTunnel({ origin_service: "https://traefik" }),
      "origin_service must be",
    ],
  ])("%s", async (_what, vars, message) => {
    const run = await apply(vars());
    expect(run.code).not.toBe(0);
    expect(run.output.replace(/\s+/g, " ")).toContain(message);
  });
});
