import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { validateConfigText } from "../../../src/config/load.js";
import type { CommandContext } from "../../../src/context.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import { scanApplications } from "../../../src/plan/argo-apps.js";
import { buildPlan } from "../../../src/plan/plan.js";
import { planCommand } from "../../../src/plan/plan-command.js";
import { readPlaybooks, resolveHosts, templateHosts } from "../../../src/plan/playbooks.js";
import { silentReporter } from "../../../src/ui/reporter.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "infra-plan-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(path: string, text: string): void {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), text);
}

const haText = readFileSync(
  join(PACKAGE_ROOT, "test", "fixtures", "config", "valid", "ha-3-servers.yaml"),
  "utf8",
);
const ha = validateConfigText(haText, "cluster.yaml").config;
if (!ha) throw new Error("HA fixture invalid");
const source = { path: "/x/cluster.yaml", origin: "cluster.yaml" as const, display: "cluster.yaml" };

describe("host patterns", () => {
  const groups = { k3s_cluster: ["a", "b", "c", "d"], k3s_masters: ["a", "b", "c"], k3s_workers: ["d"] };
  const all = ["a", "b", "c", "d"];
  it.each([
    ["k3s_cluster", ["a", "b", "c", "d"]],
    ["k3s_masters[0]", ["a"]],
    ["k3s_masters[1:]", ["b", "c"]],
    ["k3s_masters:k3s_workers", ["a", "b", "c", "d"]],
    ["k3s_cluster:!k3s_masters[0]", ["b", "c", "d"]],
    ["k3s_cluster:&k3s_workers", ["d"]],
    ["all", ["a", "b", "c", "d"]],
    ["b,d", ["b", "d"]],
    ["nothing", []],
  ])("%s -> %j", (pattern, hosts) => {
    expect(resolveHosts(pattern, groups, all)).toEqual(hosts);
  });

  it("resolves Jinja defaults and import vars in host patterns", () => {
    expect(templateHosts("{{ preflight_hosts | default('k3s_cluster') }}", {})).toBe("k3s_cluster");
    expect(
      templateHosts("{{ preflight_hosts | default('k3s_cluster') }}", { preflight_hosts: "k3s_masters" }),
    ).toBe("k3s_masters");
  });
});

describe("playbooks", () => {
  it("uses the documented sequence when the playbooks do not exist", async () => {
    const books = await readPlaybooks(dir);
    expect(books.map((b) => [b.file, b.source])).toEqual([
      ["ansible/playbooks/bootstrap.yml", "documented"],
      ["ansible/playbooks/k3s-cluster.yml", "documented"],
    ]);
  });

  it("reads plays, roles, imported playbooks and their vars", async () => {
    write(
      "ansible/playbooks/bootstrap.yml",
      "- ansible.builtin.import_playbook: checks.yml\n  vars:\n    targets: k3s_masters\n- hosts: k3s_cluster\n  roles:\n    - common\n    - role: firewall\n",
    );
    write(
      "ansible/playbooks/checks.yml",
      "- name: Checks\n  hosts: \"{{ targets | default('all') }}\"\n  tasks: []\n",
    );
    write(
      "ansible/playbooks/k3s-cluster.yml",
      "- hosts: k3s_masters\n  tasks:\n    - ansible.builtin.include_role:\n        name: k3s_server\n",
    );
    const books = await readPlaybooks(dir);
    expect(books[0]).toEqual({
      file: "ansible/playbooks/bootstrap.yml",
      source: "file",
      plays: [
        { name: "Checks", hosts: "k3s_masters", roles: [] },
        { hosts: "k3s_cluster", roles: ["common", "firewall"] },
      ],
    });
    expect(books[1]?.plays).toEqual([{ hosts: "k3s_masters", roles: ["k3s_server"] }]);
  });
});

describe("Argo CD applications", () => {
  it("finds Applications and ApplicationSets anywhere under kubernetes/, in sync-wave order", async () => {
    write(
      "kubernetes/bootstrap/apps.yaml",
      [
        "apiVersion: argoproj.io/v1alpha1",
        "kind: Application",
        "metadata:",
        "  name: late",
        "  annotations:",
        '    argocd.argoproj.io/sync-wave: "5"',
        "spec:",
        "  project: default",
        "  source: {repoURL: https://charts.example.org, chart: late, targetRevision: 1.2.3}",
        "  destination: {namespace: late}",
        "---",
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata: {name: not-an-app}",
        "---",
        "apiVersion: argoproj.io/v1alpha1",
        "kind: Application",
        "metadata:",
        "  name: early",
        "  annotations:",
        '    argocd.argoproj.io/sync-wave: "-2"',
        "spec:",
        "  sources:",
        "    - {repoURL: https://git.example.org/r.git, path: kubernetes/x, targetRevision: main}",
        "    - {repoURL: https://git.example.org/r.git, ref: values}",
        "",
      ].join("\n"),
    );
    write(
      "kubernetes/infrastructure/set.yml",
      "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: apps}\nspec:\n  template:\n    spec:\n      source: {path: kubernetes/apps}\n",
    );
    write(
      "kubernetes/infrastructure/secret.sops.yaml",
      "kind: Application\nmetadata: {name: skipped}\napiVersion: argoproj.io/v1alpha1\n",
    );
    write("kubernetes/infrastructure/broken.yaml", "kind: Application\nmetadata: [\n");
    const scan = await scanApplications(dir);
    expect(scan.applications.map((a) => [a.wave, a.name, a.kind])).toEqual([
      [-2, "early", "Application"],
      [0, "apps", "ApplicationSet"],
      [5, "late", "Application"],
    ]);
    expect(scan.applications[2]).toMatchObject({
      project: "default",
      destinationNamespace: "late",
      sources: [{ repoURL: "https://charts.example.org", chart: "late", targetRevision: "1.2.3" }],
      file: "kubernetes/bootstrap/apps.yaml",
    });
    expect(scan.applications[0]?.sources).toHaveLength(2);
    expect(scan.unreadable).toEqual(["kubernetes/infrastructure/broken.yaml"]);
  });
});

describe("buildPlan", () => {
  it("shows the addresses K3s uses, roles per host, DNS, bucket and versions", async () => {
    const plan = buildPlan({
      config: ha,
      source,
      warnings: [],
      playbooks: await readPlaybooks(dir),
      applications: [],
      versions: [{ component: "ansible", version: "1.0", source: "tools/versions.yaml" }],
    });
    expect(plan.summary).toEqual({
      servers: 3,
      agents: 2,
      ingress: 1,
      byProvider: {
        hetzner: { server: ["cp-1", "cp-2", "cp-3"], agent: [] },
        vultr: { server: [], agent: ["edge-1"] },
        aws: { server: [], agent: ["batch-1"] },
      },
    });
    const byName = Object.fromEntries(plan.nodes.map((n) => [n.name, n]));
    expect(byName["cp-1"]).toMatchObject({
      nodeIp: "100.64.0.1",
      externalIp: "5.75.1.1",
      join: "cluster-init",
    });
    expect(byName["cp-3"]).toMatchObject({ nodeIp: "assigned at join", join: "https://100.64.0.1:6443" });
    expect(byName["batch-1"]?.ssh).toEqual({ user: "admin", port: 22, address: "52.1.2.3" });
    expect(byName["cp-2"]?.playbooks).toEqual([
      { playbook: "bootstrap.yml", roles: ["common", "firewall", "tailscale", "k3s_prereq"] },
      { playbook: "k3s-cluster.yml", roles: ["k3s_server"] },
    ]);
    expect(byName["edge-1"]?.playbooks[1]?.roles).toEqual(["k3s_agent"]);
    expect(plan.dns.zone).toBe("example.org");
    expect(plan.dns.records.map((r) => `${r.name} ${r.type} ${r.content}`)).toEqual([
      "k8s-api.k8s A 100.64.0.1",
      "k8s-api.k8s A 100.64.0.2",
      "ingress.k8s A 45.32.1.1",
      "status CNAME example.pages.dev",
    ]);
    expect(plan.dns.notes[0]).toMatch(/no record for cp-3/);
    expect(plan.bucket).toMatchObject({
      name: "prod-backups",
      endpoint: "https://00112233445566778899aabbccddeeff.eu.r2.cloudflarestorage.com",
      etcdFolder: null,
    });
    expect(plan.versions.slice(0, 2)).toEqual([
      { component: "k3s", version: "v1.37.1+k3s1", source: "cluster.yaml" },
      { component: "ansible", version: "1.0", source: "tools/versions.yaml" },
    ]);
    expect(plan.applicationsNote).toMatch(/no Argo CD Application manifests/);
    expect(plan.steps.map((s) => s.title)).toEqual([
      "OpenTofu: DNS records and R2 bucket",
      "Ansible: ansible/playbooks/bootstrap.yml",
      "Ansible: ansible/playbooks/k3s-cluster.yml",
      "GitOps bootstrap",
      "Wait until healthy",
    ]);
  });
});

describe("buildPlan with GitOps placeholders", () => {
  it("shows the repository and revision kustomize fills in from the cluster values", async () => {
    const plan = buildPlan({
      config: ha,
      source,
      warnings: [],
      playbooks: await readPlaybooks(dir),
      applications: [
        {
          kind: "Application",
          name: "infrastructure",
          namespace: "argocd",
          wave: 0,
          sources: [
            {
              repoURL: "set-by-cluster-values",
              path: "kubernetes/infrastructure",
              targetRevision: "set-by-cluster-values",
            },
          ],
          file: "kubernetes/bootstrap/infrastructure.yaml",
        },
      ],
      versions: [],
    });
    expect(plan.applications[0]?.sources).toEqual([
      {
        repoURL: "https://git.example.org/platform/infra-k3s.git",
        path: "kubernetes/infrastructure",
        targetRevision: "v2.1.0",
      },
    ]);
    expect(plan.steps[3]?.detail).toMatch(/-> 1 application\(s\)/);
  });
});

describe("infra plan on the repository", () => {
  const ctx = (cwd: string): CommandContext => ({
    cwd,
    env: {},
    reporter: silentReporter,
    interactive: false,
  });

  it("plans the example from a fresh checkout: nodes, roles, apps from kubernetes/, no credentials", async () => {
    const result = await planCommand(ctx(PACKAGE_ROOT), { config: "cluster.example.yaml" });
    const plan = result.data;
    expect(plan.source).toEqual({ file: "cluster.example.yaml", origin: "option" });
    expect(plan.nodes.map((n) => `${n.role}/${n.provider}/${n.name}`)).toEqual([
      "server/hetzner/hetzner-fsn1-1",
      "agent/vultr/vultr-ams-1",
      "agent/aws/aws-euc1-1",
    ]);
    expect(plan.warnings.map((w) => w.code)).toEqual([
      ...Array(3).fill("PUBLIC_IP_DOCUMENTATION"),
      "EMAIL_EXAMPLE_DOMAIN",
    ]);
    const waves = plan.applications.map((a) => a.wave);
    expect(waves).toEqual([...waves].sort((a, b) => a - b));
    const text = result.human(plan);
    for (const heading of [
      "Nodes:",
      "Playbooks and roles per host:",
      "DNS records OpenTofu manages",
      "R2 bucket",
      "Argo CD applications in sync-wave order:",
      "Pinned versions:",
    ]) {
      expect(text).toContain(heading);
    }
    expect(text).toMatch(
      /hetzner-fsn1-1 +bootstrap\.yml: common, firewall, tailscale, k3s_prereq {2}-> {2}k3s-cluster\.yml: k3s_server/,
    );
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });

  it("changes nothing in the directory it plans", async () => {
    writeFileSync(join(dir, "cluster.yaml"), haText);
    const before = readdirSync(dir, { recursive: true });
    await planCommand(ctx(dir), {});
    expect(readdirSync(dir, { recursive: true })).toEqual(before);
  });

  it("plans a 200-node cluster", async () => {
    const nodes = Array.from({ length: 200 }, (_, i) =>
      [
        `  - name: node-${i}`,
        `    role: ${i < 3 ? "server" : "agent"}`,
        `    provider: ${["hetzner", "vultr", "aws", "generic"][i % 4]}`,
        "    region: r1",
        `    publicIPv4: 5.${Math.floor(i / 250) + 1}.${i % 250}.10`,
        `    ingress: ${i % 10 === 0}`,
      ].join("\n"),
    ).join("\n");
    const text = haText.replace(/nodes:\n[\s\S]*?\nacme:/, `nodes:\n${nodes}\nacme:`);
    writeFileSync(join(dir, "cluster.yaml"), text);
    const result = await planCommand(ctx(dir), {});
    expect(result.data.nodes).toHaveLength(200);
    expect(result.data.summary.servers).toBe(3);
    expect(result.human(result.data).split("\n").length).toBeGreaterThan(400);
  });
});
