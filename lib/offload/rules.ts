import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { ConfigurationError, missingSetting } from '../errors';

/** The web servers a download can be handed to. */
export type OffloadBackend = 'nginx' | 'apache' | 'lighttpd';

/**
 * nginx's X-Accel-* response headers (https://nginx.org/en/docs/http/ngx_http_proxy_module.html,
 * `proxy_ignore_headers`). Each is sent only when set.
 */
export interface NginxOffloadOptions {
  /** `X-Accel-Buffering`: `false` sends `no` (nginx passes the bytes on as they come), `true` sends `yes`. */
  buffering?: boolean;
  /** `X-Accel-Limit-Rate`: bytes per second for this download; `0` lifts nginx's `limit_rate`. */
  limitRate?: number;
  /**
   * `X-Accel-Expires`: how long nginx's own cache (`proxy_cache`) may keep the app's answer:
   * whole seconds, `'off'` for never, or a Date (sent as `@<unix seconds>`). It says nothing to
   * the browser: that is `cacheControl`.
   */
  expires?: number | 'off' | Date;
  /** `X-Accel-Charset`: the charset nginx puts on the Content-Type, e.g. `utf-8`. */
  charset?: string;
}

/** mod_xsendfile's `X-Sendfile`. */
export interface ApacheOffloadOptions {
  /**
   * `true` for mod_xsendfile 1.0 with `XSendFileUnescape On` (its default there): the path is
   * sent percent-encoded. Default `false`, for mod_xsendfile 0.12 (what Debian, Fedora and EPEL
   * ship), which takes the header literally: the path goes out as its raw UTF-8 bytes.
   */
  unescape?: boolean;
}

/**
 * Which files a rule hands over: those under a directory (an absolute path, or a storage with a
 * `root` such as `FileSystemStorage`), or those whose URL starts with a prefix
 * (`https://cdn.example.com/files/`). Always on whole path segments: `/media` covers
 * `/media/a.txt`, never `/media2/a.txt`.
 */
export type OffloadSource = string | URL | { readonly root: string };

/**
 * nginx: the file's path below `source` is appended, percent-encoded, to `destination`, the
 * URI of an `internal` location that serves the same directory:
 * `location /_protected/ { internal; alias /srv/media/; }` with `destination: '/_protected/'`.
 * A URL source (a storage's URL, or the upstream of `httpDownload`) needs an internal location
 * that proxies to it: `location /_mirror/ { internal; proxy_pass https://files.example.com/public/; }`
 * with `source: 'https://files.example.com/public/'` and `destination: '/_mirror/'`. nginx then
 * fetches the file (and answers Range and conditional requests with the upstream), the app never
 * does; add `proxy_hide_header Content-Type;` there to send the app's Content-Type.
 */
export interface NginxOffloadRule {
  backend: 'nginx';
  source: OffloadSource;
  destination: string;
  options?: NginxOffloadOptions;
}

/**
 * Apache mod_xsendfile (`X-Sendfile: <path>`). `destination` is the directory as Apache sees it,
 * when it is mounted elsewhere; by default the file's own path is sent. Files only, not URLs.
 */
export interface ApacheOffloadRule {
  backend: 'apache';
  source: OffloadSource;
  destination?: string;
  options?: ApacheOffloadOptions;
}

/**
 * lighttpd (`X-Sendfile: <percent-encoded path>`; lighttpd >= 1.4.40 decodes it, and answers
 * Range and conditional requests itself). `destination` as for Apache. Files only, not URLs.
 */
export interface LighttpdOffloadRule {
  backend: 'lighttpd';
  source: OffloadSource;
  destination?: string;
  options?: Record<string, never>;
}

/**
 * One offload rule. Rules are an ordered list: the first whose `source` covers the file decides,
 * a file no rule covers is streamed by the app as usual.
 *
 * @example
 * { backend: 'nginx', source: '/srv/media', destination: '/_protected/', options: { expires: 'off' } }
 */
export type OffloadRule = NginxOffloadRule | ApacheOffloadRule | LighttpdOffloadRule;

/** A rule after the checks done once, when it is configured. */
export interface ResolvedOffloadRule {
  /** 1-based position in the list, for messages. */
  readonly position: number;
  readonly backend: OffloadBackend;
  readonly source:
    | { readonly kind: 'directory'; readonly directory: string }
    | { readonly kind: 'url'; readonly origin: string; readonly pathname: string };
  /**
   * nginx: the internal URI prefix, without a trailing slash. Apache / lighttpd: the directory
   * as the web server sees it, or `undefined` for "the file's own path".
   */
  readonly destination: string | undefined;
  readonly nginx: NginxOffloadOptions;
  /** Whether the URI or path is sent percent-encoded (nginx, lighttpd, Apache with `unescape`). */
  readonly encoded: boolean;
}

/** `false`: no offload. A list: these rules, in order. */
export type ResolvedOffloadRules = false | readonly ResolvedOffloadRule[];

/** Where a source's bytes live (what `Source.locate` answers). */
export interface OffloadLocation {
  path?: string;
  url?: string;
}

/** The rule that covers a file, and the file's place below the rule's source. */
export type OffloadMatch =
  | {
      readonly rule: ResolvedOffloadRule;
      readonly kind: 'file';
      /** The canonical directory the rule's source resolved to. */
      readonly directory: string;
      /** The file's path below it, as names (decoded, never `.`, `..` or empty). */
      readonly segments: readonly string[];
    }
  | {
      readonly rule: ResolvedOffloadRule;
      readonly kind: 'url';
      /** The URL's path below the prefix, still percent-encoded as the URL has it. */
      readonly path: string;
      /** The URL's query without `?`, or `''`. */
      readonly query: string;
    };

const RULE_KEYS = new Set(['backend', 'source', 'destination', 'options']);
const OPTION_KEYS: Record<OffloadBackend, Set<string>> = {
  nginx: new Set(['buffering', 'limitRate', 'expires', 'charset']),
  apache: new Set(['unescape']),
  lighttpd: new Set(),
};
/** RFC 9110 §5.6.2 token: what a charset name is made of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** An absolute URI path of printable ASCII, `%` only as an escape, no query or fragment. */
const URI_PATH = /^\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/;
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Checks a list of rules and compiles it; throws a `ConfigurationError` naming the rule and the
 * problem. Called at module load for a route's rules, and by `configureOffload`.
 *
 * Besides each rule's own fields, it refuses a rule that can never match because an earlier
 * one covers its whole source (`/media` before `/media/private`): first match wins, so the
 * narrower rule must come first, and a list in the wrong order fails here instead of silently
 * sending files through the wrong rule.
 */
export function resolveOffloadRules(rules: unknown, where: string): ResolvedOffloadRules {
  if (rules === false) return false;
  if (!Array.isArray(rules)) {
    throw new ConfigurationError(`${where}: offload must be a list of rules or false, got ${describe(rules)}`);
  }
  const resolved = rules.map((rule, index) => resolveRule(rule, index + 1, where));
  for (const [later, rule] of resolved.entries()) {
    for (const earlier of resolved.slice(0, later)) {
      if (covers(earlier.source, rule.source)) {
        throw new ConfigurationError(
          `${where}: offload rule ${rule.position} can never match: rule ${earlier.position} comes first and covers ` +
            `all of its source (${sourceText(rule.source)}); the first matching rule wins, so put the narrower rule first`,
        );
      }
    }
  }
  return Object.freeze(resolved);
}

function resolveRule(rule: unknown, position: number, where: string): ResolvedOffloadRule {
  const at = `${where}: offload rule ${position}`;
  if (Array.isArray(rule)) {
    throw new ConfigurationError(
      `${at} is a list; give an object { backend, source, destination, options } (fields by name, not by position)`,
    );
  }
  if (rule === null || typeof rule !== 'object') throw new ConfigurationError(`${at} must be an object, got ${describe(rule)}`);
  for (const key of Object.keys(rule)) {
    if (!RULE_KEYS.has(key)) {
      throw new ConfigurationError(`${at}: unknown field "${key}" (the fields are backend, source, destination, options)`);
    }
  }
  const { backend, source, destination, options = {} } = rule as Record<string, unknown>;
  if (backend !== 'nginx' && backend !== 'apache' && backend !== 'lighttpd') {
    throw new ConfigurationError(`${at}: backend must be 'nginx', 'apache' or 'lighttpd', got ${describe(backend)}`);
  }
  const resolvedSource = resolveSource(source, at);
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ConfigurationError(`${at}: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS[backend].has(key)) {
      const known = [...OPTION_KEYS[backend]].join(', ') || 'none';
      throw new ConfigurationError(`${at}: unknown ${backend} option "${key}" (known: ${known})`);
    }
  }

  if (backend === 'nginx') {
    if (typeof destination !== 'string' || !URI_PATH.test(destination)) {
      throw new ConfigurationError(
        `${at}: destination must be the URI of an nginx internal location, like '/_protected/', got ${describe(destination)}`,
      );
    }
    if (destination.split('/').some((segment) => segment === '.' || segment === '..')) {
      throw new ConfigurationError(`${at}: destination must not contain . or .. segments`);
    }
    return Object.freeze({
      position,
      backend,
      source: resolvedSource,
      destination: destination.replace(/\/+$/, ''),
      nginx: Object.freeze(resolveNginxOptions(options as NginxOffloadOptions, at)),
      encoded: true,
    });
  }

  if (resolvedSource.kind === 'url') {
    throw new ConfigurationError(`${at}: ${backend} sends files, not URLs; give a directory as source`);
  }
  if (destination !== undefined && (typeof destination !== 'string' || !path.isAbsolute(destination) || CONTROL.test(destination))) {
    throw new ConfigurationError(`${at}: destination must be an absolute directory path, got ${describe(destination)}`);
  }
  const { unescape = false } = options as ApacheOffloadOptions;
  if (typeof unescape !== 'boolean') throw new ConfigurationError(`${at}: unescape must be true or false`);
  return Object.freeze({
    position,
    backend,
    source: resolvedSource,
    destination: destination === undefined ? undefined : path.resolve(destination),
    nginx: {},
    encoded: backend === 'lighttpd' || unescape,
  });
}

function resolveSource(source: unknown, at: string): ResolvedOffloadRule['source'] {
  if (source instanceof URL || (typeof source === 'string' && /^https?:\/\//i.test(source))) {
    const url = new URL(source);
    if (url.search || url.hash || url.username || url.password) {
      throw new ConfigurationError(`${at}: a URL source is a prefix: no query, fragment or credentials`);
    }
    return Object.freeze({ kind: 'url', origin: url.origin, pathname: url.pathname.replace(/\/+$/, '') });
  }
  // A folder read from the environment (`process.env.MEDIA_ROOT!`, or a storage made from one) may
  // be undefined while `next build` loads the route: the rules are then checked at the first request.
  if (source === undefined) throw missingSetting(`${at}: source`, 'MEDIA_ROOT');
  const directory =
    typeof source === 'string' ? source : source !== null && typeof source === 'object' && 'root' in source ? source.root : undefined;
  if (typeof directory !== 'string' || directory === '' || CONTROL.test(directory)) {
    throw new ConfigurationError(
      `${at}: source must be a directory, a storage with a root, or an http(s) URL prefix, got ${describe(source)}`,
    );
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(directory)) {
    throw new ConfigurationError(`${at}: only http and https URL sources are supported, got ${directory}`);
  }
  return Object.freeze({ kind: 'directory', directory: path.resolve(directory) });
}

function resolveNginxOptions(options: NginxOffloadOptions, at: string): NginxOffloadOptions {
  const { buffering, limitRate, expires, charset } = options;
  if (buffering !== undefined && typeof buffering !== 'boolean') {
    throw new ConfigurationError(`${at}: buffering must be true or false, got ${describe(buffering)}`);
  }
  if (limitRate !== undefined && !(Number.isSafeInteger(limitRate) && limitRate >= 0)) {
    throw new ConfigurationError(`${at}: limitRate must be a whole number of bytes per second >= 0, got ${describe(limitRate)}`);
  }
  if (
    expires !== undefined &&
    expires !== 'off' &&
    !(typeof expires === 'number' && Number.isSafeInteger(expires) && expires >= 0) &&
    !(expires instanceof Date && !Number.isNaN(expires.getTime()) && expires.getTime() >= 0)
  ) {
    throw new ConfigurationError(`${at}: expires must be 'off', whole seconds >= 0 or a Date, got ${describe(expires)}`);
  }
  if (charset !== undefined && (typeof charset !== 'string' || !TOKEN.test(charset))) {
    throw new ConfigurationError(`${at}: charset must be a charset name like utf-8, got ${describe(charset)}`);
  }
  return { buffering, limitRate, expires, charset };
}

/** Whether every file `inner` covers is covered by `outer` too. */
function covers(outer: ResolvedOffloadRule['source'], inner: ResolvedOffloadRule['source']): boolean {
  if (outer.kind === 'directory' && inner.kind === 'directory') {
    const relative = path.relative(outer.directory, inner.directory);
    return relative === '' || !(relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative));
  }
  if (outer.kind === 'url' && inner.kind === 'url') {
    return outer.origin === inner.origin && (inner.pathname === outer.pathname || inner.pathname.startsWith(`${outer.pathname}/`));
  }
  return false;
}

function sourceText(source: ResolvedOffloadRule['source']): string {
  return source.kind === 'directory' ? source.directory : `${source.origin}${source.pathname}/`;
}

function describe(value: unknown): string {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : `Date(${value.toISOString()})`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  return value === null ? 'null' : typeof value === 'object' ? 'an object' : String(value);
}

/**
 * A file's names below `directory`, or `undefined` when it is not strictly inside it. Both are
 * absolute, canonical paths; the comparison is on whole segments (`/media` does not contain
 * `/media2/a.txt`), and the directory itself is not a file below it.
 */
export function pathBelow(directory: string, file: string): string[] | undefined {
  const relative = path.relative(directory, file);
  if (relative === '' || relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) return undefined;
  const segments = relative.split(path.sep);
  // path.relative never yields these for two absolute paths; refused anyway, never sent on.
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) return undefined;
  return segments;
}

/**
 * A URL's path and query below a prefix (origin + path, no trailing slash), or `undefined`.
 * Origins compare as the URL parser writes them (scheme and host lower-cased, default port
 * dropped); paths on whole segments and as encoded. A path with an encoded `/`, `\` or NUL is
 * never matched: the web server would decode it into something else.
 */
export function urlBelow(prefix: { origin: string; pathname: string }, url: string): { path: string; query: string } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.origin !== prefix.origin || !parsed.pathname.startsWith(`${prefix.pathname}/`)) return undefined;
  const rest = parsed.pathname.slice(prefix.pathname.length + 1);
  if (rest === '' || /%(?:2f|5c|00)/i.test(rest)) return undefined;
  const segments = rest.split('/');
  if (segments.some((segment) => segment === '' || /^(?:\.|%2e){1,2}$/i.test(segment))) return undefined;
  return { path: rest, query: parsed.search.slice(1) };
}

/** Canonical forms of rule directories, found once each (the directory may appear later). */
const canonical = new WeakMap<ResolvedOffloadRule, string>();

async function canonicalDirectory(rule: ResolvedOffloadRule & { source: { kind: 'directory' } }): Promise<string> {
  const known = canonical.get(rule);
  if (known !== undefined) return known;
  try {
    const found = await realpath(rule.source.directory);
    canonical.set(rule, found);
    return found;
  } catch {
    // Not there (yet): its files cannot be there either; compare with the path as given.
    return rule.source.directory;
  }
}

/**
 * The first rule that covers a located file, in list order. Directory rules look at the
 * location's canonical path (compared with the rule directory's canonical path, symlinks
 * resolved), URL rules at its URL.
 */
export async function matchOffloadRule(
  rules: readonly ResolvedOffloadRule[],
  location: OffloadLocation,
): Promise<OffloadMatch | undefined> {
  for (const rule of rules) {
    const { source } = rule;
    if (source.kind === 'directory') {
      if (location.path === undefined) continue;
      const directory = await canonicalDirectory(rule as ResolvedOffloadRule & { source: typeof source });
      const segments = pathBelow(directory, location.path);
      if (segments) return { rule, kind: 'file', directory, segments };
    } else {
      if (location.url === undefined) continue;
      const below = urlBelow(source, location.url);
      if (below) return { rule, kind: 'url', ...below };
    }
  }
  return undefined;
}
