/**
 * The ingress part of `infra plan`: per mode, the tunnel and its records, the HTTPRoute host names
 * whose records the tunnel replaces, what external-dns leaves alone, public 80/443 per node, and the
 * tunnel's Applications left out in public mode.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { validateConfigText } from "../../../src/config/load.js";
import type { ClusterConfig } from "../../../src/config/schema.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import { scanApplications } from "../../../src/plan/argo-apps.js";
import { planIngress, renderIngress } from "../../../src/plan/ingress.js";
import { buildPlan } from "../../../src/plan/plan.js";
import { scanRouteHosts } from "../../../src/plan/routes.js";

const fixtures = join(PACKAGE_ROOT, "test", "fixtures", "config");
const load = (path: string): ClusterConfig => {
  const { config, problems } = validateConfigText(readFileSync(join(fixtures, path), "utf8"), path);
  if (!config) throw new Error(JSON.stringify(problems));
  return config;
};
const tunnel = load("ingress/valid/tunnel.yaml");
const both = load("ingress/valid/both.yaml");
const ha = load("valid/ha-3-servers.yaml");
const route = (hostname: string, name = "shop") => ({ hostname, route: `shop/${name}`, file: "x.yaml" });

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "infra-plan-ingress-"));
  dirs.push(dir);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

describe("planIngress", () => {
  it("tunnel: the tunnel, its wildcard CNAME, the route records it replaces, every node denied", () => {
    const plan = planIngress(tunnel, [route("shop.example.net"), route("www.elsewhere.org", "other")]);
    expect(plan.mode).toBe("tunnel");
    expect(plan.tunnel).toEqual({
      name: "infra-k3s-home",
      hostnames: ["*.example.net"],
      origin: "https://traefik.kube-system.svc.cluster.local:443",
      originTlsVerify: true,
      records: [
        {
          name: "*.example.net",
          type: "CNAME",
          content: "<tunnel-id>.cfargotunnel.com",
          proxied: true,
          ttl: 1,
        },
      ],
    });
    expect(plan.replaces).toEqual([
      {
        hostname: "shop.example.net",
        route: "shop/shop",
        was: "A records to the ingress nodes (external-dns)",
        by: "*.example.net",
      },
    ]);
    expect(plan.public).toEqual([]);
    expect(plan.externalDnsExcludes).toEqual([".example.net"]);
    expect(plan.publicHttp).toEqual([
      { node: "home-1", state: "denied", serviceLb: false },
      { node: "vps-1", state: "denied", serviceLb: false },
    ]);
    const text = renderIngress(plan).join("\n");
    expect(text).toContain("Ingress: tunnel");
    expect(text).toContain("*.example.net  CNAME  <tunnel-id>.cfargotunnel.com");
    expect(text).toContain(
      "shop.example.net (shop/shop): A records to the ingress nodes (external-dns) -> the tunnel (*.example.net)",
    );
    expect(text).toContain(
      "public 80/443: denied on the public interface of every node (firewall); ServiceLB binds no node",
    );
  });

  it("both: the tunnel's names are replaced, the rest stay with external-dns; the ingress node stays open", () => {
    const plan = planIngress(both, [route("grafana.example.net"), route("shop.example.net", "web")]);
    expect(plan.replaces.map((r) => `${r.hostname} by ${r.by}`)).toEqual([
      "grafana.example.net by grafana.example.net",
    ]);
    expect(plan.public).toEqual([{ hostname: "shop.example.net", route: "shop/web" }]);
    expect(plan.publicHttp).toEqual([{ node: "home-1", state: "open", serviceLb: true }]);
    expect(renderIngress(plan).join("\n")).toContain("origin certificate verified");
  });

  it("public: no tunnel, every route with external-dns, only ingress nodes open", () => {
    const plan = planIngress(ha, [route("shop.k8s.example.org")]);
    expect(plan.tunnel).toBeNull();
    expect(plan.replaces).toEqual([]);
    expect(plan.externalDnsExcludes).toEqual([]);
    expect(plan.public).toHaveLength(1);
    expect(plan.publicHttp.filter((n) => n.state === "open").map((n) => n.node)).toEqual(["edge-1"]);
    expect(plan.publicHttp.filter((n) => n.state === "default-deny")).toHaveLength(4);
    expect(renderIngress(plan).join("\n")).toMatch(
      /public 80\/443: open on edge-1 .*closed on the other nodes/,
    );
  });
});

describe("the tree's HTTPRoutes and Applications", () => {
  const files = {
    "kubernetes/apps/shop/route.yaml": [
      "apiVersion: gateway.networking.k8s.io/v1",
      "kind: HTTPRoute",
      "metadata:",
      "  name: shop",
      "  namespace: shop",
      "  annotations: {infra-k3s.io/hostname-suffix: cluster-domain}",
      "spec:",
      "  hostnames: [shop.cluster-domain, Static.Example.NET]",
      "",
    ].join("\n"),
    "kubernetes/apps/_template/route.yaml":
      "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: t}\nspec: {hostnames: [t.cluster-domain]}\n",
    "kubernetes/infrastructure/cloudflared.yaml": [
      "apiVersion: argoproj.io/v1alpha1",
      "kind: Application",
      "metadata:",
      "  name: cloudflared",
      "  labels: {infra-k3s.io/ingress: tunnel}",
      "spec: {source: {path: kubernetes/infrastructure/cloudflared}}",
      "",
    ].join("\n"),
    "kubernetes/infrastructure/traefik.yaml":
      "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: traefik}\nspec: {source: {path: kubernetes/infrastructure/traefik}}\n",
  };

  it("reads route host names, with the cluster domain after the first label, skipping templates", async () => {
    expect(await scanRouteHosts(tree(files), "example.net")).toEqual([
      { hostname: "shop.example.net", route: "shop/shop", file: "kubernetes/apps/shop/route.yaml" },
      { hostname: "static.example.net", route: "shop/shop", file: "kubernetes/apps/shop/route.yaml" },
    ]);
  });

  it("leaves the tunnel's Applications out of the plan in public mode, keeps them otherwise", async () => {
    const root = tree(files);
    const { applications } = await scanApplications(root);
    const names = (config: ClusterConfig) =>
      buildPlan({
        config,
        source: { path: "cluster.yaml", origin: "cluster.yaml", display: "cluster.yaml" },
        warnings: [],
        playbooks: [],
        applications,
        versions: [],
      }).applications.map((a) => a.name);
    expect(names(ha)).toEqual(["traefik"]);
    expect(names(tunnel)).toEqual(["cloudflared", "traefik"]);
  });
});
