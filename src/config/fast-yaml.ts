/**
 * Plain-data YAML reading for the hot paths (the config's happy path, the plan's scans of
 * playbooks and manifests). js-yaml with the YAML 1.2 core schema is several times faster than
 * building `yaml` Documents; where positions matter (any problem in cluster.yaml) the loader reads
 * the file again with `yaml`, so every reported line and column comes from one parser.
 */
import { CORE_SCHEMA, load, loadAll } from "js-yaml";

export type FastYaml<T> = { ok: true; value: T } | { ok: false };

export function loadYaml(text: string): FastYaml<unknown> {
  try {
    return { ok: true, value: load(text, { schema: CORE_SCHEMA }) };
  } catch {
    return { ok: false };
  }
}

export function loadAllYaml(text: string): FastYaml<unknown[]> {
  try {
    return { ok: true, value: loadAll(text, { schema: CORE_SCHEMA }) };
  } catch {
    return { ok: false };
  }
}
