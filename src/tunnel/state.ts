/**
 * Which tunnel this project made: the one in its OpenTofu state. Cloudflare keeps no owner tag on a
 * tunnel, so a tunnel of the same name that the state does not hold was made by someone else (or the
 * state was lost): `infra` refuses to go on instead of creating a second tunnel of that name.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

export const TUNNEL_RESOURCE_TYPE = "cloudflare_zero_trust_tunnel_cloudflared";
/** The resource's address in the root module (tofu/tunnel.tf): what `tofu import` takes. */
export const TUNNEL_ADDRESS = `module.cloudflare_tunnel[0].${TUNNEL_RESOURCE_TYPE}.this`;
export const TUNNEL_CONFIG_ADDRESS = `module.cloudflare_tunnel[0].${TUNNEL_RESOURCE_TYPE}_config.this`;

interface ShownModule {
  resources?: { type?: string; values?: { id?: unknown } }[];
  child_modules?: ShownModule[];
}

/** The tunnel's id in `tofu show -json` output (the state), if the state holds one. */
export function tunnelIdFromShow(json: string): string | undefined {
  let shown: { values?: { root_module?: ShownModule } };
  try {
    shown = JSON.parse(json) as typeof shown;
  } catch {
    return undefined;
  }
  const visit = (module: ShownModule | undefined): string | undefined => {
    for (const resource of module?.resources ?? []) {
      if (resource.type === TUNNEL_RESOURCE_TYPE && typeof resource.values?.id === "string")
        return resource.values.id;
    }
    for (const child of module?.child_modules ?? []) {
      const id = visit(child);
      if (id) return id;
    }
    return undefined;
  };
  return visit(shown.values?.root_module);
}

interface StateFile {
  resources?: { type?: string; instances?: { attributes?: { id?: unknown } }[] }[];
}

/**
 * The tunnel's id in the local state file (tofu/terraform.tfstate), read without running tofu:
 * undefined when there is none, or the state lives in a remote backend (backend_override.tf).
 */
export async function tunnelIdInLocalState(root: string): Promise<string | undefined> {
  if (existsSync(join(root, "tofu", "backend_override.tf"))) return undefined;
  const text = await readFile(join(root, "tofu", "terraform.tfstate"), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const state = JSON.parse(text) as StateFile;
    for (const resource of state.resources ?? []) {
      if (resource.type !== TUNNEL_RESOURCE_TYPE) continue;
      const id = resource.instances?.[0]?.attributes?.id;
      if (typeof id === "string") return id;
    }
  } catch {
    return undefined;
  }
  return undefined;
}
