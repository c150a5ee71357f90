/**
 * Trace context on the wire: W3C Trace Context (`traceparent`, `tracestate`) and Zipkin's B3
 * (`x-b3-*` headers and the single `b3` header), read from a request and written onto the
 * request sent on. Malformed values are ignored, as Envoy ignores them: the request then
 * starts a new trace rather than failing.
 */

/** Header values as Node's HTTP code holds them (lower-case names). */
export type HeaderValues = Readonly<Record<string, string | readonly string[] | undefined>>;

/** The span a request came from, as its headers name it. */
export interface ParentContext {
  /** 32 lower-case hex digits, not all zero. */
  readonly traceId: string;
  /** 16 lower-case hex digits, not all zero. */
  readonly spanId: string;
  /** W3C `tracestate`, passed on unchanged. */
  readonly tracestate?: string;
}

/** What the headers say: a parent span (if any) and a sampling decision (if one was made). */
export interface IncomingContext {
  readonly parent?: ParentContext;
  readonly sampled?: boolean;
}

/** The context a request carries on: the trace, this hop's span and its decision. */
export interface OutgoingContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly sampled: boolean;
  readonly tracestate?: string;
}

/** Every header this module reads or writes, so a proxy can replace them all at once. */
export const TRACE_HEADERS = [
  'traceparent',
  'tracestate',
  'b3',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
] as const;

const HEX = /^[0-9a-f]+$/;
const ZEROS = /^0+$/;

function single(headers: HeaderValues, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  // A repeated trace header is ambiguous; use the first, as Envoy does.
  return typeof value === 'string' ? value : value[0];
}

function isId(value: string, length: number): boolean {
  return value.length === length && HEX.test(value) && !ZEROS.test(value);
}

/** B3 trace ids may be 64-bit; W3C and OTLP need 128: pad on the left, as Zipkin does. */
function traceId128(value: string): string | undefined {
  const id = value.toLowerCase();
  if (isId(id, 32)) return id;
  if (isId(id, 16)) return `0000000000000000${id}`;
  return undefined;
}

/** `version-traceid-parentid-flags`, version 00 exactly; later versions may append fields. */
export function parseTraceparent(
  value: string,
): { parent: ParentContext; sampled: boolean } | undefined {
  const text = value.trim();
  const version = text.slice(0, 2);
  if (version.length !== 2 || !HEX.test(version) || version === 'ff') return undefined;
  if (
    version === '00'
      ? text.length !== 55
      : text.length < 55 || (text.length > 55 && text[55] !== '-')
  )
    return undefined;
  if (text[2] !== '-' || text[35] !== '-' || text[52] !== '-') return undefined;
  const traceId = text.slice(3, 35);
  const spanId = text.slice(36, 52);
  const flags = text.slice(53, 55);
  if (!isId(traceId, 32) || !isId(spanId, 16) || !HEX.test(flags)) return undefined;
  return { parent: { traceId, spanId }, sampled: (parseInt(flags, 16) & 1) === 1 };
}

function b3Sampled(value: string | undefined): boolean | undefined {
  switch (value?.toLowerCase()) {
    case '1':
    case 'true':
    case 'd':
      return true;
    case '0':
    case 'false':
      return false;
    default:
      return undefined;
  }
}

/** The single `b3` header: `traceid-spanid[-sampled[-parentspanid]]`, or a bare decision. */
export function parseB3Single(value: string): IncomingContext | undefined {
  const parts = value.trim().split('-');
  if (parts.length === 1) {
    const sampled = b3Sampled(parts[0]);
    return sampled === undefined ? undefined : { sampled };
  }
  if (parts.length > 4) return undefined;
  const [trace = '', span = '', decision, parentSpan] = parts;
  const traceId = traceId128(trace);
  const spanId = span.toLowerCase();
  if (traceId === undefined || !isId(spanId, 16)) return undefined;
  if (parentSpan !== undefined && !isId(parentSpan.toLowerCase(), 16)) return undefined;
  const sampled = decision === undefined ? undefined : b3Sampled(decision);
  if (decision !== undefined && sampled === undefined) return undefined;
  return { parent: { traceId, spanId }, ...(sampled === undefined ? {} : { sampled }) };
}

/** The `x-b3-*` headers; an id pair that does not parse is ignored, a decision is kept. */
function parseB3Multi(headers: HeaderValues): IncomingContext | undefined {
  const debug = single(headers, 'x-b3-flags') === '1';
  const sampled = debug ? true : b3Sampled(single(headers, 'x-b3-sampled'));
  const trace = single(headers, 'x-b3-traceid');
  const span = single(headers, 'x-b3-spanid')?.toLowerCase();
  const traceId = trace === undefined ? undefined : traceId128(trace);
  const parent =
    traceId !== undefined && span !== undefined && isId(span, 16)
      ? { traceId, spanId: span }
      : undefined;
  if (parent === undefined && sampled === undefined) return undefined;
  return {
    ...(parent === undefined ? {} : { parent }),
    ...(sampled === undefined ? {} : { sampled }),
  };
}

/**
 * Reads a request's trace context: `traceparent` first (with its `tracestate`), then `b3`,
 * then the `x-b3-*` headers. Undefined when none is present and valid.
 */
export function readTraceContext(headers: HeaderValues): IncomingContext | undefined {
  const traceparent = single(headers, 'traceparent');
  if (traceparent !== undefined) {
    const w3c = parseTraceparent(traceparent);
    if (w3c !== undefined) {
      const tracestate = single(headers, 'tracestate');
      return {
        parent: tracestate === undefined ? w3c.parent : { ...w3c.parent, tracestate },
        sampled: w3c.sampled,
      };
    }
  }
  const b3 = single(headers, 'b3');
  const fromSingle = b3 === undefined ? undefined : parseB3Single(b3);
  return fromSingle ?? parseB3Multi(headers);
}

/** Writes the context in both formats, replacing whatever trace headers the request had. */
export function writeTraceContext(
  headers: Record<string, string | string[] | undefined>,
  context: OutgoingContext,
): void {
  for (const name of TRACE_HEADERS) delete headers[name];
  const { traceId, spanId, parentSpanId, sampled } = context;
  const flag = sampled ? '1' : '0';
  headers.traceparent = `00-${traceId}-${spanId}-0${flag}`;
  if (context.tracestate !== undefined) headers.tracestate = context.tracestate;
  headers['x-b3-traceid'] = traceId;
  headers['x-b3-spanid'] = spanId;
  if (parentSpanId !== undefined) headers['x-b3-parentspanid'] = parentSpanId;
  headers['x-b3-sampled'] = flag;
  headers.b3 =
    parentSpanId === undefined
      ? `${traceId}-${spanId}-${flag}`
      : `${traceId}-${spanId}-${flag}-${parentSpanId}`;
}
