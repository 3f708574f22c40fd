import { exec } from "./exec.js";

export interface KubeconformResult {
  filename: string;
  kind: string;
  name: string;
  version: string;
  status: "statusValid" | "statusInvalid" | "statusError" | "statusSkipped" | "statusEmpty" | string;
  msg: string;
  validationErrors?: { path: string; msg: string }[];
}

/**
 * Validates manifest files against local schemas with kubeconform (strict: unknown fields are errors;
 * a kind without a schema is an error, never skipped). Returns the invalid and errored resources.
 */
export async function kubeconform(
  files: readonly string[],
  schemaLocation: string,
  env: NodeJS.ProcessEnv,
): Promise<KubeconformResult[]> {
  if (files.length === 0) return [];
  const result = await exec(
    "kubeconform",
    ["-strict", "-output", "json", "-schema-location", schemaLocation, "-n", "4", ...files],
    { env, check: false, timeoutMs: 120_000 },
  );
  const parsed = JSON.parse(result.stdout || '{"resources":[]}') as { resources?: KubeconformResult[] };
  if (result.exitCode !== 0 && !parsed.resources?.length) {
    throw new Error(`kubeconform exited with ${result.exitCode}: ${result.stderr.trim()}`);
  }
  return parsed.resources ?? [];
}

/**
 * Validates a stream of YAML documents with one kubeconform process reading standard input, so that it
 * loads schemas and validates while the caller is still producing documents. Results name the
 * documents by kind, apiVersion and metadata.name (the filename is "stdin").
 */
export async function kubeconformStream(
  documents: AsyncIterable<string>,
  schemaLocation: string,
  env: NodeJS.ProcessEnv,
): Promise<KubeconformResult[]> {
  const result = await exec(
    "kubeconform",
    ["-strict", "-output", "json", "-schema-location", schemaLocation, "-n", "4", "-"],
    { env, check: false, timeoutMs: 300_000, input: documents },
  );
  const parsed = JSON.parse(result.stdout || '{"resources":[]}') as { resources?: KubeconformResult[] };
  if (result.exitCode !== 0 && !parsed.resources?.length) {
    throw new Error(`kubeconform exited with ${result.exitCode}: ${result.stderr.trim()}`);
  }
  return parsed.resources ?? [];
}
