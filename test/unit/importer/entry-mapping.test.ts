import { describe, expect, it } from 'vitest';
import { collectionForEntry, contentTypeFor, entryKind, invalidCollectionReason } from '../../../proxy/importer/entry-mapping.js';

describe('collectionForEntry', () => {
  it('maps <folder>/<name>.json to <folder>.<name> for the known folders', () => {
    expect(collectionForEntry('history/messages.json')).toBe('history.messages');
    expect(collectionForEntry('lc-data-server/conversations.json')).toBe('lc-data-server.conversations');
    expect(collectionForEntry('file-management/files.json')).toBe('file-management.files');
    expect(collectionForEntry('dynamic-phonebook/contacts.json')).toBe('dynamic-phonebook.contacts');
  });

  it('maps deeper paths and unknown folders by the same rule', () => {
    expect(collectionForEntry('a/b/c.json')).toBe('a.b.c');
    expect(collectionForEntry('unknown-folder/things.json')).toBe('unknown-folder.things');
    expect(collectionForEntry('top.json')).toBe('top');
    expect(collectionForEntry('x/Y.JSON')).toBe('x.Y');
  });

  it('returns undefined for the manifest, binaries, data-retention and directories', () => {
    expect(collectionForEntry('manifest.json')).toBeUndefined();
    expect(collectionForEntry('data-retention/2024/recording.json')).toBeUndefined();
    expect(collectionForEntry('data-retention/a.mp3')).toBeUndefined();
    expect(collectionForEntry('history/attachment.pdf')).toBeUndefined();
    expect(collectionForEntry('history/')).toBeUndefined();
    expect(collectionForEntry('.json')).toBeUndefined();
  });

  it('keeps a nested manifest.json as a record file (only the top-level one is special)', () => {
    expect(entryKind('manifest.json')).toBe('manifest');
    expect(collectionForEntry('history/manifest.json')).toBe('history.manifest');
  });
});

describe('invalidCollectionReason', () => {
  it('refuses names MongoDB refuses or that collide with the media bucket', () => {
    expect(invalidCollectionReason('history.messages')).toBeUndefined();
    expect(invalidCollectionReason('a$b')).toBeDefined();
    expect(invalidCollectionReason('a..b')).toBeDefined();
    expect(invalidCollectionReason('system.users')).toBeDefined();
    expect(invalidCollectionReason('media.files')).toBeDefined();
  });
});

describe('contentTypeFor', () => {
  it('guesses from the extension, case-insensitively, else octet-stream', () => {
    expect(contentTypeFor('data-retention/x/photo.JPG')).toBe('image/jpeg');
    expect(contentTypeFor('a/b.mp3')).toBe('audio/mpeg');
    expect(contentTypeFor('a/b.m4a')).toBe('audio/mp4');
    expect(contentTypeFor('a/b.csv')).toBe('text/csv');
    expect(contentTypeFor('a/b.bin')).toBe('application/octet-stream');
    expect(contentTypeFor('a/.hidden')).toBe('application/octet-stream');
    expect(contentTypeFor('a/noext')).toBe('application/octet-stream');
  });
});
