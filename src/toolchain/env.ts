import type { CommandContext } from "../context.js";
import { type Outcome, outcome } from "../outcome.js";
import { PACKAGE_ROOT } from "../package-root.js";
import { toolPath } from "./paths.js";
import { loadVersions } from "./versions.js";

/** `eval "$(./infra tools env)"` puts the pinned tools first on a shell's PATH. */
export async function envCommand(ctx: CommandContext): Promise<Outcome<{ PATH: string }>> {
  const versions = await loadVersions(PACKAGE_ROOT);
  const PATH = toolPath(ctx.env, versions);
  return outcome({ PATH }, (d) => `export PATH=${JSON.stringify(d.PATH)}`);
}
