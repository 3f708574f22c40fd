/**
 * The schema of cluster.yaml: the single source of truth of the cluster. The zod schema is the
 * source of the TypeScript types and of schema/cluster.schema.json (editor completion).
 *
 * Single-field format checks are refinements that carry a stable error code and a hint in
 * `params`; cross-field rules (duplicates, counts, overlaps) live in rules.ts.
 */
import { z } from "zod";
import { K3S_OLDEST_MINOR, K3S_VERSION_PATTERN, k3sMinimumFor, parseK3sVersion } from "./k3s-version.js";
import { cidrContains, classifyPublic, networkOf, parseCidr, parseIPv4, TAILSCALE_RANGE } from "./net.js";

export const CONFIG_VERSION = 1;

/** What a refinement puts into `params` so the loader can report a stable code and a hint. */
export interface CheckParams {
  code: string;
  hint?: string;
}

/** A string that must match `pattern`; failures carry `code` and `hint`. */
function formatted(pattern: RegExp, code: string, message: string, hint: string, description: string) {
  return z
    .string()
    .refine((value) => pattern.test(value), {
      error: (issue) => `${JSON.stringify(issue.input)} is ${message}`,
      params: { code, hint } satisfies CheckParams,
    })
    .meta({ pattern: pattern.source, description });
}

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const DOMAIN =
  /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+([a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;
const ACCOUNT_ID = /^[0-9a-f]{32}$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const BUCKET = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const TAG = /^tag:[A-Za-z][A-Za-z0-9-]*$/;
const HTTP_URL = /^https?:\/\/[^\s/$.?#][^\s]*$/;
const GIT_URL = /^(https:\/\/|ssh:\/\/|git@)[^\s]+$/;
const SSH_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const SLUG = /^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/;
const PREFIX = /^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$/;
const REVISION = /^[^\s]+$/;
/** A Go duration as Velero writes TTLs: `720h0m0s`, `168h`, `90m`. */
const DURATION = /^(?=\d)(\d+h)?(\d+m)?(\d+s)?$/;
/** Five cron fields, or one of the `@` shorthands Velero's scheduler accepts. */
const CRON =
  /^((@(yearly|annually|monthly|weekly|daily|midnight|hourly))|(@every \d+[hms](\d+[ms])?)|([0-9*,/?A-Za-z-]+( [0-9*,/?A-Za-z-]+){4}))$/;
/** `key=value:Effect` or `key:Effect` as k3s `node-taint` takes them. */
const TAINT =
  /^(([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?(=([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?)?:(NoSchedule|PreferNoSchedule|NoExecute)$/;
const LABEL_KEY =
  /^(([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

const IPV4_PATTERN = "^(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}$";
const CIDR_PATTERN = `${IPV4_PATTERN.slice(0, -1)}/(3[0-2]|[12]?\\d)$`;

const publicIPv4 = z
  .string()
  .superRefine((value, ctx) => {
    const address = parseIPv4(value);
    if (address === undefined) {
      ctx.addIssue({
        code: "custom",
        message: `"${value}" is not an IPv4 address`,
        params: {
          code: "IP_INVALID",
          hint: "write the node's public IPv4 address as four numbers, e.g. 203.0.113.10",
        },
      });
      return;
    }
    const kind = classifyPublic(address);
    if (kind.kind === "non-public") {
      ctx.addIssue({
        code: "custom",
        message: `${value} is not a public address: ${kind.what}`,
        params: {
          code: "PUBLIC_IP_NOT_PUBLIC",
          hint: "use the address the host is reached at from the internet (the provider's console shows it); the Tailscale address goes in tailscaleIPv4",
        },
      });
    }
  })
  .meta({
    pattern: IPV4_PATTERN,
    description:
      "Public IPv4 address of the host (used for SSH before Tailscale and as the node's ExternalIP).",
  });

const tailscaleIPv4 = z
  .string()
  .superRefine((value, ctx) => {
    const address = parseIPv4(value);
    if (address === undefined || !cidrContains(TAILSCALE_RANGE, address)) {
      ctx.addIssue({
        code: "custom",
        message: `"${value}" is not a Tailscale address (Tailscale assigns from 100.64.0.0/10)`,
        params: {
          code: "TAILSCALE_IP_INVALID",
          hint: "copy the node's address from `tailscale ip -4`, or leave tailscaleIPv4 out: it is then read at join time",
        },
      });
    }
  })
  .meta({
    pattern: IPV4_PATTERN,
    description:
      "Optional. The node's Tailscale IPv4 (100.64.0.0/10) when already known; K3s uses it as node-ip. Default: read from `tailscale ip -4` at join time.",
  });

function cidrField(description: string) {
  return z
    .string()
    .superRefine((value, ctx) => {
      const parsed = parseCidr(value);
      if (parsed === "syntax") {
        ctx.addIssue({
          code: "custom",
          message: `"${value}" is not an IPv4 CIDR block`,
          params: { code: "CIDR_INVALID", hint: "write it as network/prefix, e.g. 10.42.0.0/16 (IPv4 only)" },
        });
      } else if (parsed === "host-bits") {
        ctx.addIssue({
          code: "custom",
          message: `"${value}" has host bits set`,
          params: { code: "CIDR_INVALID", hint: `use the network address: ${networkOf(value)}` },
        });
      }
    })
    .meta({ pattern: CIDR_PATTERN, description });
}

const k3sVersion = z
  .string()
  .superRefine((value, ctx) => {
    const version = parseK3sVersion(value);
    if (!version) {
      ctx.addIssue({
        code: "custom",
        message: `"${value}" is not a K3s release version`,
        params: {
          code: "K3S_VERSION_INVALID",
          hint: "pin an exact release such as v1.36.3+k3s1 (channels are not allowed)",
        },
      });
      return;
    }
    const minimum = k3sMinimumFor(version);
    if (minimum) {
      ctx.addIssue({
        code: "custom",
        message:
          version.minor < K3S_OLDEST_MINOR
            ? `K3s ${value} is from a line without the Tailscale/flannel fix; the oldest fixed release is ${minimum}`
            : `K3s ${value} is older than ${minimum}, the first 1.${version.minor} release with the Tailscale/flannel fix`,
        params: {
          code: "K3S_VERSION_TOO_OLD",
          hint: "older releases lose flannel.1 whenever tailscaled restarts (k3s-io/k3s#12436); use v1.36.2+, v1.35.6+, v1.34.9+ or v1.33.13+",
        },
      });
    }
  })
  .meta({
    pattern: K3S_VERSION_PATTERN.source,
    description:
      "Required. Exact K3s release, e.g. v1.36.3+k3s1. Minimum per minor (Tailscale/flannel fix): v1.36.2, v1.35.6, v1.34.9, v1.33.13.",
  });

const labels = z
  .record(z.string(), z.string())
  .superRefine((value, ctx) => {
    for (const [key, text] of Object.entries(value)) {
      if (!LABEL_KEY.test(key) || key.length > 316) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: `"${key}" is not a valid Kubernetes label key`,
          params: {
            code: "LABEL_INVALID",
            hint: "use [prefix/]name: name ≤ 63 chars of [A-Za-z0-9-_.], prefix a DNS subdomain",
          },
        });
      } else if (!LABEL_VALUE.test(text)) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: `"${text}" is not a valid Kubernetes label value`,
          params: {
            code: "LABEL_INVALID",
            hint: "a label value is ≤ 63 chars of [A-Za-z0-9-_.], starting and ending alphanumeric",
          },
        });
      }
    }
  })
  .meta({
    description: 'Optional. Kubernetes node labels (string values; quote "true"). Default: none.',
    propertyNames: { pattern: LABEL_KEY.source },
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
  privateKeyFile: z
    .string()
    .min(1)
    .meta({ description: "Private key for SSH (a path on the operator's machine; ~ allowed)." }),
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
        "Optional. Serves public HTTP(S) ingress (Traefik via ServiceLB on its public IP). Default: false.",
    }),
    labels: labels.default({}),
    taints: z
      .array(
        formatted(
          TAINT,
          "TAINT_INVALID",
          "not a valid taint",
          "write taints as key=value:Effect (or key:Effect) with Effect NoSchedule, PreferNoSchedule or NoExecute",
          "A taint as key=value:Effect.",
        ),
      )
      .default([])
      .meta({ description: "Optional. Node taints as key=value:Effect. Default: none." }),
  })
  .meta({ description: "One host of the cluster." });

const Schedule = (defaults: { schedule: string; ttl: string }, what: string) =>
  z
    .strictObject({
      schedule: formatted(
        CRON,
        "CRON_INVALID",
        "not a cron schedule",
        'use five cron fields (minute hour day-of-month month day-of-week), e.g. "0 3 * * *", or @daily',
        `Optional. Cron schedule of the ${what} backup. Default: "${defaults.schedule}".`,
      ).default(defaults.schedule),
      ttl: formatted(
        DURATION,
        "DURATION_INVALID",
        "not a duration",
        "write a Go duration such as 720h0m0s, 168h or 90m",
        `Optional. How long ${what} backups are kept. Default: ${defaults.ttl}.`,
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
          .meta({ description: 'Optional. ACL tags the nodes advertise. Default: ["tag:k8s"].' }),
        loginServer: formatted(
          HTTP_URL,
          "URL_INVALID",
          "not an http(s) URL",
          "write the control server URL, e.g. https://headscale.example.com",
          "Optional. Self-hosted control server (headscale) URL. Default: Tailscale's own.",
        ).optional(),
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
        email: formatted(
          EMAIL,
          "EMAIL_INVALID",
          "not an e-mail address",
          "use an address Let's Encrypt can reach about expiring certificates",
          "Required. E-mail for the ACME (Let's Encrypt) account.",
        ),
        environment: z.enum(["staging", "production"]).default("staging").meta({
          description: "Optional. staging (untrusted test certificates) or production. Default: staging.",
        }),
      })
      .meta({
        description: "Required. Let's Encrypt account for the wildcard certificate (DNS-01 via Cloudflare).",
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
        revision: formatted(
          REVISION,
          "REVISION_INVALID",
          "not a Git revision",
          "use a branch, tag or commit, e.g. main",
          "Optional. Default: main.",
        ).default("main"),
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
