import { describe, expect, it } from 'vitest';
import { archiveKeyProblems } from '../../../proxy/config/archive-key-rules.js';

describe('archiveKeyProblems', () => {
  it('accepts keys with >= 8 chars, upper, lower and a digit or symbol', () => {
    expect(archiveKeyProblems('Abcdefg1')).toEqual([]);
    expect(archiveKeyProblems('Abcdefg!')).toEqual([]);
  });
  it('names each rule a key breaks', () => {
    expect(archiveKeyProblems('Ab1')).toContain('shorter than 8 characters');
    expect(archiveKeyProblems('abcdefg1')).toContain('no upper-case letter');
    expect(archiveKeyProblems('ABCDEFG1')).toContain('no lower-case letter');
    expect(archiveKeyProblems('Abcdefgh')).toContain('no digit or symbol');
  });
});
