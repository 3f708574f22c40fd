import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Finding } from "../findings.js";
import { at, get, is, list, str } from "../resources.js";
import type { Rule } from "./rule.js";

export const TOFU_VARS = "tofu/cluster.auto.tfvars.json";

/** Fully qualified names of the DNS records OpenTofu manages (rendered from cluster.yaml). */
export function tofuRecordNames(root: string): { zone: string; names: Map<string, string> } | undefined {
  let text: string;
  try {
    text = readFileSync(join(root, TOFU_VARS), "utf8");
  } catch {
    return undefined;
  }
  let vars: { zone_name?: unknown; dns_records?: unknown };
  try {
    vars = JSON.parse(text) as typeof vars;
  } catch {
    return undefined;
  }
  const zone = typeof vars.zone_name === "string" ? vars.zone_name.toLowerCase().replace(/\.$/, "") : "";
  const names = new Map<string, string>();
  if (!zone || !Array.isArray(vars.dns_records)) return { zone, names };
  for (const record of vars.dns_records as { name?: unknown }[]) {
    if (typeof record?.name !== "string") continue;
    const name = record.name.toLowerCase().replace(/\.$/, "");
    const fqdn =
      name === "@" || name === "" || name === zone
        ? zone
        : name.endsWith(`.${zone}`)
          ? name
          : `${name}.${zone}`;
    names.set(fqdn, record.name);
  }
  return { zone, names };
}

export const dnsNameCollision: Rule = {
  id: "dns-name-collision",
  title: "a hostname external-dns manages is not also an OpenTofu record",
  reason:
    "external-dns and OpenTofu would fight over the same record in the zone: each run of one undoes the " +
    "other (external-dns docs, registry/txt.md; stack notes §5)",
  check(tree) {
    const tofu = tofuRecordNames(tree.root);
    if (!tofu || tofu.names.size === 0) return [];
    const findings: Finding[] = [];
    for (const resource of tree.resources) {
      if (!is(resource, "HTTPRoute", "gateway.networking.k8s.io")) continue;
      list(get(resource.object, "spec", "hostnames")).forEach((hostname, i) => {
        const host = str(hostname)?.toLowerCase().replace(/\.$/, "");
        if (!host) return;
        const record = tofu.names.get(host);
        if (record === undefined) return;
        findings.push(
          at(resource, ["spec", "hostnames", i], {
            rule: this.id,
            message: `hostname ${host} is also the OpenTofu record "${record}" (${TOFU_VARS}): external-dns and OpenTofu would fight over it`,
            fix: "rename the route's hostname, or drop the record from cluster.yaml's DNS records and run `infra configure`",
          }),
        );
      });
    }
    return findings;
  },
};
