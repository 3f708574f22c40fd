/**
 * A large cluster.yaml written the way an operator shares settings: the example's top level, three
 * servers, and agents that merge one anchored agent (`<<: *agent`: SSH settings, labels, taints) and
 * reuse anchored values by alias. Used by the config tests and `npm run bench:plan`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../src/package-root.js";

const PROVIDERS = ["hetzner", "vultr", "aws", "generic"];

/** A pod network with a /24 per node for `count` nodes (K3s's default node mask). */
export function podNetworkFor(count: number): string {
  const prefix = Math.max(10, Math.min(16, 24 - Math.ceil(Math.log2(Math.max(2, count)))));
  return `10.64.0.0/${prefix}`;
}

/** Public addresses outside documentation ranges, unique for up to 50,000 nodes. */
export function publicAddress(index: number): string {
  return `5.${10 + Math.floor(index / 250)}.${index % 250}.${1 + (index % 200)}`;
}

/**
 * `count` nodes (at least 4): three servers, then agents. `agentLabel` is the value of the label
 * every agent shares through the anchor (tests put a bad one there).
 */
export function largeClusterYaml(count: number, agentLabel = "general"): string {
  const base = readFileSync(join(PACKAGE_ROOT, "cluster.example.yaml"), "utf8");
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const provider = i < 3 ? "hetzner" : (PROVIDERS[i % PROVIDERS.length] ?? "generic");
    if (i < 3) {
      lines.push(
        `  - name: server-${i}`,
        "    role: server",
        i === 0 ? "    provider: &server-provider hetzner" : "    provider: *server-provider",
        "    region: fsn1",
        `    publicIPv4: ${publicAddress(i)}`,
        `    tailscaleIPv4: 100.64.0.${i + 1}`,
      );
    } else if (i === 3) {
      lines.push(
        "  - &agent",
        `    name: ${provider}-${i}`,
        "    role: agent",
        `    provider: ${provider}`,
        "    region: region-0",
        `    publicIPv4: ${publicAddress(i)}`,
        "    ingress: true",
        "    ssh: &agent-ssh { user: admin, port: 22 }",
        "    labels:",
        `      example.com/pool: &pool ${agentLabel}`,
        "    taints: []",
      );
    } else {
      lines.push(
        "  - <<: *agent",
        `    name: ${provider}-${i}`,
        `    provider: ${provider}`,
        `    region: region-${i % 7}`,
        `    publicIPv4: ${publicAddress(i)}`,
        `    ingress: ${i % 20 === 3}`,
      );
    }
  }
  return base
    .replace(/\nnodes:\n[\s\S]*?\n(?=# REQUIRED\. Let's Encrypt)/, `\nnodes:\n${lines.join("\n")}\n\n`)
    .replace("clusterCidr: 10.42.0.0/16", `clusterCidr: ${podNetworkFor(count)}`);
}
