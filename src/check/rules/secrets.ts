import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Finding } from "../findings.js";
import { get, list, nameOf } from "../resources.js";
import {
  isObject,
  type Json,
  kindOf,
  lineOf,
  type PathPart,
  parseYamlValue,
  type SourceDoc,
} from "../source.js";
import type { Rule } from "./rule.js";

const RECIPIENT_KEYS = ["age", "pgp", "kms", "gcp_kms", "azure_kv", "hc_vault"];

function hasContent(value: Json | undefined): boolean {
  return isObject(value) && Object.keys(value).length > 0;
}

export const secretPlaintext: Rule = {
  id: "secret-plaintext",
  title: "no plaintext Secret in Git",
  reason:
    "Git history keeps every secret forever; Secrets are committed only SOPS-encrypted (*.sops.yaml) and " +
    "decrypted in the cluster by KSOPS (docs/architecture.md, Secrets; viaduct-ai/kustomize-sops)",
  check(tree) {
    const findings: Finding[] = [];
    for (const file of tree.sources.files) {
      if (file.role === "manifest") {
        for (const doc of file.docs) {
          if (kindOf(doc.object) !== "Secret") continue;
          const key = hasContent(get(doc.object, "data"))
            ? "data"
            : hasContent(get(doc.object, "stringData"))
              ? "stringData"
              : undefined;
          if (!key) continue;
          findings.push({
            rule: this.id,
            severity: "error",
            message: `Secret ${nameOf(doc.object)} is committed in plaintext (${key})`,
            fix: `move it to a *.sops.yaml file, encrypt it with \`sops --encrypt --in-place <file>\`, and list it in a KSOPS generator`,
            file: file.file,
            line: lineOf(doc, [key]),
          });
        }
      }
      if (file.role === "kustomization") {
        const doc = file.docs[0];
        if (!doc) continue;
        const generators = get(doc.object, "secretGenerator");
        if (!Array.isArray(generators)) continue;
        generators.forEach((generator, i) => {
          for (const key of ["literals", "files", "envs"]) {
            const value = get(generator, key);
            if (!Array.isArray(value) || value.length === 0) continue;
            findings.push({
              rule: this.id,
              severity: "error",
              message: `secretGenerator ${String(get(generator, "name") ?? i)} builds a Secret from plaintext ${key}`,
              fix: "use a SOPS-encrypted *.sops.yaml Secret and a KSOPS generator instead",
              file: file.file,
              line: lineOf(doc, ["secretGenerator", i, key]),
            });
          }
        });
      }
    }
    return findings;
  },
};

function* leaves(value: Json | undefined, path: PathPart[]): Generator<[Json | undefined, PathPart[]]> {
  if (Array.isArray(value)) for (const [i, item] of value.entries()) yield* leaves(item, [...path, i]);
  else if (isObject(value))
    for (const [key, item] of Object.entries(value)) yield* leaves(item, [...path, key]);
  else yield [value, path];
}

function sopsProblems(doc: SourceDoc): { message: string; path: PathPart[] }[] {
  const sops = get(doc.object, "sops");
  if (!isObject(sops)) return [{ message: "is not SOPS-encrypted (no `sops` metadata)", path: [] }];
  const problems: { message: string; path: PathPart[] }[] = [];
  if (typeof sops.mac !== "string" || !sops.mac.startsWith("ENC[")) {
    problems.push({ message: "has SOPS metadata without a MAC (not produced by sops)", path: ["sops"] });
  }
  if (!RECIPIENT_KEYS.some((key) => Array.isArray(sops[key]) && (sops[key] as Json[]).length > 0)) {
    problems.push({ message: "has no SOPS recipients (age, pgp, kms, ...)", path: ["sops"] });
  }
  for (const key of ["data", "stringData"]) {
    for (const [value, path] of leaves(get(doc.object, key), [key])) {
      if (typeof value === "string" && value.startsWith("ENC[")) continue;
      if (value === null || value === undefined || value === "") continue;
      problems.push({ message: `has a plaintext value at ${path.join(".")}`, path });
    }
  }
  return problems;
}

export const sopsEncrypted: Rule = {
  id: "sops-unencrypted",
  title: "*.sops.yaml files are really encrypted",
  reason:
    "a file named *.sops.yaml but committed (or edited) in plaintext leaks the secret; SOPS encrypts " +
    "data/stringData values as ENC[...] and signs the file with a MAC (getsops/sops README)",
  check(tree) {
    const findings: Finding[] = [];
    for (const file of tree.sources.files) {
      if (file.role !== "sops" && file.role !== "example") continue;
      for (const doc of file.docs) {
        for (const problem of sopsProblems(doc)) {
          findings.push({
            rule: this.id,
            severity: "error",
            message: `${file.file.split("/").pop() ?? file.file} ${problem.message}`,
            fix: "encrypt it: `sops --encrypt --in-place <file>` (the repo's .sops.yaml sets the recipients); edit secrets only with `sops <file>`",
            file: file.file,
            line: lineOf(doc, problem.path),
          });
        }
      }
    }
    return findings;
  },
};

interface CreationRule {
  pathRegex: RegExp | undefined;
  age: string[];
}

/** The age recipients of the repository's .sops.yaml creation rules (undefined: no usable file). */
export function creationRules(root: string): CreationRule[] | undefined {
  let text: string;
  try {
    text = readFileSync(join(root, ".sops.yaml"), "utf8");
  } catch {
    return undefined;
  }
  const config = parseYamlValue(text);
  if (config === undefined) return undefined;
  const rules: CreationRule[] = [];
  for (const rule of Array.isArray(get(config, "creation_rules"))
    ? (get(config, "creation_rules") as Json[])
    : []) {
    const age = get(rule, "age");
    const recipients = (Array.isArray(age) ? age.map(String) : typeof age === "string" ? age.split(",") : [])
      .map((r) => r.trim())
      .filter(Boolean);
    const regex = get(rule, "path_regex");
    let pathRegex: RegExp | undefined;
    try {
      pathRegex = typeof regex === "string" ? new RegExp(regex) : undefined;
    } catch {
      pathRegex = undefined;
    }
    rules.push({ pathRegex, age: recipients });
  }
  return rules;
}

export const sopsRecipients: Rule = {
  id: "sops-recipients",
  title: "*.sops.yaml files are encrypted for the recipients of the repository's .sops.yaml",
  reason:
    "a file encrypted for another key (e.g. the example secrets after `infra init`) cannot be decrypted by " +
    "the cluster; KSOPS then fails with `0 successful groups required, got 0` (viaduct-ai/kustomize-sops#218)",
  check(tree) {
    const rules = creationRules(tree.root);
    if (!rules || rules.length === 0) return [];
    const findings: Finding[] = [];
    for (const file of tree.sources.files) {
      if (file.role !== "sops") continue;
      const rule = rules.find((r) => !r.pathRegex || r.pathRegex.test(file.file));
      if (!rule || rule.age.length === 0) continue;
      for (const doc of file.docs) {
        const recipients = list(get(doc.object, "sops", "age"))
          .map((entry) => get(entry, "recipient"))
          .filter((r): r is string => typeof r === "string");
        if (recipients.length === 0 || recipients.some((r) => rule.age.includes(r))) continue;
        findings.push({
          rule: this.id,
          severity: "warning",
          message: `${file.file.split("/").pop() ?? file.file} is encrypted for ${recipients.join(", ")}, none of which is in .sops.yaml`,
          fix: "re-create the file for the current recipients (docs/runbooks/rotate-secrets.md); Argo CD cannot decrypt it",
          file: file.file,
          line: lineOf(doc, ["sops", "age"]),
        });
      }
    }
    return findings;
  },
};
