import { PassThrough } from 'node:stream';
import t from 'tap';
import { classify, detectProtocol } from './sniff.js';

t.test('the HTTP/2 preface is HTTP/2, and a part of it is not yet anything', async (t) => {
  const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  t.equal(classify(preface), 'http2');
  t.equal(classify(Buffer.concat([preface, Buffer.from([0, 0, 18, 4])])), 'http2');
  t.equal(classify(preface.subarray(0, 10)), undefined);
});

t.test('an HTTP/1.x request line is HTTP/1.1', async (t) => {
  t.equal(classify(Buffer.from('GET /path?q=1 HTTP/1.1\r\nhost: x\r\n')), 'http1');
  t.equal(classify(Buffer.from('DELETE * HTTP/1.0\n')), 'http1');
  t.equal(classify(Buffer.from('GET /pa')), undefined, 'an unfinished line waits');
  t.equal(classify(Buffer.from('POST')), undefined);
});

t.test('anything else is TCP as soon as it cannot be HTTP', async (t) => {
  t.equal(classify(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])), 'tcp', 'a TLS ClientHello');
  t.equal(classify(Buffer.from('hello world\n')), 'tcp');
  t.equal(classify(Buffer.from('GET / HTTP/2.0\r\n')), 'tcp');
  t.equal(classify(Buffer.from('SSH-2.0-OpenSSH_9.6\r\n')), 'tcp');
  t.equal(classify(Buffer.from('x'.repeat(16 * 1024))), 'tcp', 'no request line within 16 KiB');
});

t.test('detection puts every byte back for whoever reads next', async (t) => {
  const stream = new PassThrough();
  const detected = detectProtocol(stream);
  stream.write('GET / HT');
  stream.write('TP/1.1\r\nhost: a\r\n\r\n');
  t.same(await detected, { protocol: 'http1' });
  t.equal(String(stream.read()), 'GET / HTTP/1.1\r\nhost: a\r\n\r\n');
});

t.test('a client that half-closes before deciding is TCP with its bytes kept aside', async (t) => {
  const stream = new PassThrough();
  const detected = detectProtocol(stream);
  stream.end('GET');
  const result = await detected;
  t.equal(result.protocol, 'tcp');
  t.equal(String(result.ended), 'GET');
});
