// HTTP client for the notes JSON API, with automatic retries on flaky networks.

import type { Note, NoteId, RetryOptions } from "./types";

const DEFAULT_RETRY: RetryOptions = { retries: 4, baseDelayMs: 200, maxDelayMs: 5_000 };

/** Thrown when the server answers with a non-2xx status that is not worth retrying. */
export class ApiError extends Error {
  constructor(public readonly status: number, message: string) {
    super(message);
    this.name = "ApiError";
  }
}

/** Resolve after the given number of milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * How long to wait before attempt number `attempt` (0-based): the wait doubles every
 * time, is capped at `maxDelayMs`, and gets up to 20% random jitter so that many
 * clients do not hammer the server in lockstep.
 */
export function backoffDelay(attempt: number, opts: RetryOptions = DEFAULT_RETRY): number {
  const exponential = opts.baseDelayMs * 2 ** attempt;
  const capped = Math.min(exponential, opts.maxDelayMs);
  const jitter = capped * 0.2 * Math.random();
  return Math.round(capped + jitter);
}

/** Statuses where trying again later may plausibly succeed. */
function isRetryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Perform a fetch, and if it fails with a network error or a transient status code,
 * wait with growing pauses and try again, up to `opts.retries` extra times. Client
 * errors (4xx other than 408/429) are raised immediately as ApiError.
 */
export async function fetchWithRetry(
  url: string,
  init: RequestInit = {},
  opts: RetryOptions = DEFAULT_RETRY,
): Promise<Response> {
  let lastError: unknown = null;
  for (let attempt = 0; attempt <= opts.retries; attempt++) {
    try {
      const response = await fetch(url, init);
      if (response.ok) {
        return response;
      }
      if (!isRetryable(response.status)) {
        throw new ApiError(response.status, `${init.method ?? "GET"} ${url} -> ${response.status}`);
      }
      lastError = new ApiError(response.status, `transient status ${response.status}`);
    } catch (err) {
      if (err instanceof ApiError && !isRetryable(err.status)) {
        throw err;
      }
      lastError = err;
    }
    if (attempt < opts.retries) {
      await sleep(backoffDelay(attempt, opts));
    }
  }
  throw lastError;
}

/** Thin typed wrapper around the REST endpoints under `/api/notes`. */
export class NotesClient {
  constructor(private readonly baseUrl: string, private token: string | null = null) {}

  /** Attach the bearer token obtained from the login endpoint. */
  setToken(token: string | null): void {
    this.token = token;
  }

  private headers(): Record<string, string> {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (this.token) {
      headers["Authorization"] = `Bearer ${this.token}`;
    }
    return headers;
  }

  /** Download every note the server knows about. */
  async listNotes(): Promise<Note[]> {
    const response = await fetchWithRetry(`${this.baseUrl}/api/notes`, { headers: this.headers() });
    return (await response.json()) as Note[];
  }

  /** Create or overwrite a note; the server replies with the stored version. */
  async saveNote(note: Omit<Note, "id" | "createdAt">): Promise<Note> {
    const response = await fetchWithRetry(`${this.baseUrl}/api/notes`, {
      method: "POST",
      headers: this.headers(),
      body: JSON.stringify(note),
    });
    return (await response.json()) as Note;
  }

  /** Remove a note on the server. Missing notes are treated as already deleted. */
  async deleteNote(id: NoteId): Promise<void> {
    try {
      await fetchWithRetry(`${this.baseUrl}/api/notes/${encodeURIComponent(id)}`, {
        method: "DELETE",
        headers: this.headers(),
      });
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) {
        throw err;
      }
    }
  }
}
