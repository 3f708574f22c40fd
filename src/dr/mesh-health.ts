/**
 * Whether flannel's VXLAN routes over tailscale0 are in place on each node, as the node itself reports
 * it. The flannel watchdog (ansible/roles/flannel_watchdog, a systemd timer on every node) compares the
 * routes on flannel.1 with the other nodes' `spec.podCIDR` every minute and writes the result as the
 * node condition `FlannelRoutes` (the way node-problem-detector reports), with the node's own
 * credentials:
 *
 *   status True  reason RoutesPresent     every other node's pod CIDR is routed over flannel.1
 *   status False reason RoutesMissing     message: the CIDRs without a route
 *   status False reason InterfaceMissing  flannel.1 is gone (k3s-io/k3s#14142, tailscale#297)
 *   status Unknown reason TailscaleDown   tailscale0 is down: nothing flannel can do
 *
 * lastHeartbeatTime says when it last checked. No condition means the watchdog is not installed (or
 * opted out); a heartbeat older than STALE_AFTER_MS means it stopped reporting.
 */
import type { NodeObject } from "./status.js";

export const FLANNEL_CONDITION = "FlannelRoutes";
export const STALE_AFTER_MS = 15 * 60_000;

export interface MeshNodeStatus {
  node: string;
  /** ok, missing-routes, interface-missing, tailscale-down, stale, not-reported */
  state: string;
  detail: string;
  checkedAt?: string | undefined;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastHeartbeatTime?: string;
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
    const condition = (n.status?.conditions as Condition[] | undefined)?.find(
      (c) => c.type === FLANNEL_CONDITION,
    );
    if (!condition) {
      return {
        node,
        state: "not-reported",
        detail: "no FlannelRoutes condition: the flannel watchdog is not installed here",
      };
    }
    const checkedAt = condition.lastHeartbeatTime;
    const heartbeat = checkedAt ? Date.parse(checkedAt) : Number.NaN;
    if (Number.isNaN(heartbeat) || now - heartbeat > STALE_AFTER_MS) {
      return {
        node,
        state: "stale",
        detail: `the watchdog last reported ${checkedAt ?? "never"} (journalctl -u k3s-flannel-watchdog on the node)`,
        checkedAt,
      };
    }
    const state = STATES[condition.reason ?? ""] ?? (condition.status === "True" ? "ok" : "unknown");
    return { node, state, detail: condition.message ?? "", checkedAt };
  });
}

export function renderMesh(status: readonly MeshNodeStatus[]): string[] {
  if (status.length === 0) return [];
  const lines = ["Flannel routes over tailscale0 (reported by each node's watchdog):"];
  for (const s of status) lines.push(`  ${s.node}: ${s.state}${s.detail ? ` — ${s.detail}` : ""}`);
  return lines;
}
