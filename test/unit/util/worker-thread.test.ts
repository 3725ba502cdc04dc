import { describe, expect, it } from 'vitest';
import { workerExecArgv } from '../../../proxy/util/worker-thread.js';

describe('workerExecArgv', () => {
  it('drops what stops a file-based worker from starting (--input-type, -e/-p and their code) and keeps the rest', () => {
    expect(workerExecArgv(['--input-type=module', '-e', 'code()', '--enable-source-maps'])).toEqual(['--enable-source-maps']);
    expect(workerExecArgv(['--print', 'x', '--eval=y', '--max-old-space-size=512'])).toEqual(['--max-old-space-size=512']);
    expect(workerExecArgv([])).toEqual([]);
  });
});
