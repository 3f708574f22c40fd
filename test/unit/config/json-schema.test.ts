import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { clusterJsonSchemaText, JSON_SCHEMA_FILE } from "../../../src/config/json-schema.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";

describe("schema/cluster.schema.json", () => {
  const committed = readFileSync(join(PACKAGE_ROOT, JSON_SCHEMA_FILE), "utf8");

  it("is exactly what `npm run schema` generates from the zod schema", () => {
    expect(committed, "stale: run `npm run schema` and commit the result").toBe(clusterJsonSchemaText());
  });

  it("is a draft-07 schema that rejects unknown keys and documents the fields", () => {
    const schema = JSON.parse(committed);
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual([
      "version",
      "name",
      "domain",
      "cloudflare",
      "k3s",
      "nodes",
      "acme",
      "backup",
      "gitops",
    ]);
    const node = schema.properties.nodes.items;
    expect(node.additionalProperties).toBe(false);
    expect(node.required).toEqual(["name", "role", "provider", "region", "publicIPv4"]);
    expect(node.properties.provider.enum).toEqual(["hetzner", "vultr", "aws", "generic"]);
    expect(node.properties.name.pattern).toBe("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$");
    expect(schema.properties.k3s.properties.version.description).toMatch(/v1\.36\.2/);
  });
});
