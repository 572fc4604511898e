// Client-side state container: components subscribe and are told about every change.

import type { NotesClient } from "./api";
import { Note, NoteId, NotesState, SyncState } from "./types";

/** Called with the new state after every mutation. */
export type Listener = (state: NotesState) => void;

/**
 * Holds the list of notes shown in the UI. Mutations go through methods that replace
 * the state object (never mutate it in place) and then broadcast it to listeners.
 */
export class NoteListStore {
  private state: NotesState = { notes: [], selectedId: null, filter: "", sync: SyncState.Idle };
  private listeners = new Set<Listener>();

  /** Current snapshot; treat it as read-only. */
  getState(): NotesState {
    return this.state;
  }

  /**
   * Register a callback for state changes. The returned function removes it again,
   * which components should call when they are torn down.
   */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Push the current snapshot to every registered callback. */
  notify(): void {
    for (const listener of this.listeners) {
      listener(this.state);
    }
  }

  private update(patch: Partial<NotesState>): void {
    this.state = { ...this.state, ...patch };
    this.notify();
  }

  /** Insert a note, or replace the one with the same id, keeping newest first. */
  upsertNote(note: Note): void {
    const others = this.state.notes.filter((n) => n.id !== note.id);
    const notes = [note, ...others].sort((a, b) => b.createdAt - a.createdAt);
    this.update({ notes });
  }

  /** Drop a note from the list and clear the selection if it pointed at it. */
  removeNote(id: NoteId): void {
    const selectedId = this.state.selectedId === id ? null : this.state.selectedId;
    this.update({ notes: this.state.notes.filter((n) => n.id !== id), selectedId });
  }

  /** Mark which note is open in the editor pane. */
  select(id: NoteId | null): void {
    this.update({ selectedId: id });
  }

  /** Remember the search box text; the list view filters on it. */
  setFilter(filter: string): void {
    this.update({ filter });
  }

  /** Notes whose title, body or tags contain the filter text (case-insensitive). */
  visibleNotes(): Note[] {
    const needle = this.state.filter.trim().toLowerCase();
    if (!needle) {
      return this.state.notes;
    }
    return this.state.notes.filter(
      (n) =>
        n.title.toLowerCase().includes(needle) ||
        n.body.toLowerCase().includes(needle) ||
        n.tags.some((t) => t.toLowerCase().includes(needle)),
    );
  }

  /** Replace the local list with the server's copy, flagging progress and failure. */
  async refresh(client: NotesClient): Promise<void> {
    this.update({ sync: SyncState.Loading });
    try {
      const notes = await client.listNotes();
      this.update({ notes, sync: SyncState.Idle });
    } catch {
      this.update({ sync: SyncState.Failed });
    }
  }
}
