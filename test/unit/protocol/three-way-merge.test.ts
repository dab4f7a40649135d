/**
 * The three-way merge of a stale draft (shared by the browser service and the server): worked
 * examples, properties over generated drafts, and the same answers from the browser build.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import fc from 'fast-check';
import { minify } from 'terser';
import { describe, expect, it } from 'vitest';
import {
  type ConflictChoice,
  type FieldValues,
  type JsonFieldValue,
  type MergeResult,
  mergeThreeWay,
  resolveConflicts,
  sameJsonValue,
} from '../../../packages/steadfast/src/protocol/three-way-merge.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SOURCE = path.join(root, 'packages', 'steadfast', 'src', 'protocol', 'three-way-merge.ts');

const has = (values: FieldValues, field: string) => Object.hasOwn(values, field);
const at = (values: FieldValues, field: string) => (has(values, field) ? values[field] : undefined);
/** A copy equal in structure but not in identity: the merge must compare values, not references. */
const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
/** Built from entries, as JSON.parse would: a `__proto__` field is an own field. */
const record = (entries: Array<[string, JsonFieldValue]>): FieldValues => Object.fromEntries(entries);

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

// Few fields and few values, so sides often agree and often collide; names that live on Object.prototype too.
const FIELDS = ['name', 'price', 'tags', 'active', 'notes', '__proto__', 'toString', 'constructor'];
const fieldValue: fc.Arbitrary<JsonFieldValue> = fc.oneof(
  fc.constantFrom('', 'Desk', 'Oak desk', '500.00', '0'),
  fc.integer({ min: -1, max: 2 }),
  fc.boolean(),
  fc.constant(null),
  // A checkbox group or multi-select: order counts.
  fc.array(fc.constantFrom('red', 'green', 'blue'), { maxLength: 3 }),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<JsonFieldValue>,
);

type Side =
  | { readonly kind: 'absent' }
  | { readonly kind: 'base' }
  | { readonly kind: 'set'; value: JsonFieldValue };
const side: fc.Arbitrary<Side> = fc.oneof(
  fc.constant({ kind: 'absent' } as const),
  fc.constant({ kind: 'base' } as const),
  fieldValue.map((value) => ({ kind: 'set', value }) as const),
);

/** A base record, and a draft and a current record each keeping, changing, dropping or adding fields. */
const scenario = fc
  .uniqueArray(
    fc.record({
      field: fc.constantFrom(...FIELDS),
      base: fc.option(fieldValue, { nil: undefined }),
      draft: side,
      current: side,
    }),
    { selector: (spec) => spec.field, maxLength: FIELDS.length },
  )
  .map((specs) => {
    const valueOn = (spec: (typeof specs)[number], which: Side): JsonFieldValue | undefined =>
      which.kind === 'absent'
        ? undefined
        : which.kind === 'base'
          ? spec.base === undefined
            ? undefined
            : copy(spec.base)
          : which.value;
    const build = (pick: (spec: (typeof specs)[number]) => JsonFieldValue | undefined) =>
      deepFreeze(
        record(
          specs.flatMap((spec): Array<[string, JsonFieldValue]> => {
            const value = pick(spec);
            return value === undefined ? [] : [[spec.field, value]];
          }),
        ),
      );
    return {
      base: build((spec) => spec.base),
      draft: build((spec) => valueOn(spec, spec.draft)),
      current: build((spec) => valueOn(spec, spec.current)),
    };
  });

/** Some of a record's fields, as deep copies. */
const subsetOf = (values: FieldValues, keep: readonly boolean[]) =>
  deepFreeze(record(Object.entries(copy(values)).filter((_, index) => keep[index % keep.length] !== false)));

const conflictFields = (result: MergeResult) => result.conflicts.map((conflict) => conflict.field);

describe('mergeThreeWay: worked examples', () => {
  const base = { name: 'Desk', price: '500.00', tags: ['oak'], quantity: 3 };

  it('takes the user’s changes and the server’s, and holds a field both changed differently as a conflict', () => {
    const draft = { name: 'Oak desk', price: '450.00', tags: ['oak'], quantity: 3 };
    const current = { name: 'Desk', price: '480.00', tags: ['oak', 'sale'], quantity: 3 };
    const result = mergeThreeWay(base, draft, current);
    expect(result).toEqual({
      merged: { name: 'Oak desk', price: '480.00', tags: ['oak', 'sale'], quantity: 3 },
      fromDraft: ['name'],
      fromServer: ['tags'],
      conflicts: [{ field: 'price', base: '500.00', draft: '450.00', current: '480.00' }],
    });
    expect(resolveConflicts(result, { price: 'yours' })).toEqual({ ...result.merged, price: '450.00' });
    expect(resolveConflicts(result, { price: 'theirs' })).toEqual(result.merged);
    expect(resolveConflicts(result, { price: 'original' })).toEqual({ ...result.merged, price: '500.00' });
  });

  it('is no conflict when both sides made the same change, lists compared item by item', () => {
    const draft = { ...base, tags: ['oak', 'sale'], quantity: 0 };
    const current = { ...base, tags: ['oak', 'sale'], quantity: 0 };
    const result = mergeThreeWay(base, draft, current);
    expect(result.conflicts).toEqual([]);
    expect(result.fromDraft).toEqual([]);
    expect(result.fromServer).toEqual([]);
    expect(result.merged).toEqual(current);
  });

  it('takes a reordered multi-select for a change, and a changed nested value for one', () => {
    const result = mergeThreeWay(
      { tags: ['a', 'b'], address: { city: 'Oslo', zip: '0150' } },
      { tags: ['b', 'a'], address: { zip: '0150', city: 'Oslo' } },
      { tags: ['a', 'b'], address: { city: 'Bergen', zip: '0150' } },
    );
    // Key order inside an object is no change; item order inside a list is.
    expect(result.fromDraft).toEqual(['tags']);
    expect(result.fromServer).toEqual(['address']);
    expect(result.merged).toEqual({ tags: ['b', 'a'], address: { city: 'Bergen', zip: '0150' } });
  });

  it('never writes a field the draft does not hold, whatever it was', () => {
    const result = mergeThreeWay(base, { name: 'Oak desk' }, { ...base, price: '480.00', quantity: 9 });
    expect(result.merged).toEqual({ name: 'Oak desk', price: '480.00', tags: ['oak'], quantity: 9 });
    expect(result.fromServer).toEqual([]);
    expect(result.conflicts).toEqual([]);
  });

  it('tells null from a missing field, and keeps a field only the draft has', () => {
    const result = mergeThreeWay({ note: null }, { note: null, colour: 'red' }, {});
    // The server dropped `note` and the user left it as it was: it stays dropped. `colour` is new.
    expect(result.merged).toEqual({ colour: 'red' });
    expect(result.fromDraft).toEqual(['colour']);
    expect(result.fromServer).toEqual(['note']);
    const dropped = mergeThreeWay({ note: 'x' }, { note: 'y' }, {});
    expect(dropped.conflicts).toEqual([{ field: 'note', base: 'x', draft: 'y', current: undefined }]);
    expect(dropped.merged).toEqual({});
    expect(resolveConflicts(dropped, { note: 'yours' })).toEqual({ note: 'y' });
  });

  it('removes a field when the base had none and the user picks the original', () => {
    const result = mergeThreeWay({}, { colour: 'red' }, { colour: 'blue' });
    expect(result.conflicts).toEqual([{ field: 'colour', base: undefined, draft: 'red', current: 'blue' }]);
    expect(resolveConflicts(result, { colour: 'original' })).toEqual({});
  });

  it('ignores a choice for a field that is not in conflict, and keeps the current value of one left unsettled', () => {
    const result = mergeThreeWay({ a: 1, b: 1 }, { a: 2, b: 2 }, { a: 1, b: 3 });
    expect(resolveConflicts(result, { a: 'original' })).toEqual({ a: 2, b: 3 });
  });

  it('keeps fields named like Object’s own properties as plain fields', () => {
    const base = JSON.parse('{"__proto__": "a", "toString": "a"}') as FieldValues;
    const draft = JSON.parse('{"__proto__": "b", "toString": "b", "constructor": "c"}') as FieldValues;
    const current = JSON.parse('{"__proto__": "a", "toString": "z"}') as FieldValues;
    const result = mergeThreeWay(base, draft, current);
    expect(Object.getPrototypeOf(result.merged)).toBe(Object.prototype);
    expect(Object.keys(result.merged)).toEqual(['__proto__', 'toString', 'constructor']);
    expect(at(result.merged, '__proto__')).toBe('b');
    expect(result.fromDraft).toEqual(['__proto__', 'constructor']);
    expect(conflictFields(result)).toEqual(['toString']);
    const resolved = resolveConflicts(result, JSON.parse('{"toString": "yours", "__proto__": "original"}'));
    expect(Object.getPrototypeOf(resolved)).toBe(Object.prototype);
    expect(JSON.stringify(resolved)).toBe('{"__proto__":"b","toString":"b","constructor":"c"}');
  });

  it('counts values the app calls equal as equal, when given its comparison', () => {
    const money = (left: JsonFieldValue, right: JsonFieldValue) => Number(left) === Number(right);
    // The user retyped "500" for "500.00": no change of theirs, so the server's price stands.
    const result = mergeThreeWay(
      { price: '500.00' },
      { price: '500' },
      { price: '480.00' },
      { equals: money },
    );
    expect(result.conflicts).toEqual([]);
    expect(result.merged).toEqual({ price: '480.00' });
    expect(mergeThreeWay({ price: '500.00' }, { price: '500' }, { price: '480.00' }).conflicts).toHaveLength(
      1,
    );
  });
});

describe('sameJsonValue', () => {
  it('compares structure, never identity, and never takes one shape for another', () => {
    expect(sameJsonValue(['a', 'b'], ['a', 'b'])).toBe(true);
    expect(sameJsonValue({ a: [1, { b: null }] }, { a: [1, { b: null }] })).toBe(true);
    expect(sameJsonValue(['a'], { 0: 'a' })).toBe(false);
    expect(sameJsonValue({ a: undefined }, { b: undefined })).toBe(false);
    expect(sameJsonValue([], {})).toBe(false);
    expect(sameJsonValue('1', 1)).toBe(false);
    expect(sameJsonValue(null, {})).toBe(false);
    expect(sameJsonValue(0, false)).toBe(false);
  });

  it('agrees with comparing canonical JSON', () => {
    const canonical = (value: unknown): string =>
      JSON.stringify(value, (_key, inner: unknown) =>
        inner && typeof inner === 'object' && !Array.isArray(inner)
          ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
          : inner,
      );
    fc.assert(
      fc.property(fieldValue, fieldValue, (left, right) => {
        expect(sameJsonValue(left, right)).toBe(canonical(left) === canonical(right));
        expect(sameJsonValue(left, copy(left))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('mergeThreeWay: properties', () => {
  it('a draft equal to its base gives the current record, with nothing from the draft and no conflict', () => {
    fc.assert(
      fc.property(scenario, fc.array(fc.boolean(), { minLength: 1 }), ({ base, current }, keep) => {
        const draft = subsetOf(base, keep);
        const result = mergeThreeWay(base, draft, current);
        expect(result.merged).toEqual(current);
        expect(Object.keys(result.merged)).toEqual(Object.keys(current));
        expect(result.conflicts).toEqual([]);
        expect(result.fromDraft).toEqual([]);
      }),
      { numRuns: 1000 },
    );
  });

  it('a record unchanged since the base gives the draft over the draft’s fields, with nothing from the server', () => {
    fc.assert(
      fc.property(scenario, ({ base, draft }) => {
        const current = deepFreeze(copy(base));
        const result = mergeThreeWay(base, draft, current);
        expect(result.merged).toEqual({ ...current, ...draft });
        expect(result.conflicts).toEqual([]);
        expect(result.fromServer).toEqual([]);
        for (const field of Object.keys(draft)) expect(at(result.merged, field)).toEqual(at(draft, field));
      }),
      { numRuns: 1000 },
    );
  });

  it('a field changed on one side only, or on both alike, is never a conflict; a conflict is a field changed on both, differently', () => {
    fc.assert(
      fc.property(scenario, ({ base, draft, current }) => {
        const result = mergeThreeWay(base, draft, current);
        const conflicts = new Set(conflictFields(result));
        for (const field of new Set([...Object.keys(base), ...Object.keys(draft), ...Object.keys(current)])) {
          const [was, mine, theirs] = [at(base, field), at(draft, field), at(current, field)];
          const bothChangedApart =
            has(draft, field) &&
            !sameJsonValue(mine, was) &&
            !sameJsonValue(theirs, was) &&
            !sameJsonValue(mine, theirs);
          expect(conflicts.has(field), field).toBe(bothChangedApart);
        }
        for (const conflict of result.conflicts) {
          expect(conflict).toEqual({
            field: conflict.field,
            base: at(base, conflict.field),
            draft: at(draft, conflict.field),
            current: at(current, conflict.field),
          });
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('loses and invents no field: merged holds current’s fields plus the draft’s the base lacked, each valued from the draft or current', () => {
    fc.assert(
      fc.property(scenario, ({ base, draft, current }) => {
        const result = mergeThreeWay(base, draft, current);
        const expected = new Set([
          ...Object.keys(current),
          ...Object.keys(draft).filter((field) => !has(base, field)),
        ]);
        expect(new Set(Object.keys(result.merged))).toEqual(expected);
        const fromDraft = new Set(result.fromDraft);
        for (const field of Object.keys(result.merged)) {
          // From the draft exactly when listed so; otherwise current's value (a conflict keeps it too).
          expect(at(result.merged, field), field).toEqual(
            fromDraft.has(field) ? at(draft, field) : at(current, field),
          );
        }
        // A field the draft does not hold is never written.
        for (const field of Object.keys(current).filter((field) => !has(draft, field))) {
          expect(at(result.merged, field)).toBe(at(current, field));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('lists each draft field at most once, among the draft’s fields, and leaves the inputs untouched', () => {
    fc.assert(
      fc.property(scenario, ({ base, draft, current }) => {
        const before = JSON.stringify([base, draft, current]);
        // The inputs are deeply frozen: a write to them would throw here.
        const result = mergeThreeWay(base, draft, current);
        const listed = [...result.fromDraft, ...result.fromServer, ...conflictFields(result)];
        expect(new Set(listed).size).toBe(listed.length);
        for (const field of listed) expect(has(draft, field)).toBe(true);
        for (const field of result.fromServer) {
          expect(at(result.merged, field)).toEqual(at(current, field));
          expect(sameJsonValue(at(draft, field), at(base, field))).toBe(true);
        }
        expect(JSON.stringify([base, draft, current])).toBe(before);
      }),
      { numRuns: 1000 },
    );
  });

  it('applies each conflict’s chosen value and changes no other field', () => {
    const choice = fc.constantFrom<ConflictChoice | undefined>('yours', 'theirs', 'original', undefined);
    fc.assert(
      fc.property(
        scenario,
        fc.array(choice, { minLength: FIELDS.length, maxLength: FIELDS.length }),
        (s, picks) => {
          const result = mergeThreeWay(s.base, s.draft, s.current);
          // A choice per field (conflict or not) in a record built as JSON.parse would build it.
          const choices = Object.fromEntries(
            FIELDS.flatMap((field, index) => (picks[index] ? [[field, picks[index]]] : [])),
          ) as Record<string, ConflictChoice>;
          const resolved = resolveConflicts(result, choices);
          const conflicts = new Map(result.conflicts.map((conflict) => [conflict.field, conflict]));
          const fields = new Set([...Object.keys(result.merged), ...conflicts.keys()]);
          for (const field of fields) {
            const conflict = conflicts.get(field);
            const pick = has(choices, field) ? choices[field] : undefined;
            const expected =
              conflict === undefined || pick === undefined || pick === 'theirs'
                ? at(result.merged, field)
                : pick === 'yours'
                  ? conflict.draft
                  : conflict.base;
            expect(has(resolved, field), field).toBe(expected !== undefined);
            expect(at(resolved, field), field).toEqual(expected);
          }
          expect(Object.keys(resolved).every((field) => fields.has(field))).toBe(true);
          // Settling every conflict with "theirs" is the merge as it stood.
          const theirs = Object.fromEntries([...conflicts.keys()].map((field) => [field, 'theirs' as const]));
          expect(resolveConflicts(result, theirs)).toEqual(result.merged);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

/**
 * The production build's property-mangling list, read from the build script: a result or option
 * name on that list would be renamed in the browser build only, and the two sides would stop
 * agreeing on a merge sent between them.
 */
function productionMangledProperties(): RegExp {
  const script = readFileSync(path.join(root, 'packages', 'steadfast', 'scripts', 'build-client.ts'), 'utf8');
  const list = /INTERNAL_PROPERTIES = new RegExp\(\s*`\^\(\$\{\[([\s\S]*?)\]\.join/.exec(script)?.[1];
  // Comments in the list (with their apostrophes) are not names.
  const names = [...(list ?? '').replace(/\/\/.*$/gm, '').matchAll(/'([^']+)'/g)].map((match) => match[1]);
  if (names.length < 10)
    throw new Error('could not read INTERNAL_PROPERTIES from packages/steadfast/scripts/build-client.ts');
  return new RegExp(`^(${names.join('|')})$`);
}

/**
 * Bundled as the browser script is: esbuild IIFE for Chrome 120, minified and mangled, then terser.
 * The module's exports are the global `threeWayMerge`, or with `imported`, only what a script
 * importing the two functions would carry.
 */
async function browserBuild(imported = false): Promise<string> {
  const entry = imported
    ? {
        stdin: {
          contents: `import { mergeThreeWay, resolveConflicts } from './three-way-merge.ts';
            globalThis.threeWayMerge = { mergeThreeWay, resolveConflicts };`,
          resolveDir: path.dirname(SOURCE),
          loader: 'ts' as const,
        },
      }
    : { entryPoints: [SOURCE], globalName: 'threeWayMerge' };
  const result = await build({
    ...entry,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    minify: true,
    write: false,
    legalComments: 'none',
    mangleProps: productionMangledProperties(),
    logLevel: 'silent',
  });
  const output = result.outputFiles[0]?.text;
  if (output === undefined) throw new Error('esbuild wrote nothing');
  const minified = await minify(output, {
    ecma: 2020,
    compress: { passes: 3, hoist_funs: true },
    mangle: true,
    format: { comments: false },
  });
  if (minified.code === undefined) throw new Error('terser wrote nothing');
  return minified.code;
}

describe('mergeThreeWay in the browser build', () => {
  it('gives the same answers, to the byte, as the Node import', async () => {
    const code = await browserBuild();
    // A context of its own, as a page is: only the language's built-ins, no Node.
    const page = vm.createContext({});
    vm.runInContext(code, page);
    const run = vm.runInContext(
      `(input) => {
        const [base, draft, current, choices] = JSON.parse(input);
        const result = threeWayMerge.mergeThreeWay(base, draft, current);
        return JSON.stringify([result, threeWayMerge.resolveConflicts(result, choices)]);
      }`,
      page,
    ) as (input: string) => string;
    const choices = fc.dictionary(
      fc.constantFrom(...FIELDS),
      fc.constantFrom<ConflictChoice>('yours', 'theirs', 'original'),
    );
    let conflicted = 0;
    fc.assert(
      fc.property(scenario, choices, ({ base, draft, current }, picks) => {
        const input = JSON.stringify([base, draft, current, picks]);
        const [b, d, c, p] = JSON.parse(input) as [
          FieldValues,
          FieldValues,
          FieldValues,
          Record<string, ConflictChoice>,
        ];
        const result = mergeThreeWay(b, d, c);
        if (result.conflicts.length > 0) conflicted += 1;
        expect(run(input)).toBe(JSON.stringify([result, resolveConflicts(result, p)]));
      }),
      { numRuns: 500 },
    );
    // The cases must exercise the interesting path, not only clean merges.
    expect(conflicted).toBeGreaterThan(50);
  });

  it('stays small: it is meant for the browser script and its 10 KB gzip budget', async () => {
    const code = await browserBuild(true);
    const page = vm.createContext({});
    vm.runInContext(code, page);
    expect(
      vm.runInContext('JSON.stringify(threeWayMerge.mergeThreeWay({}, { a: 1 }, {}).merged)', page),
    ).toBe('{"a":1}');
    // 540 bytes when written; its share of the script is smaller (gzip shares one dictionary).
    expect(gzipSync(code, { level: 9 }).length).toBeLessThan(600);
  });
});
