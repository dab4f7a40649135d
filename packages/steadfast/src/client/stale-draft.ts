/**
 * The browser service's stale-draft layer (see service-core.ts): a draft made at a version older
 * than the record's is merged with the record field by field against the version it was made at
 * (DESIGN.md "Stale drafts: three-way merge"): what merges is applied at once and the draft moves to
 * the page's version; fields both sides changed wait for the user's choice in the notice (the
 * form's submit is held meanwhile). Without a base (pruned, unknown, offline) it is offered whole.
 */
import { BASE_PATH } from '../protocol/constants.js';
import type { FieldValues } from '../protocol/three-way-merge.js';
import { describeAuthor, describeMerge, isFoundBase, mergeDraft } from './draft-merge.js';
import { type FieldValue, isFieldValue, readFieldValue, sameFieldValue } from './field-values.js';
import type { FieldBinding, FormScope } from './form-binding.js';
import type { RestoreNoticeContent } from './restore-notice.js';
import { SendLoop } from './send-loop.js';

/** Shows the scope's notice with these words, and what settles its conflicts once all are chosen. */
export type NoticeShower = (
  more?: Partial<RestoreNoticeContent>,
  settleConflicts?: (chosen: FieldValues) => void,
) => void;

export abstract class StaleDraftMerger extends SendLoop {
  /** Writes a drafted value (see Restorer). */
  protected abstract applyField(binding: FieldBinding, value: FieldValue, current?: FieldValue): void;
  /** Holds the restored drafts against the app's own writes (see Restorer). */
  protected abstract hold(): void;

  /** Merges the scope's stale draft, or offers it whole when its base cannot be read. */
  protected async mergeStale(
    scope: FormScope,
    version: number,
    draft: [FieldBinding, FieldValue][],
    differing: string[],
    show: NoticeShower,
  ): Promise<void> {
    // Offline, a 404 or an HTML page reads as no base: the draft is offered whole.
    const answer = await this.getJson(
      `${this.settings.baseEndpoint ?? BASE_PATH}?key=${encodeURIComponent(scope.key)}&version=${version}`,
    );
    if (scope.restored !== 'offered' || !this.canSave()) return;
    if (!isFoundBase(answer)) return show({ staleFields: differing });
    const bindings = this.registry.fieldsOf(scope);
    const page: Record<string, FieldValue> = {};
    for (const binding of bindings) page[binding.name] = readFieldValue(binding);
    const mine = Object.fromEntries(draft.map(([binding, value]) => [binding.name, value]));
    const result = mergeDraft(answer, mine, page);
    const merged = describeMerge(result, answer, page, this.userScope);
    const write = (values: FieldValues) => {
      for (const binding of bindings) {
        const value = values[binding.name];
        if (isFieldValue(value) && !sameFieldValue(value, readFieldValue(binding)))
          this.applyField(binding, value, page[binding.name]);
      }
    };
    const settle = () => {
      // The draft becomes the form as it now stands, at the page's version: a later restore never
      // puts back a stale value the merge replaced, and what the user typed meanwhile is kept.
      for (const binding of bindings) {
        const value = readFieldValue(binding);
        if (Object.hasOwn(mine, binding.name) || !sameFieldValue(value, page[binding.name]))
          this.store.write(binding.storageKey, JSON.stringify(value), scope.key);
      }
      this.store.writeMeta(scope.key, { v: scope.version, t: this.clock() });
      scope.restored = 'applied';
      this.noteChange('form', scope.key);
      this.hold();
      show({ merged });
    };
    // What merges shows at once; a conflicting field keeps the page's value until chosen.
    write(result.merged);
    if (result.conflicts.length === 0) return settle();
    show(
      {
        merged,
        conflicts: result.conflicts,
        author: (field) => describeAuthor(answer, field, this.userScope),
      },
      (chosen) => {
        write(chosen);
        settle();
      },
    );
  }
}
