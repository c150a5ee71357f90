import type { ClusterSet } from './clusters.js';
import type { CompileContext } from './context.js';
import type { MatchContext } from './vs-match.js';

/** What translating the routes of one service on one port needs. */
export interface RouteContext {
  readonly compile: CompileContext;
  readonly clusters: ClusterSet;
  readonly match: MatchContext;
}
