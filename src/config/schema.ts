/**
 * The schema of cluster.yaml: the single source of truth of the cluster. The zod schema is the
 * source of the TypeScript types and of schema/cluster.schema.json (editor completion).
 *
 * Single-field format checks are refinements that carry a stable error code and a hint in
 * `params`; cross-field rules (duplicates, counts, overlaps) live in rules.ts.
 */
import { z } from "zod";
import { checkCronSpec } from "../lib/cron.js";
import { parseGoDuration } from "../lib/go-duration.js";
import { checkEmail } from "./email.js";
import { hostnamePatternProblem } from "./hostnames.js";
import {
  K3S_NEWEST_KNOWN,
  K3S_OLDEST_SUPPORTED,
  K3S_VERSION_PATTERN,
  k3sSupport,
  parseK3sVersion,
} from "./k3s-version.js";
import {
  DNS_LABEL,
  DOMAIN,
  KUBELET_LABEL_NAMESPACES,
  kubeletRefusesLabel,
  labelValueProblem,
  parseTaint,
  qualifiedNameProblem,
} from "./names.js";
import { classifyPublic, networkOf, parseCidr, parseIPv4, tailscaleAddressProblem } from "./net.js";
import { quote } from "./words.js";

export const CONFIG_VERSION = 1;

/** What a refinement puts into `params` so the loader can report a stable code and a hint. */
export interface CheckParams {
  code: string;
  hint?: string;
  /** The problem is the key of the last path segment (a label key), not its value. */
  at?: "key";
}

/**
 * A string checked by `problem` (undefined when fine, else why not); failures say
 * `<value> is <what>: <why>` and carry `code` and `hint`.
 */
function checked(
  problem: (value: string) => string | { why: string; code: string } | undefined,
  what: { code: string; is: string; hint: string; description: string; pattern?: RegExp },
) {
  return z
    .string()
    .superRefine((value, ctx) => {
      const found = problem(value);
      if (found === undefined) return;
      const { why, code } = typeof found === "string" ? { why: found, code: what.code } : found;
      ctx.addIssue({
        code: "custom",
        message: `${quote(value)} is ${what.is}${why ? `: ${why}` : ""}`,
        params: { code, hint: what.hint } satisfies CheckParams,
      });
    })
    .meta({ ...(what.pattern ? { pattern: what.pattern.source } : {}), description: what.description });
}

/** A checker's reason as `checked` takes it. */
const reasonOf =
  (check: (value: string) => { ok: true } | { ok: false; reason: string }) => (value: string) => {
    const result = check(value);
    return result.ok ? undefined : result.reason;
  };

/** Why Velero would refuse a schedule, or why it would take it and never run it. */
function cronReason(spec: string): string | undefined {
  const result = checkCronSpec(spec);
  if (!result.ok) return result.field ? `in the ${result.field} field, ${result.error}` : result.error;
  return result.neverFires ? `${result.neverFires}, so the schedule never runs` : undefined;
}

/** A string that must match `pattern`; failures carry `code` and `hint`. */
function formatted(pattern: RegExp, code: string, message: string, hint: string, description: string) {
  return checked((value) => (pattern.test(value) ? undefined : ""), {
    code,
    is: message,
    hint,
    description,
    pattern,
  });
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const CIDR = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\/(3[0-2]|[12]?\d)$/;
const ACCOUNT_ID = /^[0-9a-f]{32}$/;
const BUCKET = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const TAG = /^tag:[A-Za-z][A-Za-z0-9-]*$/;
const GROUP = /^group:[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** A tailnet user: Tailscale's login names (alice@example.com, alice@github) and headscale's (alice@). */
const TAILNET_USER = /^[^\s@:,"]+@[^\s@:,"]*$/;
const GIT_URL = /^(https:\/\/|ssh:\/\/|git@)[^\s]+$/;
const SSH_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
/** Provider codes; they become the node labels topology.kubernetes.io/region and node.kubernetes.io/instance-type. */
const SLUG = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;
const PREFIX = /^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$/;
/** A Cloudflare Tunnel name as infra writes it: letters, digits, '.', '_', '-'. */
const TUNNEL_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,98}[A-Za-z0-9])?$/;

/** Git's check-ref-format rules for a branch or tag (plus a commit id); Argo CD passes it to git. */
function revisionProblem(value: string): string | undefined {
  if (value === "") return "it is empty";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: git refuses control characters
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(value)) return "git refuses spaces and the characters ~ ^ : ? * [ \\";
  if (value.includes("..") || value.includes("@{") || value === "@")
    return "git refuses '..', '@{' and a lone '@'";
  if (value.startsWith("/") || value.endsWith("/") || value.includes("//"))
    return "slashes must separate names";
  if (value.endsWith(".") || value.split("/").some((part) => part.startsWith(".") || part.endsWith(".lock")))
    return "a name may not start with '.' or end with '.' or '.lock'";
  return undefined;
}

function urlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "it is not a URL";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "it must start with https:// or http://";
  if (!url.hostname) return "it has no host";
  return undefined;
}

const tailnetTag = (description: string) =>
  formatted(TAG, "TAILSCALE_TAG_INVALID", "not a Tailscale tag", 'tags look like "tag:k8s"', description);

const tailnetUser = formatted(
  TAILNET_USER,
  "TAILNET_USER_INVALID",
  "not a tailnet user",
  "write the login name, e.g. alice@example.com (Tailscale) or alice@ (headscale)",
  "A tailnet user's login name.",
);

/** Who a policy rule may name as a source: a group, a tag or a user. */
const tailnetPrincipal = checked(
  (value) =>
    TAG.test(value) || GROUP.test(value) || TAILNET_USER.test(value)
      ? undefined
      : "write a group (group:k8s-admins), a tag (tag:ci) or a user (alice@example.com)",
  {
    code: "TAILNET_PRINCIPAL_INVALID",
    is: "not a tailnet group, tag or user",
    hint: "admins are groups defined in tailscale.groups, tags, or users' login names",
    description: "A group (group:name), a tag (tag:name) or a user (alice@example.com).",
  },
);

/** A tag owner: a principal, or one of Tailscale's autogroups (autogroup:admin). */
const tailnetOwner = checked(
  (value) =>
    /^autogroup:[a-z-]+$/.test(value) || TAG.test(value) || GROUP.test(value) || TAILNET_USER.test(value)
      ? undefined
      : "write autogroup:admin, a group, a tag or a user",
  {
    code: "TAILNET_PRINCIPAL_INVALID",
    is: "not a tag owner",
    hint: "tag owners are autogroup:admin (Tailscale), groups defined in tailscale.groups, tags, or users",
    description: "A tag owner: autogroup:admin (Tailscale only), a group, a tag or a user.",
  },
);

const publicIPv4 = checked(
  (value) => {
    const address = parseIPv4(value);
    if (address === undefined)
      return { why: "it is not four numbers 0-255 separated by dots", code: "IP_INVALID" };
    const kind = classifyPublic(address);
    return kind.kind === "non-public" ? kind.what : undefined;
  },
  {
    code: "PUBLIC_IP_NOT_PUBLIC",
    is: "not a public IPv4 address",
    hint: "use the address the host is reached at from the internet (the provider's console shows it); the Tailscale address goes in tailscaleIPv4",
    description:
      "Public IPv4 address of the host (used for SSH before Tailscale and as the node's ExternalIP).",
    pattern: IPV4,
  },
);

const tailscaleIPv4 = checked(
  (value) => {
    const address = parseIPv4(value);
    return address === undefined
      ? "it is not four numbers 0-255 separated by dots"
      : tailscaleAddressProblem(address);
  },
  {
    code: "TAILSCALE_IP_INVALID",
    is: "not an address Tailscale assigns to a node",
    hint: "copy the node's address from `tailscale ip -4`, or leave tailscaleIPv4 out: it is then read at join time",
    description:
      "Optional. The node's Tailscale IPv4 (100.64.0.0/10) when already known; K3s uses it as node-ip. Default: read from `tailscale ip -4` at join time.",
    pattern: IPV4,
  },
);

function cidrField(description: string) {
  return checked(
    (value) => {
      const parsed = parseCidr(value);
      if (parsed === "syntax") return "write it as network/prefix, e.g. 10.42.0.0/16 (IPv4 only)";
      if (parsed === "host-bits") return `host bits are set; the network address is ${networkOf(value)}`;
      return undefined;
    },
    {
      code: "CIDR_INVALID",
      is: "not an IPv4 network block",
      hint: "write the block's network address and prefix length, e.g. 10.42.0.0/16",
      description,
      pattern: CIDR,
    },
  );
}

const k3sVersion = z
  .string()
  .superRefine((value, ctx) => {
    const version = parseK3sVersion(value);
    if (!version) {
      ctx.addIssue({
        code: "custom",
        message: `${quote(value)} is not a K3s release version`,
        params: {
          code: "K3S_VERSION_INVALID",
          hint: "pin an exact release such as v1.36.3+k3s1 (channels such as stable are not allowed)",
        },
      });
      return;
    }
    const support = k3sSupport(version);
    if (support.verdict === "too-old") {
      ctx.addIssue({
        code: "custom",
        message: support.oldMinor
          ? `K3s ${value} is from a line without the Tailscale/flannel fix; the oldest supported release is ${support.minimum}`
          : `K3s ${value} is older than ${support.minimum}, the first 1.${version.minor} release with the Tailscale/flannel fix`,
        params: {
          code: "K3S_VERSION_TOO_OLD",
          hint: "older releases lose flannel.1 whenever tailscaled restarts (k3s-io/k3s#12436); use v1.36.2+, v1.35.6+, v1.34.9+ or v1.33.13+",
        },
      });
    } else if (support.verdict === "unknown-minor") {
      ctx.addIssue({
        code: "custom",
        message: `K3s ${value} is newer than any release infra knows (the newest is ${support.newest})`,
        params: {
          code: "K3S_VERSION_UNKNOWN",
          hint: `pin a released version between ${K3S_OLDEST_SUPPORTED} and ${K3S_NEWEST_KNOWN}; a new minor is supported once infra's table of releases (src/config/k3s-version.ts) lists it`,
        },
      });
    }
  })
  .meta({
    pattern: K3S_VERSION_PATTERN.source,
    description: `Required. Exact K3s release, e.g. v1.36.3+k3s1, from ${K3S_OLDEST_SUPPORTED} to ${K3S_NEWEST_KNOWN}. Minimum per minor (Tailscale/flannel fix): v1.36.2, v1.35.6, v1.34.9, v1.33.13.`,
  });

const labels = z
  .record(z.string(), z.string())
  .superRefine((value, ctx) => {
    for (const [key, text] of Object.entries(value)) {
      const keyProblem = qualifiedNameProblem(key);
      if (!keyProblem && kubeletRefusesLabel(key)) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: `the kubelet refuses to set the label ${key} on its own node (the agent would not start)`,
          params: {
            code: "LABEL_KUBELET_REFUSES",
            at: "key",
            hint: key.startsWith("node-role.kubernetes.io/")
              ? "label roles after the node joined (kubectl label node), or use your own prefix such as example.com/role"
              : `under kubernetes.io and k8s.io a node may only set ${KUBELET_LABEL_NAMESPACES.map((n) => `${n}/*`).join(", ")} and the well-known topology, os, arch, hostname and instance-type labels; use your own prefix`,
          } satisfies CheckParams,
        });
        continue;
      }
      const valueProblem = keyProblem ? undefined : labelValueProblem(text);
      if (keyProblem || valueProblem) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: keyProblem
            ? `${quote(key)} is not a Kubernetes label key: ${keyProblem}`
            : `${quote(text)} is not a Kubernetes label value: ${valueProblem}`,
          params: {
            code: "LABEL_INVALID",
            ...(keyProblem ? { at: "key" as const } : {}),
            hint: keyProblem
              ? "a label key is [prefix/]name: the name at most 63 letters, digits, '-', '_', '.'; the prefix a lowercase DNS name"
              : "a label value is at most 63 letters, digits, '-', '_', '.', starting and ending with a letter or digit (quote \"true\")",
          },
        });
      }
    }
  })
  .meta({
    description:
      'Optional. Kubernetes node labels (string values; quote "true"). Keys under kubernetes.io or k8s.io are limited to those the kubelet may set on itself. Default: none.',
    propertyNames: {
      pattern:
        "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$",
    },
  });

const sshFields = {
  user: formatted(
    SSH_USER,
    "SSH_USER_INVALID",
    "not a valid SSH user name",
    "use a POSIX user name such as root, admin or ubuntu",
    "SSH user.",
  ),
  port: z.number().int().min(1).max(65535).meta({ description: "SSH port." }),
  privateKeyFile: checked(
    (value) =>
      value === "~" || value.startsWith("~/") || value.startsWith("/")
        ? undefined
        : "Ansible runs ssh from ansible/, so a relative path would be looked for there",
    {
      code: "SSH_KEY_PATH_RELATIVE",
      is: "not a path from your home or the root",
      hint: "write it from your home (~/.ssh/id_ed25519) or as an absolute path",
      description: "Private key for SSH: a path on the operator's machine, from ~/ or absolute.",
    },
  ),
};

const Ssh = z
  .strictObject({
    user: sshFields.user.default("root").meta({ description: "Optional. SSH user. Default: root." }),
    port: sshFields.port.default(22).meta({ description: "Optional. SSH port. Default: 22." }),
    privateKeyFile: sshFields.privateKeyFile.optional().meta({
      description: "Optional. Private key file for SSH. Default: the SSH agent / ~/.ssh defaults.",
    }),
  })
  .meta({ description: "Optional. SSH defaults for every node (a node's own `ssh` overrides them)." });

const NodeSsh = z
  .strictObject({
    user: sshFields.user.optional(),
    port: sshFields.port.optional(),
    privateKeyFile: sshFields.privateKeyFile.optional(),
  })
  .meta({ description: "Optional. Overrides of the top-level `ssh` defaults for this node." });

export const PROVIDERS = ["hetzner", "vultr", "aws", "generic"] as const;
export const ROLES = ["server", "agent"] as const;
export const INGRESS_MODES = ["public", "tunnel", "both"] as const;
export type IngressMode = (typeof INGRESS_MODES)[number];

export const Node = z
  .strictObject({
    name: formatted(
      DNS_LABEL,
      "NODE_NAME_INVALID",
      "not a valid node name (DNS-1123 label)",
      "use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters (e.g. hetzner-fsn1-1)",
      "Required. Node and host name: a DNS-1123 label, unique in the cluster.",
    ),
    role: z
      .enum(ROLES)
      .meta({ description: "Required. `server` (control plane + embedded etcd) or `agent` (workloads)." }),
    provider: z
      .enum(PROVIDERS)
      .meta({ description: "Required. hetzner, vultr, aws or generic (any SSH-reachable host)." }),
    region: formatted(
      SLUG,
      "REGION_INVALID",
      "not a valid region",
      "use the provider's region or location code, e.g. fsn1, ams, eu-central-1",
      "Required. Provider region or location code (fsn1, ams, eu-central-1, ...).",
    ),
    instanceType: formatted(
      SLUG,
      "INSTANCE_TYPE_INVALID",
      "not a valid instance type",
      "use the provider's plan name, e.g. cx32, vc2-2c-4gb, t3.medium",
      "Optional. Provider plan / instance type (informational).",
    ).optional(),
    publicIPv4: publicIPv4.meta({ description: "Required. Public IPv4 address of the host." }),
    tailscaleIPv4: tailscaleIPv4.optional(),
    ssh: NodeSsh.optional(),
    ingress: z.boolean().default(false).meta({
      description:
        "Optional. Serves public HTTP(S) ingress (Traefik via ServiceLB on its public IP) in ingress modes public and both; not allowed in mode tunnel. Default: false.",
    }),
    labels: labels.default({}),
    taints: z
      .array(
        checked(
          (value) => {
            const taint = parseTaint(value);
            return typeof taint === "string" ? taint : undefined;
          },
          {
            code: "TAINT_INVALID",
            is: "not a valid taint",
            hint: "write taints as key=value:Effect (or key:Effect) with Effect NoSchedule, PreferNoSchedule or NoExecute",
            description: "A taint as key=value:Effect.",
          },
        ),
      )
      .default([])
      .meta({ description: "Optional. Node taints as key=value:Effect. Default: none." }),
  })
  .meta({ description: "One host of the cluster." });

const Schedule = (defaults: { schedule: string; ttl: string }, what: string) =>
  z
    .strictObject({
      schedule: checked(cronReason, {
        code: "CRON_INVALID",
        is: "not a schedule Velero accepts",
        hint: 'use five fields (minute 0-59, hour 0-23, day-of-month 1-31, month 1-12, day-of-week 0-6), e.g. "0 3 * * *", or @daily, @every 6h',
        description: `Optional. Schedule of the ${what} backup: five cron fields or @daily/@every <duration> (Velero's parser). Default: "${defaults.schedule}".`,
      }).default(defaults.schedule),
      ttl: checked(
        (value) => {
          const duration = parseGoDuration(value);
          if (!duration.ok) return duration.reason;
          return duration.nanoseconds <= 0n
            ? "a backup must be kept for some time (Velero would use its own default for 0)"
            : undefined;
        },
        {
          code: "DURATION_INVALID",
          is: "not a retention Velero accepts",
          hint: "write a Go duration such as 720h0m0s, 168h or 90m (no days: 30 days is 720h)",
          description: `Optional. How long ${what} backups are kept (a Go duration). Default: ${defaults.ttl}.`,
        },
      ).default(defaults.ttl),
    })
    .prefault({});

const RECORD_NAME = /^(@|[a-z0-9_]([-a-z0-9_]{0,61}[a-z0-9])?(\.[a-z0-9_]([-a-z0-9_]{0,61}[a-z0-9])?)*)$/;

const DnsRecord = z.strictObject({
  name: formatted(
    RECORD_NAME,
    "DNS_RECORD_INVALID",
    "not a record name relative to the zone",
    'use lowercase labels relative to the zone ("www", "status.eu") or "@" for the apex; no wildcard, no trailing dot',
    'Record name relative to the zone, e.g. "www" or "@".',
  ),
  type: z.enum(["A", "AAAA", "CNAME", "TXT"]).meta({ description: "Record type: A, AAAA, CNAME or TXT." }),
  content: z.string().min(1).meta({ description: "Record content (address, target, text)." }),
  proxied: z
    .boolean()
    .default(false)
    .meta({ description: "Optional. Proxied through Cloudflare (A, AAAA, CNAME; ttl 1). Default: false." }),
  ttl: z
    .number()
    .int()
    .refine((ttl) => ttl === 1 || (ttl >= 60 && ttl <= 86400), {
      error: (issue) => `${JSON.stringify(issue.input)} is not a Cloudflare TTL`,
      params: {
        code: "DNS_RECORD_INVALID",
        hint: "use 1 (automatic) or whole seconds from 60 to 86400",
      } satisfies CheckParams,
    })
    .default(300)
    .meta({ description: "Optional. TTL in seconds: 1 (automatic) or 60-86400. Default: 300." }),
});

export const ClusterConfig = z
  .strictObject({
    $schema: z.string().optional().meta({ description: "Optional. JSON Schema reference for editors." }),
    version: z.literal(CONFIG_VERSION).meta({ description: "Required. Format version of this file: 1." }),
    name: formatted(
      DNS_LABEL,
      "CLUSTER_NAME_INVALID",
      "not a valid cluster name (DNS-1123 label)",
      "use lowercase letters, digits and '-', e.g. prod or k3s-demo",
      "Required. Cluster name: a DNS-1123 label (used for the external-dns owner id, backup prefixes, the age key).",
    ),
    domain: formatted(
      DOMAIN,
      "DOMAIN_INVALID",
      "not a valid domain name",
      "use a lowercase DNS name inside your Cloudflare zone, e.g. example.com or k8s.example.com",
      "Required. Base domain of the cluster: apps live at <app>.<domain>, the API at k8s-api.<domain>.",
    ),
    cloudflare: z
      .strictObject({
        accountId: formatted(
          ACCOUNT_ID,
          "CLOUDFLARE_ACCOUNT_ID_INVALID",
          "not a Cloudflare account id",
          "copy the 32-character hex account id from the Cloudflare dashboard (it is not a secret); quote it",
          "Required. Cloudflare account id (32 hex characters; not a secret).",
        ),
        zone: formatted(
          DOMAIN,
          "DOMAIN_INVALID",
          "not a valid zone name",
          "use the zone name as shown in the Cloudflare dashboard, e.g. example.com",
          "Optional. Cloudflare zone that holds the domain. Default: the domain.",
        ).optional(),
      })
      .meta({
        description:
          "Required. Cloudflare account (R2, DNS) and zone. API tokens come from the environment, never from here.",
      }),
    k3s: z
      .strictObject({
        version: k3sVersion,
        clusterCidr: cidrField("Optional. Pod network. Default: 10.42.0.0/16.").default("10.42.0.0/16"),
        serviceCidr: cidrField("Optional. Service network. Default: 10.43.0.0/16.").default("10.43.0.0/16"),
      })
      .meta({ description: "Required. K3s version and networks." }),
    tailscale: z
      .strictObject({
        tags: z
          .array(
            formatted(
              TAG,
              "TAILSCALE_TAG_INVALID",
              "not a Tailscale tag",
              'tags look like "tag:k8s"',
              "A Tailscale ACL tag.",
            ),
          )
          .min(1)
          .default(["tag:k8s"])
          .meta({
            description:
              'Optional. Tags every node carries besides its role tag (serverTag or agentTag), for your own rules. Default: ["tag:k8s"].',
          }),
        serverTag: tailnetTag(
          "Optional. The tag only servers carry (etcd, API); the tailnet policy opens 2379-2380 between them. Default: tag:k8s-server.",
        ).default("tag:k8s-server"),
        agentTag: tailnetTag("Optional. The tag only agents carry. Default: tag:k8s-agent.").default(
          "tag:k8s-agent",
        ),
        admins: z.array(tailnetPrincipal).default([]).meta({
          description:
            "Optional. Who reaches the Kubernetes API (6443) on the servers and SSH on every node over the tailnet: groups (defined in `groups`), tags (tag:ci) or users (alice@example.com; on headscale alice@). Default: nobody.",
        }),
        groups: z
          .record(
            formatted(
              GROUP,
              "TAILSCALE_GROUP_INVALID",
              "not a tailnet group name",
              'group names look like "group:k8s-admins"',
              "A tailnet group name.",
            ),
            z.array(tailnetUser).min(1),
          )
          .default({})
          .meta({
            description:
              "Optional. Groups the generated tailnet policy defines, each a list of users (alice@example.com; on headscale alice@). Default: none.",
          }),
        tagOwners: z.array(tailnetOwner).default([]).meta({
          description:
            "Optional. Who may apply the cluster's tags to a device, besides the control server's admins (who create the auth keys). Default: nobody else ([]).",
        }),
        loginServer: checked(urlProblem, {
          code: "URL_INVALID",
          is: "not an http(s) URL",
          hint: "write the control server URL, e.g. https://headscale.example.com",
          description: "Optional. Self-hosted control server (headscale) URL. Default: Tailscale's own.",
        }).optional(),
      })
      .prefault({})
      .meta({
        description:
          "Optional. Tailscale mesh settings. Auth keys come from the environment / Ansible Vault.",
      }),
    ssh: Ssh.prefault({}),
    nodes: z.array(Node).min(1).meta({
      description: "Required. The hosts: at least one server; an odd number of servers when more than one.",
    }),
    acme: z
      .strictObject({
        email: checked(reasonOf(checkEmail), {
          code: "EMAIL_INVALID",
          is: "not an e-mail address Let's Encrypt accepts",
          hint: "write a plain address such as ops@your-domain.tld (no mailto:, no name, no <>)",
          description:
            "Required. E-mail for the ACME (Let's Encrypt) account: a plain address at a public domain.",
        }),
        environment: z.enum(["staging", "production"]).default("staging").meta({
          description: "Optional. staging (untrusted test certificates) or production. Default: staging.",
        }),
      })
      .meta({
        description: "Required. Let's Encrypt account for the wildcard certificate (DNS-01 via Cloudflare).",
      }),
    ingress: z
      .strictObject({
        mode: z.enum(INGRESS_MODES).default("public").meta({
          description:
            "Optional. How HTTP(S) reaches the cluster: public (ingress nodes' public addresses), tunnel (a Cloudflare Tunnel only; 80/443 closed on every host) or both (the tunnel for its hostnames, ingress nodes for the rest). Default: public.",
        }),
        tunnel: z
          .strictObject({
            name: formatted(
              TUNNEL_NAME,
              "TUNNEL_NAME_INVALID",
              "not a valid tunnel name",
              "use letters, digits, '.', '_' and '-' (at most 100 characters), e.g. infra-k3s-prod",
              "Optional. Name of the Cloudflare Tunnel OpenTofu creates. Default: infra-k3s-<name>.",
            ).optional(),
            hostnames: z
              .array(
                checked(hostnamePatternProblem, {
                  code: "TUNNEL_HOSTNAME_INVALID",
                  is: "not a host name or *.wildcard",
                  hint: "write a lowercase name in the zone, e.g. app.example.com, or *.example.com for every name below example.com",
                  description: "A host name, or *.<name> for every name below it.",
                }),
              )
              .min(1)
              .optional()
              .meta({
                description:
                  'Optional. The host names the tunnel serves (proxied CNAMEs to the tunnel). Default: ["*.<domain>"], every HTTPRoute hostname under the cluster domain.',
              }),
          })
          .prefault({})
          .meta({ description: "Optional. The Cloudflare Tunnel (modes tunnel and both)." }),
      })
      .prefault({})
      .meta({
        description:
          "Optional. Public ingress: ingress nodes' addresses, a Cloudflare Tunnel, or both. See docs/networking.md.",
      }),
    dns: z
      .strictObject({
        txtOwnerId: formatted(
          DNS_LABEL,
          "TXT_OWNER_ID_INVALID",
          "not a valid external-dns owner id",
          "use a DNS-1123 label unique per cluster writing to the zone",
          "Optional. external-dns TXT owner id. Default: the cluster name.",
        ).optional(),
        records: z.array(DnsRecord).default([]).meta({
          description:
            "Optional. Extra DNS records OpenTofu manages (app records come from external-dns). Default: none.",
        }),
      })
      .prefault({})
      .meta({ description: "Optional. DNS settings beyond the records derived from the nodes." }),
    backup: z
      .strictObject({
        bucket: z
          .strictObject({
            name: formatted(
              BUCKET,
              "BUCKET_NAME_INVALID",
              "not a valid R2 bucket name",
              "use 3–63 lowercase letters, digits and '-', starting and ending alphanumeric",
              "Required. R2 bucket for Velero backups and etcd snapshots.",
            ),
            location: z.enum(["apac", "eeur", "enam", "weur", "wnam", "oc"]).optional().meta({
              description:
                "Optional. Location hint, only honoured when the bucket is created. Default: Cloudflare's choice.",
            }),
            storageClass: z
              .enum(["Standard", "InfrequentAccess"])
              .default("Standard")
              .meta({ description: "Optional. Default: Standard." }),
            jurisdiction: z.enum(["default", "eu", "fedramp"]).default("default").meta({
              description: "Optional. Data jurisdiction; eu changes the endpoint. Default: default.",
            }),
          })
          .meta({ description: "Required. The R2 bucket." }),
        velero: z
          .strictObject({
            prefix: formatted(
              PREFIX,
              "PREFIX_INVALID",
              "not a valid object prefix",
              "use letters, digits, '-', '_', '.', '/' without leading or trailing '/'",
              "Optional. Prefix of Velero's objects in the bucket. Default: velero.",
            ).default("velero"),
            daily: Schedule({ schedule: "0 3 * * *", ttl: "720h0m0s" }, "daily (all namespaces)"),
            critical: Schedule(
              { schedule: "0 * * * *", ttl: "168h0m0s" },
              "critical (namespaces labelled backup=critical)",
            ),
          })
          .prefault({})
          .meta({ description: "Optional. Velero schedules and retention." }),
        etcd: z
          .strictObject({
            enabled: z
              .boolean()
              .default(true)
              .meta({ description: "Optional. K3s etcd snapshots to the bucket. Default: true." }),
            folder: formatted(
              PREFIX,
              "PREFIX_INVALID",
              "not a valid object prefix",
              "use letters, digits, '-', '_', '.', '/' without leading or trailing '/'",
              "Optional. Folder of the etcd snapshots in the bucket. Default: etcd.",
            ).default("etcd"),
          })
          .prefault({})
          .meta({ description: "Optional. K3s embedded-etcd snapshots to R2." }),
      })
      .meta({
        description: "Required. Backups: Velero (Kopia) and K3s etcd snapshots, both in one R2 bucket.",
      }),
    gitops: z
      .strictObject({
        repoURL: formatted(
          GIT_URL,
          "GIT_URL_INVALID",
          "not a Git repository URL",
          "use the URL Argo CD clones, e.g. https://github.com/you/infra-k3s.git or git@github.com:you/infra-k3s.git",
          "Required. Git repository Argo CD syncs from (this repository, your fork).",
        ),
        revision: checked(revisionProblem, {
          code: "REVISION_INVALID",
          is: "not a Git branch, tag or commit",
          hint: "use a branch, tag or commit, e.g. main",
          description: "Optional. Branch, tag or commit Argo CD follows. Default: main.",
        }).default("main"),
      })
      .meta({ description: "Required. Where Argo CD reads the kubernetes/ tree from." }),
  })
  .meta({
    title: "infra-k3s cluster.yaml",
    description:
      "One K3s cluster on VPSs from several providers, joined over Tailscale. See docs/configuration.md.",
  });

export type ClusterConfig = z.output<typeof ClusterConfig>;
export type ClusterConfigInput = z.input<typeof ClusterConfig>;
export type NodeConfig = ClusterConfig["nodes"][number];
