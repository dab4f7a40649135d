/**
 * Sync clients that behave like the browser service: each owns a clientId, numbers its changes
 * 1, 2, 3… and keeps every change queued until a 200 answer covers it; after any failure it
 * resends the same queue (same mutation ids), with new changes appended behind it.
 *
 * Each change's data names its client and mutation id (`{c, m}`), so the ActivityLog proves which
 * mutation was applied how many times.
 */
import { randomUUID } from 'node:crypto';
import { SYNC_PATH } from '../../packages/steadfast/src/protocol/constants.js';
import { sleep, type WebClient } from '../support/server-process.js';

export interface SyncClientState {
  readonly clientId: string;
  readonly userId: number;
  /** Every draft key of this client starts with it. */
  readonly keyPrefix: string;
  /** Mutations a 200 answer covered (each counted once). */
  readonly acknowledged: number;
  readonly highestAcknowledged: number;
}

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

interface PendingChange {
  readonly mutationId: number;
  readonly kind: 'form';
  readonly key: string;
  readonly data: { c: string; m: number; text: string };
  readonly savedAt: string;
}

export interface SyncClientStats {
  requests: number;
  ok: number;
  applied: number;
  duplicates: number;
  networkErrors: number;
  /** Non-200 answers by status. */
  statuses: Record<string, number>;
  signIns: number;
  /** 200 answers thrown away on purpose, as if the connection died after the commit. */
  answersLost: number;
}

export class SyncClient implements SyncClientState {
  readonly clientId = randomUUID();
  readonly keyPrefix: string;
  acknowledged = 0;
  highestAcknowledged = 0;
  readonly stats: SyncClientStats = emptyStats();
  /** Share of 200 answers to drop (the change was applied, the client never heard): 0..1. */
  loseAnswerRate = 0;
  #pending: PendingChange[] = [];
  #nextMutationId = 1;
  #signedIn = false;

  constructor(
    readonly web: WebClient,
    readonly userId: number,
    readonly credentials: Credentials,
    index: number,
    /** Where each request goes (scale-out alternates between processes). */
    private readonly pickBaseUrl: (requestNumber: number) => string = () => web.baseUrl,
  ) {
    this.keyPrefix = `load-${index}-`;
  }

  get pendingCount(): number {
    return this.#pending.length;
  }

  /** Queues `count` new changes, as typing would. */
  type(count: number): void {
    for (let i = 0; i < count; i += 1) {
      const m = this.#nextMutationId;
      this.#nextMutationId += 1;
      this.#pending.push({
        mutationId: m,
        kind: 'form',
        key: `${this.keyPrefix}${m % 3}`,
        data: { c: this.clientId, m, text: `typed ${m}` },
        savedAt: new Date().toISOString(),
      });
    }
  }

  /** Signs in now (else the first sync does). */
  async signIn(): Promise<void> {
    this.web.baseUrl = this.pickBaseUrl(0);
    await this.web.signIn(this.credentials.username, this.credentials.password);
    this.#signedIn = true;
    this.stats.signIns += 1;
  }

  /** One sync attempt of the whole queue (at most `maxBatch`); true when answered 200. */
  async syncOnce(maxBatch = 40): Promise<boolean> {
    if (!this.#signedIn) {
      try {
        this.web.baseUrl = this.pickBaseUrl(this.stats.requests);
        await this.web.signIn(this.credentials.username, this.credentials.password);
        this.#signedIn = true;
        this.stats.signIns += 1;
      } catch {
        this.stats.networkErrors += 1;
        return false;
      }
    }
    if (this.#pending.length === 0) return true;
    const batch = this.#pending.slice(0, maxBatch);
    this.web.baseUrl = this.pickBaseUrl(this.stats.requests);
    this.stats.requests += 1;
    let status: number;
    let text: string;
    try {
      ({ status, text } = await this.web.postJson(SYNC_PATH, { clientId: this.clientId, changes: batch }));
    } catch {
      this.stats.networkErrors += 1;
      return false;
    }
    if (status !== 200) {
      this.stats.statuses[status] = (this.stats.statuses[status] ?? 0) + 1;
      if (status === 401) this.#signedIn = false;
      return false;
    }
    if (Math.random() < this.loseAnswerRate) {
      this.stats.answersLost += 1;
      return false;
    }
    const answer = JSON.parse(text) as {
      lastMutationId: number;
      results: Array<{ mutationId: number; status: string }>;
    };
    this.stats.ok += 1;
    for (const result of answer.results) {
      if (result.status === 'duplicate') this.stats.duplicates += 1;
      else this.stats.applied += 1;
    }
    const covered = this.#pending.filter((c) => c.mutationId <= answer.lastMutationId).length;
    this.#pending = this.#pending.filter((c) => c.mutationId > answer.lastMutationId);
    this.acknowledged += covered;
    this.highestAcknowledged = Math.max(this.highestAcknowledged, answer.lastMutationId);
    return true;
  }
}

/** Runs clients in loops that can be paused (all requests settled) and resumed. */
export class LoadDriver {
  #state: 'run' | 'pause' | 'stop' = 'pause';
  readonly #loops: Promise<void>[] = [];
  readonly #idle = new Set<SyncClient>();

  constructor(
    readonly clients: readonly SyncClient[],
    private readonly options: { typingPerStep?: number; retryDelayMs?: number; stepDelayMs?: number } = {},
  ) {}

  start(): void {
    this.#state = 'run';
    for (const client of this.clients) this.#loops.push(this.#loop(client));
  }

  async #loop(client: SyncClient): Promise<void> {
    while (this.#state !== 'stop') {
      if (this.#state === 'pause') {
        this.#idle.add(client);
        await sleep(5);
        continue;
      }
      this.#idle.delete(client);
      if (client.pendingCount < 60)
        client.type(1 + Math.floor(Math.random() * (this.options.typingPerStep ?? 3)));
      const ok = await client.syncOnce();
      await sleep(ok ? (this.options.stepDelayMs ?? 0) : (this.options.retryDelayMs ?? 25));
    }
    this.#idle.add(client);
  }

  /** Stops sending and waits until no request is in flight. */
  async pause(): Promise<void> {
    this.#state = 'pause';
    while (this.#idle.size < this.clients.length) await sleep(5);
  }

  resume(): void {
    this.#state = 'run';
  }

  /** Stops the loops; the queues stay, so `drain` can still deliver them. */
  async stop(): Promise<void> {
    this.#state = 'stop';
    await Promise.all(this.#loops);
  }

  /** Delivers every queued change (retrying as the browser would) until all are acknowledged. */
  async drain(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const client of this.clients) {
      while (client.pendingCount > 0) {
        if (Date.now() > deadline) throw new Error(`client ${client.clientId} could not deliver its queue`);
        if (!(await client.syncOnce())) await sleep(50);
      }
    }
  }

  totals(): SyncClientStats {
    const total = emptyStats();
    for (const { stats } of this.clients) {
      total.requests += stats.requests;
      total.ok += stats.ok;
      total.applied += stats.applied;
      total.duplicates += stats.duplicates;
      total.networkErrors += stats.networkErrors;
      total.signIns += stats.signIns;
      total.answersLost += stats.answersLost;
      for (const [status, count] of Object.entries(stats.statuses)) {
        total.statuses[status] = (total.statuses[status] ?? 0) + count;
      }
    }
    return total;
  }
}

function emptyStats(): SyncClientStats {
  return {
    requests: 0,
    ok: 0,
    applied: 0,
    duplicates: 0,
    networkErrors: 0,
    statuses: {},
    signIns: 0,
    answersLost: 0,
  };
}
