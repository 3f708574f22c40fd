/**
 * A local headscale as the Tailscale control server: listens on the host loopback only; the VMs
 * reach it as http://10.0.2.100:8080 through QEMU's guestfwd. No DERP map (nothing may leave the
 * machine), so the nodes must connect directly over the private link, UDP 41641 — which is what the
 * firewall is meant to allow.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { launchHeadscale } from "../../helpers/headscale.js";
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
  /** A reusable pre-auth key carrying the cluster's tags; `expiration` is a headscale duration (default 2h). */
  createAuthKey(expiration?: string): Promise<string>;
  /** An API key (what the preflight uses to ask headscale about the auth key). */
  createApiKey(): Promise<string>;
  nodes(): Promise<
    Array<{ name: string; givenName?: string; ipAddresses: string[]; online?: boolean; tags?: string[] }>
  >;
  stop(): Promise<void>;
}

export async function startHeadscale(dir: string, tags: readonly string[]): Promise<Headscale> {
  await mkdir(dir, { recursive: true });
  const serverUrl = `http://${HOST_SERVICES_IP}:${HEADSCALE_GUEST_PORT}`;
  const policy = join(dir, "policy.json");
  const owner = `${HEADSCALE_USER}@`;
  await writeFile(
    policy,
    `${JSON.stringify(
      {
        tagOwners: Object.fromEntries(tags.map((t) => [t, [owner]])),
        acls: [{ action: "accept", src: ["*"], dst: ["*:*"] }],
      },
      null,
      2,
    )}\n`,
  );
  const { port, config, log, cli, stop } = await launchHeadscale(dir, {
    serverUrl,
    policy: { mode: "file", path: policy },
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
    async createAuthKey(expiration = "2h") {
      const users = JSON.parse(await cli(["users", "list", "-o", "json"])) as Array<{
        id: number | string;
        name: string;
      }>;
      const user = users.find((u) => u.name === HEADSCALE_USER);
      if (!user) throw new Error(`headscale has no user ${HEADSCALE_USER}`);
      const key = JSON.parse(
        await cli([
          "preauthkeys",
          "create",
          "--user",
          String(user.id),
          "--reusable",
          // headscale gives a node the tags of its pre-auth key (it refuses tags the node requests).
          "--tags",
          tags.join(","),
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
        name: String(n.name ?? ""),
        givenName: typeof n.given_name === "string" ? n.given_name : undefined,
        ipAddresses: Array.isArray(n.ip_addresses) ? (n.ip_addresses as string[]) : [],
        online: typeof n.online === "boolean" ? n.online : undefined,
        tags: Array.isArray(n.tags) ? (n.tags as string[]) : undefined,
      }));
    },
    stop,
  };
}
