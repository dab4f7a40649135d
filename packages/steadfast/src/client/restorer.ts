/**
 * The browser service's restoring layer (see service-core.ts): drafts go back into their forms on
 * start, into forms and fields added later, from the server on a device that has none, and again
 * while the app's own first writes would hide them (the hold); a stale draft is offered instead, or
 * merged (stale-draft.ts). A value reaches a framework's state the way typing would
 * (field-values.ts), in steps run one after another, whose events are not saved back as the user's.
 */
import {
  type FieldValue,
  isFieldValue,
  parseFieldValue,
  readFieldValue,
  sameFieldValue,
  writeFieldValue,
} from './field-values.js';
import type { FieldBinding, FormScope } from './form-binding.js';
import { awaitsHydration } from './hydration.js';
import { isRecord } from './json.js';
import { showRestoreNotice } from './restore-notice.js';
import { type NoticeShower, StaleDraftMerger } from './stale-draft.js';

/**
 * How long after a draft is restored into a form it holds against the app's own writes: initial
 * values set after mount (react-hook-form's defaultValues, an effect), a record loaded into the form
 * a moment later. Each frame meanwhile, a drafted field the user has not touched that no longer
 * shows the draft gets it again; fields without a draft keep what the app put there.
 */
const HOLD_MS = 3000;
/** How long a form inside a framework's root waits for hydration before it is restored anyway. */
const HYDRATION_WAIT_MS = 10_000;
const MAX_REAPPLIES = 3;
/**
 * Steps are queued as reactions to this settled promise, not with queueMicrotask: both join the one
 * microtask queue in the same order (a framework's render queued by a step's events still runs before
 * the next step), but a promise reaction runs inside V8, where Chromium invokes each queueMicrotask
 * callback through Blink's callback machinery: about 1 µs more a step, and a restore takes one step a
 * field.
 */
const settled = Promise.resolve();

export abstract class Restorer extends StaleDraftMerger {
  /** Set while a restore step fires its events, so they are not saved back as the user's. */
  protected restoring = false;
  /**
   * The steps a restore defers (writeFieldValue's `later`), not run yet: until then a field may show
   * its framework's state for a moment, not the draft.
   */
  protected readonly steps: (() => void)[] = [];
  /** Scopes whose draft is being held (see HOLD_MS), and until when (0: no hold yet). */
  readonly #held = new WeakSet<FormScope>();
  protected holdUntil = 0;
  #holdFrame = 0;
  #hydrationDeadline = 0;
  /**
   * How often the hold put a field's draft back. An app that rewrites what it is given (upper-cases
   * it, formats a number) would otherwise be fought every frame; past MAX_REAPPLIES it has the field.
   */
  readonly #reapplied = new WeakMap<HTMLElement, number>();
  /** What the restore last wrote into each field: a hold frame need not read storage for a field still showing it. */
  readonly #written = new WeakMap<HTMLElement, FieldValue>();

  /** Deletes a form's draft here and on the server (the service's public clear). */
  abstract clear(formKey: string): void;

  /** The service starts: a form inside a framework's root waits for its hydration from now on. */
  protected beginRestoring(): void {
    this.#hydrationDeadline = this.clock() + HYDRATION_WAIT_MS;
  }

  /**
   * Runs a restore's step (writeFieldValue's `later`) after every step before it. Its events are how
   * frameworks learn of the value; our own listeners must not save them back (restoring).
   */
  readonly #later = (step: () => void): void => {
    if (this.steps.push(step) === 1) void settled.then(this.#runStep);
  };

  /** Each step queues the next only once it has run, so the microtasks it caused (a render) go first. */
  readonly #runStep = (): void => {
    this.restoring = true;
    try {
      this.steps[0]?.();
    } finally {
      this.restoring = false;
      this.steps.shift();
      if (this.steps.length > 0) void settled.then(this.#runStep);
    }
  };

  /** Runs `action` once every restore step queued so far has run (at once when none is queued). */
  protected afterSteps(action: () => void): void {
    if (this.steps.length > 0) this.#later(action);
    else action();
  }

  protected writeField(binding: FieldBinding, value: FieldValue): void {
    this.#written.set(binding.element, value);
    writeFieldValue(binding, value, this.#later);
  }

  /** Holds drafts against the app's own writes for HOLD_MS from now, checking once a frame. */
  protected hold(): void {
    this.holdUntil = this.clock() + HOLD_MS;
    this.#holdFrame ||= requestAnimationFrame(this.#onHoldFrame);
  }

  readonly #onHoldFrame = (): void => {
    this.#holdFrame = 0;
    if (!this.canSave()) return;
    // Before the paint: a record the app wrote during this frame is never shown over the draft.
    this.reapplyDrafts(true);
    if (this.clock() < this.holdUntil) this.#holdFrame = requestAnimationFrame(this.#onHoldFrame);
  };

  /**
   * One pass over the scope's fields: each stored value is read, compared with the field and, unless
   * the draft is stale, written at once; values equal to the page's cost no write and no event.
   */
  protected restoreScope(scope: FormScope, source: 'device' | 'server' = 'device'): void {
    if (scope.restored !== 'none') return;
    const meta = this.store.readMeta(scope.key);
    if (meta === null) {
      if (source === 'device') void this.#restoreFromServer(scope);
      return;
    }
    if (awaitsHydration(scope.element) && this.clock() < this.#hydrationDeadline) {
      // Checked again each frame until the framework has adopted the form.
      this.hold();
      return;
    }
    const stale = meta.v !== null && scope.version !== null && meta.v < scope.version;
    if (!stale && !this.#held.has(scope)) {
      this.#held.add(scope);
      this.hold();
    }
    /** Kept only for a stale draft, which "Restore my changes" applies whole. */
    const draft: [FieldBinding, FieldValue][] = [];
    const differing: string[] = [];
    for (const binding of this.registry.fieldsOf(scope)) {
      // The binding already holds its storage key: no key to build per field.
      const value = parseFieldValue(this.store.read(binding.storageKey));
      if (value === undefined) continue;
      if (stale) draft.push([binding, value]);
      const current = readFieldValue(binding);
      if (sameFieldValue(value, current)) continue;
      differing.push(binding.name);
      if (!stale) {
        scope.restored = 'applied';
        this.applyField(binding, value, current);
      }
    }
    if (differing.length === 0) return;
    const actions = {
      discard: () => this.#discardDraft(scope),
      applyStale: () => {
        scope.restored = 'applied';
        for (const [binding, value] of draft) this.applyField(binding, value);
        // The user chose this draft over the newer record: it now stands on the current version.
        this.store.writeMeta(scope.key, { v: scope.version, t: this.clock() });
      },
    };
    const show: NoticeShower = (more, settleConflicts) => {
      this.notices.get(scope.element)?.remove();
      this.notices.set(
        scope.element,
        showRestoreNotice(
          scope.element,
          { formKey: scope.key, savedAt: meta.t, source, ...more },
          { ...actions, settleConflicts },
        ),
      );
    };
    if (stale) scope.restored = 'offered';
    // A stale draft is merged when the server can give its base; else, or anonymous, offered whole.
    if (stale && this.syncEnabled && meta.v !== null)
      void this.mergeStale(scope, meta.v, draft, differing, show);
    else show(stale ? { staleFields: differing } : {});
  }

  /**
   * Writes a drafted value, keeping what the field held before the first draft value for "discard";
   * fields the user edited here win.
   */
  protected applyField(binding: FieldBinding, value: FieldValue, current?: FieldValue): void {
    const { scope, name } = binding;
    if (scope.editedFields.has(name)) return;
    if (!scope.originalValues.has(name)) scope.originalValues.set(name, current ?? readFieldValue(binding));
    this.writeField(binding, value);
  }

  #discardDraft(scope: FormScope): void {
    for (const binding of this.registry.fieldsOf(scope)) {
      const original = scope.originalValues.get(binding.name);
      if (original !== undefined) this.writeField(binding, original);
    }
    scope.originalValues.clear();
    this.clear(scope.key);
  }

  /**
   * A field that appeared after its form was restored, or that the page or app wrote over since (its
   * initial values, a record it loaded), gets its drafted value again unless the user edited it.
   * What it held is then what "discard" puts back: the values before the draft, as the app set them.
   */
  protected restoreField(binding: FieldBinding, holding?: boolean): void {
    const { scope, name } = binding;
    if (scope.restored !== 'applied' || scope.editedFields.has(name)) return;
    const { element } = binding;
    const current = readFieldValue(binding);
    // Another tab's edit meanwhile came through its storage event (showOtherTabEdit).
    if (holding && sameFieldValue(this.#written.get(element), current)) return;
    const value = parseFieldValue(this.store.read(binding.storageKey));
    if (value === undefined) return;
    const count = this.#reapplied.get(element) ?? 0;
    if (sameFieldValue(value, current) || count >= MAX_REAPPLIES) return;
    this.#reapplied.set(element, count + 1);
    scope.originalValues.set(name, current);
    this.writeField(binding, value);
  }

  /**
   * Re-reads applied drafts into untouched fields (after page load, after the back/forward cache);
   * `holding`: a hold's frame, which reads storage only for fields no longer showing what it wrote.
   */
  protected reapplyDrafts(holding?: boolean): void {
    for (const scope of this.registry.liveScopes()) {
      if (scope.restored === 'none') this.restoreScope(scope);
      else for (const binding of this.registry.fieldsOf(scope)) this.restoreField(binding, holding);
    }
  }

  async #restoreFromServer(scope: FormScope): Promise<void> {
    const draft = await this.fetchDraft(scope.key, 'form');
    // The user may have started typing while the request was out: their input wins.
    if (draft === undefined || !isRecord(draft.data) || !this.canSave() || this.store.readMeta(scope.key))
      return;
    for (const [name, value] of Object.entries(draft.data)) {
      if (isFieldValue(value)) this.store.write(this.store.fieldKey(scope.key, name), JSON.stringify(value));
    }
    this.store.writeMeta(scope.key, { v: draft.baseVersion, t: Date.parse(draft.savedAt) || this.clock() });
    for (const live of this.registry.liveScopes(scope.key)) this.restoreScope(live, 'server');
  }

  /** Another tab typed into a form this tab shows: show its newer value instead of keeping a stale one. */
  protected showOtherTabEdit(fieldPath: string, raw: string): void {
    const separator = fieldPath.indexOf('\u001f');
    const formKey = fieldPath.slice(0, separator);
    const name = fieldPath.slice(separator + 1);
    const value = parseFieldValue(raw);
    if (value === undefined) return;
    for (const scope of this.registry.liveScopes(formKey)) {
      if (scope.restored === 'offered') continue;
      const binding = this.registry.fieldsOf(scope).find((candidate) => candidate.name === name);
      if (binding) this.writeField(binding, value);
    }
  }

  protected resetScope(scope: FormScope): void {
    scope.metaWrittenAt = 0;
    scope.editedFields.clear();
    scope.restored = 'discarded';
  }
}
