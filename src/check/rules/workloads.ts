/** Pod templates of workload objects, and their containers with paths (for image and hygiene rules). */
import { get, list, type Resource } from "../resources.js";
import { type Json, kindOf, type PathPart } from "../source.js";

export const POD_SPECS: Readonly<Record<string, PathPart[]>> = {
  Pod: ["spec"],
  Deployment: ["spec", "template", "spec"],
  StatefulSet: ["spec", "template", "spec"],
  DaemonSet: ["spec", "template", "spec"],
  ReplicaSet: ["spec", "template", "spec"],
  Job: ["spec", "template", "spec"],
  CronJob: ["spec", "jobTemplate", "spec", "template", "spec"],
};

/** Kinds that run until stopped (probes matter); Jobs and CronJobs run to completion. */
export const LONG_RUNNING = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod"]);

export interface Container {
  resource: Resource;
  podSpec: PathPart[];
  path: PathPart[];
  container: Json;
  name: string;
  init: boolean;
}

export function containers(resource: Resource, keys = ["initContainers", "containers"]): Container[] {
  const podSpec = POD_SPECS[kindOf(resource.object) ?? ""];
  if (!podSpec) return [];
  return keys.flatMap((key) =>
    list(get(resource.object, ...podSpec, key)).map((container, i) => ({
      resource,
      podSpec,
      path: [...podSpec, key, i],
      container,
      name: String(get(container, "name") ?? i),
      init: key === "initContainers",
    })),
  );
}

/** The labels of a workload's pods (its template's), or undefined for a kind without a template. */
export function podLabels(resource: Resource): Json | undefined {
  const podSpec = POD_SPECS[kindOf(resource.object) ?? ""];
  if (!podSpec) return undefined;
  return kindOf(resource.object) === "Pod"
    ? get(resource.object, "metadata", "labels")
    : get(resource.object, ...podSpec.slice(0, -1), "metadata", "labels");
}
