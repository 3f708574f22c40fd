/**
 * The mesh's access model in the repository: a committed tailnet/policy.hujson that no longer says
 * what cluster.yaml asks for (its blocks stale, missing, or a cluster tag no longer owned), and a
 * node whose inventory overrides its tailnet tags without the ones the policy tells it by.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { isMap, LineCounter, parseDocument, type Scalar } from "yaml";
import { nodeTags } from "../../config/derived.js";
import { resolveConfigSource, validateConfigText } from "../../config/load.js";
import type { ClusterConfig } from "../../config/schema.js";
import { InfraError } from "../../errors.js";
import { findBlocks, SECTIONS } from "../../tailnet/markers.js";
import { clusterBlocks, unownedTags, verifyMerged } from "../../tailnet/merge.js";
import { clusterPolicy } from "../../tailnet/policy.js";
import { POLICY_FILE } from "../../tailnet/policy-command.js";
import type { Finding } from "../findings.js";
import type { Rule } from "./rule.js";

const ID = "tailnet-policy";

export const tailnetPolicy: Rule = {
  id: ID,
  title: "the tailnet policy file and the nodes' tailnet tags match cluster.yaml",
  reason:
    "the tailnet policy is the only thing between a tailnet device and a node's kubelet, etcd and VXLAN " +
    "(tailscaled's ts-input accepts all of tailscale0 when netfilter is on; issue 18, docs/networking.md): a " +
    "stale file or a node without its role tag silently opens or breaks the cluster",
  check(tree) {
    const config = clusterConfig(tree.root);
    if (!config) return [];
    return [...policyFindings(tree.root, config), ...tagFindings(tree.root, config)];
  },
};

/** The config `infra` would use here (cluster.yaml, else the example) when valid; configure reports it otherwise. */
function clusterConfig(root: string): ClusterConfig | undefined {
  const source = resolveConfigSource(root, root, undefined);
  try {
    return validateConfigText(readFileSync(source.path, "utf8"), source.display, {}).config;
  } catch {
    return undefined;
  }
}

function policyFindings(root: string, config: ClusterConfig): Finding[] {
  const path = join(root, POLICY_FILE);
  if (!existsSync(path)) return [];
  const text = readFileSync(path, "utf8");
  const finding = (message: string, fix: string, line?: number): Finding => ({
    rule: ID,
    severity: "error",
    message,
    fix,
    file: POLICY_FILE,
    ...(line === undefined ? {} : { line }),
  });
  try {
    const policy = clusterPolicy(config);
    const blocks = findBlocks(text, config.name, POLICY_FILE);
    if (blocks.length === 0) {
      return [
        finding(
          `has no blocks of cluster "${config.name}": it does not hold the policy cluster.yaml asks for`,
          "run `infra tailnet policy --write --adopt` (your own rules in the file are kept)",
          1,
        ),
      ];
    }
    const wanted = clusterBlocks(policy);
    const findings: Finding[] = [];
    for (const block of blocks) {
      const current = text.slice(block.start, block.end);
      const normalise = (s: string) => s.split("\n").map((l) => l.trim());
      if (normalise(current).join("\n") !== normalise(wanted[block.section]).join("\n")) {
        findings.push(
          finding(
            `the ${block.section} block is stale against cluster.yaml`,
            "run `infra tailnet policy --write`, review the diff, commit, then `infra tailnet apply`",
            text.slice(0, block.start).split("\n").length,
          ),
        );
      }
    }
    const present = new Set(blocks.map((b) => b.section));
    for (const section of SECTIONS) {
      if (!present.has(section)) {
        findings.push(
          finding(
            `has no ${section} block of cluster "${config.name}"`,
            "run `infra tailnet policy --write`",
          ),
        );
      }
    }
    for (const { tag, line } of unownedTags(text, POLICY_FILE)) {
      findings.push(
        finding(
          `names ${tag}, which tagOwners does not define: the control server would refuse the policy (a typo?)`,
          "correct the tag in your rule, or define it in tagOwners outside infra's block",
          line,
        ),
      );
    }
    if (findings.length === 0) verifyMerged(text, config, POLICY_FILE);
    return findings;
  } catch (error) {
    if (!(error instanceof InfraError)) throw error;
    return [finding(error.message, error.hint ?? "fix the file", error.location?.line)];
  }
}

/** Inventory files that can override a node's `tailscale_tags`, with the node it concerns (or its group). */
function overrideFiles(
  root: string,
  config: ClusterConfig,
): Array<{ file: string; role: "server" | "agent" }> {
  const inventory = join(root, "ansible", "inventory");
  const files: Array<{ file: string; role: "server" | "agent" }> = [];
  const yamlFiles = (base: string): string[] => {
    const found: string[] = [];
    for (const extension of ["", ".yml", ".yaml"]) {
      const path = join(inventory, `${base}${extension}`);
      if (!existsSync(path)) continue;
      if (statSync(path).isDirectory()) {
        for (const entry of readdirSync(path).sort())
          if (/\.ya?ml$/.test(entry)) found.push(join(`${base}`, entry));
      } else found.push(`${base}${extension}`);
    }
    return found;
  };
  for (const node of config.nodes) {
    for (const file of yamlFiles(join("host_vars", node.name))) files.push({ file, role: node.role });
  }
  for (const [group, role] of [
    ["k3s_masters", "server"],
    ["k3s_workers", "agent"],
  ] as const) {
    for (const file of yamlFiles(join("group_vars", group))) files.push({ file, role });
  }
  return files;
}

/** The wiring in group_vars (`tailscale_tags: "{{ tailscale_server_tags }}"`) is what the render expects. */
const WIRING = /^\{\{\s*tailscale_(server|agent)_tags\s*\}\}$/;

function tagFindings(root: string, config: ClusterConfig): Finding[] {
  const findings: Finding[] = [];
  for (const { file, role } of overrideFiles(root, config)) {
    const relative = join("ansible", "inventory", file);
    const lineCounter = new LineCounter();
    const doc = parseDocument(readFileSync(join(root, relative), "utf8"), { lineCounter });
    if (!isMap(doc.contents)) continue;
    const pair = doc.contents.items.find((item) => (item.key as Scalar | null)?.value === "tailscale_tags");
    if (!pair) continue;
    const value = (pair.value as { toJSON?: () => unknown } | null)?.toJSON?.() ?? null;
    const line = lineCounter.linePos((pair.key as Scalar).range?.[0] ?? 0).line;
    const wanted = nodeTags(config, role);
    if (typeof value === "string") {
      const match = WIRING.exec(value.trim());
      if (match && match[1] === role) continue;
      findings.push({
        rule: ID,
        severity: "warning",
        message: `tailscale_tags is "${value}": infra cannot tell whether the ${role}s get ${wanted.join(", ")}`,
        fix: `leave tailscale_tags to the inventory (it gives a ${role} ${wanted.join(", ")} from cluster.yaml), or list them`,
        file: relative,
        line,
      });
      continue;
    }
    const tags = Array.isArray(value) ? value.map(String) : [];
    const missing = wanted.filter((tag) => !tags.includes(tag));
    if (missing.length > 0) {
      findings.push({
        rule: ID,
        severity: "error",
        message: `tailscale_tags lacks ${missing.join(", ")}: the ${role} would join without the tags the tailnet policy opens the cluster's ports to`,
        fix: `remove the override (the inventory gives a ${role} ${wanted.join(", ")} from cluster.yaml) or add ${missing.join(", ")}`,
        file: relative,
        line,
      });
    }
  }
  return findings;
}
