/**
 * How values appear in config messages: quoted and cut to a readable length (a 5 MB value is
 * never echoed whole), and described in plain words ("text", "a mapping"), never as library types.
 */

/** Longest echoed value; longer ones are cut and their length said. */
export const ECHO_LIMIT = 60;

/** A value as quoted in a message: `"fsn1"`, `"aaaa…" (5,242,880 characters)`, `42`, `a list`. */
export function quote(value: unknown): string {
  if (typeof value === "string") {
    const chars = [...value];
    if (chars.length <= ECHO_LIMIT) return JSON.stringify(value);
    const cut = JSON.stringify(chars.slice(0, ECHO_LIMIT).join("")).slice(0, -1);
    return `${cut}…" (${chars.length.toLocaleString("en-US")} characters)`;
  }
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  return describe(value);
}

/** What kind of value it is, in words: "text", "a number", "true/false", "a mapping", "a list". */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return "nothing (an empty value)";
  if (Array.isArray(value)) return "a list";
  if (value instanceof Date) return "a date";
  switch (typeof value) {
    case "string":
      return "text";
    case "number":
      return Number.isFinite(value) ? `the number ${value}` : "YAML's special number .inf or .nan";
    case "boolean":
      return `${value} (a yes/no value)`;
    case "object":
      return "a mapping";
    default:
      return "a value of an unsupported kind";
  }
}

/** What a schema expects, from zod's type name, in words. */
export function expectedWords(expected: string): string {
  switch (expected) {
    case "string":
      return "text";
    case "number":
      return "a number";
    case "int":
      return "a whole number";
    case "boolean":
      return "true or false";
    case "object":
    case "record":
    case "map":
      return "a mapping";
    case "array":
    case "tuple":
    case "set":
      return "a list";
    default:
      return "another kind of value";
  }
}
