import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import t from 'tap';
import { parseClientHello } from './sni.js';

/** The first bytes Node's TLS client sends (its ClientHello), captured by a plain server. */
async function clientHello(servername?: string): Promise<Buffer> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const received = new Promise<Buffer>((resolve) =>
    server.once('connection', (socket) =>
      socket.once('data', (chunk: Buffer) => {
        resolve(chunk);
        socket.destroy();
      }),
    ),
  );
  const client = tls.connect({
    host: '127.0.0.1',
    port,
    ...(servername === undefined ? {} : { servername }),
  });
  client.on('error', () => undefined);
  const hello = await received;
  client.destroy();
  server.close();
  return hello;
}

/** The same handshake bytes cut into records of at most `size` bytes each. */
function split(hello: Buffer, size: number): Buffer {
  const body = hello.subarray(5, 5 + hello.readUInt16BE(3));
  const records: Buffer[] = [];
  for (let at = 0; at < body.length; at += size) {
    const piece = body.subarray(at, at + size);
    const header = Buffer.from([0x16, 0x03, 0x01, 0, 0]);
    header.writeUInt16BE(piece.length, 3);
    records.push(header, piece);
  }
  return Buffer.concat(records);
}

t.test('the SNI of a real ClientHello is read, lower-cased', async (t) => {
  const hello = await clientHello('HTTPBIN.example.com');
  t.same(parseClientHello(hello), { kind: 'hello', serverName: 'httpbin.example.com' });
});

t.test('a ClientHello without SNI parses with no server name', async (t) => {
  t.same(parseClientHello(await clientHello()), { kind: 'hello' });
});

t.test('a ClientHello cut anywhere is incomplete until it is whole', async (t) => {
  const hello = await clientHello('a.example.com');
  for (const cut of [0, 3, 5, 9, 60, hello.length - 1])
    t.same(parseClientHello(hello.subarray(0, cut)), { kind: 'incomplete' }, `cut at ${cut}`);
});

t.test('a ClientHello spread over several records is put back together', async (t) => {
  const hello = await clientHello('a.example.com');
  t.same(parseClientHello(split(hello, 40)), { kind: 'hello', serverName: 'a.example.com' });
});

t.test('plain HTTP is not a ClientHello', async (t) => {
  t.match(parseClientHello(Buffer.from('GET / HTTP/1.1\r\nhost: x\r\n\r\n')), { kind: 'invalid' });
});
