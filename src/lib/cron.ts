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
 *   are not standard and are rejected. Error texts follow the upstream parser (a static test compares
 *   them with the real one); `field` names the field the error is in.
 * On top of the parser, `neverFires` says why an accepted spec can never run (an empty field, 31
 * February, @manual): Velero takes it, and no backup is ever made.
 */
import { parseGoDuration } from "./go-duration.js";

export type CronCheck = { ok: true; neverFires?: string } | { ok: false; error: string; field?: CronField };

export type CronField = "minute" | "hour" | "day-of-month" | "month" | "day-of-week";

interface Bounds {
  field: CronField;
  min: number;
  max: number;
  names?: Readonly<Record<string, number>>;
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

const MINUTES: Bounds = { field: "minute", min: 0, max: 59 };
const HOURS: Bounds = { field: "hour", min: 0, max: 23 };
const DOM: Bounds = { field: "day-of-month", min: 1, max: 31 };
const MONTH: Bounds = {
  field: "month",
  min: 1,
  max: 12,
  names: Object.fromEntries(MONTHS.map((m, i) => [m, i + 1])),
};
const DOW: Bounds = {
  field: "day-of-week",
  min: 0,
  max: 7,
  names: Object.fromEntries(DAYS.map((d, i) => [d, i])),
};
/** Days in each month, February with its leap day. */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

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
/** Descriptors go-cron accepts for jobs that are only ever started by hand. */
const NEVER_ON_THEIR_OWN = new Set(["@triggered", "@manual", "@none"]);

class CronError extends Error {
  field: CronField | undefined;
}

/** The values a field selects; `star` is `*`/`?` without a step above 1, which changes day matching. */
interface FieldValues {
  values: Set<number>;
  star: boolean;
}

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

function checkRange(expr: string, bounds: Bounds, into: FieldValues): void {
  const rangeAndStep = expr.split("/");
  const lowAndHigh = (rangeAndStep[0] ?? "").split("-");
  let start: number;
  let end: number;
  let star = false;
  if (lowAndHigh[0] === "*" || lowAndHigh[0] === "?") {
    start = bounds.min;
    end = bounds.max;
    star = true;
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
  // A wrapping range (22-2) runs on from the maximum to the minimum.
  const span = bounds.max - bounds.min + 1;
  for (let offset = 0; offset < size; offset += step) {
    const value = start + offset > bounds.max ? start + offset - span : start + offset;
    into.values.add(bounds === DOW && value === 7 ? 0 : value);
  }
  into.star ||= star && step <= 1;
}

function checkField(field: string, bounds: Bounds): FieldValues {
  const into: FieldValues = { values: new Set(), star: false };
  try {
    // Go's strings.FieldsFunc: empty items of the comma list are dropped, not errors.
    for (const expr of field.split(",").filter((e) => e !== "")) checkRange(expr, bounds, into);
  } catch (error) {
    if (error instanceof CronError) error.field ??= bounds.field;
    throw error;
  }
  return into;
}

/** Why an accepted five-field spec never runs, if it cannot (day matching as go-cron does it). */
function neverFires(fields: readonly [FieldValues, FieldValues, FieldValues, FieldValues, FieldValues]) {
  const names = [MINUTES, HOURS, DOM, MONTH, DOW];
  for (const [index, field] of fields.entries()) {
    if (field.values.size === 0) return `the ${names[index]?.field} field lists no value`;
  }
  const [, , dom, month, dow] = fields;
  const domFits = [...month.values].some((m) => [...dom.values].some((d) => d <= (MONTH_DAYS[m - 1] ?? 0)));
  // With a star in day-of-month or day-of-week both must match, else either may.
  const fires = dom.star || dow.star ? domFits : domFits || dow.values.size > 0;
  return fires ? undefined : "no month has that day";
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
      return NEVER_ON_THEIR_OWN.has(rest)
        ? { ok: true, neverFires: `${rest} runs only when started by hand` }
        : { ok: true };
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
    const minutes = checkField(minute, MINUTES);
    const hours = checkField(hour, HOURS);
    const months = checkField(month, MONTH);
    if (/[LW]/i.test(dom)) {
      throw Object.assign(
        new CronError(
          "extended day-of-month syntax requires DomL option (for L, L-n) or DomW option (for nW, LW) to be enabled",
        ),
        { field: "day-of-month" },
      );
    }
    const days = checkField(dom, DOM);
    if (dow.includes("#")) {
      throw Object.assign(new CronError("#n/#L syntax requires DowNth or DowLast option to be enabled"), {
        field: "day-of-week",
      });
    }
    const weekdays = checkField(dow, DOW);
    const never = neverFires([minutes, hours, days, months, weekdays]);
    return never ? { ok: true, neverFires: never } : { ok: true };
  } catch (error) {
    if (error instanceof CronError) {
      return error.field
        ? { ok: false, error: error.message, field: error.field }
        : { ok: false, error: error.message };
    }
    throw error;
  }
}
