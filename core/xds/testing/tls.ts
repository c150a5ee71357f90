import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

// A throwaway CA and a server certificate made with the real `openssl`, for tests that run
// the xDS client and server over real TLS. Not used outside tests.

const run = promisify(execFile);

export interface TlsFixture {
  /** PEM of the CA that signed the server certificate. */
  readonly ca: Buffer;
  /** PEM of the server certificate, valid for `servername` and 127.0.0.1. */
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly servername: string;
  /** Removes the temporary directory the files were made in. */
  remove(): Promise<void>;
}

export async function createTlsFixture(servername = 'xds.ambit.test'): Promise<TlsFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'ambit-xds-tls-'));
  const path = (name: string): string => join(dir, name);
  // Every argument is a single word, so each command is written as one line; files are
  // relative to the temporary directory.
  const openssl = (command: string) => run('openssl', command.split(' '), { cwd: dir });
  const ec = '-algorithm EC -pkeyopt ec_paramgen_curve:P-256';
  try {
    await openssl(`genpkey ${ec} -out ca.key`);
    await openssl(
      'req -x509 -new -key ca.key -subj /CN=ambit-test-ca -days 1 -out ca.pem' +
        ' -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign',
    );
    await openssl(`genpkey ${ec} -out server.key`);
    await openssl(`req -new -key server.key -subj /CN=${servername} -out server.csr`);
    await writeFile(
      path('server.ext'),
      [
        `subjectAltName=DNS:${servername},IP:127.0.0.1`,
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
      ].join('\n'),
    );
    await openssl(
      'x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1' +
        ' -extfile server.ext -out server.pem',
    );
    return {
      ca: await readFile(path('ca.pem')),
      cert: await readFile(path('server.pem')),
      key: await readFile(path('server.key')),
      servername,
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
