/**
 * The cron specs Velero accepts for a Schedule: `ParseStandard` of github.com/netresearch/go-cron v0.15.0
 * (the robfig/cron v3 fork Velero 1.18 uses), mirrored rule for rule so a spec is rejected here exactly
 * when Velero would mark the Schedule `FailedValidation`:
 * - an optional `TZ=<zone>` / `CRON_TZ=<zone>` prefix;
 * - a descriptor: @yearly @annually @monthly @weekly @daily @midnight @hourly, @every <Go duration>
 *   (at least 1s), @triggered @manual @none (never fire on their own);
 * - or exactly five fields: minute hour day-of-month month day-of-week, each a comma list of
 *   `*`, `?`, `n`, `a-b` (wrapping ranges such as 22-2 allowed) with an optional `/step` smaller than the
 *   range; month and weekday names (jan, sun), Sunday as 0 or 7. Seconds, years, `L`, `W`, `#` and `H`
 *   are not standard and are rejected. Error texts follow the upstream parser.
 */
import { parseGoDuration } from "../config/go-duration.js";

export type CronCheck = { ok: true } | { ok: false; error: string };

interface Bounds {
  min: number;
  max: number;
  names?: Readonly<Record<string, number>>;
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

const MINUTES: Bounds = { min: 0, max: 59 };
const HOURS: Bounds = { min: 0, max: 23 };
const DOM: Bounds = { min: 1, max: 31 };
const MONTH: Bounds = { min: 1, max: 12, names: Object.fromEntries(MONTHS.map((m, i) => [m, i + 1])) };
const DOW: Bounds = { min: 0, max: 7, names: Object.fromEntries(DAYS.map((d, i) => [d, i])) };

const MAX_SPEC_LENGTH = 1024;
const EXACT_DESCRIPTORS = new Set([
  "@yearly",
  "@annually",
  "@monthly",
  "@weekly",
  "@daily",
  "@midnight",
  "@hourly",
  "@triggered",
  "@manual",
  "@none",
]);

class CronError extends Error {}

/** Go's strconv.Atoi plus go-cron's sign check. */
function atoi(expr: string): number {
  const quoted = JSON.stringify(expr);
  if (!/^[+-]?\d+$/.test(expr)) {
    throw new CronError(
      `failed to parse int from ${quoted}: strconv.Atoi: parsing ${quoted}: invalid syntax`,
    );
  }
  if (!Number.isSafeInteger(Number(expr))) {
    throw new CronError(
      `failed to parse int from ${quoted}: strconv.Atoi: parsing ${quoted}: value out of range`,
    );
  }
  const value = Number(expr);
  if (value < 0) throw new CronError(`negative number (${value}) not allowed: ${JSON.stringify(expr)}`);
  return value;
}

function parseIntOrName(expr: string, bounds: Bounds): number {
  const named = bounds.names?.[expr.toLowerCase()];
  return named ?? atoi(expr);
}

function checkRange(expr: string, bounds: Bounds): void {
  const rangeAndStep = expr.split("/");
  const lowAndHigh = (rangeAndStep[0] ?? "").split("-");
  let start: number;
  let end: number;
  if (lowAndHigh[0] === "*" || lowAndHigh[0] === "?") {
    start = bounds.min;
    end = bounds.max;
  } else {
    start = parseIntOrName(lowAndHigh[0] ?? "", bounds);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = parseIntOrName(lowAndHigh[1] ?? "", bounds);
    else throw new CronError(`too many hyphens: ${JSON.stringify(lowAndHigh.join("-"))}`);
  }
  let step = 1;
  if (rangeAndStep.length === 2) {
    step = atoi(rangeAndStep[1] ?? "");
    // "n/step" means "n-max/step".
    if (lowAndHigh.length === 1) end = bounds.max;
  } else if (rangeAndStep.length > 2) {
    throw new CronError(`too many slashes: ${JSON.stringify(expr)}`);
  }
  const quoted = JSON.stringify(expr);
  if (start < bounds.min) {
    throw new CronError(`beginning of range (${start}) below minimum (${bounds.min}): ${quoted}`);
  }
  if (end > bounds.max) throw new CronError(`end of range (${end}) above maximum (${bounds.max}): ${quoted}`);
  if (step === 0) throw new CronError(`step of range must be a positive number: ${quoted}`);
  const size = start > end ? bounds.max - start + 1 + (end - bounds.min + 1) : end - start + 1;
  if (step > 1 && step >= size) {
    throw new CronError(`step (${step}) must be less than range size (${size}): ${quoted}`);
  }
}

function checkField(field: string, bounds: Bounds): void {
  // Go's strings.FieldsFunc: empty items of the comma list are dropped, not errors.
  for (const expr of field.split(",").filter((e) => e !== "")) checkRange(expr, bounds);
}

function knownTimeZone(name: string): boolean {
  if (name === "UTC" || name === "Local") return true;
  try {
    new Intl.DateTimeFormat("en", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** The spec without its TZ= prefix (validated as go-cron does). */
function withoutTimeZone(spec: string): string {
  if (!spec.startsWith("TZ=") && !spec.startsWith("CRON_TZ=")) return spec;
  const space = spec.indexOf(" ");
  if (space < 0) throw new CronError(`missing fields after timezone in spec ${JSON.stringify(spec)}`);
  let zone = spec.slice(spec.indexOf("=") + 1, space);
  if (zone.length >= 2 && /^(".*"|'.*')$/.test(zone)) zone = zone.slice(1, -1);
  const invalid = (why: string) => new CronError(`invalid timezone ${JSON.stringify(zone)}: ${why}`);
  if (zone === "") throw invalid("empty timezone string");
  if (zone.length > 64) throw invalid("timezone string too long (max 64 chars)");
  const bad = [...zone].findIndex((c) => !/[A-Za-z0-9/_+:-]/.test(c));
  if (bad >= 0) {
    // Go's %q of a rune: quotes and backslashes escaped.
    const char = ([...zone][bad] ?? "").replace(/['\\]/, (c) => `\\${c}`);
    throw invalid(
      `invalid character '${char}' at position ${Buffer.byteLength([...zone].slice(0, bad).join(""))} in timezone`,
    );
  }
  if (!knownTimeZone(zone))
    throw new CronError(`unknown time zone ${JSON.stringify(zone)}: unknown time zone ${zone}`);
  const rest = spec.slice(space).trim();
  if (rest === "") throw new CronError(`missing fields after timezone ${JSON.stringify(zone)}`);
  return rest;
}

function checkDescriptor(descriptor: string): void {
  if (EXACT_DESCRIPTORS.has(descriptor)) return;
  if (descriptor.startsWith("@every ")) {
    const duration = parseGoDuration(descriptor.slice("@every ".length));
    if (!duration.ok) {
      throw new CronError(`failed to parse duration ${JSON.stringify(descriptor)}: ${duration.reason}`);
    }
    if (duration.nanoseconds < 1_000_000_000n) {
      throw new CronError(`@every duration must be at least 1s: ${JSON.stringify(descriptor)}`);
    }
    return;
  }
  throw new CronError(`unrecognized descriptor: ${JSON.stringify(descriptor)}`);
}

/** Whether Velero (go-cron's ParseStandard) accepts `spec`, and its error when not. */
export function checkCronSpec(spec: string): CronCheck {
  try {
    if (spec.length === 0) throw new CronError("empty spec string");
    if (spec.length > MAX_SPEC_LENGTH) {
      throw new CronError(`spec too long: ${spec.length} > ${MAX_SPEC_LENGTH}`);
    }
    const rest = withoutTimeZone(spec);
    if (rest.startsWith("@")) {
      checkDescriptor(rest);
      return { ok: true };
    }
    const fields = rest.split(/\s+/).filter((f) => f !== "");
    if (fields.length !== 5) {
      throw new CronError(`expected exactly 5 fields, found ${fields.length}: [${fields.join(" ")}]`);
    }
    const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
    if (fields.some((f) => f.split(",").some((part) => part.startsWith("H")))) {
      throw new CronError("h expressions require hash option to be enabled");
    }
    // The upstream order: minute, hour, month, then day of month and day of week.
    checkField(minute, MINUTES);
    checkField(hour, HOURS);
    checkField(month, MONTH);
    if (/[LW]/i.test(dom)) {
      throw new CronError(
        "extended day-of-month syntax requires DomL option (for L, L-n) or DomW option (for nW, LW) to be enabled",
      );
    }
    checkField(dom, DOM);
    if (dow.includes("#"))
      throw new CronError("#n/#L syntax requires DowNth or DowLast option to be enabled");
    checkField(dow, DOW);
    return { ok: true };
  } catch (error) {
    if (error instanceof CronError) return { ok: false, error: error.message };
    throw error;
  }
}
