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
          expect(finding.file).toMatch(/^(kubernetes|tofu)\//);
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
