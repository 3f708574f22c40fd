/**
 * Go's time.ParseDuration, which Velero applies to a backup's `ttl` (metav1.Duration) and
 * go-cron (Velero's robfig/cron fork) to `@every <duration>`: the same grammar, units and overflow limit, so a value is
 * accepted here exactly when the consumer accepts it.
 */

const UNITS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  "\u00b5s": 1_000n, // micro sign
  "\u03bcs": 1_000n, // Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const LIMIT = 1n << 63n;

export type GoDuration = { ok: true; nanoseconds: bigint } | { ok: false; reason: string };

const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";

/** Parses like Go: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or "0". */
export function parseGoDuration(text: string): GoDuration {
  let s = text;
  let negative = false;
  if (s[0] === "-" || s[0] === "+") {
    negative = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return { ok: true, nanoseconds: 0n };
  if (s === "") return { ok: false, reason: "it is empty" };
  let total = 0n;
  while (s !== "") {
    if (!(s[0] === "." || isDigit(s[0]))) return { ok: false, reason: "each part starts with a number" };
    let i = 0;
    let whole = 0n;
    while (isDigit(s[i])) {
      whole = whole * 10n + BigInt(Number(s[i]));
      if (whole > LIMIT) return { ok: false, reason: "it is too long for a duration" };
      i++;
    }
    const hadWhole = i > 0;
    let fraction = 0;
    let scale = 1;
    let hadFraction = false;
    if (s[i] === ".") {
      i++;
      const start = i;
      while (isDigit(s[i])) {
        if (scale < 1e15) {
          fraction = fraction * 10 + Number(s[i]);
          scale *= 10;
        }
        i++;
      }
      hadFraction = i > start;
    }
    if (!hadWhole && !hadFraction) return { ok: false, reason: "a '.' needs digits" };
    s = s.slice(i);
    let u = 0;
    while (u < s.length && !(s[u] === "." || isDigit(s[u]))) u++;
    if (u === 0) return { ok: false, reason: "a number lacks its unit (h, m, s, ms, us or ns)" };
    const unitName = s.slice(0, u);
    s = s.slice(u);
    const unit = UNITS[unitName];
    if (unit === undefined)
      return { ok: false, reason: `"${unitName}" is not a unit (use h, m, s, ms, us or ns)` };
    if (whole > LIMIT / unit) return { ok: false, reason: "it is too long for a duration" };
    let value = whole * unit;
    if (fraction > 0) {
      value += BigInt(Math.floor(fraction * (Number(unit) / scale)));
      if (value > LIMIT) return { ok: false, reason: "it is too long for a duration" };
    }
    total += value;
    if (total > LIMIT) return { ok: false, reason: "it is too long for a duration" };
  }
  if (!negative && total > LIMIT - 1n) return { ok: false, reason: "it is too long for a duration" };
  return { ok: true, nanoseconds: negative ? -total : total };
}

export const SECOND_NS = 1_000_000_000n;
