import type { Finding } from "../findings.js";
import { at, get, is, list, type Resource, str } from "../resources.js";
import type { PathPart } from "../source.js";
import { helmSources, type RepoFiles, valuePath } from "./helm-values.js";
import type { Rule } from "./rule.js";

interface Deployment {
  resource: Resource;
  path: PathPart[];
  policy: unknown;
  ownerId: unknown;
  registry: unknown;
}

/** external-dns as the chart's values or as a container's arguments. */
function deployments(resources: readonly Resource[], repo: RepoFiles): Deployment[] {
  const out: Deployment[] = [];
  for (const source of helmSources(resources, repo)) {
    // Values the tree cannot read may set what is missing here: no verdict then.
    if (source.chart !== "external-dns" || !is(source.resource, "Application") || !source.complete) continue;
    out.push({
      resource: source.resource,
      path: valuePath(source, []),
      policy: get(source.values, "policy"),
      ownerId: get(source.values, "txtOwnerId"),
      registry: get(source.values, "registry"),
    });
  }
  for (const resource of resources) {
    if (!is(resource, "Deployment", "apps")) continue;
    list(get(resource.object, "spec", "template", "spec", "containers")).forEach((container, i) => {
      if (!/external-dns/.test(str(get(container, "image")) ?? "")) return;
      const args = list(get(container, "args")).map(String);
      const flag = (name: string) => {
        const arg = args.find((a) => a.startsWith(`--${name}=`));
        return arg === undefined ? undefined : arg.slice(name.length + 3);
      };
      out.push({
        resource,
        path: ["spec", "template", "spec", "containers", i, "args"],
        policy: flag("policy"),
        ownerId: flag("txt-owner-id"),
        registry: flag("registry"),
      });
    });
  }
  return out;
}

export const externalDnsPolicy: Rule = {
  id: "external-dns-policy",
  title: "external-dns needs an explicit policy",
  reason:
    "--policy has no default since external-dns v0.22.0 and the chart requires it (external-dns CHANGELOG)",
  check(tree) {
    const findings: Finding[] = [];
    for (const d of deployments(tree.resources, tree)) {
      if (d.policy === "sync" || d.policy === "upsert-only" || d.policy === "create-only") continue;
      findings.push(
        at(d.resource, d.path, {
          rule: this.id,
          message:
            d.policy === undefined || d.policy === null || d.policy === ""
              ? "external-dns has no policy"
              : `external-dns policy ${JSON.stringify(d.policy)} is not sync, upsert-only or create-only`,
          fix: "set `policy: sync` (or upsert-only / create-only) explicitly",
        }),
      );
    }
    return findings;
  },
};

export const externalDnsOwnerId: Rule = {
  id: "external-dns-owner-id",
  title: "external-dns needs a per-cluster TXT owner id",
  reason:
    "the TXT registry decides which records a cluster owns by its owner id; a shared or default id lets two " +
    "clusters delete each other's records (external-dns docs, registry/txt.md)",
  check(tree) {
    const findings: Finding[] = [];
    for (const d of deployments(tree.resources, tree)) {
      if (d.registry !== undefined && d.registry !== null && d.registry !== "txt") continue;
      if (typeof d.ownerId === "string" && d.ownerId !== "" && d.ownerId !== "default") continue;
      findings.push(
        at(d.resource, d.path, {
          rule: this.id,
          message: "external-dns has no txtOwnerId (the TXT registry then uses `default`)",
          fix: "set txtOwnerId to the cluster's owner id (cluster values: txtOwnerId)",
        }),
      );
    }
    return findings;
  },
};
