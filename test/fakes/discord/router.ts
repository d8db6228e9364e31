// A tiny route table: method + path regex + whether the route needs `Authorization: Bot <token>`.
import type { ParsedBody, RouteResult } from './http.js';
import type { World } from './world.js';

export interface RouteContext {
  world: World;
  /** Regex captures from the decoded path. */
  params: string[];
  query: URLSearchParams;
  body: ParsedBody;
  headers: Record<string, string>;
}

export interface Route {
  method: string;
  pattern: RegExp;
  /** 'bot' routes need the bot token; interaction callbacks and webhooks carry none. */
  auth: 'bot' | 'none';
  handle: (ctx: RouteContext) => RouteResult | Promise<RouteResult>;
}

export function route(method: string, pattern: RegExp, auth: Route['auth'], handle: Route['handle']): Route {
  return { method, pattern, auth, handle };
}

export type RouteMatch =
  { kind: 'found'; route: Route; params: string[] } | { kind: 'wrong-method' } | { kind: 'none' };

export function matchRoute(routes: Route[], method: string, path: string): RouteMatch {
  let pathMatched = false;
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (m === null) continue;
    if (r.method !== method) {
      pathMatched = true;
      continue;
    }
    return { kind: 'found', route: r, params: m.slice(1).map((p) => p ?? '') };
  }
  return pathMatched ? { kind: 'wrong-method' } : { kind: 'none' };
}
