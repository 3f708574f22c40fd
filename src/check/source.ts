/**
 * The repository's YAML as documents with positions, so that every finding points at a file and line.
 * Nothing here runs a tool: `loadSources` only reads and parses, with the `yaml` library the whole CLI
 * uses (merge keys as Kubernetes' YAML reads them, alias expansion bounded).
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { type Document, isMap, isSeq, LineCounter, type Node, parse, parseAllDocuments } from "yaml";
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

/** Files larger than this are reported, not parsed (a manifest this size is a mistake or an attack). */
export const MAX_FILE_BYTES = 10 * 1024 * 1024;

/**
 * Aliases a document may expand: `count × size` of each aliased node (the yaml library's measure).
 * Generous for real anchors, small enough to stop an alias bomb long before it exhausts memory.
 */
export const MAX_ALIAS_COUNT = 10_000;

const SKIPPED_DIRS = new Set(["node_modules"]);

async function walk(dir: string, out: string[]): Promise<void> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  // A Helm chart's templates are Go templates, not YAML; its subcharts are charts of their own.
  const chart = entries.some((e) => e.isFile() && e.name === "Chart.yaml");
  for (const entry of entries) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (SKIPPED_DIRS.has(entry.name) || entry.name.startsWith(".")) continue;
      if (chart && (entry.name === "templates" || entry.name === "charts")) continue;
      await walk(full, out);
    } else if (entry.isFile() && /\.ya?ml$|\.sops\.ya?ml\.example$|^Kustomization$/.test(entry.name)) {
      out.push(full);
    }
  }
}

/** The 1-based line of a byte offset. */
function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < bytes.length; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

/** The first byte offset where `bytes` is not valid UTF-8 (undefined: valid). */
export function invalidUtf8Offset(bytes: Uint8Array): number | undefined {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i] ?? 0;
    const length =
      b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (length === 0 || i + length > bytes.length) return i;
    for (let k = 1; k < length; k++) {
      const c = bytes[i + k] ?? 0;
      if (c < 0x80 || c > 0xbf) return i;
    }
    // Overlong 3-byte forms, surrogates and code points above U+10FFFF.
    const c1 = bytes[i + 1] ?? 0;
    if (
      (b === 0xe0 && c1 < 0xa0) ||
      (b === 0xed && c1 > 0x9f) ||
      (b === 0xf0 && c1 < 0x90) ||
      (b === 0xf4 && c1 > 0x8f)
    )
      return i;
    i += length;
  }
  return undefined;
}

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

function contentProblem(file: string, bytes: Uint8Array): Finding | undefined {
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    return {
      rule: "file-not-text",
      severity: "error",
      message: "the file holds binary data (a NUL byte), not YAML",
      fix: "remove the file or give it a name that does not end in .yaml/.yml",
      file,
      line: lineAt(bytes, nul),
    };
  }
  let valid = true;
  try {
    STRICT_UTF8.decode(bytes);
  } catch {
    valid = false;
  }
  const bad = valid ? undefined : (invalidUtf8Offset(bytes) ?? 0);
  if (bad !== undefined) {
    return {
      rule: "file-encoding",
      severity: "error",
      message: `invalid UTF-8 at byte ${bad}: YAML files must be UTF-8`,
      fix: "re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)",
      file,
      line: lineAt(bytes, bad),
    };
  }
  return undefined;
}

/** A YAML value (chart values, config files) without positions; undefined when it does not parse. */
export function parseYamlValue(text: string): Json | undefined {
  try {
    return (parse(text, { maxAliasCount: MAX_ALIAS_COUNT, merge: true, logLevel: "error" }) ?? null) as Json;
  } catch {
    return undefined;
  }
}

/** Parses one file's text into documents with positions; malformed YAML becomes a located finding. */
export function parseFile(file: string, text: string): { docs: SourceDoc[]; findings: Finding[] } {
  const lineCounter = new LineCounter();
  const findings: Finding[] = [];
  const docs: SourceDoc[] = [];
  let documents: Document.Parsed[];
  try {
    documents = parseAllDocuments(text, {
      lineCounter,
      prettyErrors: false,
      uniqueKeys: true,
    }) as Document.Parsed[];
  } catch (error) {
    // The parser itself gave up (e.g. nesting deep enough to exhaust the stack).
    findings.push({
      rule: "yaml-syntax",
      severity: "error",
      message: `cannot parse the YAML: ${error instanceof Error ? error.message : String(error)}`,
      fix: "simplify the file: it is nested too deeply to be a Kubernetes manifest",
      file,
      line: 1,
    });
    return { docs, findings };
  }
  if (!Array.isArray(documents)) documents = [documents];
  for (const document of documents) {
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
    const start = document.contents?.range?.[0] ?? 0;
    const line = lineCounter.linePos(start).line;
    let object: Json;
    try {
      object = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as Json;
    } catch (error) {
      const bomb = error instanceof ReferenceError;
      findings.push({
        rule: bomb ? "yaml-aliases" : "yaml-syntax",
        severity: "error",
        message: bomb
          ? `the document expands YAML aliases more than ${MAX_ALIAS_COUNT} times (an alias bomb?)`
          : `cannot read the document: ${error instanceof Error ? error.message : String(error)}`,
        fix: bomb
          ? "write the repeated values out, or use fewer nested anchors"
          : "fix the YAML at this document",
        file,
        line,
      });
      continue;
    }
    if (object === null || object === undefined) continue;
    docs.push({ file, line, object, document, lineCounter });
  }
  return { docs, findings };
}

/** Reads and parses one file; size, binary content and encoding problems are located findings. */
export async function readSourceFile(
  root: string,
  path: string,
): Promise<{ file: SourceFile; findings: Finding[] }> {
  const file = toPosix(relative(root, path));
  const empty = (findings: Finding[]) => ({
    file: { file, role: roleOf(file, []), text: "", docs: [] },
    findings,
  });
  const info = await stat(path);
  if (info.size > MAX_FILE_BYTES) {
    return empty([
      {
        rule: "file-too-large",
        severity: "error",
        message: `the file is ${(info.size / 1024 / 1024).toFixed(1)} MiB; infra check reads YAML files up to ${MAX_FILE_BYTES / 1024 / 1024} MiB`,
        fix: "split the file, or move generated content out of the GitOps tree",
        file,
        line: 1,
      },
    ]);
  }
  const bytes = await readFile(path);
  const problem = contentProblem(file, bytes);
  if (problem) return empty([problem]);
  const text = bytes.toString("utf8").replace(/^\uFEFF/, "");
  const parsed = parseFile(file, text);
  return {
    file: { file, role: roleOf(file, parsed.docs), text, docs: parsed.docs },
    findings: parsed.findings,
  };
}

/** Loads every YAML file under `dir` (relative to `root`; paths are reported relative to `root`). */
export async function loadSources(root: string, dir = "kubernetes"): Promise<Sources> {
  const paths: string[] = [];
  await walk(join(root, dir), paths);
  paths.sort();
  const files: SourceFile[] = [];
  const findings: Finding[] = [];
  await Promise.all(
    paths.map(async (path) => {
      const read = await readSourceFile(root, path);
      findings.push(...read.findings);
      files.push(read.file);
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
