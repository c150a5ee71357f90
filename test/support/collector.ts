import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';

// A trace collector for end-to-end suites: records the spans of OTLP/HTTP JSON posts.

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  kind: number;
  name: string;
  attributes: { key: string; value: { stringValue?: string } }[];
}

/** A string attribute of a span. */
export function spanTag(span: OtlpSpan, key: string): string | undefined {
  return span.attributes.find((a) => a.key === key)?.value.stringValue;
}

/**
 * A collector on `host` (the cluster bridge, where proxies in pods reach the host) that records
 * OTLP posts, or hangs when told to.
 */
export async function startCollector(t: Test, host: string) {
  const spans: OtlpSpan[] = [];
  let hang = false;
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (hang) {
        held.push(res);
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString()) as {
        resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
      };
      for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, host);
  await once(server, 'listening');
  const stop = () => {
    server.closeAllConnections();
    server.close();
  };
  t.teardown(stop);
  return {
    port: (server.address() as AddressInfo).port,
    spans,
    hangFromNowOn: () => (hang = true),
    stop,
  };
}
