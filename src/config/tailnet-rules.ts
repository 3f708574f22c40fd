/**
 * Cross-field rules of cluster.yaml's `tailscale` section, which the tailnet policy is generated
 * from (src/tailnet/policy.ts): the role tags are distinct and not shared by every node, admins
 * and tag owners name groups the policy defines, and headscale gets no owner it cannot parse.
 */
import type { Finding, PathSegment } from "./rules.js";
import type { ClusterConfig } from "./schema.js";

export function checkTailnetRules(config: ClusterConfig): Finding[] {
  const findings: Finding[] = [];
  const error = (code: string, path: PathSegment[], message: string, hint: string) =>
    findings.push({ code, severity: "error", path, message, hint });
  const { serverTag, agentTag, tags, admins, groups, tagOwners, loginServer } = config.tailscale;

  if (serverTag === agentTag) {
    error(
      "TAILNET_ROLE_TAGS_SAME",
      ["tailscale", "agentTag"],
      `agentTag is ${agentTag}, the same as serverTag: agents would reach etcd (2379-2380)`,
      "give servers and agents different tags, e.g. tag:k8s-server and tag:k8s-agent",
    );
  }
  tags.forEach((tag, index) => {
    if (tag === serverTag || tag === agentTag) {
      error(
        "TAILNET_ROLE_TAG_SHARED",
        ["tailscale", "tags", index],
        `${tag} is the ${tag === serverTag ? "server" : "agent"} tag, but tailscale.tags go on every node`,
        `remove ${tag} from tailscale.tags; nodes get their role tag on their own`,
      );
    }
  });
  admins.forEach((admin, index) => {
    if (admin === serverTag || admin === agentTag || tags.includes(admin)) {
      error(
        "TAILNET_ADMIN_IS_NODE",
        ["tailscale", "admins", index],
        `${admin} is a tag the cluster's nodes carry: every node would be an admin of the others`,
        "name the people or the automation that administer the cluster (a group, a user, or a tag such as tag:ci)",
      );
    }
  });
  const undefinedGroup = (field: "admins" | "tagOwners", value: string, index: number) => {
    if (value.startsWith("group:") && !(value in groups)) {
      error(
        "TAILNET_GROUP_UNDEFINED",
        ["tailscale", field, index],
        `${value} is not defined in tailscale.groups`,
        `add it with its members, e.g. groups: { "${value}": [alice@example.com] }`,
      );
    }
  };
  admins.forEach((admin, index) => {
    undefinedGroup("admins", admin, index);
  });
  tagOwners.forEach((owner, index) => {
    undefinedGroup("tagOwners", owner, index);
    if (loginServer && owner.startsWith("autogroup:")) {
      error(
        "TAILNET_OWNER_UNSUPPORTED",
        ["tailscale", "tagOwners", index],
        `headscale (tailscale.loginServer) does not support ${owner} as a tag owner`,
        "name a headscale user (alice@) or group, or leave tagOwners empty: headscale's admin applies tags with the pre-auth key",
      );
    }
  });
  return findings;
}
