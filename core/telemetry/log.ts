import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * Key names that must never reach a log line. pino replaces them wherever they appear
 * one or two levels deep in a logged object.
 */
const SECRET_PATHS = [
  'token',
  'authorization',
  'privateKey',
  'key',
  '*.token',
  '*.authorization',
  '*.privateKey',
  '*.key',
];

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Where lines go; defaults to stderr so stdout stays free for command output. */
  destination?: NodeJS.WritableStream;
}

/** One JSON logger per program; components take a child with `component` set. */
export function createLogger(component: string, options: LoggerOptions = {}): Logger {
  const level =
    options.level ?? (process.env.AMBIT_LOG_LEVEL as LevelWithSilent | undefined) ?? 'info';
  return pino(
    {
      level,
      base: { component },
      redact: { paths: SECRET_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ fd: 2, sync: false }),
  );
}

/** A logger that drops everything, for tests that assert on behaviour, not on logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
