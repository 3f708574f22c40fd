/** Label selectors as kubectl writes them ("app=web,tier in (a,b),!legacy") -> metav1.LabelSelector. */
import { InfraError } from "../errors.js";

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
    values?: string[];
  }[];
}

const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export function parseSelector(text: string, flag = "--selector"): LabelSelector {
  const fail = (message: string) =>
    new InfraError("INVALID_SELECTOR", `"${text}": ${message}`, {
      kind: "usage",
      location: { path: flag },
      hint: 'write it like kubectl: "app=web", "tier in (a,b)", "!legacy", combined with commas',
    });
  const terms: string[] = [];
  let depth = 0;
  let current = "";
  for (const char of text) {
    if (char === "(") depth++;
    if (char === ")") depth--;
    if (char === "," && depth === 0) {
      terms.push(current);
      current = "";
    } else current += char;
  }
  terms.push(current);
  const selector: LabelSelector = {};
  const checkKey = (key: string) => {
    if (!KEY.test(key)) throw fail(`"${key}" is not a valid label key`);
  };
  const checkValue = (value: string) => {
    if (value.length > 63 || !VALUE.test(value)) throw fail(`"${value}" is not a valid label value`);
  };
  for (const raw of terms) {
    const term = raw.trim();
    if (!term) throw fail("empty term");
    const set = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
    if (set) {
      const key = set[1] as string;
      const values = (set[3] as string).split(",").map((v) => v.trim());
      checkKey(key);
      values.forEach(checkValue);
      selector.matchExpressions ??= [];
      selector.matchExpressions.push({ key, operator: set[2] === "in" ? "In" : "NotIn", values });
      continue;
    }
    const equality = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (equality) {
      const [, key = "", op, value = ""] = equality;
      checkKey(key);
      checkValue(value);
      if (op === "!=") {
        selector.matchExpressions ??= [];
        selector.matchExpressions.push({ key, operator: "NotIn", values: [value] });
      } else {
        selector.matchLabels ??= {};
        selector.matchLabels[key] = value;
      }
      continue;
    }
    const exists = /^(!?)\s*([^=!\s()]+)$/.exec(term);
    if (exists) {
      const key = exists[2] as string;
      checkKey(key);
      selector.matchExpressions ??= [];
      selector.matchExpressions.push({ key, operator: exists[1] ? "DoesNotExist" : "Exists" });
      continue;
    }
    throw fail(`cannot parse "${term}"`);
  }
  return selector;
}

/** The selector back in kubectl form, for display and for list calls. */
export function formatSelector(selector: LabelSelector | undefined): string {
  if (!selector) return "";
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    if (e.operator === "Exists") parts.push(e.key);
    else if (e.operator === "DoesNotExist") parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${e.operator === "In" ? "in" : "notin"} (${(e.values ?? []).join(",")})`);
  }
  return parts.join(",");
}

/** Whether labels satisfy a metav1.LabelSelector (an empty selector matches everything). */
export function selectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const inValues = has && (e.values ?? []).includes(value as string);
    if (e.operator === "In" && !inValues) return false;
    if (e.operator === "NotIn" && inValues) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}
