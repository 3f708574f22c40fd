/**
 * Aliases, anchors and merge keys of a read document: what each alias refers to, a bound on what
 * they expand to (a "billion laughs" file is a few lines of aliases of aliases), and the document
 * as plain data with merges applied.
 */
import { type Alias, type Document, isAlias, isMap, isScalar, isSeq, type Node, type Pair } from "yaml";
import { type DocumentProblem, MAX_EXPANDED_VALUES, MAX_NESTING, tooDeep } from "./yaml-errors.js";

/** What an alias refers to: undefined when no anchor of that name comes before it. */
export type Resolve = (node: unknown) => unknown;

/**
 * Every alias's target in one pass over the document, in source order (an alias refers to the last
 * anchor of its name before it). The library's own lookup walks the whole document per alias.
 */
export function aliasResolver(doc: Document): Resolve {
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

/**
 * Bounds the data the aliases expand to (a "billion laughs" file is a few lines of aliases of
 * aliases), and refuses aliases that point nowhere, contain themselves, or merge a non-mapping.
 */
export function checkExpansion(doc: Document, resolve: Resolve): DocumentProblem | undefined {
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
      problem ??= tooDeep(node.range?.[0] ?? 0);
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
export function toData(root: unknown, resolve: Resolve): unknown {
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
export function isMergeKey(pair: Pair): boolean {
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
