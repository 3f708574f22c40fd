/**
 * How infra shares the tailnet policy with the user's own rules: in each section it uses, infra's
 * entries sit between two comment lines,
 *
 *     // >>> infra-k3s <cluster> <section>: generated from cluster.yaml, edit that instead
 *     ...
 *     // <<< infra-k3s <cluster> <section>
 *
 * and everything outside them is the user's. Merging replaces what is between the markers and
 * leaves every other byte alone (comments, order, formatting); a section infra needs but the
 * document lacks is added, and a document without infra's markers is only changed when asked
 * (`--adopt`). Several clusters can share a tailnet: each has its own markers.
 */
import {
  findNodeAtLocation,
  getLocation,
  type Node,
  type ParseError,
  parseTree,
  printParseErrorCode,
} from "jsonc-parser";
import { InfraError } from "../errors.js";

export const SECTIONS = ["groups", "tagOwners", "acls", "ssh", "tests", "sshTests"] as const;
export type BlockSection = (typeof SECTIONS)[number];
const OBJECT_SECTIONS: ReadonlySet<BlockSection> = new Set(["groups", "tagOwners"]);

export function beginMarker(cluster: string, section: BlockSection): string {
  return `// >>> infra-k3s ${cluster} ${section}: generated from cluster.yaml by infra; edit cluster.yaml, not this block`;
}

export function endMarker(cluster: string, section: BlockSection): string {
  return `// <<< infra-k3s ${cluster} ${section}`;
}

const MARKER = /^[ \t]*\/\/ (>>>|<<<) infra-k3s (\S+) ([A-Za-z]+)/;

interface Block {
  section: BlockSection;
  /** Offsets of the first character of the begin line and just past the end line's text. */
  start: number;
  end: number;
}

/** Where `file` came from, for messages: "the live policy on headscale", "tailnet/policy.hujson". */
export type Origin = string;

/** Parses HuJSON (comments, trailing commas); a syntax error is located and nothing is changed. */
export function parseHujson(text: string, origin: Origin): Node {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  const first = errors[0];
  if (first || !root) {
    const { line, column } = lineColumn(text, first?.offset ?? 0);
    throw new InfraError(
      "TAILNET_POLICY_SYNTAX",
      `${origin} is not valid HuJSON at line ${line}, column ${column}: ${first ? printParseErrorCode(first.error) : "empty document"}`,
      {
        kind: "config",
        location: locate(origin, line, column),
        hint: "fix the policy there (a missing comma or bracket), then re-run",
      },
    );
  }
  if (root.type !== "object") {
    throw new InfraError("TAILNET_POLICY_SYNTAX", `${origin} is not a JSON object`, {
      kind: "config",
      location: locate(origin, 1),
      hint: 'a tailnet policy is one object: { "acls": [...], ... }',
    });
  }
  return root;
}

/** A location for an error in `origin`: file and line when it is a file, else none (the message has the line). */
export function locate(
  origin: Origin,
  line?: number,
  column?: number,
): { file: string; line?: number; column?: number } | undefined {
  if (/\s/.test(origin)) return undefined;
  return {
    file: origin,
    ...(line === undefined ? {} : { line }),
    ...(column === undefined ? {} : { column }),
  };
}

export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}

/** infra's blocks for `cluster` in `text`; markers that do not pair up are an error. */
export function findBlocks(text: string, cluster: string, origin: Origin): Block[] {
  const blocks: Block[] = [];
  let open: { section: string; start: number; line: number } | undefined;
  let offset = 0;
  const lines = text.split("\n");
  lines.forEach((line, index) => {
    const match = MARKER.exec(line);
    const lineStart = offset;
    offset += line.length + 1;
    if (!match || match[2] !== cluster) return;
    const [, kind, , section = ""] = match;
    const broken = (why: string) =>
      new InfraError("TAILNET_MARKERS_BROKEN", `${origin}, line ${index + 1}: ${why}`, {
        kind: "config",
        location: locate(origin, index + 1),
        hint: `each infra block starts with "// >>> infra-k3s ${cluster} <section>" and ends with "// <<< infra-k3s ${cluster} <section>"; restore the markers (or delete the whole block) and re-run`,
      });
    if (!(SECTIONS as readonly string[]).includes(section))
      throw broken(`unknown section "${section}" in an infra marker`);
    if (kind === ">>>") {
      if (open)
        throw broken(`a second begin marker before the end of the ${open.section} block (line ${open.line})`);
      if (blocks.some((b) => b.section === section)) throw broken(`a second ${section} block`);
      open = { section, start: lineStart, line: index + 1 };
    } else {
      if (!open || open.section !== section)
        throw broken(`an end marker for ${section} without its begin marker`);
      blocks.push({ section: section as BlockSection, start: open.start, end: lineStart + line.length });
      open = undefined;
    }
  });
  if (open) {
    throw new InfraError(
      "TAILNET_MARKERS_BROKEN",
      `${origin}, line ${open.line}: the ${open.section} block has no end marker`,
      {
        kind: "config",
        location: locate(origin, open.line),
        hint: `add "// <<< infra-k3s ${cluster} ${open.section}" after the block's last entry, then re-run`,
      },
    );
  }
  parseHujson(text, origin);
  for (const block of blocks) {
    const path = getLocation(text, block.start + text.slice(block.start).indexOf("//") + 2).path;
    if (path[0] !== block.section) {
      const { line } = lineColumn(text, block.start);
      throw new InfraError(
        "TAILNET_MARKERS_BROKEN",
        `${origin}, line ${line}: the ${block.section} block is not inside "${block.section}"`,
        {
          kind: "config",
          location: locate(origin, line),
          hint: `move the block into the "${block.section}" section`,
        },
      );
    }
  }
  return blocks;
}

/** True when `text` has at least one of infra's blocks for any cluster. */
export function hasAnyMarkers(text: string): boolean {
  return text.split("\n").some((line) => MARKER.test(line));
}

/**
 * `base` with infra's blocks for `cluster` replaced by `blocks` (section -> rendered block text);
 * sections `base` lacks are added. Text outside the blocks is kept byte for byte.
 */
export function replaceBlocks(
  base: string,
  cluster: string,
  blocks: Record<BlockSection, string>,
  origin: Origin,
): string {
  let text = base;
  // Replace from the end, so earlier offsets stay valid.
  const existing = findBlocks(text, cluster, origin).sort((a, b) => b.start - a.start);
  for (const block of existing) {
    const indent = /^[ \t]*/.exec(text.slice(block.start))?.[0] ?? "";
    text = text.slice(0, block.start) + reindent(blocks[block.section], indent) + text.slice(block.end);
  }
  const present = new Set(existing.map((b) => b.section));
  for (const section of SECTIONS) {
    if (!present.has(section)) text = insertBlock(text, section, blocks[section], origin);
  }
  return text;
}

function reindent(block: string, indent: string): string {
  return block
    .split("\n")
    .map((line) => indent + line.trimStart())
    .join("\n");
}

/** Adds a block at the end of `section` (creating the section at the end of the document if needed). */
function insertBlock(text: string, section: BlockSection, block: string, origin: Origin): string {
  const root = parseHujson(text, origin);
  const value = findNodeAtLocation(root, [section]);
  if (value) {
    const wanted = OBJECT_SECTIONS.has(section) ? "object" : "array";
    if (value.type !== wanted) {
      const { line } = lineColumn(text, value.offset);
      throw new InfraError(
        "TAILNET_POLICY_SYNTAX",
        `${origin}, line ${line}: "${section}" is not an ${wanted}`,
        {
          kind: "config",
          location: locate(origin, line),
          hint: `make "${section}" an ${wanted}, as Tailscale's policy syntax has it`,
        },
      );
    }
    const indent = indentOfLine(text, value.parent?.offset ?? value.offset);
    return appendInside(text, value, `\n${reindent(block, `${indent}  `)}\n${indent}`);
  }
  const open = OBJECT_SECTIONS.has(section) ? "{" : "[";
  const shut = open === "{" ? "}" : "]";
  return appendInside(
    text,
    root,
    `\n  ${JSON.stringify(section)}: ${open}\n${reindent(block, "    ")}\n  ${shut},\n`,
  );
}

/**
 * Appends `insertion` as the container's last element: a comma after the current last element when
 * it has none, then the insertion just before the closing bracket (replacing the whitespace there).
 */
function appendInside(text: string, container: Node, insertion: string): string {
  const close = container.offset + container.length - 1;
  const withComma = withCommaAfterLast(text, container, close);
  let at = close + (withComma.length - text.length);
  while (at > 0 && /[ \t\n\r]/.test(withComma.charAt(at - 1))) at--;
  return withComma.slice(0, at) + insertion + withComma.slice(close + (withComma.length - text.length));
}

/** Puts a comma after the container's last element when it has none (JSON needs it before a new one). */
function withCommaAfterLast(text: string, container: Node, close: number): string {
  const last = container.children?.[container.children.length - 1];
  if (!last) return text;
  const end = last.offset + last.length;
  if (stripComments(text.slice(end, close)).trim().startsWith(",")) return text;
  return `${text.slice(0, end)},${text.slice(end)}`;
}

function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/[^\n]*/g, "");
}

function indentOfLine(text: string, offset: number): string {
  const start = text.lastIndexOf("\n", offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(start))?.[0] ?? "";
}
