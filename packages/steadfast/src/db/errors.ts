/** A DATABASE_URL that cannot be used; raised at start, before anything listens. */
export class DatabaseUrlError extends Error {
  readonly code = 'invalid_database_url';
  override readonly name = 'DatabaseUrlError';
}
