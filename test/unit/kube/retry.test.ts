import { describe, expect, it } from "vitest";
import { KubeApiError } from "../../../src/kube/client.js";
import {
  KubeTimeoutError,
  KubeTransportError,
  retryAfterMs,
  retryable,
  transient,
} from "../../../src/kube/retry.js";

const transport = (errno: string) =>
  new KubeTransportError(`GET /x: unreachable: ${errno}`, errno, undefined);
const status = (code: number, retryAfter?: number) =>
  new KubeApiError("KUBE_API_ERROR", "x", code, "", "", retryAfter);

describe("which API failures are retried", () => {
  it.each([
    ["connection refused", transport("ECONNREFUSED"), true, true],
    ["name not resolved", transport("EAI_AGAIN"), true, true],
    ["connection reset", transport("ECONNRESET"), true, false],
    ["timed out", transport("ETIMEDOUT"), true, false],
    ["429", status(429, 2), true, true],
    ["500", status(500), true, false],
    ["503", status(503), true, false],
    ["504", status(504), true, false],
    ["400", status(400), false, false],
    ["401", status(401), false, false],
    ["403", status(403), false, false],
    ["404", status(404), false, false],
    ["409", status(409), false, false],
    ["TLS failure", transport("ERR_TLS_CERT_ALTNAME_INVALID"), false, false],
    ["a plain error", new Error("boom"), false, false],
  ])("%s", (_name, error, idempotent, notIdempotent) => {
    expect(retryable(error, true)).toBe(idempotent);
    expect(retryable(error, false)).toBe(notIdempotent);
  });

  it("waits as long as Retry-After asks, within the time left", () => {
    expect(retryAfterMs(status(429, 2), 30_000)).toBe(2000);
    expect(retryAfterMs(status(429, 60), 5_000)).toBe(4900);
    expect(retryAfterMs(status(503), 30_000)).toBe(0);
  });

  it("a request that ran out of time ends that request, but a wait polls on", () => {
    const timeout = new KubeTimeoutError("GET /x: no answer within 2 s", undefined);
    expect(retryable(timeout, true)).toBe(false);
    expect(transient(timeout)).toBe(true);
    expect(transient(transport("ECONNREFUSED"))).toBe(true);
    expect(transient(status(403))).toBe(false);
  });
});
