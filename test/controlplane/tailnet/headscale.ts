/**
 * headscale on the loopback with its policy in the database (policy.mode: database), the mode in
 * which `infra tailnet apply` changes it through the API. No DERP relay exists (the one region
 * points at a port nothing listens on), so peers talk directly or not at all.
 */
import { launchHeadscale } from "../../helpers/headscale.js";
import { type FilterRule, headscaleFilter } from "../../helpers/tailnet/netmap.js";

export interface Headscale {
  /** http://127.0.0.1:<port>: the API and the control protocol. */
  url: string;
  port: number;
  log: string;
  cli(args: string[]): Promise<string>;
  createUser(name: string): Promise<number>;
  /** A reusable pre-auth key; with `tags`, headscale gives them to the devices that join with it. */
  createAuthKey(user: number, tags?: readonly string[]): Promise<string>;
  createApiKey(): Promise<string>;
  /** The stored policy text, or undefined when none was ever set. */
  policy(): Promise<string | undefined>;
  nodes(): Promise<Array<{ id: number; name: string; tags: string[]; ipv4: string }>>;
  /** The packet filter its policy in force compiles to, for every node (before it narrows it per node). */
  filter(): Promise<FilterRule[]>;
  stop(): Promise<void>;
}

export async function startHeadscale(dir: string): Promise<Headscale> {
  // STUN to the members' own loopback (nothing answers there): netcheck can send, so tailscaled keeps
  // its direct paths instead of rebinding after every check (see launchHeadscale's stunPort).
  const { url, port, debugUrl, log, cli, stop } = await launchHeadscale(dir, {
    policy: { mode: "database" },
    stunPort: 3478,
  });

  const readKey = (
    JSON.parse(await cli(["apikeys", "create", "--expiration", "2h", "-o", "json"])) as string
  ).trim();

  return {
    url,
    port,
    log,
    cli,
    async createUser(name) {
      await cli(["users", "create", name]);
      const users = JSON.parse(await cli(["users", "list", "-o", "json"])) as Array<{
        id: number;
        name: string;
      }>;
      const user = users.find((u) => u.name === name);
      if (!user) throw new Error(`headscale did not create the user ${name}`);
      return user.id;
    },
    async createAuthKey(user, tags = []) {
      const args = [
        "preauthkeys",
        "create",
        "--user",
        String(user),
        "--reusable",
        "--expiration",
        "2h",
        "-o",
        "json",
      ];
      if (tags.length > 0) args.push("--tags", tags.join(","));
      const key = JSON.parse(await cli(args)) as { key?: string };
      if (!key.key) throw new Error("headscale returned no pre-auth key");
      return key.key;
    },
    async createApiKey() {
      return (
        JSON.parse(await cli(["apikeys", "create", "--expiration", "2h", "-o", "json"])) as string
      ).trim();
    },
    async policy() {
      // Through the API, byte for byte (the CLI adds a newline).
      const read = () => fetch(`${url}/api/v1/policy`, { headers: { Authorization: `Bearer ${readKey}` } });
      // Once more on a failed exchange: fetch may reuse a kept-alive connection headscale closed while idle.
      const response = await read().catch(() => read());
      const body = (await response.json()) as { policy?: string; message?: string };
      if (response.ok) return body.policy;
      if (/acl policy not found/.test(body.message ?? "")) return undefined;
      throw new Error(`headscale: ${body.message}`);
    },
    async nodes() {
      const raw = JSON.parse(await cli(["nodes", "list", "-o", "json"])) as Array<Record<string, unknown>>;
      return raw.map((n) => ({
        id: Number(n.id),
        name: String(n.given_name ?? n.name ?? ""),
        tags: Array.isArray(n.tags) ? (n.tags as string[]) : [],
        ipv4:
          (Array.isArray(n.ip_addresses) ? (n.ip_addresses as string[]) : []).find((a) => a.includes(".")) ??
          "",
      }));
    },
    filter: () => headscaleFilter(debugUrl),
    stop,
  };
}
