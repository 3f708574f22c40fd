/**
 * What `infra up` would do, as data: nodes with the addresses K3s uses, the playbooks and roles
 * per host, the DNS records and bucket OpenTofu manages, the Argo CD applications in sync-wave
 * order and the pinned versions. Pure: the command gathers the inputs, this builds the plan.
 */
import {
  apiHostname,
  nodeSsh,
  r2EndpointHost,
  servers,
  tunnelEnabled,
  tunnelName,
  zoneName,
} from "../config/derived.js";
import type { ConfigSource } from "../config/load.js";
import type { ClusterConfig } from "../config/schema.js";
import type { ErrorDetail } from "../errors.js";
import { TUNNEL_APP_LABEL } from "../render/ingress.js";
import { type DnsRecord, dnsRecords, type R2Bucket, RENDERED_FILES, r2Bucket } from "../render/render.js";
import type { ArgoApplication } from "./argo-apps.js";
import { type IngressPlan, planIngress } from "./ingress.js";
import { type Playbook, resolveHosts } from "./playbooks.js";
import type { RouteHost } from "./routes.js";

export const ASSIGNED_AT_JOIN = "assigned at join";
/** The value kubernetes/ manifests carry where `kubernetes/cluster-values` fills in a rendered value. */
export const CLUSTER_VALUES_PLACEHOLDER = "set-by-cluster-values";

export interface PlanNode {
  name: string;
  role: "server" | "agent";
  provider: string;
  region: string;
  instanceType?: string;
  /** K3s node-ip (and advertise-address on servers): the Tailscale address. */
  nodeIp: string;
  /** K3s node-external-ip: the public address. */
  externalIp: string;
  ingress: boolean;
  ssh: { user: string; port: number; address: string };
  /** How the node starts K3s: `cluster-init` (first server) or the URL it joins. */
  join: string;
  labels: Record<string, string>;
  taints: string[];
  playbooks: { playbook: string; roles: string[] }[];
}

export interface PlanStep {
  step: number;
  title: string;
  detail: string;
}

export interface PlanVersion {
  component: string;
  version: string;
  source: string;
}

export interface Plan {
  source: { file: string; origin: ConfigSource["origin"] };
  cluster: {
    name: string;
    domain: string;
    apiHostname: string;
    k3sVersion: string;
    clusterCidr: string;
    serviceCidr: string;
    tailscale: { tags: string[]; loginServer: string };
    acme: { email: string; environment: string };
  };
  summary: {
    servers: number;
    agents: number;
    ingress: number;
    byProvider: Record<string, { server: string[]; agent: string[] }>;
  };
  nodes: PlanNode[];
  steps: PlanStep[];
  playbooks: (Playbook & { plays: (Playbook["plays"][number] & { nodes: string[] })[] })[];
  dns: { zone: string; records: DnsRecord[]; notes: string[] };
  ingress: IngressPlan;
  bucket: R2Bucket & { endpoint: string; veleroPrefix: string; etcdFolder: string | null };
  backups: { daily: { schedule: string; ttl: string }; critical: { schedule: string; ttl: string } };
  applications: ArgoApplication[];
  applicationsNote?: string;
  versions: PlanVersion[];
  warnings: ErrorDetail[];
}

export interface PlanInputs {
  config: ClusterConfig;
  source: ConfigSource;
  warnings: ErrorDetail[];
  playbooks: Playbook[];
  applications: ArgoApplication[];
  unreadableManifests?: string[];
  versions: PlanVersion[];
  /** The HTTPRoute host names of kubernetes/ (what external-dns or the tunnel serves). */
  routes?: RouteHost[];
}

export function buildPlan(inputs: PlanInputs): Plan {
  const { config } = inputs;
  const serverNodes = servers(config);
  const first = serverNodes[0];
  const firstAddress = first?.tailscaleIPv4 ?? (first ? `<${first.name} Tailscale IP>` : "<server>");
  const groups: Record<string, string[]> = {
    k3s_cluster: [...serverNodes, ...config.nodes.filter((n) => n.role === "agent")].map((n) => n.name),
    k3s_masters: serverNodes.map((n) => n.name),
    k3s_workers: config.nodes.filter((n) => n.role === "agent").map((n) => n.name),
  };
  const allHosts = groups.k3s_cluster ?? [];

  const playbooks = inputs.playbooks.map((book) => ({
    ...book,
    plays: book.plays.map((play) => ({ ...play, nodes: resolveHosts(play.hosts, groups, allHosts) })),
  }));
  const rolesFor = (name: string) =>
    playbooks
      .map((book) => ({
        playbook: book.file.split("/").pop() ?? book.file,
        roles: unique(book.plays.filter((p) => p.nodes.includes(name)).flatMap((p) => p.roles)),
      }))
      .filter((entry) => entry.roles.length > 0);

  const nodes: PlanNode[] = config.nodes.map((node) => {
    const ssh = nodeSsh(config, node);
    const planNode: PlanNode = {
      name: node.name,
      role: node.role,
      provider: node.provider,
      region: node.region,
      nodeIp: node.tailscaleIPv4 ?? ASSIGNED_AT_JOIN,
      externalIp: node.publicIPv4,
      ingress: node.ingress,
      ssh: { user: ssh.user, port: ssh.port, address: node.tailscaleIPv4 ?? node.publicIPv4 },
      join: node === first ? "cluster-init" : `https://${firstAddress}:6443`,
      labels: node.labels,
      taints: node.taints,
      playbooks: rolesFor(node.name),
    };
    if (node.instanceType) planNode.instanceType = node.instanceType;
    return planNode;
  });

  const byProvider: Plan["summary"]["byProvider"] = {};
  for (const node of config.nodes) {
    const entry = byProvider[node.provider] ?? { server: [], agent: [] };
    byProvider[node.provider] = entry;
    entry[node.role].push(node.name);
  }

  const records = dnsRecords(config);
  const notes: string[] = [];
  const unknownServers = serverNodes.filter((n) => !n.tailscaleIPv4).map((n) => n.name);
  if (unknownServers.length > 0) {
    notes.push(
      `${apiHostname(config)} has no record for ${unknownServers.join(", ")}: their Tailscale IPs are assigned at join; set nodes[].tailscaleIPv4 and re-run \`infra configure\``,
    );
  }
  const owner = config.dns.txtOwnerId ?? config.name;
  notes.push(
    config.ingress.mode === "tunnel"
      ? "no application hostname gets an address record: the Cloudflare Tunnel serves them (see Ingress)"
      : config.ingress.mode === "both"
        ? `application hostnames the tunnel does not serve are managed by external-dns (owner id ${owner}); see Ingress`
        : `application hostnames (<app>.${config.domain}) are managed by external-dns (owner id ${owner})`,
  );
  const ingress = planIngress(config, inputs.routes ?? []);

  const bucket = r2Bucket(config);
  // kubernetes/ leaves the repository and revision as placeholders that kustomize `replacements`
  // fill from the rendered cluster values; show what Argo CD will really get.
  // In public mode the rendered ingress component leaves the tunnel's Applications out of the tree.
  const deployed = inputs.applications.filter(
    (app) => tunnelEnabled(config) || app.labels?.[TUNNEL_APP_LABEL.key] !== TUNNEL_APP_LABEL.value,
  );
  const apps = deployed.map((app) => ({
    ...app,
    sources: app.sources.map((s) => ({
      ...s,
      ...(s.repoURL === CLUSTER_VALUES_PLACEHOLDER ? { repoURL: config.gitops.repoURL } : {}),
      ...(s.targetRevision === CLUSTER_VALUES_PLACEHOLDER ? { targetRevision: config.gitops.revision } : {}),
    })),
  }));
  const steps: PlanStep[] = [
    {
      step: 1,
      title: "OpenTofu: DNS records and R2 bucket",
      detail:
        `tofu apply in tofu/ with ${RENDERED_FILES.tofuVars}: ${records.length} DNS record(s) in ${zoneName(config)}, bucket ${bucket.name}` +
        (ingress.tunnel
          ? `, Cloudflare Tunnel ${tunnelName(config)} with ${ingress.tunnel.records.length} proxied CNAME(s)`
          : ""),
    },
    ...playbooks.map((book, index) => ({
      step: 2 + index,
      title: `Ansible: ${book.file}`,
      detail: book.plays
        .map((p) => `${p.hosts} (${p.nodes.length}): ${p.roles.join(", ") || "checks (tasks only)"}`)
        .join("; "),
    })),
    {
      step: 2 + playbooks.length,
      title: "GitOps bootstrap",
      detail: `Argo CD, the age key Secret for KSOPS, the root application (${config.gitops.repoURL} @ ${config.gitops.revision}) -> ${apps.length} application(s)`,
    },
    {
      step: 3 + playbooks.length,
      title: "Wait until healthy",
      detail: "nodes Ready, applications Synced and Healthy",
    },
  ];

  const plan: Plan = {
    source: { file: inputs.source.display, origin: inputs.source.origin },
    cluster: {
      name: config.name,
      domain: config.domain,
      apiHostname: apiHostname(config),
      k3sVersion: config.k3s.version,
      clusterCidr: config.k3s.clusterCidr,
      serviceCidr: config.k3s.serviceCidr,
      tailscale: { tags: config.tailscale.tags, loginServer: config.tailscale.loginServer ?? "" },
      acme: { email: config.acme.email, environment: config.acme.environment },
    },
    summary: {
      servers: serverNodes.length,
      agents: config.nodes.length - serverNodes.length,
      ingress: config.nodes.filter((n) => n.ingress).length,
      byProvider,
    },
    nodes,
    steps,
    playbooks,
    dns: { zone: zoneName(config), records, notes },
    ingress,
    bucket: {
      ...bucket,
      endpoint: `https://${r2EndpointHost(config)}`,
      veleroPrefix: config.backup.velero.prefix,
      etcdFolder: config.backup.etcd.enabled ? config.backup.etcd.folder : null,
    },
    backups: { daily: config.backup.velero.daily, critical: config.backup.velero.critical },
    applications: apps,
    versions: [
      { component: "k3s", version: config.k3s.version, source: inputs.source.display },
      ...apps.flatMap((app) =>
        app.sources
          .filter((s) => s.chart && s.targetRevision)
          .map((s) => ({ component: `chart ${s.chart}`, version: s.targetRevision ?? "", source: app.file })),
      ),
      ...inputs.versions,
    ],
    warnings: inputs.warnings,
  };
  if (apps.length === 0) plan.applicationsNote = "no Argo CD Application manifests found under kubernetes/";
  if (inputs.unreadableManifests && inputs.unreadableManifests.length > 0) {
    plan.applicationsNote = `could not parse: ${inputs.unreadableManifests.join(", ")}`;
  }
  return plan;
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}
