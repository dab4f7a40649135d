/**
 * The browser service's sending layer (see service-core.ts): what is queued goes to the server
 * (DESIGN.md "Sync protocol") batch after batch, from one tab at a time (the sender lock), again
 * after a backoff when it fails; a page being hidden or left sends what fits a keepalive request.
 * What comes of it is told in the save status.
 */
import type { ChangeKind } from '../protocol/constants.js';
import {
  KEEPALIVE_BODY_LIMIT_BYTES,
  MAX_CHANGES_PER_BATCH,
  MAX_SYNC_BODY_BYTES,
  SYNC_PATH,
} from '../protocol/constants.js';
import type { SyncChange, SyncResponse } from '../protocol/sync.js';
import type { SyncOutcome, SyncResult } from './auto-save-service.js';
import { backoffDelay } from './backoff.js';
import { readCsrfToken } from './page-meta.js';
import { ServiceCore } from './service-core.js';
import { sendChanges } from './sync-client.js';
import { type ChangeData, type ParkedChange, takeWithinBytes } from './sync-queue.js';
import { LOCK_BUSY, SenderLock } from './tab-coordination.js';

/** A tab that found another tab sending checks again after this long. */
const BUSY_RETRY_MS = 2000;

export const outcome = (result: SyncResult, synced = 0): SyncOutcome => ({ result, synced });

function randomUuid(view: Window): string {
  // crypto.randomUUID needs a secure context; a blob URL ends in a random v4 UUID everywhere.
  const uuid = view.crypto.randomUUID?.();
  if (uuid) return uuid;
  const url = URL.createObjectURL(new Blob());
  URL.revokeObjectURL(url);
  return url.slice(-36);
}

export abstract class SendLoop extends ServiceCore {
  #lock!: SenderLock;
  #clientId = '';
  /** Set from pagehide to pageshow: a request then would keep the page out of the back/forward cache. */
  #hidden = false;
  #failures = 0;
  #keepaliveSentThrough = 0;
  #syncing: Promise<SyncOutcome> | undefined;
  #inFlight: AbortController | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;

  /** For the user start() found: one sender per user across tabs, under this browser profile's client id. */
  protected beginSending(): void {
    this.#lock = new SenderLock(`steadfast-sync:${this.userScope}`, this.win);
    this.#clientId = this.#ensureClientId();
  }

  protected stopSending(): void {
    clearTimeout(this.#retryTimer);
    this.#inFlight?.abort();
  }

  #ensureClientId(): string {
    const key = `${this.store.prefix}cid`;
    const existing = this.store.read(key);
    if (existing !== null && !this.queue.hasDamagedNumbering()) return existing;
    // A new client (or one whose numbering was damaged) numbers from 1 under a new id: the server
    // has applied nothing of it, so no change can be taken for a duplicate. Queued changes keep
    // their ids; the server's mutation_gap answer renumbers them from 1.
    this.queue.resetNumbering();
    const created = randomUuid(this.win);
    this.store.write(key, created);
    return created;
  }

  protected onVisibilityChange(): void {
    if (this.doc.visibilityState === 'hidden') this.#flushOnExit();
    else this.#keepaliveSentThrough = 0;
  }

  protected onPageHide(): void {
    this.#hidden = true;
    // An open request keeps the page out of the back/forward cache; the keepalive send replaces it.
    this.#inFlight?.abort();
    this.#flushOnExit();
  }

  /** The page is shown again, from the back/forward cache or a hidden tab: it may send as before. */
  protected pageShown(): void {
    this.#hidden = false;
    this.#keepaliveSentThrough = 0;
  }

  readonly #readChangeData = (kind: ChangeKind, key: string): ChangeData => {
    const now = this.clock();
    if (kind === 'state') {
      const state = this.store.readState(key);
      return { data: state?.value ?? null, baseVersion: null, savedAt: state?.savedAt ?? now };
    }
    const meta = this.store.readMeta(key);
    const fields = this.store.readFields(key);
    const empty = meta === null && Object.keys(fields).length === 0;
    return { data: empty ? null : fields, baseVersion: meta?.v ?? null, savedAt: meta?.t ?? now };
  };

  /**
   * Sends what a closing page has, synchronously, with keepalive so the request outlives the page.
   * The batch is only what fits the browser's 64 KiB keepalive budget; the rest stays in the
   * persisted outbox for the next start. Ids are assigned (and persisted) before sending, so a
   * batch that also arrives through another path is answered `duplicate`, not applied twice.
   */
  #flushOnExit(): void {
    if (!this.canSave() || !this.syncEnabled) return;
    this.logSavedForms();
    this.debouncer.cancel();
    const outbox = this.queue.assignPending(this.#readChangeData);
    const batch = takeWithinBytes(this.#clientId, outbox, KEEPALIVE_BODY_LIMIT_BYTES);
    const last = batch.at(-1)?.mutationId ?? 0;
    if (last <= this.#keepaliveSentThrough) return;
    this.#keepaliveSentThrough = last;
    void this.#post(batch, true).then((attempt) => {
      if (attempt.kind === 'accepted') this.#acceptResponse(attempt.response);
    });
  }

  #post(batch: readonly SyncChange[], keepalive: boolean, signal?: AbortSignal) {
    return sendChanges(this.#clientId, batch, {
      endpoint: this.settings.endpoint ?? SYNC_PATH,
      csrfToken: readCsrfToken(this.doc),
      keepalive,
      fetch: this.http,
      signal,
    });
  }

  #acceptResponse({ lastMutationId, results }: SyncResponse): void {
    for (const change of this.queue.outbox())
      if (results.some((result) => result.mutationId === change.mutationId && result.status === 'stale'))
        this.logger.warn(`Draft ${change.key} is based on an older version of the record`);
    this.queue.acknowledge(lastMutationId);
  }

  /** Every caller while a send is running shares it (and its outcome). */
  protected async sync(waitForOtherTab: boolean): Promise<SyncOutcome> {
    if (!this.canSave()) return outcome('stopped');
    if (!this.syncEnabled) return outcome('local-only');
    if (this.win.navigator.onLine === false) {
      this.indicator.set('offline');
      return outcome('offline');
    }
    this.#syncing ??= this.#lock
      .run(() => this.#drainQueue(), waitForOtherTab)
      .then((drained): SyncOutcome => {
        if (drained !== LOCK_BUSY) return drained;
        if (!this.canSave()) return outcome('stopped');
        this.#scheduleRetry(BUSY_RETRY_MS);
        return outcome('busy');
      })
      .finally(() => {
        this.#syncing = undefined;
      });
    return this.#syncing;
  }

  #scheduleRetry(delayMs: number): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => void this.sync(false), delayMs);
  }

  #retryLater(retryAfterMs: number | null): void {
    const delay = Math.max(
      retryAfterMs ?? 0,
      backoffDelay(this.#failures, this.settings.random ?? Math.random),
    );
    this.#failures += 1;
    this.#scheduleRetry(delay);
  }

  /** Runs holding the sender lock: sends the whole shared queue, batch after batch. */
  async #drainQueue(): Promise<SyncOutcome> {
    let synced = 0;
    /** After a 400 on a batch, changes go one by one to find (and park) the invalid one. */
    let isolate = 0;
    let gaps = 0;
    // Aborted when the page is left or the service stops; aborting it once its send is done changes nothing.
    const controller = new AbortController();
    this.#inFlight = controller;
    while (this.canSave() && !this.#hidden) {
      const outbox = this.queue.assignPending(this.#readChangeData);
      const first = outbox[0];
      if (first === undefined) break;
      // A storage problem stays on show while sending: "saving" would hide it from the user.
      if (this.storageWarning === null) this.indicator.set('saving');
      const batch =
        isolate > 0
          ? [first]
          : takeWithinBytes(this.#clientId, outbox.slice(0, MAX_CHANGES_PER_BATCH), MAX_SYNC_BODY_BYTES);
      if (batch.length === 0) {
        this.#reportParked(this.queue.park(first.mutationId, 'larger than the server accepts'));
        continue;
      }
      const attempt = await this.#post(batch, false, controller.signal);
      // Signed out (here or in another tab) or stopped while the request was out: its answer,
      // an abort most likely, must neither replace "Signed out" nor schedule a retry.
      if (!this.canSave()) return outcome('stopped', synced);
      switch (attempt.kind) {
        case 'accepted':
          this.#failures = 0;
          synced += attempt.response.synced;
          isolate = Math.max(0, isolate - 1);
          this.#acceptResponse(attempt.response);
          break;
        case 'gap':
          gaps += 1;
          if (gaps > 3) {
            this.#retryLater(null);
            return this.#finishDrain(synced, 'retrying');
          }
          this.queue.reconcile(attempt.expectedMutationId);
          break;
        case 'rejected':
          if (batch.length > 1) isolate = batch.length;
          else this.#reportParked(this.queue.park(first.mutationId, attempt.message));
          break;
        case 'unauthorized':
          this.indicator.set('error', 'Not saved to the server: sign in again (kept on this device)');
          this.#retryLater(null);
          return outcome('unauthorized', synced);
        case 'retry':
          this.#retryLater(attempt.retryAfterMs);
          if (attempt.reason === 'network') this.indicator.set('offline');
          else this.indicator.set('error', 'Server unavailable: saved on this device, will retry');
          return outcome('retrying', synced);
      }
    }
    return this.#finishDrain(synced, synced > 0 ? 'synced' : 'nothing-to-sync');
  }

  #finishDrain(synced: number, result: SyncResult): SyncOutcome {
    if (synced > 0) this.logger.info('Synced with backend');
    if (this.canSave() && !this.queue.hasWork() && result !== 'retrying') {
      if (this.storageWarning !== null) this.indicator.set('error', this.storageWarning);
      else if (this.indicator.status.state !== 'idle' || synced > 0)
        this.indicator.savedToServer(this.clock());
    }
    return outcome(result, synced);
  }

  #reportParked(parked: ParkedChange | null): void {
    if (parked === null) return;
    this.logger.error(`The server refused the draft ${parked.change.key}: ${parked.reason}`, parked.change);
    this.indicator.set('error', `Some changes could not be saved to the server (${parked.change.key})`);
  }
}
