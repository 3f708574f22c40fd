import { copyFile, link, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { GoToolSpec } from "./versions.js";

/**
 * OpenTofu providers built from their Go module are handed to tofu through a provider filesystem
 * mirror in the "unpacked" layout, so `tofu init` finds them offline:
 *   <mirror>/<hostname>/<namespace>/<type>/<version>/<os>_<arch>/terraform-provider-<type>_v<version>
 * The lock file's h1 hash covers the file name and the bytes of that binary.
 */

/** The tofu platform of this machine, e.g. linux_amd64. */
export function providerPlatform(platform: string = process.platform, arch: string = process.arch): string {
  const goArch: Record<string, string> = { x64: "amd64", arm64: "arm64", ia32: "386", arm: "arm" };
  return `${platform}_${goArch[arch] ?? arch}`;
}

/** The mirror directory of one provider tool (inside its tool directory, keyed by its recipe). */
export function providerMirrorDir(toolDir: string): string {
  return join(toolDir, "mirror");
}

/** Where the binary of `provider` sits inside a mirror. */
export function providerMirrorPath(
  mirror: string,
  provider: NonNullable<GoToolSpec["terraformProvider"]>,
  platform = providerPlatform(),
): string {
  const type = provider.source.split("/")[2] ?? "";
  return join(
    mirror,
    provider.source,
    provider.version,
    platform,
    `terraform-provider-${type}_v${provider.version}`,
  );
}

/** Lays the built binary out in the tool's mirror (a hard link, or a copy across file systems). */
export async function layOutProvider(tool: GoToolSpec, toolDir: string): Promise<void> {
  const provider = tool.terraformProvider;
  const bin = tool.bins[0];
  if (!provider || !bin) return;
  const mirror = providerMirrorDir(toolDir);
  const target = providerMirrorPath(mirror, provider);
  await rm(mirror, { recursive: true, force: true });
  await mkdir(join(target, ".."), { recursive: true });
  await link(join(toolDir, "bin", bin), target).catch(() => copyFile(join(toolDir, "bin", bin), target));
}
