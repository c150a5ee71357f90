/**
 * Resolves once `condition()` holds, checking on every turn of the event loop; rejects after
 * `timeoutMs` naming what was awaited. Tests wait on conditions like this, never on sleeps.
 */
export async function waitFor(
  what: string,
  condition: () => boolean,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
