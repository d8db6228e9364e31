// The attachment host allow-list (DISCORD_CDN_HOSTS): an entry with a port matches exactly that
// host and port; one without matches the host on its scheme's default port.

const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443' };

export function isAllowedHost(rawUrl: string, allowed: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return false;
  }
  const defaultPort = DEFAULT_PORT[url.protocol];
  if (defaultPort === undefined) return false;
  const host = url.hostname.toLowerCase();
  const port = url.port === '' ? defaultPort : url.port;
  return allowed.some((entry) => {
    const match = /^(.*?)(?::(\d+))?$/.exec(entry);
    const entryHost = match?.[1] ?? entry;
    const entryPort = match?.[2] ?? defaultPort;
    return entryHost === host && entryPort === port;
  });
}
