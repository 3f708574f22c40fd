/**
 * The policy infra would leave on the control server (or in tailnet/policy.hujson): the current
 * document with the cluster's blocks brought up to date, checked before anything is sent.
 */
import { findNodeAtLocation, type Node } from "jsonc-parser";
import type { ClusterConfig } from "../config/schema.js";
import { InfraError } from "../errors.js";
import {
  type BlockSection,
  findBlocks,
  lineColumn,
  locate,
  type Origin,
  parseHujson,
  replaceBlocks,
  SECTIONS,
} from "./markers.js";
import { type ClusterPolicy, clusterTags, renderBlock, renderPolicy } from "./policy.js";

export interface MergeOptions {
  /** Insert the cluster's blocks into a policy infra did not write (keeping all of it). */
  adopt?: boolean;
}

export interface Merged {
  text: string;
  /** How the base was treated: none (no policy yet), updated (infra's blocks replaced), adopted. */
  mode: "new" | "updated" | "adopted";
}

export function clusterBlocks(policy: ClusterPolicy): Record<BlockSection, string> {
  return Object.fromEntries(SECTIONS.map((section) => [section, renderBlock(policy, section)])) as Record<
    BlockSection,
    string
  >;
}

export function mergePolicy(
  base: string | undefined,
  policy: ClusterPolicy,
  origin: Origin,
  options: MergeOptions = {},
): Merged {
  if (base === undefined || base.trim() === "") return { text: renderPolicy(policy), mode: "new" };
  const ours = findBlocks(base, policy.cluster, origin).length > 0;
  if (!ours && !options.adopt) {
    throw new InfraError(
      "TAILNET_POLICY_NOT_OURS",
      `${origin} was not written by infra for cluster "${policy.cluster}" (it has none of its markers); refusing to change it`,
      {
        kind: "preflight",
        hint: "re-run with --adopt to add the cluster's blocks to it: every rule already there is kept (docs/networking.md)",
      },
    );
  }
  const text = replaceBlocks(base, policy.cluster, clusterBlocks(policy), origin);
  return { text, mode: ours ? "updated" : "adopted" };
}

/**
 * What must hold in the merged document before it is sent: a group or tag owner defined once
 * (a user's own definition beside infra's would be ambiguous), and every tag the cluster uses
 * owned, or the control server would refuse the cluster's devices.
 */
export function verifyMerged(text: string, config: ClusterConfig, origin: Origin): void {
  const root = parseHujson(text, origin);
  for (const section of ["groups", "tagOwners"] as const) {
    const object = findNodeAtLocation(root, [section]);
    const seen = new Map<string, Node>();
    for (const property of object?.children ?? []) {
      const key = property.children?.[0]?.value;
      if (typeof key !== "string") continue;
      const first = seen.get(key);
      if (first) {
        const at = lineColumn(text, property.offset).line;
        throw new InfraError(
          "TAILNET_POLICY_CONFLICT",
          `${origin}, line ${at}: ${section} "${key}" is defined twice (also at line ${lineColumn(text, first.offset).line})`,
          {
            kind: "config",
            location: locate(origin, at),
            hint: `cluster.yaml's tailscale section defines "${key}" for the cluster; remove your own definition outside infra's block`,
          },
        );
      }
      seen.set(key, property);
    }
  }
  const owners = findNodeAtLocation(root, ["tagOwners"]);
  const owned = new Set((owners?.children ?? []).map((p) => p.children?.[0]?.value));
  for (const tag of clusterTags(config)) {
    if (!owned.has(tag)) {
      throw new InfraError(
        "TAILNET_TAG_NOT_OWNED",
        `${origin}: the tag ${tag} of cluster.yaml's tailscale section is not in tagOwners; the control server would refuse the devices carrying it`,
        {
          kind: "config",
          location: locate(origin),
          hint: "restore infra's tagOwners block (run `infra tailnet policy` to see it), or remove the tag from cluster.yaml",
        },
      );
    }
  }
}

/**
 * Tags the policy names (in rules, tests, owners) that tagOwners does not define: a typo in a rule
 * of the user's. Both control servers refuse such a policy ("tag not found"); `infra check` says so
 * before it is sent. Each with the line it is on.
 */
export function unownedTags(text: string, origin: Origin): Array<{ tag: string; line: number }> {
  const root = parseHujson(text, origin);
  const owned = new Set(
    (findNodeAtLocation(root, ["tagOwners"])?.children ?? []).map((p) => p.children?.[0]?.value),
  );
  const found: Array<{ tag: string; line: number }> = [];
  const visit = (node: Node, isKey: boolean) => {
    if (node.type === "string" && !isKey && typeof node.value === "string") {
      const tag = /^tag:[^:\s,]+/.exec(node.value)?.[0];
      if (tag && !owned.has(tag)) found.push({ tag, line: lineColumn(text, node.offset).line });
    }
    if (node.type === "property") {
      const [key, value] = node.children ?? [];
      if (key) visit(key, true);
      if (value) visit(value, false);
    } else for (const child of node.children ?? []) visit(child, false);
  };
  visit(root, false);
  return found;
}
