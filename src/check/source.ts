/**
 * The repository's YAML as documents with positions, so that every finding points at a file and line.
 * Nothing here runs a tool: `loadSources` only reads and parses.
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { type Document, isMap, isSeq, LineCounter, type Node, parseAllDocuments } from "yaml";
import type { Finding } from "./findings.js";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
export type PathPart = string | number;

/** One YAML document of one file. */
export interface SourceDoc {
  /** Path relative to the repository root, with forward slashes. */
  file: string;
  /** 1-based line where the document's content starts. */
  line: number;
  object: Json;
  document: Document.Parsed;
  lineCounter: LineCounter;
}

export type FileRole = "kustomization" | "generator" | "sops" | "manifest" | "example";

export interface SourceFile {
  file: string;
  role: FileRole;
  text: string;
  docs: SourceDoc[];
}

export interface Sources {
  root: string;
  files: SourceFile[];
  /** Malformed YAML and unreadable files. */
  findings: Finding[];
}

const KUSTOMIZATION_NAMES = new Set(["kustomization.yaml", "kustomization.yml", "Kustomization"]);

export function isKustomizationFile(file: string): boolean {
  return KUSTOMIZATION_NAMES.has(file.split("/").pop() ?? "");
}

function roleOf(file: string, docs: SourceDoc[]): FileRole {
  if (isKustomizationFile(file)) return "kustomization";
  if (/\.sops\.ya?ml$/.test(file)) return "sops";
  if (/\.sops\.ya?ml\.example$/.test(file)) return "example";
  if (docs.length > 0 && docs.every((d) => kindOf(d.object) === "ksops")) return "generator";
  return "manifest";
}

export function kindOf(value: Json | undefined): string | undefined {
  return isObject(value) && typeof value.kind === "string" ? value.kind : undefined;
}

export function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function toPosix(path: string): string {
  return path.split(sep).join("/");
}

async function walk(dir: string, out: string[]): Promise<void> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules" && !entry.name.startsWith(".")) await walk(full, out);
    } else if (/\.ya?ml$|\.sops\.ya?ml\.example$|^Kustomization$/.test(entry.name)) out.push(full);
  }
}

/** Parses one file's text into documents with positions; malformed YAML becomes a located finding. */
export function parseFile(file: string, text: string): { docs: SourceDoc[]; findings: Finding[] } {
  const lineCounter = new LineCounter();
  const findings: Finding[] = [];
  const docs: SourceDoc[] = [];
  for (const document of parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true })) {
    if (document.errors.length > 0) {
      for (const error of document.errors.slice(0, 1)) {
        const pos = lineCounter.linePos(error.pos[0]);
        findings.push({
          rule: "yaml-syntax",
          severity: "error",
          message: `malformed YAML: ${error.message.split("\n")[0]}`,
          fix: "fix the YAML syntax at this line (indentation, quoting, duplicate keys)",
          file,
          line: pos.line,
          column: pos.col,
        });
      }
      continue;
    }
    const object = document.toJS({ maxAliasCount: 100 }) as Json;
    if (object === null || object === undefined) continue;
    const start = document.contents?.range?.[0] ?? 0;
    docs.push({ file, line: lineCounter.linePos(start).line, object, document, lineCounter });
  }
  return { docs, findings };
}

/** Loads every YAML file under `dir` (relative to `root`). */
export async function loadSources(root: string, dir = "kubernetes"): Promise<Sources> {
  const paths: string[] = [];
  await walk(join(root, dir), paths);
  paths.sort();
  const files: SourceFile[] = [];
  const findings: Finding[] = [];
  await Promise.all(
    paths.map(async (path) => {
      const file = toPosix(relative(root, path));
      const text = await readFile(path, "utf8");
      const parsed = parseFile(file, text);
      findings.push(...parsed.findings);
      files.push({ file, role: roleOf(file, parsed.docs), text, docs: parsed.docs });
    }),
  );
  files.sort((a, b) => a.file.localeCompare(b.file));
  return { root, files, findings };
}

/** The line of the node at `path` in a document, or of its nearest existing ancestor. */
export function lineOf(doc: SourceDoc, path: readonly PathPart[]): number {
  for (let length = path.length; length > 0; length--) {
    const node = doc.document.getIn(path.slice(0, length), true) as Node | undefined;
    const offset = rangeOf(node, doc, path.slice(0, length));
    if (offset !== undefined) return doc.lineCounter.linePos(offset).line;
  }
  return doc.line;
}

function rangeOf(node: Node | undefined, doc: SourceDoc, path: readonly PathPart[]): number | undefined {
  if (!node) return undefined;
  // For a key's value, point at the key (the line a reader looks for).
  const parentPath = path.slice(0, -1);
  const parent = parentPath.length === 0 ? doc.document.contents : doc.document.getIn(parentPath, true);
  const last = path[path.length - 1];
  if (isMap(parent)) {
    const pair = parent.items.find((item) => {
      const key = item.key as { value?: unknown } | null;
      return key !== null && typeof key === "object" && key.value === last;
    });
    const keyRange = (pair?.key as Node | undefined)?.range;
    if (keyRange) return keyRange[0];
  }
  if (isSeq(parent) || !node.range) return node.range?.[0];
  return node.range[0];
}
