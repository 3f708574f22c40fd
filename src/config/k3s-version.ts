/**
 * K3s release versions (`v1.36.3+k3s1`) and the minimum patch per minor that carries the fix for
 * `flannel.1` disappearing when tailscale0 is recreated (k3s-io/k3s#12436, backports #14114–#14117).
 */

export interface K3sVersion {
  major: number;
  minor: number;
  patch: number;
  k3s: number;
}

export const K3S_VERSION_PATTERN = /^v(\d+)\.(\d+)\.(\d+)\+k3s(\d+)$/;

/** The first release of each minor with the Tailscale/flannel fix; later minors all have it. */
export const K3S_MINIMUM_PATCH: Readonly<Record<number, number>> = { 33: 13, 34: 9, 35: 6, 36: 2 };
export const K3S_OLDEST_MINOR = 33;
export const K3S_NEWEST_PATCHED_MINOR = 36;

/** The version `infra init` pins and the example uses (stable channel, late 2026). */
export const K3S_DEFAULT_VERSION = "v1.36.3+k3s1";

export function parseK3sVersion(text: string): K3sVersion | undefined {
  const match = K3S_VERSION_PATTERN.exec(text);
  if (!match) return undefined;
  const [, major, minor, patch, k3s] = match.map(Number);
  return { major: major ?? 0, minor: minor ?? 0, patch: patch ?? 0, k3s: k3s ?? 0 };
}

/** Undefined when the version is new enough, else the minimum to upgrade to. */
export function k3sMinimumFor(version: K3sVersion): string | undefined {
  const oldest = `v1.${K3S_OLDEST_MINOR}.${K3S_MINIMUM_PATCH[K3S_OLDEST_MINOR]}+k3s1`;
  if (version.major !== 1) return version.major > 1 ? undefined : oldest;
  if (version.minor > K3S_NEWEST_PATCHED_MINOR) return undefined;
  if (version.minor < K3S_OLDEST_MINOR) return oldest;
  const minimum = K3S_MINIMUM_PATCH[version.minor] ?? 0;
  return version.patch >= minimum ? undefined : `v1.${version.minor}.${minimum}+k3s1`;
}
