import { request } from 'node:http';
import type { Logger } from '../log.js';
import { Counter, type Registry } from '../metrics.js';
import { SpanExportError } from './errors.js';
import { otlpBody } from './otlp.js';
import type { FinishedSpan, SpanSource } from './span.js';
import { zipkinBody } from './zipkin.js';

/** Where spans go: a collector's `host:port` (a DNS name or an IP) and its protocol. */
export interface CollectorTarget {
  readonly format: 'otlp' | 'zipkin';
  readonly host: string;
  readonly port: number;
  /** OTLP `/v1/traces`, Zipkin `/api/v2/spans` unless the provider says otherwise. */
  readonly path: string;
}

export const DEFAULT_PATHS = { otlp: '/v1/traces', zipkin: '/api/v2/spans' } as const;

export interface ExporterLimits {
  /** Spans held while waiting to be sent; beyond it new spans are dropped. */
  readonly maxQueue: number;
  /** Spans per POST. */
  readonly maxBatch: number;
  /** A partial batch goes out after this long. */
  readonly flushIntervalMs: number;
  /** A POST not answered by then counts as failed. */
  readonly timeoutMs: number;
  /** At most one log line per this interval about failing exports. */
  readonly logIntervalMs: number;
}

export const DEFAULT_EXPORTER_LIMITS: ExporterLimits = {
  maxQueue: 2048,
  maxBatch: 256,
  flushIntervalMs: 1000,
  timeoutMs: 5000,
  logIntervalMs: 30_000,
};

export type DropReason = 'queue_full' | 'export_failed';

/** The exporters' shared counters: one set per registry. */
export class ExportMetrics {
  readonly dropped: Counter<'reason'>;
  readonly exported: Counter<string>;

  constructor(registry: Registry) {
    this.dropped = new Counter({
      name: 'ambit_tracing_spans_dropped_total',
      help: 'Spans not delivered to a collector, by reason (queue_full, export_failed)',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.exported = new Counter({
      name: 'ambit_tracing_spans_exported_total',
      help: 'Spans a collector accepted',
      registers: [registry],
    });
  }
}

/**
 * Sends finished spans to one collector in batches, off the request path: `add` only queues.
 * One POST is in flight at a time; a collector that is down or slow makes the queue fill and
 * new spans drop (counted), never a request wait. A failed POST drops its batch (counted)
 * and is logged at most once per `logIntervalMs`.
 */
export class BatchSpanExporter {
  readonly #target: CollectorTarget;
  readonly #source: SpanSource;
  readonly #limits: ExporterLimits;
  readonly #metrics: ExportMetrics;
  readonly #logger: Logger;
  #queue: FinishedSpan[] = [];
  #inFlight: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastLogged = -Infinity;
  #closed = false;

  constructor(options: {
    target: CollectorTarget;
    source: SpanSource;
    metrics: ExportMetrics;
    logger: Logger;
    limits?: Partial<ExporterLimits>;
  }) {
    this.#target = options.target;
    this.#source = options.source;
    this.#metrics = options.metrics;
    this.#logger = options.logger;
    this.#limits = { ...DEFAULT_EXPORTER_LIMITS, ...options.limits };
  }

  get target(): CollectorTarget {
    return this.#target;
  }

  /** Spans waiting to be sent. */
  get queued(): number {
    return this.#queue.length;
  }

  add(span: FinishedSpan): void {
    if (this.#closed) return;
    if (this.#queue.length >= this.#limits.maxQueue) {
      this.#metrics.dropped.inc({ reason: 'queue_full' });
      return;
    }
    this.#queue.push(span);
    if (this.#queue.length >= this.#limits.maxBatch) this.#send();
    else this.#timer ??= setTimeout(this.#onTimer, this.#limits.flushIntervalMs).unref();
  }

  /** Sends what is queued and waits for the sends to finish (or fail). */
  async flush(): Promise<void> {
    while (this.#queue.length > 0 || this.#inFlight !== undefined) {
      if (this.#inFlight === undefined) this.#send();
      await this.#inFlight;
    }
  }

  /** Stops taking spans and sends what is queued; after a failure the rest is dropped. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#send();
  };

  #send(): void {
    if (this.#inFlight !== undefined || this.#queue.length === 0) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#queue.splice(0, this.#limits.maxBatch);
    this.#inFlight = this.#post(batch).then(
      () => this.#metrics.exported.inc(batch.length),
      (err: unknown) => this.#failed(batch.length, err),
    );
    void this.#inFlight.then(() => {
      this.#inFlight = undefined;
      if (this.#closed) return;
      // What queued during the POST goes now if a batch is full, else on the timer.
      if (this.#queue.length >= this.#limits.maxBatch) this.#send();
      else if (this.#queue.length > 0)
        this.#timer ??= setTimeout(this.#onTimer, this.#limits.flushIntervalMs).unref();
    });
  }

  #failed(count: number, err: unknown): void {
    // Closing, a collector that failed once gets no more tries: shutdown stays bounded by
    // one POST's timeout.
    const abandoned = this.#closed ? this.#queue.splice(0).length : 0;
    this.#metrics.dropped.inc({ reason: 'export_failed' }, count + abandoned);
    const now = performance.now();
    if (now - this.#lastLogged < this.#limits.logIntervalMs) return;
    this.#lastLogged = now;
    const { host, port, path } = this.#target;
    this.#logger.warn(
      { err, collector: `${host}:${port}${path}`, spans: count },
      'span export failed; dropping spans (logged at most once per interval)',
    );
  }

  #post(batch: readonly FinishedSpan[]): Promise<void> {
    const { format, host, port, path } = this.#target;
    const body =
      format === 'otlp' ? otlpBody(this.#source, batch) : zipkinBody(this.#source, batch);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host,
          port,
          path,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
          timeout: this.#limits.timeoutMs,
        },
        (res) => {
          res.resume();
          res.once('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve();
            else reject(new SpanExportError(`${host}:${port}${path}`, status));
          });
          res.once('error', reject);
        },
      );
      req.once('timeout', () =>
        req.destroy(new SpanExportError(`${host}:${port}${path}`, 'timeout')),
      );
      req.once('error', reject);
      req.end(body);
    });
  }
}
