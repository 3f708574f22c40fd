/**
 * What can be wrong with cluster.yaml as YAML, in plain words: the reader's syntax errors (its
 * token names translated), a key given twice (named, with the line of the first), and the limits
 * a cluster description never reaches.
 */
import { type Document, isMap, isScalar, isSeq, type Pair, type YAMLError } from "yaml";
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

export function tooDeep(offset: number): DocumentProblem {
  return {
    code: "CONFIG_TOO_DEEP",
    message: `values nest more than ${MAX_NESTING} levels deep here; a cluster.yaml needs about 6`,
    hint: "remove the extra nesting (brackets, '-' or indentation): this is not a cluster description",
    offset,
  };
}

const SYNTAX_HINT = "fix the YAML at that position (indentation, a missing ':' or closing quote)";

export function syntaxProblem(error: YAMLError, doc: Document, text: string): DocumentProblem {
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
      return tooDeep(offset);
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
