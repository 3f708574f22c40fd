import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { resourcesFromSources, type Tree } from "../../../src/check/resources.js";
import { RULES } from "../../../src/check/rules/index.js";
import { loadSources } from "../../../src/check/source.js";

const FIXTURES = join(import.meta.dirname, "../../fixtures/check/rules");

/**
 * A fixture's tree: its files read straight from source (each folder one app, as a kustomization would
 * build it), with the context `infra check` derives from cluster.yaml and Git, from check-context.json
 * (default: this project's own tree on Kubernetes 1.36).
 */
async function treeOf(root: string): Promise<Tree> {
  const sources = await loadSources(root);
  expect(sources.findings, "fixture YAML must parse").toEqual([]);
  const contextFile = join(root, "check-context.json");
  const context = existsSync(contextFile)
    ? (JSON.parse(readFileSync(contextFile, "utf8")) as Partial<Tree>)
    : {};
  const resources = resourcesFromSources(sources).map((r) => ({
    ...r,
    build: dirname(r.origin?.file ?? ""),
  }));
  return { root, sources, resources, house: true, kubernetesMinor: 36, repoURLs: [], ...context };
}

async function allFindingsOf(ruleId: string, kind: "pass" | "fail") {
  const root = join(FIXTURES, ruleId, kind);
  const rule = RULES.find((r) => r.id === ruleId);
  if (!rule) throw new Error(`no rule ${ruleId}`);
  return rule.check(await treeOf(root));
}

/** What the report shows: findings on objects that carry the rule in infra-k3s.io/check-ignore are dropped. */
async function findingsOf(ruleId: string, kind: "pass" | "fail") {
  return (await allFindingsOf(ruleId, kind)).filter((f) => !f.suppressed);
}

describe("stack rules", () => {
  it("every rule has an id, a title, an upstream reason, and a pass and a fail fixture", () => {
    const dirs = readdirSync(FIXTURES).sort();
    expect(dirs).toEqual(RULES.map((r) => r.id).sort());
    for (const rule of RULES) {
      expect(rule.title.length).toBeGreaterThan(10);
      expect(rule.reason).toMatch(/#\d+|docs|README|DESIGN|spec|CHANGELOG/);
    }
  });

  for (const rule of RULES) {
    describe(rule.id, () => {
      it("passes its passing fixture", async () => {
        expect(await findingsOf(rule.id, "pass")).toEqual([]);
      });
      it("reports its failing fixture at a file and line, with a fix", async () => {
        const findings = await findingsOf(rule.id, "fail");
        expect(findings.length).toBeGreaterThan(0);
        for (const finding of findings) {
          expect(finding.rule).toBe(rule.id);
          expect(finding.message.length).toBeGreaterThan(20);
          expect(finding.file).toMatch(/^(kubernetes|tofu|tailnet|ansible)\//);
          expect(finding.line).toBeGreaterThan(0);
          expect(finding.fix.length).toBeGreaterThan(10);
        }
      });
    });
  }
});

describe("rule details", () => {
  it("velero-r2-checksum flags both the chart location and a BackupStorageLocation", async () => {
    const findings = await findingsOf("velero-r2-checksum", "fail");
    expect(findings.map((f) => `${f.file}:${f.line}`).sort()).toEqual([
      "kubernetes/bsl.yaml:11",
      "kubernetes/velero.yaml:26",
    ]);
  });

  it("gateway-listener-port points at both port lines and the chart's listener", async () => {
    const findings = await findingsOf("gateway-listener-port", "fail");
    expect(findings.map((f) => `${f.file}:${f.line}`).sort()).toEqual([
      "kubernetes/gateway.yaml:11",
      "kubernetes/gateway.yaml:14",
      "kubernetes/helmchartconfig.yaml:8",
    ]);
  });

  it("pinned-version reports the chart range, latest image, channel plan, unpinned remote and missing annotation", async () => {
    const messages = (await findingsOf("pinned-version", "fail")).map((f) => f.message).sort();
    expect(messages).toEqual(
      [
        'chart velero is not pinned to an exact version (targetRevision: "12.*")',
        "image traefik/whoami:latest is not pinned to a version",
        "image traefik/whoami:v1.11.0 has no Renovate annotation",
        "Plan server-plan follows a channel instead of a pinned version",
        "remote resource https://github.com/rancher/system-upgrade-controller/releases/latest/download/crd.yaml is not pinned to a release tag",
      ].sort(),
    );
  });

  it("dns-name-collision names the Tofu record", async () => {
    const [finding] = await findingsOf("dns-name-collision", "fail");
    expect(finding?.message).toContain('OpenTofu record "k8s-api"');
    expect(finding?.line).toBe(12);
  });

  it("sops-unencrypted reports the missing metadata and the hand-edited value", async () => {
    const findings = await findingsOf("sops-unencrypted", "fail");
    expect(findings.map((f) => f.message).sort()).toEqual([
      "edited.sops.yaml has a plaintext value at stringData.api-token",
      "plain.sops.yaml is not SOPS-encrypted (no `sops` metadata)",
    ]);
  });
});

describe("cross-object rule details", () => {
  it("route-parent: wrong sectionName, port, hostname and namespace, each on the route", async () => {
    const messages = (await findingsOf("route-parent", "fail")).map((f) => `${f.line}: ${f.message}`);
    expect(messages).toEqual([
      "9: HTTPRoute wrong-section: Gateway kube-system/public has no listener websecur (listeners: web, websecure, internal)",
      "23: HTTPRoute wrong-port: no listener of Gateway kube-system/public listens on port 443 (ports: 8000, 8443)",
      "38: HTTPRoute wrong-host: none of its hostnames (blog.example.org) matches listener websecure (*.example.com) of Gateway kube-system/public",
      "51: HTTPRoute wrong-namespace (namespace blog) cannot attach to listener internal of Gateway kube-system/public: it accepts routes of its own namespace kube-system only (allowedRoutes.namespaces.from: Same)",
    ]);
  });

  it("route-backend: a port the Service does not expose, a missing port, another namespace without ReferenceGrant", async () => {
    const messages = (await findingsOf("route-backend", "fail")).map((f) => f.message).sort();
    expect(messages).toEqual([
      "HTTPRoute no-port: backendRef blog has no port (required when the backend is a Service)",
      "HTTPRoute other-namespace: backendRef docs/docs is in another namespace and no ReferenceGrant in docs allows it",
      "HTTPRoute wrong-port: Service blog exposes 80 (http), not 8080",
    ]);
  });

  it("certificate-hostnames: reported on the Certificate, naming the listener hostname it misses", async () => {
    const findings = await findingsOf("certificate-hostnames", "fail");
    expect(findings.map((f) => `${f.file}:${f.line}`)).toEqual([
      "kubernetes/gateway.yaml:44",
      "kubernetes/gateway.yaml:44",
    ]);
    expect(findings[0]?.message).toBe(
      "Certificate wildcard-tls (Secret wildcard-tls) names example.com, www.example.com, not *.example.com, which listener websecure of Gateway public serves with it",
    );
  });

  it("remote-source-pinned: HEAD, a branch, a `*` chart, a Flux branch and a chart range", async () => {
    const messages = (await findingsOf("remote-source-pinned", "fail")).map((f) => f.message).sort();
    expect(messages).toEqual([
      "Application branch follows https://github.com/example/addons.git at branch main",
      "Application head follows https://github.com/example/addons.git at HEAD",
      'Application star: chart podinfo is not pinned (targetRevision: "*")',
      "GitRepository addons follows branch main of https://github.com/example/addons.git",
      'HelmRelease podinfo: chart podinfo is not pinned (version: ">=6.0.0")',
    ]);
  });

  it("velero-schedule: Velero's own parser errors, at the field", async () => {
    const findings = await findingsOf("velero-schedule", "fail");
    expect(findings.map((f) => `${f.line}: ${f.message}`)).toEqual([
      '8: Schedule seconds: Velero rejects the schedule "0 0 3 * * *": expected exactly 5 fields, found 6: [0 0 3 * * *]',
      '21: Schedule days: Velero rejects the TTL "30d": "d" is not a unit (use h, m, s, ms, us or ns)',
      '30: Schedule quartz: Velero rejects the schedule "0 3 L * *": extended day-of-month syntax requires DomL option (for L, L-n) or DomW option (for nW, LW) to be enabled',
    ]);
  });

  it("orphans: the unlisted file and the loose one, not the bootstrap entry point or the template", async () => {
    const files = (await findingsOf("orphan-manifest", "fail")).map((f) => f.file).sort();
    expect(files).toEqual(["kubernetes/apps/forgotten.yaml", "kubernetes/stray/loose.yaml"]);
    const folders = (await findingsOf("orphan-folder", "fail")).map((f) => f.file);
    expect(folders).toEqual(["kubernetes/apps/wiki/kustomization.yaml"]);
  });

  it("hygiene warnings are silenced per object by infra-k3s.io/check-ignore", async () => {
    const all = await allFindingsOf("workload-probes", "pass");
    expect(all).toEqual([
      expect.objectContaining({ rule: "workload-probes", suppressed: true, severity: "warning" }),
    ]);
  });

  it("api-removed: the release that removed it and the replacement", async () => {
    const messages = (await findingsOf("api-removed", "fail")).map((f) => f.message);
    expect(messages).toEqual([
      "HorizontalPodAutoscaler blog: autoscaling/v2beta2 HorizontalPodAutoscaler was removed in Kubernetes 1.26 (this cluster runs 1.36): use autoscaling/v2",
      "PodDisruptionBudget blog: policy/v1beta1 PodDisruptionBudget was removed in Kubernetes 1.25 (this cluster runs 1.36): use policy/v1",
      "Middleware strip: traefik.containo.us/v1alpha1 Middleware was removed by Traefik v3 (the Traefik K3s bundles): use traefik.io/v1alpha1",
    ]);
  });
});

describe("tunnel rules", () => {
  it("tunnel-origin-service reads Traefik's ports from the HelmChartConfig (websecure moved to 8443)", async () => {
    const [finding] = await findingsOf("tunnel-origin-service", "fail");
    expect(finding?.file).toBe("tofu/cluster.auto.tfvars.json");
    expect(finding?.line).toBe(10);
    expect(finding?.message).toBe(
      "the tunnel's origin https://traefik.kube-system.svc.cluster.local:443: the Service kube-system/traefik has no port 443 (it has 80, 8443, from the Traefik chart K3s bundles (HelmChartConfig kube-system/traefik))",
    );
  });

  it("route-hostname-served: a name outside external-dns's filter, and one it excludes for the tunnel but the tunnel does not serve", async () => {
    const messages = (await findingsOf("route-hostname-served", "fail")).map((f) => `${f.line} ${f.message}`);
    expect(messages).toEqual([
      "12 host name shop.example.org is served by neither the Cloudflare Tunnel (tunnel.example.com) nor a public record (external-dns manages example.com)",
      "13 host name api.tunnel.example.com is served by neither the Cloudflare Tunnel (tunnel.example.com) nor a public record (external-dns manages example.com)",
    ]);
  });

  it("proxied-record-ttl flags the rendered record and the route's annotation", async () => {
    const findings = await findingsOf("proxied-record-ttl", "fail");
    expect(findings.map((f) => `${f.file}:${f.line} ${f.message}`).sort()).toEqual([
      "kubernetes/route.yaml:9 HTTPRoute shop asks for a 300 TTL on a proxied record",
      "tofu/cluster.auto.tfvars.json:6 the proxied record status (CNAME) has ttl 300",
    ]);
  });
});

describe("tailnet-policy", () => {
  it("reports the stale tagOwners block, tags no owner defines (a typo in the user's rule), and the node override without its role tag", async () => {
    const findings = await findingsOf("tailnet-policy", "fail");
    expect(findings.map((f) => `${f.severity} ${f.file}:${f.line} ${f.message}`)).toEqual([
      "error tailnet/policy.hujson:15 the tagOwners block is stale against cluster.yaml",
      "error tailnet/policy.hujson:24 names tag:monitoring, which tagOwners does not define: the control server would refuse the policy (a typo?)",
      "error tailnet/policy.hujson:24 names tag:k8s-agnet, which tagOwners does not define: the control server would refuse the policy (a typo?)",
      "error ansible/inventory/host_vars/vultr-ams-1.yml:3 tailscale_tags lacks tag:k8s-agent: the agent would join without the tags the tailnet policy opens the cluster's ports to",
    ]);
  });
});
