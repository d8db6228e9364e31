// The attachment host allow-list (DISCORD_CDN_HOSTS): an entry with a port matches exactly that
// host and port, one without matches the host on its scheme's default port; http and https only.
import { describe, expect, it } from 'vitest';
import { isAllowedHost } from '../../src/media/hosts.js';

const DEFAULT_HOSTS = ['cdn.discordapp.com', 'media.discordapp.net'];

describe('isAllowedHost with the default list', () => {
  it.each([
    'https://cdn.discordapp.com/attachments/1/2/cat.png',
    'https://media.discordapp.net/attachments/1/2/cat.png?ex=1&is=2&hm=3',
    'http://cdn.discordapp.com/attachments/1/2/cat.png',
    'https://cdn.discordapp.com:443/attachments/1/2/cat.png',
    'http://cdn.discordapp.com:80/x.png',
    'https://CDN.DiscordApp.COM/attachments/1/2/cat.png',
  ])('allows %s', (url) => {
    expect(isAllowedHost(url, DEFAULT_HOSTS)).toBe(true);
  });

  it.each([
    ['a non-default port', 'https://cdn.discordapp.com:8443/x.png'],
    ["http on https's port", 'http://cdn.discordapp.com:443/x.png'],
    ["https on http's port", 'https://cdn.discordapp.com:80/x.png'],
    ['userinfo pointing elsewhere', 'https://cdn.discordapp.com@evil.com/x.png'],
    ['userinfo with a colon', 'https://cdn.discordapp.com:443@evil.com/x.png'],
    ['a backslash trick', 'https://evil.com\\@cdn.discordapp.com/x.png'],
    ['a subdomain', 'https://evil.cdn.discordapp.com/x.png'],
    ['the parent domain', 'https://discordapp.com/x.png'],
    ['a lookalike suffix', 'https://cdn.discordapp.com.evil.com/x.png'],
    ['a lookalike name', 'https://cdn-discordapp.com/x.png'],
    ['another TLD', 'https://cdn.discordapp.co/x.png'],
    ['a homoglyph (Cyrillic і)', 'https://cdn.dіscordapp.com/x.png'],
    ['an IP address', 'https://162.159.128.233/x.png'],
    ['localhost', 'http://localhost/x.png'],
  ])('refuses %s', (_name, url) => {
    expect(isAllowedHost(url, DEFAULT_HOSTS)).toBe(false);
  });

  it.each([
    'ftp://cdn.discordapp.com/x.png',
    'ws://cdn.discordapp.com/x.png',
    'wss://cdn.discordapp.com/x.png',
    'file:///etc/passwd',
    'file://cdn.discordapp.com/x.png',
    'data:image/png;base64,iVBORw0KGgo=',
    'javascript:alert(1)',
    'gopher://cdn.discordapp.com/x',
  ])('refuses the scheme of %s', (url) => {
    expect(isAllowedHost(url, DEFAULT_HOSTS)).toBe(false);
  });

  it.each(['', 'not a url', '//cdn.discordapp.com/x.png', 'cdn.discordapp.com/x.png', 'https://'])(
    'refuses the unparsable %j',
    (url) => {
      expect(isAllowedHost(url, DEFAULT_HOSTS)).toBe(false);
    },
  );

  it('refuses everything when the list is empty', () => {
    expect(isAllowedHost('https://cdn.discordapp.com/x.png', [])).toBe(false);
  });
});

describe('isAllowedHost with ports in the list', () => {
  const hosts = ['127.0.0.1:8080', 'files.example:8443', 'plain.example'];

  it('an entry with a port matches that host and port, over http and https', () => {
    expect(isAllowedHost('http://127.0.0.1:8080/a.png', hosts)).toBe(true);
    expect(isAllowedHost('https://127.0.0.1:8080/a.png', hosts)).toBe(true);
    expect(isAllowedHost('https://files.example:8443/a.png', hosts)).toBe(true);
  });

  it('an entry with a port does not match any other port of that host', () => {
    expect(isAllowedHost('http://127.0.0.1/a.png', hosts)).toBe(false);
    expect(isAllowedHost('https://127.0.0.1/a.png', hosts)).toBe(false);
    expect(isAllowedHost('http://127.0.0.1:8081/a.png', hosts)).toBe(false);
    expect(isAllowedHost('http://127.0.0.1:80/a.png', hosts)).toBe(false);
    expect(isAllowedHost('https://files.example/a.png', hosts)).toBe(false);
  });

  it('the port of one entry does not carry over to another host', () => {
    expect(isAllowedHost('http://127.0.0.2:8080/a.png', hosts)).toBe(false);
    expect(isAllowedHost('https://plain.example:8443/a.png', hosts)).toBe(false);
    expect(isAllowedHost('http://plain.example:8080/a.png', hosts)).toBe(false);
  });

  it('an entry without a port matches only the default port of each scheme', () => {
    expect(isAllowedHost('http://plain.example/a.png', hosts)).toBe(true);
    expect(isAllowedHost('https://plain.example/a.png', hosts)).toBe(true);
    expect(isAllowedHost('https://plain.example:443/a.png', hosts)).toBe(true);
    expect(isAllowedHost('http://plain.example:443/a.png', hosts)).toBe(false);
  });

  it('an entry naming a default port matches that scheme with or without the port written', () => {
    expect(isAllowedHost('https://secure.example/a.png', ['secure.example:443'])).toBe(true);
    expect(isAllowedHost('https://secure.example:443/a.png', ['secure.example:443'])).toBe(true);
    expect(isAllowedHost('http://secure.example/a.png', ['secure.example:443'])).toBe(false);
  });

  it('userinfo cannot smuggle an allowed host:port past the check', () => {
    expect(isAllowedHost('http://127.0.0.1:8080@evil.com/a.png', hosts)).toBe(false);
    expect(isAllowedHost('http://evil.com:8080@127.0.0.1:9999/a.png', hosts)).toBe(false);
  });

  it('IPv6 entries match with and without a port', () => {
    expect(isAllowedHost('http://[::1]:8080/a.png', ['[::1]:8080'])).toBe(true);
    expect(isAllowedHost('http://[::1]/a.png', ['[::1]:8080'])).toBe(false);
    expect(isAllowedHost('http://[::1]/a.png', ['[::1]'])).toBe(true);
    expect(isAllowedHost('http://[::1]:8080/a.png', ['[::1]'])).toBe(false);
  });
});
