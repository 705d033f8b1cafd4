/** An error as it may stand in a warning line: its message, or what was thrown. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The Node error code of `error` (ECONNREFUSED, ERR_MODULE_NOT_FOUND, …), which says more reliably than its message what went wrong. */
export function errorCode(error: unknown): string | undefined {
  const code = error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
  return typeof code === 'string' ? code : undefined;
}
