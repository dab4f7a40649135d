/**
 * One ActivityLog entry as callers see it, its database row form, and the tamper-evidence hash
 * that chains each entry to the previous entry of the same record.
 */
import { hash } from 'node:crypto';
import type { ActivityLogRow } from '../db/schema.js';

/**
 * The actions of the log: a record's changes (`create` … `sync`, each a link of the record's hash
 * chain), and `refused`, the record of an action the `authorize` hook refused (model `Refusal`,
 * outside every chain: see authorize.ts).
 */
export const ACTIVITY_ACTIONS = ['create', 'update', 'delete', 'revert', 'sync', 'refused'] as const;
export type ActivityAction = (typeof ACTIVITY_ACTIONS)[number];

/** `{field: [before, after]}`; a secret field reads `"[changed]"` on both sides. */
export type FieldChanges = Record<string, readonly [unknown, unknown]>;

export interface ActivityEntry {
  readonly id: number;
  readonly time: string;
  /** A user id, or `system`. */
  readonly actor: string;
  readonly action: ActivityAction;
  readonly model: string;
  readonly objectId: string;
  readonly changes: FieldChanges;
  /** The record's tracked fields after the change (the last state, for a delete). */
  readonly snapshot: Readonly<Record<string, unknown>>;
  readonly requestId: string | null;
  readonly ip: string | null;
  readonly version: number;
  /** True when older entries of this record were pruned and this one starts its chain. */
  readonly checkpoint: boolean;
  /**
   * Set on an entry shortened for a list (activity-bounds.ts): `bytes` is the size of the whole
   * entry's changes and snapshot. Its largest values read `{ $truncated: true, bytes, preview }`
   * and its last fields may be left out; `ActivityLog.entry(id)` gives the whole of it.
   */
  readonly truncated?: { readonly bytes: number };
}

/** The hashed content of an entry: everything but its id and the checkpoint flag. */
export interface HashedContent {
  readonly prev_hash: string | null;
  readonly created_at: string;
  readonly actor: string;
  readonly action: string;
  readonly model: string;
  readonly object_id: string;
  readonly changes: string;
  readonly snapshot: string;
  readonly request_id: string | null;
  readonly ip: string | null;
  readonly version: number;
}

export function hashEntry(content: HashedContent): string {
  // A JSON array fixes field order and quoting, so the hash cannot be shifted between fields.
  // One-shot `hash` (Node 20.12+): a save hashes one small text, where a Hash object costs more.
  return hash(
    'sha256',
    JSON.stringify([
      content.prev_hash,
      content.created_at,
      content.actor,
      content.action,
      content.model,
      content.object_id,
      content.changes,
      content.snapshot,
      content.request_id,
      content.ip,
      content.version,
    ]),
    'hex',
  );
}

export function toActivityEntry(row: ActivityLogRow): ActivityEntry {
  return {
    id: Number(row.id),
    time: row.created_at,
    actor: row.actor,
    action: row.action as ActivityAction,
    model: row.model,
    objectId: row.object_id,
    changes: JSON.parse(row.changes) as FieldChanges,
    snapshot: JSON.parse(row.snapshot) as Record<string, unknown>,
    requestId: row.request_id,
    ip: row.ip,
    version: Number(row.version),
    checkpoint: Number(row.checkpoint) === 1,
  };
}
