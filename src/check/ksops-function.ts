/**
 * A KSOPS-compatible kustomize exec function for `infra check`. Argo CD runs the real KSOPS (Go) in its
 * repo-server; KSOPS is not obtainable here, so `infra check` gives kustomize this small function under
 * the same name (`ksops` first on PATH). It decrypts each file of the generator with the pinned `sops`
 * and the caller's age key. A file it cannot decrypt (no key, or a key that is not a recipient) is
 * recorded in $INFRA_KSOPS_REPORT and emitted with its values blanked, so the rest of the tree is still
 * built and validated; `infra check` turns the record into a finding or a note.
 */
import { createHash } from "node:crypto";
import { access, chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

function script(yamlPackage: string): string {
  return `#!/usr/bin/env node
"use strict";
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const YAML = require(${JSON.stringify(yamlPackage)});
const input = YAML.parse(fs.readFileSync(0, "utf8")) || {};
const config = input.functionConfig || {};
const items = Array.isArray(input.items) ? input.items : [];
const report = process.env.INFRA_KSOPS_REPORT;
if (config.secretFrom) {
  process.stderr.write("ksops (infra check): secretFrom is not supported by infra check; use files\\n");
  process.exit(1);
}
for (const file of config.files || []) {
  const full = path.resolve(process.cwd(), file);
  if (!fs.existsSync(full)) {
    process.stderr.write("ksops: " + file + ": no such file (listed in generator " + ((config.metadata || {}).name || "") + ")\\n");
    process.exit(1);
  }
  let object;
  try {
    const out = execFileSync("sops", ["--decrypt", "--output-type", "json", full], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 16 * 1024 * 1024,
    });
    object = JSON.parse(out);
  } catch (error) {
    const why = String((error && error.stderr) || (error && error.message) || error).trim().split("\\n").slice(-3).join(" ");
    if (report) fs.appendFileSync(report, JSON.stringify({ file: full, error: why }) + "\\n");
    object = YAML.parse(fs.readFileSync(full, "utf8")) || {};
    delete object.sops;
    for (const key of ["data", "stringData"]) {
      if (object[key] && typeof object[key] === "object") for (const k of Object.keys(object[key])) object[key][k] = "";
    }
  }
  items.push(object);
}
process.stdout.write(YAML.stringify({ apiVersion: "config.kubernetes.io/v1", kind: "ResourceList", items }));
`;
}

/** Writes the function (once per content) and returns the directory to put first on PATH. */
export async function ensureKsopsFunction(cacheDir: string, yamlPackage: string): Promise<string> {
  const text = script(yamlPackage);
  const dir = join(
    cacheDir,
    `ksops-function-${createHash("sha256").update(text).digest("hex").slice(0, 12)}`,
  );
  const file = join(dir, "ksops");
  try {
    await access(file);
    return dir;
  } catch {
    await mkdir(dir, { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, text, "utf8");
    await chmod(temp, 0o755);
    const { rename } = await import("node:fs/promises");
    await rename(temp, file);
    return dir;
  }
}
