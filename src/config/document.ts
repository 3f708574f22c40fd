/**
 * cluster.yaml as a located YAML document: one parse with the `yaml` library gives the data and
 * the position of every node, so every message names a line and column. Before the data reaches
 * the schema, everything that would make a YAML reader crash or hang is refused with a position:
 * text that is not text, nesting deeper than any cluster needs, several documents, and aliases that
 * expand beyond a bound (an alias bomb), that point nowhere or contain themselves.
 *
 * Anchors, aliases and merge keys (`<<: *defaults`, YAML 1.1's merge, also read in 1.2 files) are
 * supported: a problem inside shared content is reported where that content is written.
 */
import {
  type Alias,
  Composer,
  type CST,
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  type Node,
  type Pair,
  Parser,
  type YAMLError,
} from "yaml";
import type { PathSegment } from "./rules.js";
import { quote } from "./words.js";

/** More values than any cluster needs (a 1,000-node file has ~20,000), far fewer than a bomb makes. */
export const MAX_EXPANDED_VALUES = 250_000;
/** cluster.yaml nests 6 levels deep; anything past this is not a cluster description. */
export const MAX_NESTING = 64;

export interface DocumentProblem {
  code: string;
  message: string;
  hint: string;
  offset: number;
}

export interface ConfigDocument {
  /** The plain data (aliases and merge keys resolved). */
  data: unknown;
  /** Offset of the value (or its key) at `path`; the deepest existing ancestor when it is missing. */
  offsetOf(path: readonly PathSegment[], key?: boolean): number | undefined;
  /** 1-based line and column of an offset. */
  position(offset: number): { line: number; column: number };
  /** The source text of the value at `path`, when it is a scalar written in the file. */
  sourceText(path: readonly PathSegment[]): string | undefined;
}

export type DocumentResult =
  | { ok: true; document: ConfigDocument }
  | { ok: false; problem: DocumentProblem; position: (offset: number) => { line: number; column: number } };

/** What an alias refers to: undefined when no anchor of that name comes before it. */
type Resolve = (node: unknown) => unknown;

/**
 * Every alias's target in one pass over the document, in source order (an alias refers to the last
 * anchor of its name before it). The library's own lookup walks the whole document per alias.
 */
function aliasResolver(doc: Document): Resolve {
  const targets = new Map<Alias, Node>();
  const anchors = new Map<string, Node>();
  const visit = (node: unknown, depth: number) => {
    if (depth > MAX_NESTING + 1 || node === null || typeof node !== "object") return;
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (target) targets.set(node, target);
      return;
    }
    const anchor = (node as { anchor?: string }).anchor;
    if (anchor) anchors.set(anchor, node as Node);
    if (isMap(node)) {
      for (const pair of node.items as Pair[]) {
        visit(pair.key, depth + 1);
        visit(pair.value, depth + 1);
      }
    } else if (isSeq(node)) for (const item of node.items) visit(item, depth + 1);
  };
  visit(doc.contents, 0);
  return (node) => (isAlias(node) ? targets.get(node) : node);
}

const PARSE_OPTIONS = {
  uniqueKeys: true,
  merge: true,
  strict: true,
  prettyErrors: false,
  stringKeys: true,
  resolveKnownTags: false,
  logLevel: "error",
} as const;

export function readConfigDocument(text: string): DocumentResult {
  const lineCounter = new LineCounter();
  const position = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const failed = (problem: DocumentProblem): DocumentResult => {
    // Positions before a parse: count lines here (the LineCounter fills during parsing).
    if (lineCounter.lineStarts.length === 0)
      for (const start of lineStarts(text)) lineCounter.addNewLine(start);
    return { ok: false, problem, position };
  };

  const binary = notText(text);
  if (binary) return failed(binary);

  const read = readTokens(text, lineCounter);
  if ("tooDeep" in read) {
    return failed({
      code: "CONFIG_TOO_DEEP",
      message: `values nest more than ${MAX_NESTING} levels deep here; a cluster.yaml needs about 6`,
      hint: "remove the extra nesting (brackets, '-' or indentation): this is not a cluster description",
      offset: read.tooDeep,
    });
  }
  const parsed = [...new Composer(PARSE_OPTIONS).compose(read.tokens)];
  const documents = parsed.filter((doc, index) => index === 0 || !isBlank(doc, text));
  const [doc, second] = documents;
  if (!doc || isBlank(doc, text)) {
    return failed({
      code: "CONFIG_EMPTY",
      message: "the file has no settings (it is empty or only comments)",
      hint: "start from cluster.example.yaml, or run `infra init` to write one",
      offset: 0,
    });
  }
  if (second) {
    return failed({
      code: "CONFIG_MULTIPLE_DOCUMENTS",
      message: `the file holds ${documents.length} YAML documents (separated by ---); a cluster.yaml describes one cluster`,
      hint: "remove this --- and what follows, or move the second cluster to a file of its own and choose it with --config",
      offset: second.range[0],
    });
  }
  const syntax = doc.errors[0] ?? doc.warnings[0];
  if (syntax) return failed(syntaxProblem(syntax, doc, text));

  const resolve = aliasResolver(doc);
  const expansion = checkExpansion(doc, resolve);
  if (expansion) return failed(expansion);

  const data = toData(doc.contents, resolve);
  return {
    ok: true,
    document: {
      data,
      position,
      offsetOf: (path, key = false) => offsetOf(doc, resolve, path, key),
      sourceText: (path) => {
        const node = nodeAt(doc, resolve, path);
        return isScalar(node) && node.range ? text.slice(node.range[0], node.range[1]).trim() : undefined;
      },
    },
  };
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

/** A document with nothing in it (a trailing `---`, comments only). */
function isBlank(doc: Document, text: string): boolean {
  const contents = doc.contents;
  if (contents === null) return true;
  if (!isScalar(contents) || contents.value !== null || !contents.range) return false;
  return text.slice(contents.range[0], contents.range[1]).trim() === "";
}

/** Characters outside YAML's printable set: binary data, not a config file. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const NOT_PRINTABLE = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]/;

function notText(text: string): DocumentProblem | undefined {
  const match = NOT_PRINTABLE.exec(text);
  if (!match) return undefined;
  const code = (match[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0");
  return {
    code: "CONFIG_NOT_TEXT",
    message:
      code === "0000"
        ? "the file holds binary data (a NUL byte), not YAML text"
        : `the file holds a control character (U+${code}) that YAML text cannot contain`,
    hint: "cluster.yaml is a UTF-8 text file: check that --config names the right file, or remove the character",
    offset: match.index,
  };
}

/**
 * The library's lexer and parser, fed one lexeme at a time so the nesting is watched as it grows:
 * `[[[[…` or `- - - …` nest without limit in a few bytes, and the composer recurses once per level
 * (a few hundred thousand levels exhaust the heap, which no catch can recover from).
 */
function readTokens(text: string, lineCounter: LineCounter): { tokens: CST.Token[] } | { tooDeep: number } {
  const parser = new Parser(lineCounter.addNewLine);
  lineCounter.addNewLine(0);
  const tokens: CST.Token[] = [];
  for (const lexeme of new Lexer().lex(text)) {
    for (const token of parser.next(lexeme)) tokens.push(token);
    if (parser.stack.length > MAX_NESTING) return { tooDeep: parser.offset };
  }
  for (const token of parser.end()) tokens.push(token);
  return { tokens };
}

const SYNTAX_HINT = "fix the YAML at that position (indentation, a missing ':' or closing quote)";

function syntaxProblem(error: YAMLError, doc: Document, text: string): DocumentProblem {
  const offset = error.pos[0];
  const first = error.message.split("\n")[0] ?? "";
  const problem = (code: string, message: string, hint = SYNTAX_HINT) => ({ code, message, hint, offset });
  switch (error.code) {
    case "DUPLICATE_KEY": {
      const repeated = repeatedKey(doc, offset);
      const key = repeated?.key ?? text.slice(error.pos[0], error.pos[1]);
      const where = repeated?.first === undefined ? "" : ` (first at line ${lineOf(text, repeated.first)})`;
      return problem(
        "CONFIG_DUPLICATE_KEY",
        `the key ${quote(key)} appears twice in the same mapping${where}`,
        "keep one of them: YAML allows each key once per mapping",
      );
    }
    case "RESOURCE_EXHAUSTION":
      return problem(
        "CONFIG_TOO_DEEP",
        "values nest too deeply to read; a cluster.yaml needs about 6 levels",
        "remove the extra nesting: this is not a cluster description",
      );
    case "NON_STRING_KEY":
      return problem("CONFIG_YAML_SYNTAX", "a key must be plain text, not a list or a mapping");
    case "TAG_RESOLVE_FAILED":
      return problem(
        "CONFIG_YAML_SYNTAX",
        `the YAML tag ${text.slice(error.pos[0], error.pos[1]).trim()} is not supported here`,
        "remove the tag: cluster.yaml holds plain text, numbers, true/false, lists and mappings",
      );
    case "BAD_ALIAS":
    case "ALIAS_PROPS":
      return problem(
        "CONFIG_YAML_SYNTAX",
        `YAML alias error: ${first}`,
        "an alias is written *name and refers to an earlier &name",
      );
    default: {
      const words = plainTokens(first);
      return problem(
        "CONFIG_YAML_SYNTAX",
        `YAML syntax error: ${words.length > 200 ? `${words.slice(0, 200)}…` : words}`,
      );
    }
  }
}

/** The YAML reader's token names, as a person reading the file would call them. */
const TOKEN_WORDS: Readonly<Record<string, string>> = {
  "block-seq-ind": "'- ' list item",
  "seq-item-ind": "'- ' list item",
  "explicit-key-ind": "'?' key indicator",
  "map-value-ind": "':'",
  "flow-map-start": "'{'",
  "flow-map-end": "'}'",
  "flow-seq-start": "'['",
  "flow-seq-end": "']'",
  "flow-error-end": "closing bracket",
  "flow-collection": "bracketed list or mapping",
  "block-map": "mapping",
  "block-seq": "list",
  "block-scalar": "block text (| or >)",
  "block-scalar-header": "block text header (| or >)",
  "double-quoted-scalar": "quoted text",
  "single-quoted-scalar": "quoted text",
  scalar: "value",
  "doc-start": "'---'",
  "doc-end": "'...'",
  "doc-mode": "document",
  "directive-line": "% directive",
  "byte-order-mark": "byte order mark",
  comma: "','",
  anchor: "anchor (&name)",
  alias: "alias (*name)",
  tag: "tag (!name)",
  comment: "comment",
  newline: "line break",
  space: "space",
};

/** Token names only follow "Unexpected", "in" or "header:" in the reader's messages. */
function plainTokens(message: string): string {
  return message.replace(
    /(Unexpected|in|header:) ([a-z]+(?:-[a-z]+)*)/g,
    (whole, before: string, word: string) => (TOKEN_WORDS[word] ? `${before} ${TOKEN_WORDS[word]}` : whole),
  );
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) line++;
  return line;
}

/** The key repeated at `offset`, and where it first appears in its mapping. */
function repeatedKey(doc: Document, offset: number): { key: string; first: number | undefined } | undefined {
  const keyAt = (pair: Pair) => (isScalar(pair.key) ? pair.key : undefined);
  let found: { key: string; first: number | undefined } | undefined;
  const visit = (node: unknown, depth: number) => {
    if (found !== undefined || depth > MAX_NESTING) return;
    if (isMap(node)) {
      const pairs = node.items as Pair[];
      const repeated = pairs.find((pair) => keyAt(pair)?.range?.[0] === offset);
      if (repeated) {
        const key = String(keyAt(repeated)?.value);
        const first = pairs.find((pair) => String(keyAt(pair)?.value) === key);
        found = { key, first: keyAt(first ?? repeated)?.range?.[0] };
        return;
      }
      for (const pair of pairs) {
        visit(pair.key, depth + 1);
        visit(pair.value, depth + 1);
      }
    } else if (isSeq(node)) for (const item of node.items) visit(item, depth + 1);
  };
  visit(doc.contents, 0);
  return found;
}

/**
 * Bounds the data the aliases expand to (a "billion laughs" file is a few lines of aliases of
 * aliases), and refuses aliases that point nowhere, contain themselves, or merge a non-mapping.
 */
function checkExpansion(doc: Document, resolve: Resolve): DocumentProblem | undefined {
  const sizes = new Map<Node, number>();
  const open = new Set<Node>();
  let problem: DocumentProblem | undefined;
  let largest: { alias: Alias; size: number } | undefined;
  const aliasProblem = (alias: Alias, message: string, hint: string) => {
    problem ??= { code: "CONFIG_YAML_ALIAS", message, hint, offset: alias.range?.[0] ?? 0 };
    return Number.POSITIVE_INFINITY;
  };

  const size = (node: unknown, depth: number): number => {
    if (problem) return Number.POSITIVE_INFINITY;
    if (isAlias(node)) {
      const target = resolve(node) as Node | undefined;
      if (!target)
        return aliasProblem(
          node,
          `the alias *${node.source} has no anchor &${node.source} before it`,
          "define the anchor (&name) before the alias (*name) that uses it",
        );
      if (open.has(target))
        return aliasProblem(
          node,
          `the alias *${node.source} is inside the value it refers to`,
          "an alias cannot refer to a value that contains it",
        );
      const expanded = size(target, depth);
      if (!largest || expanded > largest.size) largest = { alias: node, size: expanded };
      return expanded;
    }
    if (!isMap(node) && !isSeq(node)) return 1;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    if (depth > MAX_NESTING) {
      problem ??= {
        code: "CONFIG_TOO_DEEP",
        message: `values nest more than ${MAX_NESTING} levels deep here; a cluster.yaml needs about 6`,
        hint: "remove the extra nesting: this is not a cluster description",
        offset: node.range?.[0] ?? 0,
      };
      return Number.POSITIVE_INFINITY;
    }
    open.add(node);
    let total = 1;
    if (isMap(node)) {
      for (const pair of node.items as Pair[]) {
        if (isMergeKey(pair)) {
          const bad = badMergeSource(resolve, pair.value);
          if (bad) {
            problem ??= {
              code: "CONFIG_YAML_MERGE",
              message: "a merge key (<<) takes a mapping, an alias of one, or a list of those",
              hint: "write `<<: *defaults` where `&defaults` names a mapping",
              offset: bad,
            };
            return Number.POSITIVE_INFINITY;
          }
        }
        total += size(pair.key, depth + 1) + size(pair.value, depth + 1);
      }
    } else {
      for (const item of node.items) total += size(item, depth + 1);
    }
    open.delete(node);
    sizes.set(node, total);
    return total;
  };

  const total = size(doc.contents, 0);
  if (problem) return problem;
  if (total > MAX_EXPANDED_VALUES) {
    const alias = largest?.alias;
    return {
      code: "CONFIG_YAML_ALIAS",
      message: `aliases expand the file to more than ${MAX_EXPANDED_VALUES.toLocaleString("en-US")} values${alias ? ` (*${alias.source} alone repeats ${formatCount(largest?.size ?? 0)})` : ""}: an alias bomb, not a cluster`,
      hint: "aliases for shared settings are fine; remove the aliases of aliases that multiply the data",
      offset: alias?.range?.[0] ?? 0,
    };
  }
  return undefined;
}

/**
 * The document as plain data, in one walk: an alias yields the same value as its anchor, and a
 * mapping's `<<` merges add the keys it lacks (its own keys win, and earlier sources win over later
 * ones, as YAML's merge key defines). Runs after checkExpansion, so every alias resolves, no value
 * contains itself and the nesting is bounded. (The library's own conversion re-converts a merged
 * mapping for every use, several times slower on a file where hundreds of nodes merge one.)
 */
function toData(root: unknown, resolve: Resolve): unknown {
  const done = new Map<unknown, unknown>();
  const convert = (node: unknown): unknown => {
    const target = resolve(node);
    if (isScalar(target)) return target.value;
    if (!isMap(target) && !isSeq(target)) return null;
    const known = done.get(target);
    if (known !== undefined) return known;
    let value: unknown;
    if (isSeq(target)) value = target.items.map(convert);
    else {
      const object: Record<string, unknown> = {};
      const set = (key: string, item: unknown) =>
        Object.defineProperty(object, key, {
          value: item,
          writable: true,
          enumerable: true,
          configurable: true,
        });
      const merges: unknown[] = [];
      for (const pair of target.items as Pair[]) {
        if (isMergeKey(pair)) merges.push(pair.value);
        else set(String(convert(pair.key)), convert(pair.value));
      }
      for (const merge of merges) {
        const source = resolve(merge);
        for (const item of isSeq(source) ? source.items : [source]) {
          const entries = convert(item) as Record<string, unknown>;
          for (const key of Object.keys(entries)) if (!Object.hasOwn(object, key)) set(key, entries[key]);
        }
      }
      value = object;
    }
    done.set(target, value);
    return value;
  };
  return root === null ? null : convert(root);
}

function formatCount(count: number): string {
  return Number.isFinite(count) && count < 1e15
    ? `${count.toLocaleString("en-US")} values`
    : "more values than can be counted";
}

/** A `<<` key as the reader merges it: unquoted (a quoted "<<" is an ordinary key). */
function isMergeKey(pair: Pair): boolean {
  const key = pair.key;
  if (!isScalar(key)) return false;
  if (typeof key.value === "symbol") return key.value.description === "<<";
  return key.value === "<<" && (!key.type || key.type === "PLAIN");
}

/** The offset of a merge source that is not a mapping (or an alias or list of mappings). */
function badMergeSource(resolve: Resolve, value: unknown): number | undefined {
  const offset = (node: unknown) => (node as { range?: number[] } | null)?.range?.[0] ?? 0;
  const source = resolve(value);
  if (isMap(source)) return undefined;
  if (isSeq(source)) {
    const bad = source.items.find((item) => !isMap(resolve(item)));
    return bad === undefined ? undefined : offset(bad);
  }
  return offset(value);
}

/** Follows `path` through mappings, lists, aliases and merge keys. */
function step(
  resolve: Resolve,
  node: unknown,
  segment: PathSegment,
): { pair?: Pair; node: unknown } | undefined {
  const target = resolve(node);
  if (isSeq(target)) return typeof segment === "number" ? { node: target.items[segment] } : undefined;
  if (!isMap(target)) return undefined;
  const pairs = target.items as Pair[];
  const own = pairs.find(
    (pair) => !isMergeKey(pair) && isScalar(pair.key) && String(pair.key.value) === String(segment),
  );
  if (own) return { pair: own, node: own.value };
  for (const merge of pairs.filter(isMergeKey)) {
    const source = resolve(merge.value);
    const sources = isSeq(source) ? source.items : [source];
    for (const candidate of sources) {
      const found = step(resolve, candidate, segment);
      if (found) return found;
    }
  }
  return undefined;
}

function nodeAt(doc: Document, resolve: Resolve, path: readonly PathSegment[]): unknown {
  let node: unknown = doc.contents;
  for (const segment of path) {
    const next = step(resolve, node, segment);
    if (!next) return undefined;
    node = next.node;
  }
  return resolve(node);
}

function offsetOf(
  doc: Document,
  resolve: Resolve,
  path: readonly PathSegment[],
  key: boolean,
): number | undefined {
  const start = (node: unknown) => (node as { range?: number[] } | null | undefined)?.range?.[0];
  let node: unknown = doc.contents;
  let offset = start(node);
  for (const [index, segment] of path.entries()) {
    const next = step(resolve, node, segment);
    if (!next) return offset;
    const keyOffset = start(next.pair?.key);
    if (index === path.length - 1 && key && keyOffset !== undefined) return keyOffset;
    // Through an alias to the value it repeats: that is where a fix goes.
    node = isAlias(next.node) ? (resolve(next.node) ?? next.node) : next.node;
    offset = start(node) ?? keyOffset ?? offset;
  }
  return offset;
}
