import { describe, expect, it } from "vitest";
import { kustomizeMessage } from "../../../src/check/kustomize-errors.js";
import { imagePinned } from "../../../src/check/rules/pins.js";
import { convert } from "../../../src/check/schema-cache.js";
import { lineOf, parseFile } from "../../../src/check/source.js";
import { preciseErrors } from "../../../src/check/validate.js";

describe("parseFile", () => {
  it("reports malformed YAML at its line, never throwing", () => {
    const { docs, findings } = parseFile(
      "kubernetes/x.yaml",
      "---\napiVersion: v1\nkind: ConfigMap\n  data: [\n",
    );
    expect(docs).toEqual([]);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ rule: "yaml-syntax", file: "kubernetes/x.yaml", severity: "error" });
    expect(findings[0]?.line).toBeGreaterThanOrEqual(3);
  });

  it("reports duplicate keys", () => {
    const { findings } = parseFile("k.yaml", "a: 1\nb: 2\na: 3\n");
    expect(findings[0]).toMatchObject({ rule: "yaml-syntax", line: 3 });
  });

  it("locates a field path at its key's line, falling back to the nearest parent", () => {
    const { docs } = parseFile(
      "k.yaml",
      "---\nkind: X\nspec:\n  list:\n    - name: a\n    - name: b\n      port: 80\n",
    );
    const doc = docs[0];
    if (!doc) throw new Error("no doc");
    expect(lineOf(doc, ["spec", "list", 1, "port"])).toBe(7);
    expect(lineOf(doc, ["spec", "list", 1])).toBe(6);
    expect(lineOf(doc, ["spec", "missing", "deeper"])).toBe(3);
  });
});

describe("imagePinned", () => {
  it.each([
    ["traefik/whoami:v1.11.0", true],
    ["registry.k8s.io/external-dns/external-dns:v0.22.0", true],
    [`nginx@sha256:${"a".repeat(64)}`, true],
    ["localhost:5000/app:1.0", true],
    ["traefik/whoami", false],
    ["traefik/whoami:latest", false],
    ["localhost:5000/app", false],
    ["app:main", false],
  ])("%s -> %s", (image, pinned) => {
    expect(imagePinned(image)).toBe(pinned);
  });
});

describe("kustomizeMessage", () => {
  it("keeps kustomize's own words on one line, without the escapes of its wrapping", () => {
    const stderr =
      'Error: accumulating components: accumulateDirectory: "recursed accumulation of path \'kubernetes/cluster-values\': unable to find field \\"spec.acme.solvers.0.selector.dnsZones.0\\" in replacement target"\n';
    expect(kustomizeMessage(stderr)).toBe(
      'accumulating components: accumulateDirectory: "recursed accumulation of path \'kubernetes/cluster-values\': unable to find field "spec.acme.solvers.0.selector.dnsZones.0" in replacement target"',
    );
  });
});

describe("preciseErrors", () => {
  it("replaces kubeconform's vague anyOf error by the branches' own errors", () => {
    const msg =
      "problem validating schema. Check JSON formatting: jsonschema validation failed with 'file:///s.json#' - at '/spec/ports/0/targetPort': anyOf failed   - at '/spec/ports/0/targetPort': got array, want integer   - at '/spec/ports/0/targetPort': got array, want string";
    expect(preciseErrors([{ path: "/spec", msg: "validation failed" }], msg)).toEqual([
      { path: "/spec/ports/0/targetPort", msg: "got array, want integer; got array, want string" },
    ]);
  });
  it("keeps every path kubeconform reports, not only the deepest", () => {
    const msg =
      "jsonschema validation failed with 'file:///s.json#' - at '/spec/replicas': got string, want integer - at '/spec/template/spec/containers/0/ports/0/containerPort': got string, want integer";
    const errors = [
      { path: "/spec/replicas", msg: "got string, want integer" },
      { path: "/spec/template/spec/containers/0/ports/0/containerPort", msg: "got string, want integer" },
    ];
    expect(preciseErrors(errors, msg)).toEqual(errors);
  });
  it("keeps precise errors", () => {
    const errors = [{ path: "/spec", msg: "additional properties 'x' not allowed" }];
    expect(preciseErrors(errors, "")).toEqual(errors);
  });
});

describe("convert (OpenAPI -> strict JSON schema)", () => {
  it("closes objects with properties, keeps preserve-unknown-fields open, maps int-or-string", () => {
    const schema = convert({
      type: "object",
      properties: {
        a: { type: "string", description: "dropped" },
        open: {
          type: "object",
          "x-kubernetes-preserve-unknown-fields": true,
          properties: { b: { type: "string" } },
        },
        port: { "x-kubernetes-int-or-string": true },
        map: { type: "object", additionalProperties: { type: "string" } },
      },
    });
    expect(schema).toEqual({
      type: ["object", "null"],
      additionalProperties: false,
      properties: {
        a: { type: ["string", "null"] },
        open: { type: ["object", "null"], properties: { b: { type: ["string", "null"] } } },
        port: { anyOf: [{ type: "integer" }, { type: "string" }, { type: "null" }] },
        map: { type: ["object", "null"], additionalProperties: { type: ["string", "null"] } },
      },
    });
  });
});

describe("masked", () => {
  it("never writes decrypted Secret strings, but keeps their types", async () => {
    const { masked } = await import("../../../src/check/validate.js");
    const secret = {
      apiVersion: "v1",
      kind: "Secret",
      data: { a: "c2VjcmV0" },
      stringData: { b: "secret", n: 42 },
    };
    expect(masked(secret)).toEqual({
      apiVersion: "v1",
      kind: "Secret",
      data: { a: "bWFza2Vk" },
      stringData: { b: "masked", n: 42 },
    });
    const configMap = { apiVersion: "v1", kind: "ConfigMap", data: { a: "kept" } };
    expect(masked(configMap)).toBe(configMap);
  });
});
