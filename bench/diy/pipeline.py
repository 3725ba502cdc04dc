#!/usr/bin/env python3
"""The do-it-yourself peer of `npm run bench` (group `diy`): what a customer's DBA writes instead of the proxy.

    pipeline.py full   --work DIR --sftp-port N --sftp-user U --sftp-key KEY --archive-key K --uri URI --db DB --report-url URL
    pipeline.py import --dir EXTRACTED --uri URI --db DB

`full`: `sftp get` (OpenSSH client) of the day's archive and its `.sha256` sidecar, `sha256sum -c`, `7z x -p...`,
the import below, then one POST to the vendor. `import`: only the import of an extracted archive: every record file
`<folder>/<name>.json` (Extended JSON lines or one array) into collection `<folder>.<name>` with `bson.json_util`,
unordered `insert_many` in batches of 1000 with majority write concern; every other file (the binaries) into the GridFS
bucket `media` under its path; then every record and file checked present once (counts against what was read, in a
fresh database). Prints one JSON line with the timings of each step. Needs pymongo (scripts/bench-setup.sh).
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import time
import urllib.request

from bson import json_util
from gridfs import GridFSBucket
from pymongo import MongoClient
from pymongo.write_concern import WriteConcern

BATCH = 1000
WTIMEOUT_MS = 60_000


def collection_of(rel):
    return rel[: -len('.json')].replace('/', '.')


def read_records(path):
    with open(path, 'r', encoding='utf-8') as f:
        head = f.read(1)
        while head.isspace():
            head = f.read(1)
        f.seek(0)
        if head == '[':  # one array: a DBA loads it whole
            for doc in json_util.loads(f.read()):
                yield doc
            return
        for line in f:
            if line.strip():
                yield json_util.loads(line)


def import_dir(root, uri, db_name):
    client = MongoClient(uri)
    db = client.get_database(db_name, write_concern=WriteConcern('majority', wtimeout=WTIMEOUT_MS))
    expected = {}
    binaries = 0
    media_bytes = 0
    started = time.perf_counter()
    bucket = GridFSBucket(db, bucket_name='media', chunk_size_bytes=255 * 1024)
    for dirpath, _dirs, files in os.walk(root):
        for name in sorted(files):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, '/')
            if rel == 'manifest.json':
                continue
            if rel.endswith('.json') and '/' in rel and not rel.startswith('data-retention/'):
                coll = db[collection_of(rel)]
                n = 0
                batch = []
                for doc in read_records(full):
                    batch.append(doc)
                    if len(batch) == BATCH:
                        coll.insert_many(batch, ordered=False)
                        n += len(batch)
                        batch = []
                if batch:
                    coll.insert_many(batch, ordered=False)
                    n += len(batch)
                expected[coll.name] = expected.get(coll.name, 0) + n
            else:
                with open(full, 'rb') as f:
                    bucket.upload_from_stream_with_id(rel, rel, f)
                binaries += 1
                media_bytes += os.path.getsize(full)
    imported = time.perf_counter()
    # Every record and file present once: a fresh database, so the counts must equal what was read (the unique _id
    # index makes a record present at most once).
    for coll, n in expected.items():
        got = db[coll].count_documents({})
        if got != n:
            raise SystemExit(f'check failed: {coll} has {got} documents, {n} were read')
    got_files = db['media.files'].count_documents({})
    if got_files != binaries:
        raise SystemExit(f'check failed: media.files has {got_files} files, {binaries} were read')
    checked = time.perf_counter()
    client.close()
    return {
        'records': sum(expected.values()), 'collections': expected, 'files': binaries, 'mediaBytes': media_bytes,
        'importSeconds': imported - started, 'checkSeconds': checked - imported,
    }


def run(cmd, **kw):
    subprocess.run(cmd, check=True, **kw)


def full(a):
    t0 = time.perf_counter()
    os.makedirs(a.work, exist_ok=True)
    batch = os.path.join(a.work, 'sftp-batch')
    with open(batch, 'w') as f:
        f.write(f'lcd {a.work}\nget backup_*.zip\nget backup_*.zip.sha256\n')
    run(['sftp', '-q', '-b', batch, '-i', a.sftp_key, '-P', str(a.sftp_port), '-o', 'StrictHostKeyChecking=no',
         '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', f'{a.sftp_user}@127.0.0.1'],
        stdout=subprocess.DEVNULL)
    t1 = time.perf_counter()
    sidecars = glob.glob(os.path.join(a.work, 'backup_*.zip.sha256'))
    if len(sidecars) != 1:
        raise SystemExit(f'expected one archive with its sidecar, found {sidecars}')
    run(['sha256sum', '--quiet', '-c', os.path.basename(sidecars[0])], cwd=a.work)
    t2 = time.perf_counter()
    archive = sidecars[0][: -len('.sha256')]
    out = os.path.join(a.work, 'x')
    run(['7z', 'x', '-y', '-bso0', '-bsp0', f'-p{a.archive_key}', f'-o{out}', archive])
    t3 = time.perf_counter()
    stats = import_dir(out, a.uri, a.db)
    t4 = time.perf_counter()
    body = json.dumps({'fileName': os.path.basename(archive), 'status': 'downloaded'}).encode()
    req = urllib.request.Request(a.report_url, data=body, headers={'content-type': 'application/json'}, method='POST')
    with urllib.request.urlopen(req, timeout=30) as res:
        res.read()
    t5 = time.perf_counter()
    stats.update({'downloadSeconds': t1 - t0, 'verifySeconds': t2 - t1, 'extractSeconds': t3 - t2,
                  'importAndCheckSeconds': t4 - t3, 'reportSeconds': t5 - t4, 'seconds': t5 - t0,
                  'archiveBytes': os.path.getsize(archive)})
    return stats


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = p.add_subparsers(dest='mode', required=True)
    f = sub.add_parser('full')
    f.add_argument('--work', required=True)
    f.add_argument('--sftp-port', type=int, required=True)
    f.add_argument('--sftp-user', required=True)
    f.add_argument('--sftp-key', required=True)
    f.add_argument('--archive-key', required=True)
    f.add_argument('--report-url', required=True)
    i = sub.add_parser('import')
    i.add_argument('--dir', required=True)
    for s in (f, i):
        s.add_argument('--uri', required=True)
        s.add_argument('--db', required=True)
    a = p.parse_args()
    if a.mode == 'full':
        stats = full(a)
    else:
        t0 = time.perf_counter()
        stats = import_dir(a.dir, a.uri, a.db)
        stats['seconds'] = time.perf_counter() - t0
    sys.stdout.write(json.dumps(stats) + '\n')


if __name__ == '__main__':
    main()
