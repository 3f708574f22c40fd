/**
 * A local headscale as the Tailscale control server: listens on the host loopback only; the VMs
 * reach it as http://10.0.2.100:8080 through QEMU's guestfwd. No DERP relay (nothing may leave the
 * machine), so the nodes must connect directly over the private link, UDP 41641 — which is what the
 * firewall is meant to allow. Its policy lives in its database (policy.mode: database), where
 * `infra tailnet apply` puts it; until then it has none, and headscale without a policy lets every
 * device reach every other, as a new tailnet does.
 */
import { mkdir } from "node:fs/promises";
import { launchHeadscale } from "../../helpers/headscale.js";
import { type FilterRule, headscaleFilter } from "../../helpers/tailnet/netmap.js";
import { HEADSCALE_GUEST_PORT, HOST_SERVICES_IP } from "./image.js";

export const HEADSCALE_USER = "infra";

export interface Headscale {
  /** The loopback port the guestfwd relays to. */
  port: number;
  /** The URL the VMs use (`tailscale_login_server`). */
  serverUrl: string;
  config: string;
  log: string;
  cli(args: string[]): Promise<string>;
  /**
   * A reusable pre-auth key giving the devices that join with it these tags (none: a user's device);
   * the harness user's unless `user` says, valid for `expiration` (a headscale duration, default 2h).
   */
  createAuthKey(tags: readonly string[], options?: { user?: string; expiration?: string }): Promise<string>;
  createUser(name: string): Promise<void>;
  /** An API key (what the preflight uses to ask headscale about the auth key). */
  createApiKey(): Promise<string>;
  nodes(): Promise<
    Array<{
      id: number;
      name: string;
      givenName?: string;
      ipAddresses: string[];
      online?: boolean;
      tags?: string[];
    }>
  >;
  /** The packet filter its policy in force compiles to (netmap.ts), to wait for it on every device. */
  filter(): Promise<FilterRule[]>;
  stop(): Promise<void>;
}

export async function startHeadscale(dir: string): Promise<Headscale> {
  await mkdir(dir, { recursive: true });
  const serverUrl = `http://${HOST_SERVICES_IP}:${HEADSCALE_GUEST_PORT}`;
  const { port, debugUrl, config, log, cli, stop } = await launchHeadscale(dir, {
    serverUrl,
    policy: { mode: "database" },
    // STUN to each device's own loopback (nothing answers): netcheck can send, so tailscaled keeps its
    // direct paths instead of rebinding after every check (see launchHeadscale's stunPort).
    stunPort: 3478,
  });
  await cli(["users", "create", HEADSCALE_USER]);

  return {
    port,
    serverUrl,
    config,
    log,
    cli,
    async createApiKey() {
      const key = (await cli(["apikeys", "create", "--expiration", "2h"])).trim().split("\n").pop() ?? "";
      if (!key.startsWith("hskey-api-")) throw new Error(`headscale returned no API key: ${key}`);
      return key;
    },
    async createUser(name) {
      await cli(["users", "create", name]);
    },
    async createAuthKey(tags, { user: owner = HEADSCALE_USER, expiration = "2h" } = {}) {
      const users = JSON.parse(await cli(["users", "list", "-o", "json"])) as Array<{
        id: number | string;
        name: string;
      }>;
      const user = users.find((u) => u.name === owner);
      if (!user) throw new Error(`headscale has no user ${owner}`);
      const key = JSON.parse(
        await cli([
          "preauthkeys",
          "create",
          "--user",
          String(user.id),
          "--reusable",
          // headscale gives a node the tags of its pre-auth key (it refuses tags the node requests).
          ...(tags.length > 0 ? ["--tags", tags.join(",")] : []),
          "--expiration",
          expiration,
          "-o",
          "json",
        ]),
      ) as { key?: string };
      if (!key.key) throw new Error("headscale returned no pre-auth key");
      return key.key;
    },
    async nodes() {
      const raw = JSON.parse(await cli(["nodes", "list", "-o", "json"])) as Array<Record<string, unknown>>;
      return raw.map((n) => ({
        id: Number(n.id),
        name: String(n.name ?? ""),
        givenName: typeof n.given_name === "string" ? n.given_name : undefined,
        ipAddresses: Array.isArray(n.ip_addresses) ? (n.ip_addresses as string[]) : [],
        online: typeof n.online === "boolean" ? n.online : undefined,
        tags: Array.isArray(n.tags) ? (n.tags as string[]) : undefined,
      }));
    },
    filter: () => headscaleFilter(debugUrl),
    stop,
  };
}
