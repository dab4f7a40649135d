/** fast-check generators shared by the parser fuzz tests: the text an attacker or a damaged store sends. */
import fc from 'fast-check';
import { MAX_STORED_INTEGER } from '../../packages/steadfast/src/protocol/constants.js';

/** Text that breaks naive parsers: unicode, lone surrogates, NUL, prototype keys, numbers past range. */
export const nastyText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ maxLength: 40, unit: 'binary' }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '__proto__',
    'NaN',
    'Infinity',
    '-1',
    '1e309',
    '0x10',
    '9007199254740993',
    '1.5',
  ),
);

/** Strings shaped like URLs and paths, well formed or not. */
export const urlishText = fc.constantFrom(
  'http://[',
  '//a b',
  'javascript:alert(1)',
  '?q=1#x',
  '../../x',
  '\\\\server\\share',
  '%zz',
);

/** Lone UTF-16 surrogates: no UTF-8 text can hold them. */
export const loneSurrogate = fc.constantFrom('\ud800', 'a\udc00b', '\udbff\udbff', '\udfff\ud800', 'x\ud83d');

/** Strings for any text field of a request: the hostile text above, prototype keys, NUL, keys past a column's range. */
export const hostileString = fc.oneof(
  fc.string({ maxLength: 50, unit: 'grapheme' }),
  fc.string({ maxLength: 50, unit: 'binary' }),
  nastyText,
  urlishText,
  loneSurrogate,
  fc.constantFrom('__proto__', 'constructor', 'prototype', '', ' ', '\u0000', 'a\u0000b', '𝕏', '../etc'),
  fc.constantFrom(
    'product-1',
    `product-${MAX_STORED_INTEGER}`,
    `product-${MAX_STORED_INTEGER + 1}`,
    'product-9999999999999999',
  ),
  fc.integer({ min: 1, max: 40 }).map((n) => 'ü'.repeat(n * 10)),
);

/** Numbers where whole numbers are expected: fractions, -0, past 32 and 53 bits. */
export const weirdNumber = fc.oneof(
  fc.integer({ min: -5, max: 12 }),
  fc.double(),
  fc.constantFrom(
    0,
    -1,
    -0,
    1.5,
    MAX_STORED_INTEGER,
    MAX_STORED_INTEGER + 1,
    2 ** 32,
    2 ** 53 - 1,
    2 ** 53,
    2 ** 53 + 2,
    1e308,
  ),
);

/** Any JSON scalar of the above. */
export const anyScalar = fc.oneof(hostileString, weirdNumber, fc.boolean(), fc.constant(null));

/** Objects and arrays nested up to 40 levels, some under prototype keys. */
export const deepData = fc
  .tuple(fc.integer({ min: 1, max: 40 }), fc.constantFrom('a', '__proto__', 'constructor', '0'))
  .map(([depth, key]) => {
    let value: unknown = 1;
    for (let i = 0; i < depth; i += 1) value = i % 2 ? [value] : { [key]: value };
    return value;
  });

/** A sync change with every field of any type (the protocol's `changes[]` items, hostile). */
export const anyChange = fc.record(
  {
    mutationId: fc.oneof(weirdNumber, anyScalar),
    kind: fc.oneof(fc.constantFrom('form', 'state', 'FORM', ''), anyScalar),
    key: fc.oneof(hostileString, anyScalar),
    data: fc.oneof(fc.jsonValue({ maxDepth: 4 }), deepData, anyScalar),
    baseVersion: fc.oneof(weirdNumber, anyScalar),
    savedAt: fc.oneof(fc.constant(new Date().toISOString()), hostileString, anyScalar),
    extra: anyScalar,
  },
  { requiredKeys: [] },
);

/** ISO date-times in and out of the range the API accepts. */
export const isoDateTime = fc.oneof(
  fc
    .date({
      min: new Date('2000-01-01T00:00:00Z'),
      max: new Date('2100-01-01T00:00:00Z'),
      noInvalidDate: true,
    })
    .map((date) => date.toISOString()),
  fc.constantFrom('2024-01-01T00:00:00+02:00', '9999-12-31T23:59:59Z', '2024-02-29T12:00:00.123Z'),
);
