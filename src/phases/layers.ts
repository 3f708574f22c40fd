/**
 * The layers a converging command works through, in the order of docs/architecture.md (Data flow): DNS and the bucket
 * (OpenTofu), the hosts (bootstrap.yml), K3s (the k3s playbooks), GitOps. `--until LAYER` stops after
 * a layer; `--skip LAYER` leaves one out (DNS where the Cloudflare provider cannot be had, a layer
 * just converged). A phase outside the selection is recorded as skipped, with the reason.
 */
import { InfraError } from "../errors.js";
import type { Phase, PhaseContext } from "./phase.js";

export const LAYERS = ["dns", "hosts", "k3s", "gitops"] as const;
export type Layer = (typeof LAYERS)[number];

export interface LayerSelection {
  /** The layers the command knows, in order. */
  known: readonly Layer[];
  until?: Layer;
  skip: Layer[];
}

/** Reads `--until` and `--skip` (one or more layers) against the layers a command has. */
export function layerSelection(
  options: { until?: unknown; skip?: unknown },
  known: readonly Layer[],
): LayerSelection {
  const check = (flag: string, value: string): Layer => {
    if ((known as readonly string[]).includes(value)) return value as Layer;
    throw new InfraError("LAYER_UNKNOWN", `${flag} ${value}: not a layer of this command`, {
      kind: "usage",
      hint: `use one of: ${known.join(", ")}`,
    });
  };
  const selection: LayerSelection = { known, skip: [] };
  if (typeof options.until === "string") selection.until = check("--until", options.until);
  const raw = Array.isArray(options.skip)
    ? options.skip
    : typeof options.skip === "string"
      ? [options.skip]
      : [];
  for (const entry of raw) {
    const layer = check("--skip", String(entry));
    if (!selection.skip.includes(layer)) selection.skip.push(layer);
  }
  return selection;
}

/** Every layer: what a command runs without --until or --skip. */
export function allLayers(known: readonly Layer[]): LayerSelection {
  return { known, skip: [] };
}

/** Why a layer does not run, or undefined when it does. */
export function notRunReason(selection: LayerSelection, layer: Layer): string | undefined {
  if (selection.skip.includes(layer)) return `--skip ${layer}`;
  if (
    selection.until !== undefined &&
    selection.known.indexOf(layer) > selection.known.indexOf(selection.until)
  )
    return `--until ${selection.until}`;
  return undefined;
}

export function runsLayer(selection: LayerSelection, layer: Layer): boolean {
  return notRunReason(selection, layer) === undefined;
}

export interface LayerNotRun {
  layer: Layer;
  /** The flag that left it out, e.g. `--until hosts`. */
  reason: string;
}

/** The layers that are not run, with the reason: for the command's result and summary. */
export function layersNotRun(selection: LayerSelection): LayerNotRun[] {
  return selection.known.flatMap((layer) => {
    const reason = notRunReason(selection, layer);
    return reason ? [{ layer, reason }] : [];
  });
}

/** Runs `phase` only when its layer is selected; otherwise reports it skipped, naming the flag. */
export function inLayer(layer: Layer, selection: LayerSelection, phase: Phase): Phase {
  const wrapped: Phase = {
    title: phase.title,
    shouldRun(ctx: PhaseContext): boolean {
      const reason = notRunReason(selection, layer);
      if (reason) {
        ctx.reporter.info(`--- Skipping phase: ${phase.title} (${reason})`);
        return false;
      }
      return phase.shouldRun ? phase.shouldRun(ctx) : true;
    },
    run: (ctx) => phase.run(ctx),
  };
  if (phase.prepare) wrapped.prepare = (ctx) => (phase.prepare as NonNullable<Phase["prepare"]>)(ctx);
  if (phase.cleanUp) wrapped.cleanUp = (ctx) => (phase.cleanUp as NonNullable<Phase["cleanUp"]>)(ctx);
  return wrapped;
}

/** A summary line for a run that left layers out, or none. */
export function describeLayersNotRun(missing: readonly LayerNotRun[], rerun: string): string[] {
  if (missing.length === 0) return [];
  return [
    `not run: ${missing.map((m) => `${m.layer} (${m.reason})`).join(", ")}; \`${rerun}\` converges every layer`,
  ];
}
