/**
 * Plain-data YAML reads for files other than cluster.yaml (the plan's scans of playbooks, manifests
 * and tools/versions.yaml), with the same `yaml` library the config loader uses: one YAML reader in
 * the whole CLI. A file that does not parse is `{ ok: false }`; callers report it in their terms.
 */
import { parse, parseAllDocuments } from "yaml";

export type YamlData<T> = { ok: true; value: T } | { ok: false };

/** Bound on alias expansion for these repository files (they use none). */
const OPTIONS = { logLevel: "error", maxAliasCount: 1000, merge: true } as const;

export function loadYaml(text: string): YamlData<unknown> {
  try {
    return { ok: true, value: parse(text, OPTIONS) };
  } catch {
    return { ok: false };
  }
}

export function loadAllYaml(text: string): YamlData<unknown[]> {
  try {
    const parsed = parseAllDocuments(text, OPTIONS);
    const documents = Array.isArray(parsed) ? parsed : [];
    if (documents.some((doc) => doc.errors.length > 0)) return { ok: false };
    return { ok: true, value: documents.map((doc) => doc.toJS(OPTIONS)) };
  } catch {
    return { ok: false };
  }
}
