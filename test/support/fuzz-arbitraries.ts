/** fast-check generators shared by the parser fuzz tests: the text an attacker or a damaged store sends. */
import fc from 'fast-check';

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
