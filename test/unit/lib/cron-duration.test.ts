import { describe, expect, it } from "vitest";
import { checkCronSpec } from "../../../src/lib/cron.js";

describe("checkCronSpec (go-cron ParseStandard, as Velero parses Schedules)", () => {
  it.each([
    "0 3 * * *",
    "0 * * * *",
    "*/15 * * * *",
    "0 22-2 * * *",
    "0 0 1,15 * *",
    "0 0 * * 7",
    "0 0 * * sun-sat",
    "0 0 * JAN-MAR ?",
    "@daily",
    "@every 1h30m",
    "TZ=Europe/Berlin 0 3 * * *",
    "CRON_TZ=UTC @hourly",
    "  0 3 * * *",
  ])("accepts %s", (spec) => {
    expect(checkCronSpec(spec)).toEqual({ ok: true });
  });

  it.each([
    ["", "empty spec string"],
    ["0 0 3 * * *", "expected exactly 5 fields, found 6: [0 0 3 * * *]"],
    ["0 3 * *", "expected exactly 5 fields, found 4: [0 3 * *]"],
    ["60 * * * *", 'end of range (60) above maximum (59): "60"'],
    ["*/60 * * * *", 'step (60) must be less than range size (60): "*/60"'],
    ["0 0 0 * *", 'beginning of range (0) below minimum (1): "0"'],
    [
      "0 0 L * *",
      "extended day-of-month syntax requires DomL option (for L, L-n) or DomW option (for nW, LW) to be enabled",
    ],
    ["0 0 * * FRI#3", "#n/#L syntax requires DowNth or DowLast option to be enabled"],
    ["H 0 * * *", "h expressions require hash option to be enabled"],
    ["@every 30d", 'failed to parse duration "@every 30d": "d" is not a unit (use h, m, s, ms, us or ns)'],
    ["@every 500ms", '@every duration must be at least 1s: "@every 500ms"'],
    ["@fortnightly", 'unrecognized descriptor: "@fortnightly"'],
    ["TZ=Mars/Olympus 0 3 * * *", 'unknown time zone "Mars/Olympus": unknown time zone Mars/Olympus'],
    ["0 3 * * mon-fri-sat", 'too many hyphens: "mon-fri-sat"'],
    ["a * * * *", 'failed to parse int from "a": strconv.Atoi: parsing "a": invalid syntax'],
  ])("rejects %s", (spec, error) => {
    expect(checkCronSpec(spec)).toMatchObject({ ok: false, error });
  });

  it.each([
    ["60 * * * *", "minute"],
    ["0 24 * * *", "hour"],
    ["0 0 L * *", "day-of-month"],
    ["0 0 * 13 *", "month"],
    ["0 0 * * FRI#3", "day-of-week"],
  ])("names the field of %s", (spec, field) => {
    expect(checkCronSpec(spec)).toMatchObject({ ok: false, field });
  });

  it.each([
    ["0 3 31 2 *", "no month has that day"],
    ["0 3 30 feb *", "no month has that day"],
    ["0 3 , * *", "the day-of-month field lists no value"],
    ["@manual", "@manual runs only when started by hand"],
    ["@none", "@none runs only when started by hand"],
  ])("accepts %s, which never runs", (spec, neverFires) => {
    expect(checkCronSpec(spec)).toEqual({ ok: true, neverFires });
  });

  it.each(["0 3 31 2 1", "0 3 29 2 *", "0 3 31 * *", "0 22-2 * * *", "0 3 * nov-feb 7"])(
    "%s runs at some point",
    (spec) => {
      expect(checkCronSpec(spec)).toEqual({ ok: true });
    },
  );
});
