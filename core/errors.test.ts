import t from 'tap';
import { MeshError, errorCode } from './errors.js';

class ExampleError extends MeshError {
  readonly code = 'AMBIT_EXAMPLE';
}

t.test('errorCode reads the stable code of a MeshError and keeps its cause', async (t) => {
  const cause = new Error('underlying');
  const err = new ExampleError('something failed', { cause });
  t.equal(errorCode(err), 'AMBIT_EXAMPLE');
  t.equal(err.cause, cause);
  t.equal(err.name, 'ExampleError');
});

t.test('errorCode falls back to UNKNOWN for values without a code', async (t) => {
  t.equal(errorCode('boom'), 'UNKNOWN');
  t.equal(errorCode(Object.assign(new Error('x'), { code: 14 })), '14');
});
