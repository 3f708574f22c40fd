import { isRemote } from "../build.js";
import type { Finding } from "../findings.js";
import { at, get, is, list, type Resource, str } from "../resources.js";
import { isObject, type Json, kindOf, lineOf, type PathPart } from "../source.js";
import { helmSources, valuePath } from "./helm-values.js";
import type { Rule } from "./rule.js";
import { POD_SPECS } from "./workloads.js";

const EXACT_VERSION = /^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$/;

/** True when an image reference names an immutable version: a digest, or a tag other than latest. */
export function imagePinned(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const lastSlash = image.lastIndexOf("/");
  const colon = image.indexOf(":", lastSlash + 1);
  if (colon < 0) return false;
  const tag = image.slice(colon + 1);
  return tag !== "" && tag !== "latest" && !/^(stable|main|master|edge|nightly)$/.test(tag);
}

interface ImageRef {
  resource: Resource;
  path: PathPart[];
  image: string;
  /** Whether the line must carry a Renovate annotation (false inside string-valued chart values). */
  annotate: boolean;
}

function* valueImages(
  values: Json | undefined,
  path: PathPart[],
): Generator<{ image: string; path: PathPart[]; tagOnly: boolean }> {
  if (Array.isArray(values)) {
    for (const [i, item] of values.entries()) yield* valueImages(item, [...path, i]);
    return;
  }
  if (!isObject(values)) return;
  for (const [key, value] of Object.entries(values)) {
    if (key === "image" && typeof value === "string")
      yield { image: value, path: [...path, key], tagOnly: false };
    else if (key === "image" && isObject(value) && typeof value.tag === "string") {
      const repository = typeof value.repository === "string" ? value.repository : "image";
      yield { image: `${repository}:${value.tag}`, path: [...path, key, "tag"], tagOnly: true };
    } else yield* valueImages(value, [...path, key]);
  }
}

function images(resources: readonly Resource[]): ImageRef[] {
  const out: ImageRef[] = [];
  for (const resource of resources) {
    const podSpec = POD_SPECS[kindOf(resource.object) ?? ""];
    if (!podSpec) continue;
    for (const key of ["initContainers", "containers", "ephemeralContainers"]) {
      list(get(resource.object, ...podSpec, key)).forEach((container, i) => {
        const image = str(get(container, "image"));
        if (image !== undefined)
          out.push({ resource, path: [...podSpec, key, i, "image"], image, annotate: true });
      });
    }
  }
  for (const source of helmSources(resources)) {
    const annotate = source.structured;
    for (const ref of valueImages(source.values, [])) {
      out.push({ resource: source.resource, path: valuePath(source, ref.path), image: ref.image, annotate });
    }
  }
  return out;
}

const ANNOTATION = /#\s*renovate:/;

/**
 * Whether the line of the value carries a Renovate annotation on one of the two lines above. Fast path:
 * every line of the file holding the value is annotated (no positions needed); otherwise the value's own
 * line is found through the document's positions.
 */
function renovateAnnotated(resource: Resource, path: readonly PathPart[], value: string): boolean {
  const origin = resource.origin;
  if (!origin) return true;
  const text = originText.get(origin.file);
  if (text === undefined) return true;
  const lines = text.split("\n");
  const annotated = (index: number) =>
    [lines[index - 1], lines[index - 2]].some((l) => l !== undefined && ANNOTATION.test(l));
  const holding = lines.flatMap((line, i) => (line.includes(value) ? [i] : []));
  if (holding.length > 0 && holding.every(annotated)) return true;
  return annotated(lineOf(origin, path) - 1);
}

/** Source texts by file (set by the rule before it runs, so the annotation check can read lines). */
const originText = new Map<string, string>();

export const pinnedVersions: Rule = {
  id: "pinned-version",
  title: "every chart, image and remote base is pinned, with a Renovate annotation",
  reason:
    "an unpinned chart or image changes under a running cluster without a commit; Renovate proposes bumps " +
    "only for versions it can find (docs/gitops.md, Renovate: renovate.json's custom managers read the annotations)",
  check(tree) {
    // A house rule: this project's Renovate setup reads the annotations. Other trees: remote-source-pinned
    // and image-tag judge pins without asking for annotations.
    if (tree.house === false) return [];
    originText.clear();
    for (const file of tree.sources.files) originText.set(file.file, file.text);
    const findings: Finding[] = [];
    const fix =
      "pin an exact version and put a `# renovate: datasource=... depName=...` comment on the line above";
    for (const source of helmSources(tree.resources, tree)) {
      if (!is(source.resource, "Application") || !source.chart) continue;
      const path = [...source.sourcePath, "targetRevision"];
      const revision = str(get(source.resource.object, ...path));
      if (!revision || !EXACT_VERSION.test(revision)) {
        findings.push(
          at(source.resource, path, {
            rule: this.id,
            message: `chart ${source.chart} is not pinned to an exact version (targetRevision: ${JSON.stringify(revision ?? null)})`,
            fix,
          }),
        );
      } else if (!renovateAnnotated(source.resource, path, revision)) {
        findings.push(
          at(source.resource, path, {
            rule: this.id,
            message: `chart ${source.chart} ${revision} has no Renovate annotation`,
            fix,
          }),
        );
      }
    }
    for (const ref of images(tree.resources)) {
      if (!imagePinned(ref.image)) {
        findings.push(
          at(ref.resource, ref.path, {
            rule: this.id,
            message: `image ${ref.image} is not pinned to a version`,
            fix,
          }),
        );
      } else if (
        ref.annotate &&
        !renovateAnnotated(
          ref.resource,
          ref.path,
          ref.path[ref.path.length - 1] === "tag" ? (ref.image.split(":").pop() ?? ref.image) : ref.image,
        )
      ) {
        findings.push(
          at(ref.resource, ref.path, {
            rule: this.id,
            message: `image ${ref.image} has no Renovate annotation`,
            fix,
          }),
        );
      }
    }
    for (const resource of tree.resources) {
      if (!is(resource, "Plan", "upgrade.cattle.io")) continue;
      const version = str(get(resource.object, "spec", "version"));
      if (version && !version.startsWith("set-by-")) continue;
      findings.push(
        at(
          resource,
          ["spec", get(resource.object, "spec", "channel") !== undefined ? "channel" : "version"],
          {
            rule: this.id,
            message: `Plan ${String(get(resource.object, "metadata", "name"))} follows a channel instead of a pinned version`,
            fix: "set spec.version (from cluster values: k3sVersion) and remove spec.channel",
          },
        ),
      );
    }
    for (const file of tree.sources.files) {
      if (file.role !== "kustomization") continue;
      const lines = file.text.split("\n");
      lines.forEach((line, i) => {
        const entry = /^\s*-\s*["']?([^"'\s#]+)/.exec(line)?.[1];
        if (!entry || !isRemote(entry)) return;
        const pinned = /[?&]ref=[^&]+/.test(entry)
          ? !/[?&]ref=(main|master|HEAD)\b/.test(entry)
          : /\/(releases\/download|raw)\/v?\d+\.\d+\.\d+\//.test(entry) || /\/v?\d+\.\d+\.\d+\//.test(entry);
        if (pinned && !/\/latest\//.test(entry)) {
          if (!/#\s*renovate:/.test(lines[i - 1] ?? "")) {
            findings.push({
              rule: this.id,
              severity: "error",
              message: `remote resource ${entry} has no Renovate annotation`,
              fix,
              file: file.file,
              line: i + 1,
            });
          }
          return;
        }
        findings.push({
          rule: this.id,
          severity: "error",
          message: `remote resource ${entry} is not pinned to a release tag`,
          fix: "reference a release (…/releases/download/vX.Y.Z/… or ?ref=vX.Y.Z), never latest or a branch",
          file: file.file,
          line: i + 1,
        });
      });
    }
    return findings;
  },
};
