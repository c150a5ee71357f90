import { watch } from 'node:fs';
import type { FSWatcher, Stats } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseResources } from '../../api/resources/index.js';
import type { ResourceError } from '../../api/resources/index.js';
import { errorCode } from '../errors.js';
import type { Logger } from '../telemetry/log.js';
import { Counter, Gauge } from '../telemetry/metrics.js';
import type { Registry } from '../telemetry/metrics.js';
import { diffViews, resolveView } from './serving-view.js';
import type { ParsedFile, ServedView } from './serving-view.js';
import type { ConfigEvent, ConfigListener, ConfigSource } from './source.js';

const CONFIG_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export interface DirectorySourceOptions {
  /** The directory to read, recursively. It may not exist yet. */
  directory: string;
  logger: Logger;
  registry: Registry;
  /**
   * Period of the full rescan that backs up file-system events (which can be lost, or not
   * work at all on some file systems). Must stay well under a second: changes are promised
   * within one.
   */
  rescanIntervalMs?: number;
  /** How long a burst of file events is gathered before the directory is read once. */
  debounceMs?: number;
}

interface FileState {
  /** Cheap fingerprint from stat; the text is read again only when it changes. */
  readonly signature: string;
  readonly text: string;
  readonly parsed: ParsedFile;
}

interface Listing {
  readonly files: Map<string, Stats>;
  /** Directories that could not be listed: what they held before is kept. */
  readonly unreadable: string[];
}

function signatureOf(st: Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

function isUnder(path: string, dir: string): boolean {
  return path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

/**
 * A watched directory of multi-document YAML and JSON files, Kubernetes and Istio kinds
 * mixed. Edits, new files, deletions and renames reach listeners within a second; an
 * invalid document is rejected alone (logged, counted) while its object's last good
 * version keeps serving. Hidden entries (names starting with '.') are skipped, which also
 * skips the `..data` indirection of a Kubernetes ConfigMap volume.
 */
export class DirectorySource implements ConfigSource {
  private readonly directory: string;
  private readonly logger: Logger;
  private readonly rescanIntervalMs: number;
  private readonly debounceMs: number;
  private readonly rejectedTotal: Counter<'kind'>;
  private readonly invalidDocuments: Gauge;
  private readonly readErrorsTotal: Counter;

  private readonly listeners = new Set<ConfigListener>();
  private files = new Map<string, FileState>();
  private served: ServedView = new Map();
  private rejectionsShown: string | undefined;
  private duplicatesSeen = new Set<string>();
  /** Paths that failed to read, with the error code, so each failure is counted once. */
  private failing = new Map<string, string>();

  private watcher: FSWatcher | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private scanAgain = false;
  private started = false;
  private stopped = false;

  constructor(options: DirectorySourceOptions) {
    this.directory = options.directory;
    this.logger = options.logger;
    this.rescanIntervalMs = options.rescanIntervalMs ?? 500;
    this.debounceMs = options.debounceMs ?? 50;
    this.rejectedTotal = new Counter({
      name: 'ambit_config_rejected_total',
      help: 'Config documents rejected (invalid or duplicate), by kind.',
      labelNames: ['kind'],
      registers: [options.registry],
    });
    this.invalidDocuments = new Gauge({
      name: 'ambit_config_invalid_documents',
      help: 'Config documents currently rejected.',
      registers: [options.registry],
    });
    this.readErrorsTotal = new Counter({
      name: 'ambit_config_read_errors_total',
      help: 'Config files or directories that could not be read.',
      registers: [options.registry],
    });
  }

  subscribe(listener: ConfigListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.runScan();
    this.rescanTimer = setInterval(() => void this.runScan(), this.rescanIntervalMs);
    this.rescanTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.rescanTimer);
    clearTimeout(this.debounceTimer);
    this.watcher?.close();
    this.watcher = undefined;
    await this.scanning;
  }

  /** Runs one scan now, or right after the one in progress. Never rejects. */
  private runScan(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.scanning !== undefined) {
      this.scanAgain = true;
      return this.scanning;
    }
    this.scanning = this.scan()
      .catch((err: unknown) => {
        this.logger.error({ err, 'error.code': errorCode(err) }, 'config directory scan failed');
      })
      .finally(() => {
        this.scanning = undefined;
        if (this.scanAgain && !this.stopped) {
          this.scanAgain = false;
          void this.runScan();
        }
      });
    return this.scanning;
  }

  /** A file event: gather the rest of the burst, then read the directory once. */
  private onFileEvent(): void {
    if (this.debounceTimer !== undefined || this.stopped) return;
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      void this.runScan();
    }, this.debounceMs);
  }

  private ensureWatcher(): void {
    if (this.watcher !== undefined || this.stopped) return;
    try {
      const watcher = watch(this.directory, { recursive: true }, () => this.onFileEvent());
      watcher.on('error', (err) => {
        this.logger.warn(
          { err, dir: this.directory, 'error.code': errorCode(err) },
          'config directory watch failed; periodic rescans continue',
        );
        watcher.close();
        if (this.watcher === watcher) this.watcher = undefined;
      });
      this.watcher = watcher;
    } catch (err) {
      // A directory that does not exist yet is found by the periodic rescan.
      this.logger.debug({ err, dir: this.directory }, 'config directory not watchable yet');
    }
  }

  private async scan(): Promise<void> {
    const listing: Listing = { files: new Map(), unreadable: [] };
    const readErrors = new Map<string, string>();
    await this.list(this.directory, listing, readErrors);

    const next = new Map<string, FileState>();
    const reparsed = new Set<string>();
    for (const [path, st] of listing.files) {
      const before = this.files.get(path);
      const signature = signatureOf(st);
      if (before?.signature === signature) {
        next.set(path, before);
        continue;
      }
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        readErrors.set(path, errorCode(err));
        if (before !== undefined) next.set(path, before);
        continue;
      }
      if (before?.text === text) {
        next.set(path, { ...before, signature });
        continue;
      }
      next.set(path, { signature, text, parsed: { path, ...parseResources(text, path) } });
      reparsed.add(path);
    }
    for (const dir of listing.unreadable) {
      for (const [path, state] of this.files) {
        if (isUnder(path, dir) && !next.has(path)) next.set(path, state);
      }
    }
    this.noteReadErrors(readErrors);
    if (this.stopped) return;

    const first = this.rejectionsShown === undefined;
    const resolved = resolveView(
      [...next.values()].map((f) => f.parsed),
      this.served,
    );
    const previous = this.served;
    this.files = next;
    this.served = resolved.served;

    for (const file of reparsed) {
      for (const error of next.get(file)?.parsed.errors ?? []) this.reject(error);
    }
    const duplicatesNow = new Set<string>();
    for (const error of resolved.duplicates) {
      duplicatesNow.add(error.message);
      if (!this.duplicatesSeen.has(error.message) || reparsed.has(error.file ?? '')) {
        this.reject(error);
      }
    }
    this.duplicatesSeen = duplicatesNow;
    this.invalidDocuments.set(resolved.rejected.length);

    if (first) {
      this.emit({
        type: 'replace',
        resources: [...resolved.served.values()].map((s) => s.resource),
      });
    } else {
      const { upserts, deletes } = diffViews(previous, resolved.served);
      if (upserts.length > 0 || deletes.length > 0) this.emit({ type: 'apply', upserts, deletes });
    }
    const shown = resolved.rejected.map((e) => e.message).join('\n');
    if (first || shown !== this.rejectionsShown) {
      this.rejectionsShown = shown;
      this.emit({ type: 'rejections', errors: resolved.rejected });
    }
    this.ensureWatcher();
  }

  private async list(dir: string, out: Listing, readErrors: Map<string, string>): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      readErrors.set(dir, errorCode(err));
      out.unreadable.push(dir);
      return;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      // Symlinked directories are not followed (no cycles); symlinked files are.
      if (entry.isDirectory()) {
        await this.list(path, out, readErrors);
        continue;
      }
      if (!CONFIG_EXTENSIONS.has(extname(entry.name).toLowerCase())) continue;
      if (!entry.isFile() && !entry.isSymbolicLink()) continue;
      try {
        const st = await stat(path);
        if (st.isFile()) out.files.set(path, st);
      } catch (err) {
        // Removed between listing and stat: simply gone. Anything else is a read error.
        if (errorCode(err) !== 'ENOENT') readErrors.set(path, errorCode(err));
      }
    }
  }

  private noteReadErrors(now: Map<string, string>): void {
    for (const [path, code] of now) {
      if (this.failing.get(path) === code) continue;
      this.readErrorsTotal.inc();
      this.logger.warn(
        { file: path, 'error.code': code },
        'config path unreadable; what it held before keeps serving',
      );
    }
    this.failing = now;
  }

  private reject(error: ResourceError): void {
    this.rejectedTotal.inc({ kind: error.kind ?? 'unknown' });
    this.logger.warn(
      {
        file: error.file,
        line: error.line,
        kind: error.kind,
        namespace: error.namespace,
        name: error.resourceName,
        path: error.path,
        reason: error.reason,
        'error.code': error.code,
      },
      `config document rejected: ${error.message}`,
    );
  }

  private emit(event: ConfigEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger.error(
          { err, 'error.code': errorCode(err) },
          'config listener failed on an event',
        );
      }
    }
  }
}
