/**
 * Velero's schedule parser, exactly: Velero's Schedule controller calls robfig/cron v3's
 * `cron.ParseStandard` (five fields, no seconds; descriptors `@yearly`/`@annually`, `@monthly`,
 * `@weekly`, `@daily`/`@midnight`, `@hourly`, `@every <Go duration>`; an optional `CRON_TZ=`/`TZ=`
 * prefix). npm's cron libraries accept other dialects (seconds, `L`, `W`, `#`, day-of-week 7), so
 * this small parser follows robfig's rules instead. On top of the parser, a schedule that can never
 * fire (an empty field, 31 February) is refused: Velero would accept it and never back anything up.
 */
import { parseGoDuration, SECOND_NS } from "./go-duration.js";

interface Bounds {
  name: string;
  min: number;
  max: number;
  names?: Readonly<Record<string, number>>;
}

const FIELDS: readonly Bounds[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  {
    name: "month",
    min: 1,
    max: 12,
    names: {
      jan: 1,
      feb: 2,
      mar: 3,
      apr: 4,
      may: 5,
      jun: 6,
      jul: 7,
      aug: 8,
      sep: 9,
      oct: 10,
      nov: 11,
      dec: 12,
    },
  },
  { name: "day-of-week", min: 0, max: 6, names: { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 } },
];

const DESCRIPTORS = new Set([
  "@yearly",
  "@annually",
  "@monthly",
  "@weekly",
  "@daily",
  "@midnight",
  "@hourly",
]);

/** Days in each month, February with its leap day (robfig looks five years ahead). */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

interface Field {
  values: Set<number>;
  /** `*` or `?` without a step above 1: robfig's "star bit", which changes day matching. */
  star: boolean;
}

export type CronCheck = { ok: true } | { ok: false; reason: string };

const fail = (reason: string): CronCheck => ({ ok: false, reason });

export function checkCron(spec: string): CronCheck {
  if (spec.length === 0) return fail("it is empty");
  let rest = spec;
  if (rest.startsWith("TZ=") || rest.startsWith("CRON_TZ=")) {
    const space = rest.indexOf(" ");
    if (space === -1) return fail("a time zone prefix must be followed by a space and the schedule");
    const zone = rest.slice(rest.indexOf("=") + 1, space);
    if (!isTimeZone(zone))
      return fail(`"${zone}" is not a time zone (use an IANA name such as Europe/Berlin)`);
    rest = rest.slice(space).trim();
  }
  if (rest.startsWith("@")) return checkDescriptor(rest);
  const parts = rest.split(/\s+/).filter((part) => part !== "");
  if (parts.length !== 5) {
    return fail(
      `it has ${parts.length} ${parts.length === 1 ? "field" : "fields"}; Velero reads exactly 5 (minute hour day-of-month month day-of-week, no seconds)`,
    );
  }
  const fields: Field[] = [];
  for (const [index, bounds] of FIELDS.entries()) {
    const parsed = parseField(parts[index] ?? "", bounds);
    if (typeof parsed === "string")
      return fail(`the ${bounds.name} field ${JSON.stringify(parts[index])}: ${parsed}`);
    fields.push(parsed);
  }
  return neverFires(fields);
}

function checkDescriptor(spec: string): CronCheck {
  if (DESCRIPTORS.has(spec)) return { ok: true };
  const every = "@every ";
  if (!spec.startsWith(every)) {
    return fail(
      `${JSON.stringify(spec)} is not a descriptor (use @yearly, @monthly, @weekly, @daily, @hourly or @every <duration>)`,
    );
  }
  const duration = parseGoDuration(spec.slice(every.length));
  if (!duration.ok) return fail(`the @every duration is not a Go duration: ${duration.reason}`);
  if (duration.nanoseconds < SECOND_NS)
    return fail("the @every interval is under one second (the scheduler would run every second)");
  return { ok: true };
}

/** A field: a comma-separated list of ranges (robfig drops empty list items). */
function parseField(text: string, bounds: Bounds): Field | string {
  const field: Field = { values: new Set(), star: false };
  for (const expr of text.split(",").filter((item) => item !== "")) {
    const problem = addRange(expr, bounds, field);
    if (problem) return problem;
  }
  return field;
}

/** `*`, `?`, `n`, `n-m`, each with an optional `/step`; robfig's order of checks and bounds. */
function addRange(expr: string, bounds: Bounds, field: Field): string | undefined {
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
    const low = numberOrName(lowAndHigh[0] ?? "", bounds);
    if (typeof low === "string") return low;
    start = low;
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) {
      const high = numberOrName(lowAndHigh[1] ?? "", bounds);
      if (typeof high === "string") return high;
      end = high;
    } else return `${JSON.stringify(expr)} has more than one '-'`;
  }
  let step = 1;
  if (rangeAndStep.length === 2) {
    const parsed = goAtoi(rangeAndStep[1] ?? "");
    if (typeof parsed === "string") return parsed;
    step = parsed;
    if (lowAndHigh.length === 1) end = bounds.max; // "n/step" means "n-max/step"
    if (step > 1) star = false;
  } else if (rangeAndStep.length > 2) return `${JSON.stringify(expr)} has more than one '/'`;
  if (start < bounds.min) return `${start} is below the minimum ${bounds.min}`;
  if (end > bounds.max) return `${end} is above the maximum ${bounds.max}`;
  if (start > end) return `the range starts at ${start}, after its end ${end}`;
  if (step === 0) return "a step must be a positive number";
  for (let value = start; value <= end; value += step) field.values.add(value);
  field.star ||= star;
  return undefined;
}

function numberOrName(text: string, bounds: Bounds): number | string {
  const named = bounds.names?.[text.toLowerCase()];
  if (named !== undefined) return named;
  const parsed = goAtoi(text);
  if (typeof parsed === "string" && bounds.names) {
    return `${JSON.stringify(text)} is neither a number nor a name (${Object.keys(bounds.names).join(", ")})`;
  }
  return parsed;
}

/** Go's strconv.Atoi as robfig uses it: optional sign, decimal digits, no negatives. */
function goAtoi(text: string): number | string {
  if (!/^[+-]?\d+$/.test(text)) return `${JSON.stringify(text)} is not a number`;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) return `${JSON.stringify(text)} is out of range`;
  if (value < 0) return `negative numbers are not allowed (${text})`;
  return value;
}

/** robfig's day rule: with a `*` in day-of-month or day-of-week both must match, else either. */
function neverFires([minute, hour, dom, month, dow]: Field[]): CronCheck {
  for (const [index, field] of [minute, hour, dom, month, dow].entries()) {
    if (field && field.values.size === 0)
      return fail(`the ${FIELDS[index]?.name} field lists no value, so the schedule never runs`);
  }
  if (!dom || !month || !dow) return { ok: true };
  const domFits = [...month.values].some((m) => [...dom.values].some((d) => d <= (MONTH_DAYS[m - 1] ?? 0)));
  const fires = dom.star || dow.star ? domFits : domFits || dow.values.size > 0;
  return fires ? { ok: true } : fail("no month has that day, so the schedule never runs");
}

function isTimeZone(zone: string): boolean {
  if (zone === "" || zone === "UTC" || zone === "Local") return true;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
