/**
 * Days left on the K3s certificates the operator depends on: the API server's serving certificate (read
 * from the TLS handshake with the kubeconfig's server) and the client certificate of the kubeconfig
 * (K3s' admin certificate when the kubeconfig came from a server). K3s issues both for 365 days and
 * renews them only when it starts within 90 days of expiry, so a cluster that is never restarted
 * runs into expired certificates after a year.
 */
import { X509Certificate } from "node:crypto";
import tls from "node:tls";
import type { CommandContext } from "../context.js";
import type { KubeAccessOptions } from "../kube/kubeconfig.js";

/** K3s renews a leaf certificate at start when fewer days than this are left. */
export const RENEWAL_WINDOW_DAYS = 90;

export interface CertificateDays {
  which: "serving" | "client";
  /** Where it was read: the API endpoint or the kubeconfig user. */
  source: string;
  subject: string;
  notAfter: string;
  daysLeft: number;
  /** Set when fewer than RENEWAL_WINDOW_DAYS are left: what is wrong and the fix. */
  warning?: string | undefined;
}

export type CertificateStatus = CertificateDays[] | { unavailable: string };

export function daysLeft(notAfter: Date, now = Date.now()): number {
  return Math.floor((notAfter.getTime() - now) / 86_400_000);
}

const FIX = {
  serving:
    "restart K3s on each server, one at a time (sudo systemctl restart k3s): K3s renews its certificates when it starts within 90 days of expiry",
  client:
    "after K3s restarted on the first server, fetch its renewed /etc/rancher/k3s/k3s.yaml again (the k3s_server role does: `infra cluster init`)",
} as const;

export function assess(
  which: CertificateDays["which"],
  source: string,
  cert: X509Certificate,
  now = Date.now(),
): CertificateDays {
  const notAfter = new Date(cert.validTo);
  const left = daysLeft(notAfter, now);
  const entry: CertificateDays = {
    which,
    source,
    subject: cert.subject.replace(/\n/g, ", "),
    notAfter: notAfter.toISOString(),
    daysLeft: left,
  };
  if (left < RENEWAL_WINDOW_DAYS) {
    entry.warning = `${left < 0 ? "expired" : `expires in ${left} day(s)`}: ${FIX[which]}`;
  }
  return entry;
}

/** The certificate the server presents, without trusting it (only its dates are read). */
export async function servingCertificate(server: string, timeoutMs = 10_000): Promise<X509Certificate> {
  const url = new URL(server);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: url.hostname,
      port: Number(url.port || 443),
      servername: /^[\d.]+$|:/.test(url.hostname) ? undefined : url.hostname,
      rejectUnauthorized: false,
      timeout: timeoutMs,
    });
    socket.once("secureConnect", () => {
      const cert = socket.getPeerX509Certificate();
      socket.end();
      if (cert) resolve(cert);
      else reject(new Error("the server presented no certificate"));
    });
    socket.once("timeout", () => socket.destroy(new Error(`no TLS handshake within ${timeoutMs / 1000}s`)));
    socket.once("error", reject);
  });
}

/** Both certificates; a part that cannot be read is reported as such, never thrown. */
export async function certificateStatus(
  ctx: CommandContext,
  access: KubeAccessOptions,
  now = Date.now(),
): Promise<CertificateStatus> {
  const { loadKubeConfig } = await import("../kube/kubeconfig.js");
  let loaded: Awaited<ReturnType<typeof loadKubeConfig>>;
  try {
    loaded = await loadKubeConfig(access, ctx.env, ctx.cwd, ctx.workdir ?? ctx.cwd);
  } catch (error) {
    return { unavailable: error instanceof Error ? error.message : String(error) };
  }
  const out: CertificateDays[] = [];
  try {
    out.push(assess("serving", loaded.server, await servingCertificate(loaded.server), now));
  } catch (error) {
    return { unavailable: `the API server's certificate could not be read: ${(error as Error).message}` };
  }
  // a token or exec plugin instead of a client certificate: nothing to expire here
  if (loaded.auth.cert) {
    out.push(
      assess("client", `kubeconfig context ${loaded.context}`, new X509Certificate(loaded.auth.cert), now),
    );
  }
  return out;
}

export function renderCertificates(status: CertificateStatus): string[] {
  if ("unavailable" in status) return [`Certificates: ${status.unavailable}`];
  return status.map(
    (c) =>
      `Certificate ${c.which.padEnd(7)} ${c.daysLeft < 0 ? "EXPIRED" : `${c.daysLeft} days left`} (until ${c.notAfter.slice(0, 10)}, ${c.source})${c.warning ? `\n  warning: ${c.warning}` : ""}`,
  );
}
