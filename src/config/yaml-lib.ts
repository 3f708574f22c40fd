/**
 * The `yaml` library, loaded on first use: commands whose config is clean (the common case) read
 * it with the faster js-yaml and never pay for loading `yaml` (see fast-yaml.ts).
 */
import { createRequire } from "node:module";
import type * as Yaml from "yaml";

let library: typeof Yaml | undefined;

export function yamlLib(): typeof Yaml {
  library ??= createRequire(import.meta.url)("yaml") as typeof Yaml;
  return library;
}
