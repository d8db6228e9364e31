// Polling helper: tests wait on the fake's state with a deadline instead of sleeping.

export async function waitFor<T>(
  fn: () => T | undefined | false,
  timeoutMs = 5000,
  describe?: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) {
      const detail = describe === undefined ? '' : `\n${describe()}`;
      throw new Error(`waitFor timed out after ${timeoutMs} ms waiting for: ${fn.toString()}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
