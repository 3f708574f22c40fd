/**
 * Extracts what the docs test checks from Markdown: `infra ...` command lines (in fenced code
 * and inline code), relative links, and Mermaid blocks.
 */

export interface DocCommand {
  file: string;
  line: number;
  /** The text as written. */
  source: string;
  /** argv after `infra`, placeholders filled in, one entry per `a|b` alternative. */
  variants: string[][];
  /**
   * Inline code in prose (`infra node add`) may name a command without its arguments; a line in
   * a shell block must be complete.
   */
  inline: boolean;
}

const PLACEHOLDER = "placeholder";

/** Splits a command line like a shell would for our purposes: quotes, no expansions. */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const match of text.matchAll(pattern)) words.push(match[1] ?? match[2] ?? match[3] ?? "");
  return words;
}

/**
 * Turns a documented command into argv variants: `a|b` alternatives expand, `[--flag]` optional
 * parts are kept (unbracketed), NAME-style placeholders and `<x>` become a placeholder word,
 * and a trailing comment, redirection, pipe or `...` is dropped.
 */
export function commandVariants(command: string): string[][] {
  const cleaned = command
    .replace(/\\\|/g, "|")
    .replace(/\s+#.*$/, "")
    // a redirection or a pipe after the command belongs to the shell
    .replace(/\s(?:[12]?>>?|\|)\s.*$/, "")
    .replace(/\s\.\.\.(\s|$)/g, " ")
    .replace(/[[\]]/g, "")
    .trim();
  let variants: string[][] = [[]];
  for (const word of shellWords(cleaned)) {
    if (word === "infra" || word === "./infra") continue;
    const options = word.includes("|") && !word.startsWith("-") ? word.split("|") : [word];
    const filled = options.map((o) =>
      /^<.*>$/.test(o) || /^[A-Z][A-Z0-9_]*$/.test(o) || o.startsWith("$") ? PLACEHOLDER : o,
    );
    variants = variants.flatMap((v) => filled.map((f) => [...v, f]));
  }
  return variants;
}

const COMMAND_LINE = /^\s*(?:\$\s+)?(?:\.\/)?infra(\s.*)?$/;

export function extractCommands(file: string, markdown: string): DocCommand[] {
  const commands: DocCommand[] = [];
  const lines = markdown.split("\n");
  let fence: string | undefined;
  lines.forEach((text, index) => {
    const fenceMatch = /^\s*(```|~~~)(\S*)/.exec(text);
    if (fenceMatch) {
      fence = fence ? undefined : (fenceMatch[2] ?? "");
      return;
    }
    if (fence !== undefined) {
      if (["", "sh", "bash", "shell", "console", "text"].includes(fence) && COMMAND_LINE.test(text)) {
        const source = text.replace(/^\s*\$\s+/, "").trim();
        commands.push({ file, line: index + 1, source, variants: commandVariants(source), inline: false });
      }
      return;
    }
    for (const match of text.matchAll(/`((?:\.\/)?infra(?:\s[^`]*)?)`/g)) {
      const source = match[1] ?? "";
      // `infra` alone names the tool, not a command line.
      if (source.trim() === "infra" || source.trim() === "./infra") continue;
      commands.push({ file, line: index + 1, source, variants: commandVariants(source), inline: true });
    }
  });
  return commands;
}

export interface DocLink {
  file: string;
  line: number;
  target: string;
}

/** Relative links (not http, mailto or same-page anchors), outside code. */
export function extractLinks(file: string, markdown: string): DocLink[] {
  const links: DocLink[] = [];
  let inFence = false;
  markdown.split("\n").forEach((text, index) => {
    if (/^\s*(```|~~~)/.test(text)) inFence = !inFence;
    if (inFence) return;
    const withoutCode = text.replace(/`[^`]*`/g, "");
    for (const match of withoutCode.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = match[1] ?? "";
      if (/^(https?:|mailto:|#)/.test(target)) continue;
      links.push({ file, line: index + 1, target });
    }
  });
  return links;
}

export interface MermaidBlock {
  file: string;
  line: number;
  text: string;
}

export function extractMermaid(file: string, markdown: string): MermaidBlock[] {
  const blocks: MermaidBlock[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*```mermaid\s*$/.test(lines[i] ?? "")) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i] ?? ""); i++) body.push(lines[i] ?? "");
    blocks.push({ file, line: start + 1, text: body.join("\n") });
  }
  return blocks;
}
