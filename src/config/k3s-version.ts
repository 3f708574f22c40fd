/**
 * K3s release versions (`v1.36.3+k3s1`): the version `infra init` pins, and next to it the table of
 * the K3s minors this project supports. For each minor: the first patch with the fix for
 * `flannel.1` disappearing when tailscale0 is recreated (k3s-io/k3s#12436, backports
 * #14114–#14117), and the newest release the project knows (K3s's release notes). Bump the table
 * with the pin: a newer patch than the table knows is only warned about; a newer minor is refused
 * until someone has read its release notes.
 */

export interface K3sVersion {
  major: number;
  minor: number;
  patch: number;
  k3s: number;
}

export const K3S_VERSION_PATTERN = /^v(\d+)\.(\d+)\.(\d+)\+k3s(\d+)$/;

/** The version `infra init` pins and the example uses (stable channel, late 2026). */
export const K3S_DEFAULT_VERSION = "v1.36.3+k3s1";

export interface K3sMinor {
  /** First patch of the minor with the Tailscale/flannel fix. */
  minimumPatch: number;
  /** Newest release of the minor the project knows. */
  newest: string;
}

/** Supported minors of Kubernetes 1.x. */
export const K3S_MINORS: Readonly<Record<number, K3sMinor>> = {
  33: { minimumPatch: 13, newest: "v1.33.13+k3s1" },
  34: { minimumPatch: 9, newest: "v1.34.9+k3s1" },
  35: { minimumPatch: 6, newest: "v1.35.6+k3s1" },
  36: { minimumPatch: 2, newest: "v1.36.3+k3s1" },
  37: { minimumPatch: 0, newest: "v1.37.1+k3s1" },
};

const minors = Object.keys(K3S_MINORS).map(Number);
export const K3S_OLDEST_MINOR = Math.min(...minors);
export const K3S_NEWEST_MINOR = Math.max(...minors);

export function parseK3sVersion(text: string): K3sVersion | undefined {
  const match = K3S_VERSION_PATTERN.exec(text);
  if (!match) return undefined;
  const [, major, minor, patch, k3s] = match.map(Number);
  return { major: major ?? 0, minor: minor ?? 0, patch: patch ?? 0, k3s: k3s ?? 0 };
}

const format = (minor: number, patch: number) => `v1.${minor}.${patch}+k3s1`;

/** The oldest release the project supports. */
export const K3S_OLDEST_SUPPORTED = format(K3S_OLDEST_MINOR, K3S_MINORS[K3S_OLDEST_MINOR]?.minimumPatch ?? 0);
/** The newest release the project knows. */
export const K3S_NEWEST_KNOWN = K3S_MINORS[K3S_NEWEST_MINOR]?.newest ?? K3S_DEFAULT_VERSION;

export type K3sSupport =
  | { verdict: "supported" }
  | { verdict: "too-old"; minimum: string; oldMinor: boolean }
  | { verdict: "unknown-minor"; newest: string }
  | { verdict: "newer-than-known"; newest: string };

/** Where a release stands against the table. */
export function k3sSupport(version: K3sVersion): K3sSupport {
  if (version.major < 1 || (version.major === 1 && version.minor < K3S_OLDEST_MINOR))
    return { verdict: "too-old", minimum: K3S_OLDEST_SUPPORTED, oldMinor: true };
  const minor = version.major === 1 ? K3S_MINORS[version.minor] : undefined;
  if (!minor) return { verdict: "unknown-minor", newest: K3S_NEWEST_KNOWN };
  if (version.patch < minor.minimumPatch)
    return { verdict: "too-old", minimum: format(version.minor, minor.minimumPatch), oldMinor: false };
  const newest = parseK3sVersion(minor.newest);
  if (
    newest &&
    (version.patch > newest.patch || (version.patch === newest.patch && version.k3s > newest.k3s))
  )
    return { verdict: "newer-than-known", newest: minor.newest };
  return { verdict: "supported" };
}

/** Undefined when the version has the Tailscale/flannel fix, else the minimum to upgrade to. */
export function k3sMinimumFor(version: K3sVersion): string | undefined {
  const support = k3sSupport(version);
  return support.verdict === "too-old" ? support.minimum : undefined;
}
