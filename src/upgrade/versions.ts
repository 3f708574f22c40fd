/**
 * Which K3s release `infra upgrade` may move the cluster to: the target must be a release this
 * project knows (config/k3s-version.ts), never older than a running node (K3s does not downgrade in
 * place) and at most one minor version ahead of the oldest node (Kubernetes' version skew policy).
 * All of it is decided before any node is touched.
 */
import {
  K3S_MINORS,
  K3S_NEWEST_KNOWN,
  type K3sVersion,
  k3sSupport,
  parseK3sVersion,
} from "../config/k3s-version.js";
import { InfraError } from "../errors.js";

export function formatK3sVersion(v: K3sVersion): string {
  return `v${v.major}.${v.minor}.${v.patch}+k3s${v.k3s}`;
}

/** Negative when a is older than b. */
export function compareK3s(a: K3sVersion, b: K3sVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch || a.k3s - b.k3s;
}

/** The target release, checked against the table of known releases; `source` names where it came from. */
export function parseTarget(text: string, source: string): { version: K3sVersion; warning?: string } {
  const version = parseK3sVersion(text.trim());
  if (!version) {
    throw new InfraError("UPGRADE_VERSION_INVALID", `"${text}" is not a K3s release`, {
      kind: "usage",
      location: { path: source },
      hint: `give an exact release such as ${K3S_NEWEST_KNOWN} (see the K3s release notes)`,
    });
  }
  const support = k3sSupport(version);
  switch (support.verdict) {
    case "unknown-minor":
      throw new InfraError(
        "UPGRADE_VERSION_UNKNOWN",
        `${text} is a Kubernetes minor this project does not know (known: 1.${Object.keys(K3S_MINORS).join(", 1.")})`,
        {
          kind: "usage",
          location: { path: source },
          hint: `use a known release such as ${support.newest}; a new minor needs its release notes read and src/config/k3s-version.ts updated first`,
        },
      );
    case "too-old":
      throw new InfraError(
        "UPGRADE_VERSION_TOO_OLD",
        `${text} lacks the fix for flannel.1 vanishing when tailscale0 is recreated (k3s-io/k3s#12436)`,
        { kind: "usage", location: { path: source }, hint: `use ${support.minimum} or newer` },
      );
    case "newer-than-known":
      return {
        version,
        warning: `${text} is newer than the newest ${version.major}.${version.minor} release this project knows (${support.newest}); read its release notes`,
      };
    default:
      return { version };
  }
}

export interface RunningNode {
  name: string;
  /** status.nodeInfo.kubeletVersion, which K3s sets to its own release (v1.36.3+k3s1). */
  kubeletVersion: string;
}

/**
 * Refuses a downgrade of any node and a jump of more than one minor past the oldest node. Returns
 * the nodes' parsed versions.
 */
export function checkSkew(target: K3sVersion, nodes: readonly RunningNode[]): Map<string, K3sVersion> {
  const versions = new Map<string, K3sVersion>();
  const targetText = formatK3sVersion(target);
  for (const node of nodes) {
    const version = parseK3sVersion(node.kubeletVersion);
    if (!version) {
      throw new InfraError(
        "UPGRADE_NODE_VERSION_UNKNOWN",
        `node ${node.name} reports version "${node.kubeletVersion}", which is not a K3s release`,
        {
          kind: "preflight",
          hint: "every node must run K3s installed by this repository (infra node add); nothing was changed",
        },
      );
    }
    versions.set(node.name, version);
  }
  const newer = [...versions].filter(([, v]) => compareK3s(v, target) > 0);
  if (newer.length > 0) {
    const [name, version] = newer[0] as [string, K3sVersion];
    throw new InfraError(
      "UPGRADE_DOWNGRADE",
      `node ${name} runs ${formatK3sVersion(version)}, newer than ${targetText}: K3s does not downgrade`,
      {
        kind: "preflight",
        hint: `nothing was changed; to go back, restore an etcd snapshot taken before the upgrade (infra dr restore-control-plane), or upgrade to ${formatK3sVersion(version)} or newer`,
      },
    );
  }
  const oldest = [...versions.values()].sort(compareK3s)[0];
  if (oldest && target.minor - oldest.minor > 1) {
    const oldestName = [...versions].find(([, v]) => v === oldest)?.[0] ?? "";
    const step = K3S_MINORS[oldest.minor + 1]?.newest ?? `v1.${oldest.minor + 1}.x`;
    throw new InfraError(
      "UPGRADE_MINOR_SKIP",
      `${targetText} is ${target.minor - oldest.minor} minor versions ahead of node ${oldestName} (${formatK3sVersion(oldest)}); Kubernetes' skew policy allows one`,
      {
        kind: "preflight",
        hint: `nothing was changed; upgrade one minor at a time: infra upgrade --to ${step}, then --to ${targetText}`,
      },
    );
  }
  return versions;
}

/** A Kubernetes-object-safe form of a release for snapshot names: v1.37.1+k3s1 -> v1-37-1-k3s1. */
export function versionSlug(v: K3sVersion): string {
  return formatK3sVersion(v).replace(/[.+]/g, "-");
}
