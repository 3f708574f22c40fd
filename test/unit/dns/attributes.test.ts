import { describe, expect, it } from "vitest";
import { attributeChanges } from "../../../src/adapters/tofu-show.js";

describe("attribute-level changes of a planned change", () => {
  it("an update shows changed attributes only; sensitive values never", () => {
    expect(
      attributeChanges({
        actions: ["update"],
        before: { name: "ingress", content: "203.0.113.10", ttl: 1, api_token: "old" },
        after: { name: "ingress", content: "203.0.113.11", ttl: 1, api_token: "new" },
        after_unknown: {},
        before_sensitive: { api_token: true },
        after_sensitive: { api_token: true },
      }),
    ).toEqual([
      { name: "api_token", before: "(sensitive)", after: "(sensitive)" },
      { name: "content", before: '"203.0.113.10"', after: '"203.0.113.11"' },
    ]);
  });

  it("a create lists what it sets; a delete what it removes", () => {
    expect(
      attributeChanges({
        actions: ["create"],
        before: null,
        after: { name: "k8s-api", proxied: false },
        after_unknown: { id: true },
      }),
    ).toEqual([
      { name: "id", after: "(known after apply)" },
      { name: "name", after: '"k8s-api"' },
      { name: "proxied", after: "false" },
    ]);
    expect(attributeChanges({ actions: ["delete"], before: { name: "old" }, after: null })).toEqual([
      { name: "name", before: '"old"' },
    ]);
  });
});
