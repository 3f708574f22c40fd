import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { validateConfigText } from "../../../src/config/load.js";
import type { ClusterConfig } from "../../../src/config/schema.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import { RENDERED_FILES, renderAll } from "../../../src/render/render.js";
import { expectGolden } from "../../helpers/golden.js";

const fixtures = join(PACKAGE_ROOT, "test", "fixtures", "config");

function load(path: string): ClusterConfig {
  const { config, problems } = validateConfigText(readFileSync(path, "utf8"), path);
  if (!config) throw new Error(JSON.stringify(problems));
  return config;
}

const example = load(join(PACKAGE_ROOT, "cluster.example.yaml"));
const ha = load(join(fixtures, "valid", "ha-3-servers.yaml"));

describe("golden renderings", () => {
  it("the committed rendered files are the rendering of cluster.example.yaml", () => {
    for (const file of renderAll(example, "cluster.example.yaml")) {
      expect(
        readFileSync(join(PACKAGE_ROOT, file.path), "utf8"),
        `${file.path} is stale: run \`infra configure\``,
      ).toBe(file.content);
    }
  });

  it("renders the HA fixture exactly as its golden files (`npm run golden:update` rewrites them)", () => {
    for (const file of renderAll(ha, "cluster.yaml"))
      expectGolden(file.content, join(fixtures, "golden", "ha-3-servers", file.path));
  });

  it("is deterministic", () => {
    expect(renderAll(ha, "cluster.yaml")).toEqual(renderAll(ha, "cluster.yaml"));
  });
});

describe("rendered contracts", () => {
  const files = Object.fromEntries(renderAll(ha, "cluster.yaml").map((f) => [f.path, f.content]));
  // biome-ignore lint/suspicious/noExplicitAny: parsed YAML whose shape the assertions check
  const yaml = (path: string) => parse(files[path] ?? "") as Record<string, any>;

  it("every file starts with the header naming its source", () => {
    for (const [path, content] of Object.entries(files)) {
      if (path.endsWith(".json"))
        expect(JSON.parse(content)["//"]).toMatch(/^Rendered by `infra configure` from cluster\.yaml/);
      else
        expect(content.split("\n")[0]).toBe(
          "# Rendered by `infra configure` from cluster.yaml — do not edit; change cluster.yaml and re-run.",
        );
    }
  });

  it("inventory: servers in k3s_masters, agents in k3s_workers, host vars per contract", () => {
    const inv = yaml(RENDERED_FILES.inventory);
    const masters = inv.k3s_cluster.children.k3s_masters.hosts;
    const workers = inv.k3s_cluster.children.k3s_workers.hosts;
    expect(Object.keys(masters)).toEqual(["cp-1", "cp-2", "cp-3"]);
    expect(Object.keys(workers)).toEqual(["edge-1", "batch-1"]);
    expect(masters["cp-1"]).toEqual({
      public_ip: "5.75.1.1",
      tailscale_ip: "100.64.0.1",
      ansible_user: "ops",
      ansible_port: 2222,
      node_provider: "hetzner",
      node_region: "fsn1",
      node_ingress: false,
      node_labels: {},
      node_taints: [],
    });
    expect(masters["cp-3"].tailscale_ip).toBeUndefined();
    expect(workers["edge-1"].node_labels).toEqual({ "example.org/tier": "edge", ready: "true" });
    expect(workers["edge-1"].node_taints).toEqual(["dedicated=edge:NoSchedule"]);
    expect(workers["batch-1"]).toMatchObject({
      ansible_user: "admin",
      ansible_port: 22,
      ansible_ssh_private_key_file: "~/.ssh/aws.pem",
      node_instance_type: "t3.large",
      node_ingress: false,
    });
    expect(JSON.stringify(inv)).not.toMatch(/ansible_host|k3s_first_server/);
  });

  it("an agent-less cluster renders an empty k3s_workers group", () => {
    const solo = load(join(fixtures, "valid", "single-node.yaml"));
    const inv = parse(renderAll(solo, "cluster.yaml")[0]?.content ?? "");
    expect(inv.k3s_cluster.children.k3s_workers).toEqual({});
  });

  it("cluster vars: the contract's keys, EU endpoint, disabled etcd snapshots", () => {
    expect(yaml(RENDERED_FILES.clusterVars)).toEqual({
      cluster_name: "prod",
      cluster_domain: "k8s.example.org",
      k3s_version: "v1.37.1+k3s1",
      k3s_cluster_cidr: "10.52.0.0/16",
      k3s_service_cidr: "10.53.0.0/16",
      k3s_api_hostname: "k8s-api.k8s.example.org",
      ingress_mode: "public",
      tailscale_server_tags: ["tag:k8s", "tag:prod", "tag:k8s-server"],
      tailscale_agent_tags: ["tag:k8s", "tag:prod", "tag:k8s-agent"],
      tailscale_login_server: "https://headscale.example.org",
      etcd_s3_enabled: false,
      etcd_s3_endpoint: "00112233445566778899aabbccddeeff.eu.r2.cloudflarestorage.com",
      etcd_s3_bucket: "prod-backups",
      etcd_s3_folder: "etcd/prod",
    });
  });

  it("tofu vars: records relative to the zone, the bucket object", () => {
    const vars = JSON.parse(files[RENDERED_FILES.tofuVars] ?? "{}");
    expect(Object.keys(vars)).toEqual([
      "//",
      "cluster_name",
      "cloudflare_account_id",
      "zone_name",
      "dns_records",
      "r2_bucket",
      "ingress_mode",
      "tunnel",
    ]);
    expect(vars.ingress_mode).toBe("public");
    expect(vars.tunnel).toBeNull();
    expect(vars.zone_name).toBe("example.org");
    expect(vars.dns_records).toEqual([
      { name: "k8s-api.k8s", type: "A", content: "100.64.0.1", proxied: false, ttl: 300 },
      { name: "k8s-api.k8s", type: "A", content: "100.64.0.2", proxied: false, ttl: 300 },
      { name: "ingress.k8s", type: "A", content: "45.32.1.1", proxied: false, ttl: 300 },
      { name: "status", type: "CNAME", content: "example.pages.dev", proxied: true, ttl: 1 },
    ]);
    expect(vars.r2_bucket).toEqual({
      name: "prod-backups",
      location: "weur",
      storage_class: "InfrequentAccess",
      jurisdiction: "eu",
    });
  });

  it("cluster values: a local-config ConfigMap with exactly the contract's keys", () => {
    const cm = yaml(RENDERED_FILES.clusterValues);
    expect(cm.metadata).toEqual({
      name: "cluster-values",
      namespace: "argocd",
      annotations: { "config.kubernetes.io/local-config": "true" },
    });
    expect(cm.data).toEqual({
      clusterName: "prod",
      domain: "k8s.example.org",
      wildcardDomain: "*.k8s.example.org",
      acmeEmail: "certs@example.org",
      acmeIssuer: "letsencrypt-production",
      txtOwnerId: "prod-k3s",
      r2Bucket: "prod-backups",
      r2Endpoint: "https://00112233445566778899aabbccddeeff.eu.r2.cloudflarestorage.com",
      veleroPrefix: "clusters/prod",
      gitRepoURL: "https://git.example.org/platform/infra-k3s.git",
      gitRevision: "v2.1.0",
      k3sVersion: "v1.37.1+k3s1",
      backupDailySchedule: "30 2 * * *",
      backupDailyTTL: "336h",
      backupCriticalSchedule: "@hourly",
      backupCriticalTTL: "72h",
    });
    expect(Object.values(cm.data).every((v) => typeof v === "string")).toBe(true);
  });
});

describe("ingress modes in the rendered files", () => {
  const tunnel = load(join(fixtures, "ingress", "valid", "tunnel.yaml"));
  const both = load(join(fixtures, "ingress", "valid", "both.yaml"));
  const rendered = (config: ClusterConfig) =>
    Object.fromEntries(renderAll(config, "cluster.yaml").map((f) => [f.path, f.content]));

  it("public: the component deletes the tunnel's Applications by label; tofu has no tunnel", () => {
    const files = rendered(ha);
    const component = parse(files[RENDERED_FILES.ingressComponent] ?? "");
    expect(component.kind).toBe("Component");
    expect(component.patches).toEqual([
      {
        target: { group: "argoproj.io", kind: "Application", labelSelector: "infra-k3s.io/ingress=tunnel" },
        patch: expect.stringContaining("$patch: delete"),
      },
    ]);
    expect(files[RENDERED_FILES.ingressComponent]).toMatch(/^# ingress\.mode: public/m);
  });

  it("tunnel: the tunnel's variables, no ingress record, external-dns excludes every name below the domain", () => {
    const files = rendered(tunnel);
    const vars = JSON.parse(files[RENDERED_FILES.tofuVars] ?? "{}");
    expect(vars.ingress_mode).toBe("tunnel");
    expect(vars.tunnel).toEqual({
      name: "infra-k3s-home",
      hostnames: ["*.example.net"],
      origin_service: "https://traefik.kube-system.svc.cluster.local:443",
      origin_tls_verify: true,
    });
    expect(vars.dns_records).toEqual([]);
    const component = parse(files[RENDERED_FILES.ingressComponent] ?? "");
    expect(component.patches).toHaveLength(1);
    expect(component.patches[0].target).toEqual({
      group: "argoproj.io",
      kind: "Application",
      name: "external-dns",
    });
    expect(parse(component.patches[0].patch)).toEqual([
      { op: "add", path: "/spec/source/helm/valuesObject/excludeDomains", value: [".example.net"] },
    ]);
    expect(parse(files[RENDERED_FILES.clusterVars] ?? "").ingress_mode).toBe("tunnel");
  });

  it("both: exact names and wildcards become exclusions; the ingress node keeps its record; staging is not verified", () => {
    const staging = load(join(fixtures, "ingress", "valid", "both.yaml"));
    staging.acme.environment = "staging";
    const vars = JSON.parse(rendered(staging)[RENDERED_FILES.tofuVars] ?? "{}");
    expect(vars.tunnel.origin_tls_verify).toBe(false);
    const files = rendered(both);
    const tofu = JSON.parse(files[RENDERED_FILES.tofuVars] ?? "{}");
    expect(tofu.tunnel.hostnames).toEqual(["grafana.example.net", "*.internal.example.net"]);
    expect(tofu.dns_records.map((r: { name: string }) => r.name)).toEqual(["ingress", "status"]);
    const component = parse(files[RENDERED_FILES.ingressComponent] ?? "");
    expect(parse(component.patches[0].patch)[0].value).toEqual([
      "grafana.example.net",
      ".internal.example.net",
    ]);
  });
});
