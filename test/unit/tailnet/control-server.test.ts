/**
 * What infra sends to Tailscale's tailnet policy API and how it reads the answers, as pure logic:
 * Tailscale's service cannot be reached from here and is not imitated by a mock server (only a real
 * tailnet proves that path: docs/testing.md). headscale's API path runs for real in
 * test/controlplane/tailnet-mesh.test.ts.
 */
import { describe, expect, it } from "vitest";
import { InfraError } from "../../../src/errors.js";
import {
  headscaleDevices,
  headscaleRequests,
  headscaleServer,
  tailscaleDevices,
  tailscaleError,
  tailscaleRequests,
  tailscaleServer,
  validationProblem,
} from "../../../src/tailnet/control-server.js";

const response = (status: number, text: string, headers: Record<string, string> = {}) => ({
  status,
  text,
  headers: new Headers(headers),
});

describe("Tailscale's tailnet policy file API", () => {
  const requests = tailscaleRequests("https://api.tailscale.com/", "example.com", "tskey-api-secret");

  it("reads the policy as HuJSON (comments kept), with the token as a bearer", () => {
    expect(requests.get()).toEqual({
      method: "GET",
      url: "https://api.tailscale.com/api/v2/tailnet/example.com/acl",
      headers: { Authorization: "Bearer tskey-api-secret", Accept: "application/hujson" },
    });
  });

  it("validates first, at /acl/validate, with the text it would write", () => {
    expect(requests.validate("{ // x\n}")).toMatchObject({
      method: "POST",
      url: "https://api.tailscale.com/api/v2/tailnet/example.com/acl/validate",
      headers: { "Content-Type": "application/hujson" },
      body: "{ // x\n}",
    });
  });

  it("writes with If-Match: the ETag read with the policy, so a change in between is refused (412)", () => {
    expect(requests.set("{}", '"abc123"')).toMatchObject({
      method: "POST",
      url: "https://api.tailscale.com/api/v2/tailnet/example.com/acl",
      headers: { "If-Match": '"abc123"', "Content-Type": "application/hujson" },
      body: "{}",
    });
    expect(requests.set("{}", undefined).headers).not.toHaveProperty("If-Match");
  });

  it("the tailnet '-' means the token's own; names are escaped in the path", () => {
    expect(tailscaleRequests("https://api.tailscale.com", "-", "t").get().url).toBe(
      "https://api.tailscale.com/api/v2/tailnet/-/acl",
    );
    expect(tailscaleRequests("https://api.tailscale.com", "a/b", "t").get().url).toContain(
      "/tailnet/a%2Fb/acl",
    );
  });

  it("reads /validate's verdict: empty object fine, a message (and test details) a refusal", () => {
    expect(validationProblem(response(200, "{}"))).toBeUndefined();
    expect(validationProblem(response(200, ""))).toBeUndefined();
    expect(
      validationProblem(
        response(
          200,
          '{"message":"test(s) failed","data":[{"user":"tag:ci","errors":["tag:k8s-server:2379: expected DENIED"]}]}',
        ),
      ),
    ).toBe("test(s) failed: tag:ci: tag:k8s-server:2379: expected DENIED");
    expect(validationProblem(response(400, '{"message":"line 3: unknown field \\"acl\\""}'))).toBe(
      'line 3: unknown field "acl"',
    );
  });

  it("a read-only or unknown token is a preflight failure saying what token is needed", () => {
    const readOnly = tailscaleError(
      "Tailscale",
      response(403, '{"message":"forbidden"}'),
      "accept the policy",
    );
    expect(readOnly).toMatchObject({ code: "TAILNET_TOKEN_REFUSED", exitCode: 3 });
    expect(readOnly.hint).toMatch(/read-only|policy_file/);
    expect(tailscaleError("Tailscale", response(401, "unauthorized"), "read")).toMatchObject({
      code: "TAILNET_TOKEN_REFUSED",
      exitCode: 3,
    });
    expect(tailscaleError("Tailscale", response(400, '{"message":"bad"}'), "accept")).toMatchObject({
      code: "TAILNET_POLICY_REJECTED",
      exitCode: 2,
    });
    expect(tailscaleError("Tailscale", response(502, "bad gateway"), "accept")).toMatchObject({
      code: "TAILNET_SERVER_FAILED",
      exitCode: 1,
    });
  });

  it("no token in the environment stops before any request", () => {
    let error: unknown;
    try {
      tailscaleServer({ TAILSCALE_API_KEY: " " });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InfraError);
    expect(error).toMatchObject({ code: "TAILNET_TOKEN_MISSING", exitCode: 3 });
    expect(tailscaleServer({ TAILSCALE_API_KEY: "tskey-api-x", TAILSCALE_TAILNET: "example.com" }).name).toBe(
      "Tailscale (tailnet example.com)",
    );
  });
});

describe("headscale's API", () => {
  it("policy get, check and set, the key as a bearer, the policy as a JSON string", () => {
    const requests = headscaleRequests("https://hs.example.com/", "hskey-api-x");
    expect(requests.get()).toMatchObject({ method: "GET", url: "https://hs.example.com/api/v1/policy" });
    expect(requests.check("{}")).toMatchObject({
      method: "POST",
      url: "https://hs.example.com/api/v1/policy/check",
      body: '{"policy":"{}"}',
    });
    expect(requests.set("{ // c\n}")).toMatchObject({
      method: "PUT",
      headers: { Authorization: "Bearer hskey-api-x" },
      body: JSON.stringify({ policy: "{ // c\n}" }),
    });
    expect(() => headscaleServer("https://hs.example.com", {})).toThrow(/HEADSCALE_API_KEY is not set/);
  });
});

describe("the devices on the tailnet (to tell a node cut off by a new policy)", () => {
  it("headscale: GET /api/v1/node, the given name and tags", () => {
    expect(headscaleRequests("https://hs.example.com", "k").nodes()).toMatchObject({
      method: "GET",
      url: "https://hs.example.com/api/v1/node",
    });
    expect(
      headscaleDevices(
        '{"nodes":[{"id":"1","name":"server-1","givenName":"server-1","tags":["tag:k8s-server"]},{"id":"2","name":"laptop","givenName":"laptop-2"}]}',
      ),
    ).toEqual([
      { name: "server-1", tags: ["tag:k8s-server"] },
      { name: "laptop-2", tags: [] },
    ]);
    expect(headscaleDevices("{}")).toEqual([]);
  });

  it("Tailscale: GET /api/v2/tailnet/{tailnet}/devices, the host name and tags", () => {
    expect(tailscaleRequests("https://api.tailscale.com", "example.com", "t").devices()).toMatchObject({
      method: "GET",
      url: "https://api.tailscale.com/api/v2/tailnet/example.com/devices",
    });
    expect(
      tailscaleDevices(
        '{"devices":[{"hostname":"server-1","name":"server-1.tail1234.ts.net","tags":["tag:k8s-server"]},{"name":"phone.tail1234.ts.net"}]}',
      ),
    ).toEqual([
      { name: "server-1", tags: ["tag:k8s-server"] },
      { name: "phone", tags: [] },
    ]);
  });
});
