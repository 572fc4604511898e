/** @jsx h */
// The note list UI, written as plain functions returning a tiny virtual DOM (no React).

import { NotesClient } from "./api";
import { excerpt, timeAgo, wordCount } from "./format";
import { NoteListStore } from "./store";
import { Note, SyncState } from "./types";
import { debounce, throttle } from "./utils.js";

type Props = Record<string, unknown> | null;

/** A virtual node: tag name, attributes and children (strings or nodes). */
export interface VNode {
  tag: string;
  props: Record<string, unknown>;
  children: Array<VNode | string>;
}

declare global {
  namespace JSX {
    type Element = VNode;
    interface IntrinsicElements {
      [name: string]: Record<string, unknown>;
    }
  }
}

/** JSX factory: builds a VNode, flattening nested child arrays and dropping empty values. */
export function h(tag: string | ((props: any) => VNode), props: Props, ...children: unknown[]): VNode {
  if (typeof tag === "function") {
    return tag({ ...(props ?? {}), children });
  }
  const flat: Array<VNode | string> = [];
  const visit = (child: unknown): void => {
    if (Array.isArray(child)) {
      child.forEach(visit);
    } else if (child !== null && child !== undefined && child !== false) {
      flat.push(typeof child === "object" ? (child as VNode) : String(child));
    }
  };
  children.forEach(visit);
  return { tag, props: props ?? {}, children: flat };
}

/** Turn a VNode tree into real DOM elements, wiring `on*` props up as event listeners. */
export function toDom(node: VNode | string): Node {
  if (typeof node === "string") {
    return document.createTextNode(node);
  }
  const el = document.createElement(node.tag);
  for (const [key, value] of Object.entries(node.props)) {
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value as EventListener);
    } else if (value !== undefined && value !== null) {
      el.setAttribute(key === "className" ? "class" : key, String(value));
    }
  }
  node.children.forEach((child) => el.appendChild(toDom(child)));
  return el;
}

interface RowProps {
  note: Note;
  selected: boolean;
  onPick: (id: string) => void;
}

/** One entry of the list: title, age, a short preview and the tag chips. */
export function NoteRow({ note, selected, onPick }: RowProps): VNode {
  return (
    <li className={selected ? "note selected" : "note"} onClick={() => onPick(note.id)}>
      <h3>{note.title}</h3>
      <small>
        {timeAgo(note.createdAt)} · {wordCount(note.body)} words
      </small>
      <p>{excerpt(note.body)}</p>
      <ul className="tags">
        {note.tags.map((tag) => (
          <li className="tag">#{tag}</li>
        ))}
      </ul>
    </li>
  );
}

/** The search input; typing updates the store's filter after a short pause. */
export function SearchBox({ store }: { store: NoteListStore }): VNode {
  const onInput = debounce((event: Event) => {
    store.setFilter((event.target as HTMLInputElement).value);
  }, 250);
  return <input type="search" placeholder="Filter notes…" value={store.getState().filter} onInput={onInput} />;
}

/** The whole sidebar: a status line, the search box and the filtered notes. */
export function NoteList({ store }: { store: NoteListStore }): VNode {
  const state = store.getState();
  const visible = store.visibleNotes();
  return (
    <section className="note-list">
      {state.sync === SyncState.Loading && <p className="status">Loading…</p>}
      {state.sync === SyncState.Failed && <p className="status error">Could not reach the server.</p>}
      <SearchBox store={store} />
      {visible.length === 0 ? (
        <p className="empty">No notes match.</p>
      ) : (
        <ul>
          {visible.map((note) => (
            <NoteRow note={note} selected={note.id === state.selectedId} onPick={(id) => store.select(id)} />
          ))}
        </ul>
      )}
    </section>
  );
}

/**
 * Attach the app to a container element: draw once, redraw whenever the store
 * changes (at most every 50 ms), and load notes from the server in the background.
 */
export function mountApp(root: HTMLElement, baseUrl: string): () => void {
  const store = new NoteListStore();
  const client = new NotesClient(baseUrl);
  const draw = throttle(() => {
    root.replaceChildren(toDom(<NoteList store={store} />));
  }, 50);
  const unsubscribe = store.subscribe(draw);
  draw();
  void store.refresh(client);
  return unsubscribe;
}
