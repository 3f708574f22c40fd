/**
 * The playbooks `infra up` runs, read from ansible/playbooks/ (plays, their host patterns and
 * roles) and resolved against the rendered inventory groups. When a playbook file is absent
 * the documented sequence is used and marked as such.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadYaml } from "../config/yaml-data.js";
import { InfraError } from "../errors.js";

/** PLAYBOOK_INVALID with the parser's own message and position. */
async function unparsable(file: string, text: string): Promise<InfraError> {
  const { parseDocument } = await import("yaml");
  const error = parseDocument(text, { prettyErrors: true }).errors[0];
  const message = error?.message.split("\n")[0] ?? "not valid YAML";
  const line = error?.linePos?.[0]?.line;
  return new InfraError("PLAYBOOK_INVALID", `${file} does not parse: ${message}`, {
    kind: "config",
    location: { file, ...(line === undefined ? {} : { line }) },
    hint: `fix the YAML at that line; \`ansible-playbook --syntax-check ${file}\` shows ansible's own view`,
  });
}

/** In the order `infra up` runs them. */
export const UP_PLAYBOOKS = ["ansible/playbooks/bootstrap.yml", "ansible/playbooks/k3s-cluster.yml"] as const;

export interface Play {
  name?: string;
  hosts: string;
  roles: string[];
}

export interface Playbook {
  file: string;
  /** "file" when read from the repository, "documented" when the file does not exist (yet). */
  source: "file" | "documented";
  plays: Play[];
}

const DOCUMENTED: Record<string, Play[]> = {
  "ansible/playbooks/bootstrap.yml": [
    { hosts: "k3s_cluster", roles: ["common", "firewall", "tailscale", "k3s_prereq"] },
  ],
  "ansible/playbooks/k3s-cluster.yml": [
    { hosts: "k3s_masters", roles: ["k3s_server"] },
    { hosts: "k3s_workers", roles: ["k3s_agent"] },
  ],
};

export async function readPlaybooks(root: string): Promise<Playbook[]> {
  const cache = new Map<string, Promise<unknown>>();
  return Promise.all(UP_PLAYBOOKS.map((file) => readPlaybook(root, file, new Set(), {}, cache)));
}

/** Resolves `{{ var }}` / `{{ var | default('x') }}` in a host pattern with the import's vars. */
export function templateHosts(pattern: string, vars: Record<string, unknown>): string {
  return pattern.replace(
    /\{\{\s*([A-Za-z_]\w*)\s*(?:\|\s*default\(\s*(['"])(.*?)\2\s*\))?\s*\}\}/g,
    (whole, name, _q, fallback) => {
      const value = vars[name as string];
      if (typeof value === "string") return value;
      return typeof fallback === "string" ? fallback : whole;
    },
  );
}

async function readPlaybook(
  root: string,
  file: string,
  seen: Set<string>,
  vars: Record<string, unknown>,
  cache: Map<string, Promise<unknown>>,
): Promise<Playbook> {
  const path = join(root, file);
  if (!existsSync(path)) return { file, source: "documented", plays: DOCUMENTED[file] ?? [] };
  seen.add(file);
  let documents: unknown;
  try {
    // A playbook imported by several others (preflight.yml) is read and parsed once.
    let parsed = cache.get(path);
    if (!parsed) {
      parsed = readFile(path, "utf8").then(async (text) => {
        const result = loadYaml(text);
        if (!result.ok) throw await unparsable(file, text);
        return result.value;
      });
      cache.set(path, parsed);
    }
    documents = await parsed;
  } catch (error) {
    // a playbook that exists but does not parse is an error, never "not there"
    if (error instanceof InfraError) throw error;
    return { file, source: "documented", plays: DOCUMENTED[file] ?? [] };
  }
  const plays: Play[] = [];
  for (const entry of Array.isArray(documents) ? documents : []) {
    if (!entry || typeof entry !== "object") continue;
    const play = entry as Record<string, unknown>;
    const imported = play["ansible.builtin.import_playbook"] ?? play.import_playbook;
    if (typeof imported === "string") {
      const target = join(file, "..", imported).replaceAll("\\", "/");
      const importVars = { ...vars, ...((play.vars as Record<string, unknown> | undefined) ?? {}) };
      if (!seen.has(target))
        plays.push(...(await readPlaybook(root, target, new Set(seen), importVars, cache)).plays);
      continue;
    }
    if (typeof play.hosts !== "string" && !Array.isArray(play.hosts)) continue;
    const hosts = templateHosts(
      Array.isArray(play.hosts) ? play.hosts.map(String).join(":") : play.hosts,
      vars,
    );
    const roles = [...rolesOf(play.roles), ...rolesFromTasks(play.pre_tasks), ...rolesFromTasks(play.tasks)];
    const result: Play = { hosts, roles };
    if (typeof play.name === "string") result.name = play.name;
    plays.push(result);
  }
  return { file, source: "file", plays };
}

function rolesOf(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((role) => {
    if (typeof role === "string") return [role];
    if (role && typeof role === "object") {
      const name = (role as Record<string, unknown>).role ?? (role as Record<string, unknown>).name;
      return typeof name === "string" ? [name] : [];
    }
    return [];
  });
}

const ROLE_MODULES = [
  "ansible.builtin.import_role",
  "ansible.builtin.include_role",
  "import_role",
  "include_role",
] as const;

function rolesFromTasks(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((task) => {
    if (!task || typeof task !== "object") return [];
    const record = task as Record<string, unknown>;
    for (const module of ROLE_MODULES) {
      const args = record[module] as Record<string, unknown> | undefined;
      if (args && typeof args.name === "string") return [args.name];
    }
    return rolesFromTasks(record.block);
  });
}

/**
 * Resolves an Ansible host pattern against the inventory groups: names, `group[0]`,
 * `group[1:]`, unions with `:` or `,`, `&` intersections and `!` exclusions.
 */
export function resolveHosts(
  pattern: string,
  groups: Record<string, string[]>,
  allHosts: string[],
): string[] {
  let selected: string[] = [];
  const terms = pattern
    .split(/[:,](?![^[]*\])/)
    .map((t) => t.trim())
    .filter(Boolean);
  for (const term of terms) {
    const op = term[0] === "!" || term[0] === "&" ? term[0] : "";
    const hosts = resolveTerm(op ? term.slice(1) : term, groups, allHosts);
    if (op === "!") selected = selected.filter((h) => !hosts.includes(h));
    else if (op === "&") selected = selected.filter((h) => hosts.includes(h));
    else for (const h of hosts) if (!selected.includes(h)) selected.push(h);
  }
  return selected;
}

function resolveTerm(term: string, groups: Record<string, string[]>, allHosts: string[]): string[] {
  const match = /^([^[\]]+)(?:\[(-?\d*)(?::(-?\d*))?\])?$/.exec(term);
  if (!match) return [];
  const [, name = "", start, end] = match;
  const base =
    name === "all" || name === "*" ? allHosts : (groups[name] ?? (allHosts.includes(name) ? [name] : []));
  if (start === undefined) return base;
  const from = start === "" ? 0 : Number(start);
  if (end === undefined && !term.includes(":")) {
    const host = base.at(from);
    return host === undefined ? [] : [host];
  }
  return base.slice(from, end === undefined || end === "" ? undefined : Number(end) + 1);
}
