import type { Logger } from '../log.js';
import type { Registry } from '../metrics.js';
import { readTraceContext, type HeaderValues, type OutgoingContext } from './context.js';
import {
  BatchSpanExporter,
  ExportMetrics,
  type CollectorTarget,
  type ExporterLimits,
} from './exporter.js';
import { newSpanId, newTraceId } from './ids.js';
import { decideSampled } from './sampling.js';
import type { FinishedSpan, SpanSource } from './span.js';

/** This hop's span while its request is under way. */
export interface ActiveSpan extends OutgoingContext {
  /** Wall clock at the start, ms since the epoch. */
  readonly startMs: number;
}

/**
 * A proxy's tracer: starts a child span of whatever context a request carries (W3C or B3),
 * decides sampling, and hands finished sampled spans to one batching exporter per collector.
 * Exporters live as long as config names their collector (`retain`).
 */
export class Tracer {
  readonly #source: SpanSource;
  readonly #logger: Logger;
  readonly #metrics: ExportMetrics;
  readonly #limits: Partial<ExporterLimits>;
  readonly #random: () => number;
  readonly #exporters = new Map<string, BatchSpanExporter>();

  constructor(options: {
    source: SpanSource;
    registry: Registry;
    logger: Logger;
    limits?: Partial<ExporterLimits>;
    random?: () => number;
  }) {
    this.#source = options.source;
    this.#logger = options.logger;
    this.#metrics = new ExportMetrics(options.registry);
    this.#limits = options.limits ?? {};
    this.#random = options.random ?? Math.random;
  }

  /**
   * Starts the span of a request with these headers: a child of the incoming span (same
   * trace), or the root of a new trace. An incoming sampling decision is kept; otherwise
   * `samplingPercent` of requests are sampled.
   */
  start(headers: HeaderValues, samplingPercent: number): ActiveSpan {
    const incoming = readTraceContext(headers);
    const parent = incoming?.parent;
    const sampled = decideSampled(incoming?.sampled, samplingPercent, this.#random);
    return {
      traceId: parent?.traceId ?? newTraceId(),
      spanId: newSpanId(),
      ...(parent === undefined ? {} : { parentSpanId: parent.spanId }),
      ...(parent?.tracestate === undefined ? {} : { tracestate: parent.tracestate }),
      sampled,
      startMs: Date.now(),
    };
  }

  /** Queues a finished span for its collector; never waits. */
  report(collector: CollectorTarget, span: FinishedSpan): void {
    this.#exporter(collector).add(span);
  }

  /** Closes the exporters of collectors config no longer names (their queues are sent). */
  retain(collectors: readonly CollectorTarget[]): void {
    const keep = new Set(collectors.map(targetKey));
    for (const [key, exporter] of this.#exporters) {
      if (keep.has(key)) continue;
      this.#exporters.delete(key);
      void exporter.close();
    }
  }

  async close(): Promise<void> {
    const exporters = [...this.#exporters.values()];
    this.#exporters.clear();
    await Promise.all(exporters.map((e) => e.close()));
  }

  #exporter(collector: CollectorTarget): BatchSpanExporter {
    const key = targetKey(collector);
    let exporter = this.#exporters.get(key);
    if (exporter === undefined) {
      exporter = new BatchSpanExporter({
        target: collector,
        source: this.#source,
        metrics: this.#metrics,
        logger: this.#logger,
        limits: this.#limits,
      });
      this.#exporters.set(key, exporter);
    }
    return exporter;
  }
}

function targetKey(target: CollectorTarget): string {
  return `${target.format}|${target.host}|${target.port}|${target.path}`;
}
