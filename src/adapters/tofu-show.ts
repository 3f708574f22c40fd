/**
 * What each planned change does to each attribute, from `tofu show -json <planfile>`
 * (resource_changes[].change: before, after, after_unknown, before_sensitive, after_sensitive).
 * Sensitive values are never printed; values only known after apply say so.
 */
import { exec } from "./exec.js";

export interface AttributeChange {
  /** Top-level attribute name, e.g. `content` or `ttl`. */
  name: string;
  before?: string;
  after?: string;
}

interface ResourceChange {
  address: string;
  change: {
    actions: string[];
    before?: Record<string, unknown> | null;
    after?: Record<string, unknown> | null;
    after_unknown?: Record<string, unknown> | boolean | null;
    before_sensitive?: Record<string, unknown> | boolean | null;
    after_sensitive?: Record<string, unknown> | boolean | null;
  };
}

const SENSITIVE = "(sensitive)";
const UNKNOWN = "(known after apply)";

function flag(map: Record<string, unknown> | boolean | null | undefined, key: string): boolean {
  if (map === true) return true;
  if (!map || typeof map !== "object") return false;
  const value = map[key];
  return (
    value === true || (typeof value === "object" && value !== null && JSON.stringify(value).includes("true"))
  );
}

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value ?? null);
}

/** The attributes a change sets, alters or removes (unchanged ones left out). */
export function attributeChanges(change: ResourceChange["change"]): AttributeChange[] {
  const before = change.before ?? {};
  const after = change.after ?? {};
  const names = [
    ...new Set([...Object.keys(before), ...Object.keys(after), ...Object.keys(unknownMap(change))]),
  ].sort();
  const out: AttributeChange[] = [];
  for (const name of names) {
    const unknown = flag(change.after_unknown, name);
    const old = before[name];
    const next = after[name];
    if (!unknown && JSON.stringify(old ?? null) === JSON.stringify(next ?? null)) continue;
    const entry: AttributeChange = { name };
    if (change.before && old !== undefined && old !== null) {
      entry.before = flag(change.before_sensitive, name) ? SENSITIVE : show(old);
    }
    if (change.after || unknown) {
      if (unknown) entry.after = UNKNOWN;
      else if (next !== undefined && next !== null)
        entry.after = flag(change.after_sensitive, name) ? SENSITIVE : show(next);
    }
    if (entry.before === undefined && entry.after === undefined) continue;
    out.push(entry);
  }
  return out;
}

function unknownMap(change: ResourceChange["change"]): Record<string, unknown> {
  return change.after_unknown && typeof change.after_unknown === "object" ? change.after_unknown : {};
}

/** `tofu show -json PLANFILE` → the attribute changes of each resource, by address. */
export async function planAttributes(
  planFile: string,
  options: { cwd: string; env: NodeJS.ProcessEnv; signal?: AbortSignal },
): Promise<Map<string, AttributeChange[]>> {
  const result = await exec("tofu", ["show", "-json", planFile], options);
  const plan = JSON.parse(result.stdout) as { resource_changes?: ResourceChange[] };
  const byAddress = new Map<string, AttributeChange[]>();
  for (const rc of plan.resource_changes ?? []) {
    if (rc.change.actions.every((a) => a === "no-op" || a === "read")) continue;
    byAddress.set(rc.address, attributeChanges(rc.change));
  }
  return byAddress;
}
