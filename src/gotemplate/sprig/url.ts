// Sprig's urlParse and urlJoin over a port of Go's net/url Parse and URL.String.
// Reference: Go 1.19 src/net/url/url.go.
import { quoteGo } from '../fmt.js';
import { GoError, goFunc } from '../funcs.js';
import { GoFunc, hasOwn, reflectKind } from '../values.js';
import { NIL_DEREF } from './collections.js';

type Mode = 'path' | 'pathSegment' | 'host' | 'zone' | 'userPassword' | 'queryComponent' | 'fragment';

const isAlnum = (c: string) => /^[A-Za-z0-9]$/.test(c);
const isHex = (c: string | undefined) => c !== undefined && /^[0-9A-Fa-f]$/.test(c);

function shouldEscape(c: string, mode: Mode): boolean {
  if (isAlnum(c)) return false;
  if ((mode === 'host' || mode === 'zone') && `!$&'()*+,;=:[]<>"`.includes(c)) return false;
  if ('-_.~'.includes(c)) return false;
  if ('$&+,/:;=?@'.includes(c)) {
    switch (mode) {
      case 'path':
        return c === '?';
      case 'pathSegment':
        return '/;,?'.includes(c);
      case 'userPassword':
        return '@/?:'.includes(c);
      case 'queryComponent':
        return true;
      case 'fragment':
        return false;
    }
  }
  if (mode === 'fragment' && '!()*'.includes(c)) return false;
  return true;
}

class UrlError extends Error {}

// Strings are handled as Latin-1 views of their UTF-8 bytes, as Go's byte loops see them.
const toBytes = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
const fromBytes = (s: string) => Buffer.from(s, 'latin1').toString('utf8');

function unescape(s: string, mode: Mode): string {
  let n = 0;
  for (let i = 0; i < s.length; ) {
    const c = s[i]!;
    if (c === '%') {
      n++;
      if (i + 2 >= s.length || !isHex(s[i + 1]) || !isHex(s[i + 2])) {
        throw new UrlError(`invalid URL escape ${quoteGo(fromBytes(s.slice(i, i + 3)))}`);
      }
      const v = parseInt(s.slice(i + 1, i + 3), 16);
      if (mode === 'host' && parseInt(s[i + 1]!, 16) < 8 && s.slice(i, i + 3) !== '%25') {
        throw new UrlError(`invalid URL escape ${quoteGo(s.slice(i, i + 3))}`);
      }
      if (mode === 'zone' && s.slice(i, i + 3) !== '%25' && v !== 0x20 && shouldEscape(String.fromCharCode(v), 'host')) {
        throw new UrlError(`invalid URL escape ${quoteGo(s.slice(i, i + 3))}`);
      }
      i += 3;
    } else {
      if ((mode === 'host' || mode === 'zone') && c.charCodeAt(0) < 0x80 && shouldEscape(c, mode)) {
        throw new UrlError(`invalid character ${quoteGo(c)} in host name`);
      }
      i++;
    }
  }
  if (n === 0) return s;
  return s.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

function escape(s: string, mode: Mode): string {
  let out = '';
  for (const c of s) out += shouldEscape(c, mode) ? '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0') : c;
  return out;
}

function validOptionalPort(port: string): boolean {
  return port === '' || /^:[0-9]*$/.test(port);
}

function parseHost(host: string): string {
  if (host.startsWith('[')) {
    const i = host.lastIndexOf(']');
    if (i < 0) throw new UrlError("missing ']' in host");
    const colonPort = host.slice(i + 1);
    if (!validOptionalPort(colonPort)) throw new UrlError(`invalid port ${quoteGo(fromBytes(colonPort))} after host`);
    const zone = host.slice(0, i).indexOf('%25');
    if (zone >= 0) return unescape(host.slice(0, zone), 'host') + unescape(host.slice(zone, i), 'zone') + unescape(host.slice(i), 'host');
  } else {
    const i = host.lastIndexOf(':');
    if (i !== -1 && !validOptionalPort(host.slice(i))) throw new UrlError(`invalid port ${quoteGo(fromBytes(host.slice(i)))} after host`);
  }
  return unescape(host, 'host');
}

interface Userinfo {
  username: string;
  password?: string;
}

interface URL {
  scheme: string;
  opaque: string;
  user?: Userinfo;
  host: string;
  path: string;
  rawPath: string;
  omitHost: boolean;
  forceQuery: boolean;
  rawQuery: string;
  fragment: string;
  rawFragment: string;
}

function userinfoString(u: Userinfo): string {
  let s = escape(u.username, 'userPassword');
  if (u.password !== undefined) s += ':' + escape(u.password, 'userPassword');
  return s;
}

function parseAuthority(authority: string): { user?: Userinfo; host: string } {
  const i = authority.lastIndexOf('@');
  const host = parseHost(i < 0 ? authority : authority.slice(i + 1));
  if (i < 0) return { host };
  const userinfo = authority.slice(0, i);
  if (!/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(userinfo)) throw new UrlError('net/url: invalid userinfo');
  const colon = userinfo.indexOf(':');
  if (colon < 0) return { user: { username: unescape(userinfo, 'userPassword') }, host };
  return {
    user: { username: unescape(userinfo.slice(0, colon), 'userPassword'), password: unescape(userinfo.slice(colon + 1), 'userPassword') },
    host,
  };
}

function getScheme(raw: string): [string, string] {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (/[A-Za-z]/.test(c)) continue;
    if (/[0-9+\-.]/.test(c)) {
      if (i === 0) return ['', raw];
      continue;
    }
    if (c === ':') {
      if (i === 0) throw new UrlError('missing protocol scheme');
      return [raw.slice(0, i), raw.slice(i + 1)];
    }
    return ['', raw];
  }
  return ['', raw];
}

function parseNoFragment(raw: string): URL {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(raw)) throw new UrlError('net/url: invalid control character in URL');
  const url: URL = { scheme: '', opaque: '', host: '', path: '', rawPath: '', omitHost: false, forceQuery: false, rawQuery: '', fragment: '', rawFragment: '' };
  if (raw === '*') {
    url.path = '*';
    return url;
  }
  let rest: string;
  [url.scheme, rest] = getScheme(raw);
  url.scheme = url.scheme.toLowerCase();
  if (rest.endsWith('?') && rest.split('?').length === 2) {
    url.forceQuery = true;
    rest = rest.slice(0, -1);
  } else {
    const q = rest.indexOf('?');
    if (q >= 0) [rest, url.rawQuery] = [rest.slice(0, q), rest.slice(q + 1)];
  }
  if (!rest.startsWith('/')) {
    if (url.scheme !== '') {
      url.opaque = rest;
      return url;
    }
    if (rest.split('/')[0]!.includes(':')) throw new UrlError('first path segment in URL cannot contain colon');
  }
  if ((url.scheme !== '' || !rest.startsWith('///')) && rest.startsWith('//')) {
    let authority = rest.slice(2);
    rest = '';
    const i = authority.indexOf('/');
    if (i >= 0) [authority, rest] = [authority.slice(0, i), authority.slice(i)];
    const a = parseAuthority(authority);
    url.user = a.user;
    url.host = a.host;
  } else if (url.scheme !== '' && rest.startsWith('/')) {
    url.omitHost = true;
  }
  url.path = unescape(rest, 'path');
  url.rawPath = escape(url.path, 'path') === rest ? '' : rest;
  return url;
}

/** parseURL is url.Parse; it throws UrlError with Go's message ("parse \"…\": …"). */
function parseURL(rawUTF8: string): URL {
  const raw = toBytes(rawUTF8);
  const h = raw.indexOf('#');
  const u = h < 0 ? raw : raw.slice(0, h);
  let url: URL;
  try {
    url = parseNoFragment(u);
  } catch (e) {
    if (e instanceof UrlError) throw new UrlError(`parse ${quoteGo(fromBytes(u))}: ${e.message}`);
    throw e;
  }
  if (h < 0) return url;
  const frag = raw.slice(h + 1);
  try {
    url.fragment = unescape(frag, 'fragment');
  } catch (e) {
    if (e instanceof UrlError) throw new UrlError(`parse ${quoteGo(rawUTF8)}: ${e.message}`);
    throw e;
  }
  url.rawFragment = escape(url.fragment, 'fragment') === frag ? '' : frag;
  return url;
}

function validEncoded(s: string, mode: Mode): boolean {
  return [...s].every((c) => `!$&'()*+,;=:@[]%`.includes(c) || !shouldEscape(c, mode));
}

function urlString(u: URL): string {
  let buf = '';
  if (u.scheme !== '') buf += u.scheme + ':';
  if (u.opaque !== '') buf += u.opaque;
  else {
    if (u.scheme !== '' || u.host !== '' || u.user) {
      if (!(u.omitHost && u.host === '' && !u.user)) {
        if (u.host !== '' || u.path !== '' || u.user) buf += '//';
        if (u.user) buf += userinfoString(u.user) + '@';
        if (u.host !== '') buf += escape(u.host, 'host');
      }
    }
    let path = u.path === '*' ? '*' : escape(u.path, 'path');
    if (u.rawPath !== '' && validEncoded(u.rawPath, 'path')) {
      try {
        if (unescape(u.rawPath, 'path') === u.path) path = u.rawPath;
      } catch {
        // fall back to the escaped path
      }
    }
    if (path !== '' && path[0] !== '/' && u.host !== '') buf += '/';
    if (buf === '' && path.split('/')[0]!.includes(':')) buf += './';
    buf += path;
  }
  if (u.forceQuery || u.rawQuery !== '') buf += '?' + u.rawQuery;
  if (u.fragment !== '') {
    let f = escape(u.fragment, 'fragment');
    if (u.rawFragment !== '' && validEncoded(u.rawFragment, 'fragment')) {
      try {
        if (unescape(u.rawFragment, 'fragment') === u.fragment) f = u.rawFragment;
      } catch {
        // fall back to the escaped fragment
      }
    }
    buf += '#' + f;
  }
  return fromBytes(buf);
}

function hostname(host: string): string {
  const colon = host.lastIndexOf(':');
  if (colon !== -1 && validOptionalPort(host.slice(colon))) host = host.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return host;
}

function urlParse(v: string): Record<string, unknown> {
  let u: URL;
  try {
    u = parseURL(v);
  } catch (e) {
    if (e instanceof UrlError) throw new GoError(`unable to parse url: ${e.message}`);
    throw e;
  }
  return {
    scheme: fromBytes(u.scheme),
    host: fromBytes(u.host),
    hostname: fromBytes(hostname(u.host)),
    path: fromBytes(u.path),
    query: fromBytes(u.rawQuery),
    opaque: fromBytes(u.opaque),
    fragment: fromBytes(u.fragment),
    userinfo: u.user ? fromBytes(userinfoString(u.user)) : '',
  };
}

function dictGetOrEmpty(d: Record<string, unknown>, key: string): string {
  if (!hasOwn(d, key)) return '';
  const v = d[key];
  if (v === null || v === undefined) throw new GoError(NIL_DEREF);
  if (typeof v !== 'string') throw new GoError(`unable to parse ${key} key, must be of type string, but ${reflectKind(v)} found`);
  return toBytes(v);
}

function urlJoin(d: Record<string, unknown>): string {
  const u: URL = {
    scheme: dictGetOrEmpty(d, 'scheme'),
    host: dictGetOrEmpty(d, 'host'),
    path: dictGetOrEmpty(d, 'path'),
    rawQuery: dictGetOrEmpty(d, 'query'),
    opaque: dictGetOrEmpty(d, 'opaque'),
    fragment: dictGetOrEmpty(d, 'fragment'),
    rawPath: '',
    rawFragment: '',
    omitHost: false,
    forceQuery: false,
  };
  const userinfo = dictGetOrEmpty(d, 'userinfo');
  if (userinfo !== '') {
    try {
      u.user = parseURL(fromBytes(`proto://${userinfo}@host`)).user;
    } catch (e) {
      if (e instanceof UrlError) throw new GoError(`unable to parse userinfo in dict: ${e.message}`);
      throw e;
    }
  }
  return urlString(u);
}

/** URL_FUNCS are Sprig's urlParse and urlJoin. */
export const URL_FUNCS: Record<string, GoFunc> = {
  urlParse: goFunc({ in: ['string'], out: 'map[string]interface {}' }, urlParse),
  urlJoin: goFunc({ in: ['map[string]interface {}'], out: 'string' }, urlJoin),
};
