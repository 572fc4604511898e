// Shared shapes used by the browser side of the notes app.

/** Server-assigned identifier of a note (its slug). */
export type NoteId = string;

/** A note as the JSON API returns it. */
export interface Note {
  id: NoteId;
  title: string;
  body: string;
  tags: string[];
  /** Seconds since the Unix epoch. */
  createdAt: number;
}

/** Where the local copy stands relative to the server. */
export enum SyncState {
  Idle = "idle",
  Loading = "loading",
  Saving = "saving",
  Failed = "failed",
}

/** Snapshot held by the client-side store. */
export interface NotesState {
  notes: Note[];
  selectedId: NoteId | null;
  filter: string;
  sync: SyncState;
}

/** Knobs for the retrying fetch helper. */
export interface RetryOptions {
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}
