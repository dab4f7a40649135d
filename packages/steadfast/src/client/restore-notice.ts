/**
 * The small notice above a form whose draft was restored ("Restored your unsaved changes from
 * 10:42. Discard"); for a stale draft, merged with the newer record ("…merged with a newer save of
 * this record. Kept from your draft: price. From the save by user 3 at 10:50: name."), with a
 * choice for each field both changed; or, when the base is gone, offered whole ("…this record has
 * changed since. Fields that differ: price. Restore my changes / Discard"). Built with DOM methods
 * only: no HTML strings, nothing a draft could inject into (its values are shown in choices).
 */
import type { FieldValues, JsonFieldValue, MergeConflict } from '../protocol/three-way-merge.js';
import { describeValue } from './draft-merge.js';
import { formatClock } from './status-indicator.js';

export interface RestoreNoticeContent {
  readonly formKey: string;
  readonly savedAt: number;
  readonly source: 'device' | 'server';
  /** Present for a stale draft offered whole: the differing fields, and the draft is not yet applied. */
  readonly staleFields?: readonly string[];
  /** Present for a stale draft merged: what came from where (describeMerge). */
  readonly merged?: string;
  /** Fields left for the user to settle; the form is not submitted until they are (askForChoices). */
  readonly conflicts?: readonly MergeConflict[];
  /** Who saved a conflicting field's other value, and when, in words. */
  readonly author?: (field: string) => string;
}

export interface RestoreNoticeActions {
  readonly discard: () => void;
  readonly applyStale: () => void;
  /** Called once every conflict has its choice: the value chosen for each field. */
  readonly settleConflicts?: (chosen: FieldValues) => void;
}

export function showRestoreNotice(
  scope: HTMLElement,
  content: RestoreNoticeContent,
  actions: RestoreNoticeActions,
): HTMLElement {
  const doc = scope.ownerDocument;
  const element = <K extends keyof HTMLElementTagNameMap>(tag: K, ...children: (string | Node)[]) => {
    const created = doc.createElement(tag);
    created.append(...children);
    return created;
  };
  const notice = element('div');
  notice.className = 'autosave-notice';
  notice.setAttribute('role', 'status');
  notice.dataset.autosaveNotice = content.formKey;
  const where = content.source === 'server' ? 'saved on another device' : 'saved on this device';
  const when = `from ${formatClock(content.savedAt)} (${where})`;
  /** A click removes the notice, unless the action answers false. */
  const button = (label: string, action: string, onClick: () => unknown): HTMLButtonElement => {
    const created = element('button', label);
    created.type = 'button';
    created.dataset.autosaveAction = action;
    created.addEventListener('click', () => {
      if (onClick() !== false) notice.remove();
    });
    return created;
  };
  const discard = button('Discard', 'discard', actions.discard);
  const { staleFields, merged, conflicts } = content;
  if (staleFields) {
    notice.dataset.autosaveStale = 'true';
    const fields = staleFields.length > 0 ? staleFields.join(', ') : 'none';
    notice.append(
      `You have unsaved changes ${when}, but this record has changed since. Fields that differ: ${fields}. `,
      button('Restore my changes', 'apply', actions.applyStale),
      ' ',
      discard,
    );
  } else if (conflicts) {
    notice.dataset.autosaveStale = 'conflict';
    const chosen: Record<string, JsonFieldValue | undefined> = {};
    const alert = element('p');
    alert.setAttribute('role', 'alert');
    notice.append(
      `You have unsaved changes ${when}, and this record has changed since. ${merged} Choose a value for each field you both changed; the form cannot be saved until then.`,
      ...conflicts.map((conflict) => {
        const { field } = conflict;
        const fieldset = element(
          'fieldset',
          element('legend', `${field}, changed by you and by ${content.author?.(field)}:`),
        );
        fieldset.dataset.autosaveConflict = field;
        for (const [choice, label, value] of [
          ['yours', 'Yours', conflict.draft],
          ['theirs', 'Theirs', conflict.current],
          ['original', 'Original', conflict.base],
        ] as const) {
          fieldset.append(
            button(`${label}: ${describeValue(value)}`, choice, () => {
              chosen[field] = value;
              fieldset.remove();
              const next = notice.querySelector<HTMLElement>('fieldset button');
              next?.focus();
              return next === null && actions.settleConflicts?.(chosen as FieldValues);
            }),
          );
        }
        return fieldset;
      }),
      discard,
      alert,
    );
  } else {
    if (merged !== undefined) notice.dataset.autosaveStale = 'merged';
    notice.append(
      merged === undefined
        ? `Restored your unsaved changes ${when}. `
        : `Restored your unsaved changes ${when}, merged with a newer save of this record. ${merged} `,
      discard,
    );
  }
  scope.before(notice);
  return notice;
}

/** A submit while conflicts are open: the user is told why nothing was sent and taken to the first. */
export function askForChoices(notice: HTMLElement): void {
  const alert = notice.querySelector('[role=alert]');
  if (alert) alert.textContent = 'Not saved: first choose a value for each field you both changed.';
  notice.querySelector('button')?.focus();
}
