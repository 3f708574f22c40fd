/**
 * Whether flannel's VXLAN routes over tailscale0 are in place on each node, as the node itself reports
 * it. The flannel watchdog (ansible/roles/flannel_watchdog, a systemd timer on every node) compares the
 * routes on flannel.1 with the other nodes' `spec.podCIDR` every minute and writes what it found to
 * the annotation `infra-k3s.io/flannel-routes` on its own Node, with the node's own credentials (an
 * annotation is what NodeRestriction lets a node write; a condition would need `get nodes/status`, which
 * the Node authorizer does not grant). The value is JSON:
 *
 *   {"status":"True","reason":"RoutesPresent",...}       every other node's pod CIDR is routed over flannel.1
 *   {"status":"False","reason":"RoutesMissing",...}      message: the CIDRs without a route
 *   {"status":"False","reason":"InterfaceMissing",...}   flannel.1 is gone (k3s-io/k3s#14142, tailscale#297)
 *   {"status":"Unknown","reason":"TailscaleDown",...}    tailscale0 is down: nothing flannel can do
 *
 * plus "message", "checkedAt" (when it last looked) and "since" (when the status last changed). No
 * annotation means the watchdog is not installed (or opted out); a checkedAt older than STALE_AFTER_MS
 * means it stopped reporting.
 */
import type { NodeObject } from "./status.js";

export const FLANNEL_ANNOTATION = "infra-k3s.io/flannel-routes";
export const STALE_AFTER_MS = 15 * 60_000;

export interface MeshNodeStatus {
  node: string;
  /** ok, missing-routes, interface-missing, tailscale-down, stale, not-reported, unreadable */
  state: string;
  detail: string;
  checkedAt?: string | undefined;
}

interface Report {
  status?: string;
  reason?: string;
  message?: string;
  checkedAt?: string;
  since?: string;
}

const STATES: Record<string, string> = {
  RoutesPresent: "ok",
  RoutesMissing: "missing-routes",
  InterfaceMissing: "interface-missing",
  TailscaleDown: "tailscale-down",
};

export function meshStatus(nodes: readonly NodeObject[], now = Date.now()): MeshNodeStatus[] {
  return nodes.map((n) => {
    const node = n.metadata.name as string;
    const raw = n.metadata.annotations?.[FLANNEL_ANNOTATION];
    if (raw === undefined) {
      return { node, state: "not-reported", detail: "the flannel watchdog is not installed on this node" };
    }
    let report: Report;
    try {
      report = JSON.parse(raw) as Report;
    } catch {
      return { node, state: "unreadable", detail: `${FLANNEL_ANNOTATION} is not JSON: ${raw.slice(0, 80)}` };
    }
    const checkedAt = report.checkedAt;
    const checked = checkedAt ? Date.parse(checkedAt) : Number.NaN;
    if (Number.isNaN(checked) || now - checked > STALE_AFTER_MS) {
      return {
        node,
        state: "stale",
        detail: `the watchdog last reported ${checkedAt ?? "never"} (journalctl -u k3s-flannel-watchdog on the node)`,
        checkedAt,
      };
    }
    const state = STATES[report.reason ?? ""] ?? (report.status === "True" ? "ok" : "unknown");
    return { node, state, detail: report.message ?? "", checkedAt };
  });
}

export function renderMesh(status: readonly MeshNodeStatus[]): string[] {
  if (status.length === 0) return [];
  const lines = ["Flannel routes over tailscale0 (reported by each node's watchdog):"];
  for (const s of status) lines.push(`  ${s.node}: ${s.state}${s.detail ? ` — ${s.detail}` : ""}`);
  return lines;
}
