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
  Composer,
  type CST,
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  type Pair,
  Parser,
} from "yaml";
import type { PathSegment } from "./rules.js";
import { aliasResolver, checkExpansion, isMergeKey, type Resolve, toData } from "./yaml-aliases.js";
import { type DocumentProblem, MAX_NESTING, syntaxProblem, tooDeep } from "./yaml-errors.js";

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
    return failed(tooDeep(read.tooDeep));
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
