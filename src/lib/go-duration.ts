/**
 * Go's `time.ParseDuration`, exactly: what Kubernetes' `metav1.Duration` (Velero's `ttl`, `@every` in
 * cron specs, many controllers' intervals) accepts. A sequence of decimal numbers, each with an optional
 * fraction and a unit (ns, us, µs, μs, ms, s, m, h), optionally signed; "0" alone needs no unit. There is
 * no day unit: "30d" is rejected. The error texts are Go's.
 */
export type GoDuration = { ok: true; nanoseconds: bigint } | { ok: false; error: string };

const UNITS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 micro sign
  μs: 1_000n, // U+03BC Greek small letter mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const MAX = 1n << 63n;

const quote = (text: string) => JSON.stringify(text);
const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";

export function parseGoDuration(input: string): GoDuration {
  const invalid = { ok: false as const, error: `time: invalid duration ${quote(input)}` };
  let s = input;
  let negative = false;
  if (s.startsWith("-") || s.startsWith("+")) {
    negative = s.startsWith("-");
    s = s.slice(1);
  }
  if (s === "0") return { ok: true, nanoseconds: 0n };
  if (s === "") return invalid;
  let total = 0n;
  while (s !== "") {
    if (!(s[0] === "." || isDigit(s[0]))) return invalid;
    let i = 0;
    while (isDigit(s[i])) i++;
    const whole = s.slice(0, i);
    s = s.slice(i);
    let fraction = "";
    if (s.startsWith(".")) {
      s = s.slice(1);
      let j = 0;
      while (isDigit(s[j])) j++;
      fraction = s.slice(0, j);
      s = s.slice(j);
    }
    if (whole === "" && fraction === "") return invalid;
    let u = 0;
    while (u < s.length && !(s[u] === "." || isDigit(s[u]))) u++;
    if (u === 0) return { ok: false, error: `time: missing unit in duration ${quote(input)}` };
    const unitName = s.slice(0, u);
    s = s.slice(u);
    const unit = UNITS[unitName];
    if (unit === undefined) {
      return { ok: false, error: `time: unknown unit ${quote(unitName)} in duration ${quote(input)}` };
    }
    const value = BigInt(whole === "" ? "0" : whole);
    if (value > MAX / unit) return invalid;
    let nanos = value * unit;
    if (fraction !== "") {
      // Go adds the fraction in floating point; the result may differ by a nanosecond, acceptance does not.
      nanos += (BigInt(fraction) * unit) / 10n ** BigInt(fraction.length);
    }
    total += nanos;
    if (total > MAX) return invalid;
  }
  if (!negative && total > MAX - 1n) return invalid;
  return { ok: true, nanoseconds: negative ? -total : total };
}
