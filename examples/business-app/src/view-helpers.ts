/**
 * Formatting the templates share, passed to every view as `it.helpers`. Each returns plain text;
 * the templates escape it.
 */
const FIELD_LABELS: Readonly<Record<string, string>> = {
  sku: 'SKU',
  name: 'Name',
  description: 'Description',
  price: 'Price',
  quantity: 'Quantity',
  category: 'Category',
  active: 'Active',
  value: 'Value',
  username: 'Username',
  display_name: 'Display name',
  password_hash: 'Password',
};

export function fieldLabel(field: string): string {
  return FIELD_LABELS[field] ?? field;
}

/** "2026-11-25T12:03:09.120Z" → "2026-11-25 12:03 UTC": one zone for everyone reading a log. */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** "1536" → "1.5 KB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** A value a log page shortened (`{ $truncated: true, bytes, preview }`). */
function isTruncated(value: unknown): value is { $truncated: true; bytes?: number; preview: string } {
  return (
    typeof value === 'object' && value !== null && (value as { $truncated?: unknown }).$truncated === true
  );
}

/** A logged or stored value as a reader expects it: "Yes"/"No" for the active flag, "—" for none. */
export function formatValue(field: string, value: unknown): string {
  if (value === null || value === undefined || value === '') return '—';
  if (isTruncated(value)) {
    const size = typeof value.bytes === 'number' ? `, ${formatBytes(value.bytes)}` : '';
    return `${value.preview} (shortened${size})`;
  }
  if (field === 'active') return Number(value) === 1 ? 'Yes' : 'No';
  // A Setting's value is stored as JSON text: show `Acme`, not `"Acme"`.
  if (field === 'value' && typeof value === 'string') return formatValue('', parseJson(value));
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function formatMoney(amount: string, currency: string): string {
  return `${amount} ${currency}`;
}

const ACTION_LABELS: Readonly<Record<string, string>> = {
  create: 'Created',
  update: 'Updated',
  delete: 'Deleted',
  revert: 'Reverted',
  sync: 'Synced',
  refused: 'Refused',
};

export function actionLabel(action: string): string {
  return ACTION_LABELS[action] ?? action;
}

/** A link to the page of a logged record, when the app has one. */
export function recordLink(model: string, objectId: string): string | null {
  if (model === 'Product') return `/products/${encodeURIComponent(objectId)}/history`;
  if (model === 'Setting') return '/settings';
  // A refusal names the record refused as `<Model>:<id>` (or only the model, for a create).
  if (model === 'Refusal') {
    const colon = objectId.indexOf(':');
    return colon > 0 ? recordLink(objectId.slice(0, colon), objectId.slice(colon + 1)) : null;
  }
  return null;
}

export const viewHelpers = {
  fieldLabel,
  formatBytes,
  formatTime,
  formatValue,
  formatMoney,
  actionLabel,
  recordLink,
};
export type ViewHelpers = typeof viewHelpers;
