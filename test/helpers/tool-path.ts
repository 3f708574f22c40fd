/**
 * Vitest global setup for the tiers that run external tools: puts the pinned tools
 * (tools/versions.yaml, installed by `./infra tools install --tests`) first on PATH.
 */

import { PACKAGE_ROOT } from "../../src/package-root.js";
import { toolPath } from "../../src/toolchain/paths.js";
import { loadVersions } from "../../src/toolchain/versions.js";

export default async function setup(): Promise<void> {
  const versions = await loadVersions(PACKAGE_ROOT);
  process.env.PATH = toolPath(process.env, versions);
}
