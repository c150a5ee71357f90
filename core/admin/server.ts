import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { MeshError } from '../errors.js';
import type { Registry } from '../telemetry/metrics.js';

export type AdminHandler = (
  req: IncomingMessage,
  url: URL,
) => Promise<AdminResponse> | AdminResponse;

export interface AdminResponse {
  status: number;
  contentType?: string;
  body: string;
}

export class AdminBindError extends MeshError {
  readonly code = 'AMBIT_ADMIN_BIND';
  constructor(readonly host: string) {
    super(`admin endpoint must listen on a loopback address, not ${host}`);
  }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export interface AdminServerOptions {
  host: string;
  port: number;
  routes: Record<string, AdminHandler>;
  /** Serve `/metrics` and `/stats/prometheus` from this registry. */
  registry?: Registry;
  /** Allow a non-loopback address (the metrics port of a pod, scraped by Prometheus). */
  allowRemote?: boolean;
}

/**
 * The small HTTP server behind admin, readiness and metrics ports. Admin endpoints stay on
 * loopback unless a caller opts in for a scrape-only port (DESIGN.md §1 ports).
 */
export class AdminServer {
  readonly #server: Server;
  readonly #options: AdminServerOptions;

  constructor(options: AdminServerOptions) {
    if (!options.allowRemote && !LOOPBACK.test(options.host))
      throw new AdminBindError(options.host);
    this.#options = options;
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  async listen(): Promise<AddressInfo> {
    this.#server.listen(this.#options.port, this.#options.host);
    await once(this.#server, 'listening');
    return this.#server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    try {
      const response = await this.#route(req, url);
      res.writeHead(response.status, {
        'content-type': response.contentType ?? 'text/plain; charset=utf-8',
      });
      res.end(response.body);
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${(err as Error).message}\n`);
    }
  }

  async #route(req: IncomingMessage, url: URL): Promise<AdminResponse> {
    const registry = this.#options.registry;
    if (registry && (url.pathname === '/metrics' || url.pathname === '/stats/prometheus')) {
      return { status: 200, contentType: registry.contentType, body: await registry.metrics() };
    }
    const handler = this.#options.routes[url.pathname];
    if (!handler) return { status: 404, body: `no admin endpoint ${url.pathname}\n` };
    return handler(req, url);
  }
}

/** A JSON admin response. */
export function json(value: unknown, status = 200): AdminResponse {
  return { status, contentType: 'application/json', body: `${JSON.stringify(value, null, 2)}\n` };
}
