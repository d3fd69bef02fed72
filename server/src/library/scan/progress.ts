/**
 * Scan progress and run summaries, defined once as TypeBox schemas: the API validates and
 * serialises with them, OpenAPI documents them and the TypeScript types come from them.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Nullable } from '../../http/schemas.js';

/** Phases as published to listeners (`done` once the run ended, whatever its state). */
export const ScanPhaseSchema = Type.Union(
  [
    Type.Literal('walk'),
    Type.Literal('diff'),
    Type.Literal('read'),
    Type.Literal('prune'),
    Type.Literal('group'),
    Type.Literal('gc'),
    Type.Literal('done'),
  ],
  { description: 'walk | diff | read | prune | group | gc | done' },
);
export type ScanPhase = Static<typeof ScanPhaseSchema>;

const ScanKindSchema = Type.Union([Type.Literal('full'), Type.Literal('incremental')]);

const Counts = {
  filesTotal: Type.Integer({ description: 'files that need reading this run (new or changed)' }),
  filesDone: Type.Integer(),
  added: Type.Integer(),
  updated: Type.Integer(),
  moved: Type.Integer(),
  removed: Type.Integer(),
  unreadable: Type.Integer({ description: 'files this run tried to read and could not' }),
  deferred: Type.Integer({ description: 'files still being written, left for a later scan' }),
};

const ProgressProperties = {
  runId: Type.String(),
  kind: ScanKindSchema,
  trigger: Type.String(),
  folders: Nullable(
    Type.Array(Type.String(), { description: 'folders (relative to the music folder) of a folder-scoped scan' }),
  ),
  phase: ScanPhaseSchema,
  filesFound: Type.Integer(),
  ...Counts,
  unreadableTotal: Type.Integer({
    description: 'files in the music folder that cannot be read (this run and earlier ones; see /api/v1/scan/errors)',
  }),
  startedAt: Type.Integer(),
  elapsedMs: Type.Integer(),
};
export const ScanProgressSchema = Type.Object(ProgressProperties);
export type ScanProgress = Static<typeof ScanProgressSchema>;

// The progress properties and four more, spread rather than `Type.Composite`: Composite computes
// the intersection at module load (~15–40 ms of `earshot scan`'s start-up; issue 16) for the
// same schema.
export const ScanSummarySchema = Type.Object({
  ...ProgressProperties,
  state: Type.Union([Type.Literal('done'), Type.Literal('failed'), Type.Literal('interrupted')]),
  phaseMs: Type.Record(Type.String(), Type.Number()),
  error: Nullable(Type.String()),
  finishedAt: Type.Integer(),
});
export type ScanSummary = Static<typeof ScanSummarySchema>;

export const ScanRunSchema = Type.Object({
  id: Type.String(),
  kind: ScanKindSchema,
  state: Type.Union([
    Type.Literal('running'),
    Type.Literal('done'),
    Type.Literal('failed'),
    Type.Literal('interrupted'),
  ]),
  trigger: Type.String(),
  folders: Nullable(Type.Array(Type.String())),
  ...Counts,
  phaseMs: Type.Record(Type.String(), Type.Number()),
  error: Nullable(Type.String()),
  startedAt: Type.Integer(),
  finishedAt: Nullable(Type.Integer()),
});
export type ScanRunView = Static<typeof ScanRunSchema>;

/** A fresh progress record for a run that is starting. */
export function newProgress(init: {
  runId: string;
  kind: ScanProgress['kind'];
  trigger: string;
  folders: string[] | null;
  unreadableTotal: number;
  startedAt: number;
}): ScanProgress {
  return {
    ...init,
    phase: 'walk',
    filesFound: 0,
    filesTotal: 0,
    filesDone: 0,
    added: 0,
    updated: 0,
    moved: 0,
    removed: 0,
    unreadable: 0,
    deferred: 0,
    elapsedMs: 0,
  };
}
