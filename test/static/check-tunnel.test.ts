/**
 * `infra check` over the GitOps tree in each ingress mode (the real kustomize, kubeconform and rules),
 * rendered from cluster.yaml exactly as `infra configure` writes it, and the tunnel rules failing at a
 * located line when the tree or the rendered variables are broken on purpose.
 */
import { readFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { exec } from "../../src/adapters/exec.js";
import { checkCommand } from "../../src/check/check-command.js";
import { validateConfigText } from "../../src/config/load.js";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { renderAll } from "../../src/render/render.js";
import { context, copyCommittedTree, isolatedEnv } from "./check-helpers.js";

const FIXTURES = join(PACKAGE_ROOT, "test", "fixtures", "config");
const TOFU_VARS = "tofu/cluster.auto.tfvars.json";
const cleanup: string[] = [];
afterAll(async () => {
  await Promise.all(cleanup.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** The committed tree with a cluster.yaml and its rendered files (as `infra configure` writes them). */
async function treeFor(fixture: string): Promise<string> {
  const root = await copyCommittedTree();
  cleanup.push(root);
  const text = readFileSync(fixture, "utf8");
  const { config, problems } = validateConfigText(text, fixture);
  if (!config) throw new Error(JSON.stringify(problems));
  // infra check reads the cluster's facts (domain, mode) from the root's cluster.yaml, as configure did.
  await writeFile(join(root, "cluster.yaml"), text);
  for (const file of renderAll(config, "cluster.yaml")) {
    if (file.path.startsWith("ansible/")) continue;
    await mkdir(dirname(join(root, file.path)), { recursive: true });
    await writeFile(join(root, file.path), file.content);
  }
  return root;
}

async function check(root: string) {
  return checkCommand(context(root, await isolatedEnv()));
}

const errorsOf = (
  findings: { severity: string; rule: string; file: string; line?: number; message: string }[],
) => findings.filter((f) => f.severity === "error");

// biome-ignore lint/suspicious/noExplicitAny: a parsed JSON file the test edits in place
async function editJson(root: string, file: string, change: (value: any) => void) {
  const path = join(root, file);
  const value = JSON.parse(await readFile(path, "utf8"));
  change(value);
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** The line of the nth (1-based) line holding `needle`. */
function lineOf(root: string, file: string, needle: string, nth = 1): number {
  const lines = readFileSync(join(root, file), "utf8").split("\n");
  let seen = 0;
  return lines.findIndex((l) => l.includes(needle) && ++seen === nth) + 1;
}

/** A built object, as far as these tests read it. */
interface Built {
  kind?: string;
  metadata?: { name?: string };
  spec?: {
    source?: { path?: string; repoURL?: string; helm?: { valuesObject?: { excludeDomains?: string[] } } };
  };
}

const ROUTE = (hostname: string, annotations = "") =>
  [
    "---",
    "apiVersion: gateway.networking.k8s.io/v1",
    "kind: HTTPRoute",
    "metadata:",
    "  name: shop",
    "  namespace: shop",
    annotations,
    "spec:",
    "  parentRefs:",
    "    - name: public",
    "      namespace: kube-system",
    "  hostnames:",
    `    - ${hostname}`,
    "  rules:",
    "    - backendRefs:",
    "        - name: shop",
    "          port: 80",
    "",
  ]
    .filter((l) => l !== "")
    .join("\n");

async function addRoute(root: string, hostname: string, annotations = "") {
  const dir = join(root, "kubernetes", "apps", "shop");
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "httproute.yaml"), `${ROUTE(hostname, annotations)}\n`);
  await writeFile(
    join(dir, "kustomization.yaml"),
    "---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - httproute.yaml\n",
  );
}

describe("infra check over the tree in tunnel mode", () => {
  it("passes, and the infrastructure build has cloudflared and external-dns's exclusions", async () => {
    const root = await treeFor(join(FIXTURES, "ingress", "valid", "tunnel.yaml"));
    const result = await check(root);
    expect(errorsOf(result.data.findings)).toEqual([]);
    expect(result.exitCode).toBe(0);
    const built = await exec("kubectl", ["kustomize", join(root, "kubernetes", "infrastructure")]);
    const objects = parseAllDocuments(built.stdout).map((d) => d.toJS() as Built);
    const cloudflared = objects.find((o) => o.kind === "Application" && o.metadata?.name === "cloudflared");
    expect(cloudflared?.spec?.source).toMatchObject({
      path: "kubernetes/infrastructure/cloudflared",
      repoURL: "git@github.com:example/home.git",
    });
    const externalDns = objects.find((o) => o.kind === "Application" && o.metadata?.name === "external-dns");
    expect(externalDns?.spec?.source?.helm?.valuesObject?.excludeDomains).toEqual([".example.net"]);
  });

  it("in public mode (the committed example) the build has no cloudflared and no exclusions", async () => {
    const root = await copyCommittedTree();
    cleanup.push(root);
    const built = await exec("kubectl", ["kustomize", join(root, "kubernetes", "infrastructure")]);
    const objects = parseAllDocuments(built.stdout).map((d) => d.toJS() as Built);
    expect(objects.some((o) => o.metadata?.name === "cloudflared")).toBe(false);
    const externalDns = objects.find((o) => o.kind === "Application" && o.metadata?.name === "external-dns");
    expect(externalDns?.spec?.source?.helm?.valuesObject?.excludeDomains).toBeUndefined();
  });

  it("a tunnel origin on a port the Service does not have is an error at the rendered line", async () => {
    const root = await treeFor(join(FIXTURES, "ingress", "valid", "tunnel.yaml"));
    await editJson(root, TOFU_VARS, (v) => {
      v.tunnel.origin_service = "https://traefik.kube-system.svc.cluster.local:8443";
    });
    const result = await check(root);
    expect(errorsOf(result.data.findings)).toEqual([
      expect.objectContaining({
        rule: "tunnel-origin-service",
        file: TOFU_VARS,
        line: lineOf(root, TOFU_VARS, '"origin_service"'),
        message: expect.stringContaining("the Service kube-system/traefik has no port 8443 (it has 80, 443"),
      }),
    ]);
    expect(result.exitCode).toBe(1);
  });

  it("a tunnel origin on Traefik's HTTP port is a redirect loop", async () => {
    const root = await treeFor(join(FIXTURES, "ingress", "valid", "tunnel.yaml"));
    await editJson(root, TOFU_VARS, (v) => {
      v.tunnel.origin_service = "http://traefik.kube-system.svc.cluster.local:80";
    });
    const [finding] = errorsOf((await check(root)).data.findings);
    expect(finding?.rule).toBe("tunnel-origin-service");
    expect(finding?.message).toMatch(/web entrypoint, which redirects to HTTPS: .* redirected forever/);
  });

  it("a tunnel origin naming a Service nobody defines is an error", async () => {
    const root = await treeFor(join(FIXTURES, "ingress", "valid", "tunnel.yaml"));
    await editJson(root, TOFU_VARS, (v) => {
      v.tunnel.origin_service = "https://traefk.kube-system.svc.cluster.local:443";
    });
    const [finding] = errorsOf((await check(root)).data.findings);
    expect(finding?.message).toMatch(
      /names the Service kube-system\/traefk, which neither kubernetes\/ nor K3s's bundled Traefik defines/,
    );
  });

  it("an HTTPRoute host name the tunnel does not serve is served by nothing in tunnel mode", async () => {
    const root = await treeFor(join(FIXTURES, "ingress", "valid", "tunnel.yaml"));
    // Inside the domain, but the apex: the tunnel's *.example.net covers the names below it only.
    await addRoute(root, "example.net");
    const file = "kubernetes/apps/shop/httproute.yaml";
    const result = await check(root);
    expect(errorsOf(result.data.findings)).toEqual([
      expect.objectContaining({
        rule: "route-hostname-served",
        file,
        line: lineOf(root, file, "- example.net"),
        message:
          "host name example.net is served by neither the Cloudflare Tunnel (*.example.net) nor a public record (ingress.mode is tunnel: nothing is published)",
      }),
    ]);
  });

  it("a route outside the cluster domain is one finding (hostname-domain), not two; one inside is fine", async () => {
    const root = await copyCommittedTree();
    cleanup.push(root);
    await addRoute(root, "shop.example.com");
    expect(errorsOf((await check(root)).data.findings)).toEqual([]);
    await addRoute(root, "shop.example.org");
    expect(errorsOf((await check(root)).data.findings)).toEqual([
      expect.objectContaining({ rule: "hostname-domain", file: "kubernetes/apps/shop/httproute.yaml" }),
    ]);
    const tunnel = await treeFor(join(FIXTURES, "ingress", "valid", "tunnel.yaml"));
    await addRoute(tunnel, "shop.other.org");
    expect(errorsOf((await check(tunnel)).data.findings).map((f) => f.rule)).toEqual(["hostname-domain"]);
  });

  it("a proxied record asking for a TTL is an error, in the rendered records and on a route", async () => {
    const root = await treeFor(join(FIXTURES, "ingress", "valid", "both.yaml"));
    await editJson(root, TOFU_VARS, (v) => {
      v.dns_records[1].ttl = 300;
    });
    await addRoute(
      root,
      "shop.example.net",
      '  annotations:\n    external-dns.kubernetes.io/cloudflare-proxied: "true"\n    external-dns.kubernetes.io/ttl: "5m"',
    );
    const errors = errorsOf((await check(root)).data.findings);
    expect(errors.map((f) => `${f.rule} ${f.file}:${f.line}`).sort()).toEqual(
      [
        `proxied-record-ttl kubernetes/apps/shop/httproute.yaml:${lineOf(root, "kubernetes/apps/shop/httproute.yaml", "external-dns.kubernetes.io/ttl")}`,
        `proxied-record-ttl ${TOFU_VARS}:${lineOf(root, TOFU_VARS, '"ttl": 300', 2)}`,
      ].sort(),
    );
    expect(errors.find((f) => f.file === TOFU_VARS)?.message).toBe(
      "the proxied record status (CNAME) has ttl 300",
    );
  });
});
