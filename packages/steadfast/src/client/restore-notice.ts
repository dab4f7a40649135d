/**
 * The small notice above a form whose draft was restored ("Restored your unsaved changes from
 * 10:42. Discard") or, for a stale draft, offered ("…the record changed since; fields that differ:
 * price. Restore anyway / Discard"). Built with DOM methods only: no HTML strings, nothing a draft
 * could inject into.
 */
import { formatClock } from './status-indicator.js';

export interface RestoreNoticeContent {
  readonly formKey: string;
  readonly savedAt: number;
  readonly source: 'device' | 'server';
  /** Present for a stale draft: the differing fields, and the draft is not yet applied. */
  readonly staleFields?: readonly string[];
}

export interface RestoreNoticeActions {
  readonly discard: () => void;
  readonly applyStale: () => void;
}

export function showRestoreNotice(
  scope: HTMLElement,
  content: RestoreNoticeContent,
  actions: RestoreNoticeActions,
): HTMLElement {
  removeRestoreNotice(scope);
  const doc = scope.ownerDocument;
  const notice = doc.createElement('div');
  notice.className = 'autosave-notice';
  notice.setAttribute('role', 'status');
  notice.dataset.autosaveNotice = content.formKey;
  const where = content.source === 'server' ? 'saved on another device' : 'saved on this device';
  const when = formatClock(content.savedAt);
  const button = (label: string, action: string, onClick: () => void): HTMLButtonElement => {
    const element = doc.createElement('button');
    element.type = 'button';
    element.textContent = label;
    element.dataset.autosaveAction = action;
    element.addEventListener('click', () => {
      notice.remove();
      onClick();
    });
    return element;
  };
  const discard = button('Discard', 'discard', actions.discard);
  if (content.staleFields) {
    notice.dataset.autosaveStale = 'true';
    const fields = content.staleFields.length > 0 ? content.staleFields.join(', ') : 'none';
    notice.append(
      `You have unsaved changes from ${when} (${where}), but this record has changed since. Fields that differ: ${fields}. `,
      button('Restore my changes', 'apply', actions.applyStale),
      ' ',
      discard,
    );
  } else {
    notice.append(`Restored your unsaved changes from ${when} (${where}). `, discard);
  }
  scope.before(notice);
  return notice;
}

export function removeRestoreNotice(scope: HTMLElement): void {
  const previous = scope.previousElementSibling;
  if (previous instanceof HTMLElement && previous.dataset.autosaveNotice !== undefined) previous.remove();
}
