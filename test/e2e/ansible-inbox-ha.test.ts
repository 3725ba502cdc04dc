import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ansibleTools, run } from '../helpers/ansible.js';

const ANSIBLE_DIR = fileURLToPath(new URL('../../ansible/', import.meta.url));
const env = { ANSIBLE_CONFIG: join(ANSIBLE_DIR, 'ansible.cfg'), ANSIBLE_ROLES_PATH: join(ANSIBLE_DIR, 'roles'), ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0', PY_COLORS: '0' };

interface Task { name?: string; run_once?: boolean; delegate_to?: string; no_log?: boolean; [module: string]: unknown }
interface Peer { host: string; port: number; hostKeyFingerprint: string }

/**
 * The sftp_inbox role's HA wiring, for two data nodes: each node's proxy gets the OTHER node as its sftp.peers entry
 * (address and host key read on that node), the collector key's from= lists both nodes and loopback, and a run
 * limited to the second node still reads the key pair made on the group's first host. The key tasks
 * (tasks/keys.yml) run for real with two inventory hosts on the local connection, writing only into a temporary
 * directory; the full role is applied to a Debian root in ansible-inbox.test.ts.
 */
describe('ansible: the sftp_inbox role in the HA layout (two data nodes)', () => {
  const tools = ansibleTools();
  let work: string;
  let localFingerprint: string;
  let secondFingerprint: string;

  const apply = async (limit?: string): Promise<Map<string, { sftp: { peers: Peer[]; hostKeyFingerprint: string }; collectorKey: string }>> => {
    const res = await run(tools.playbook, ['-i', join(work, 'inventory.yml'), join(work, 'play.yml'), ...(limit ? ['--limit', limit] : [])], { cwd: ANSIBLE_DIR, env, timeoutMs: 120_000 });
    expect(res.code, res.out.slice(-4000)).toBe(0);
    const out = new Map<string, { sftp: { peers: Peer[]; hostKeyFingerprint: string }; collectorKey: string }>();
    for (const name of await readdir(work)) {
      const m = /^result-(.+)\.json$/.exec(name);
      if (m) {
        out.set(m[1] ?? '', JSON.parse(await readFile(join(work, name), 'utf8')) as never);
        await rm(join(work, name));
      }
    }
    return out;
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'rp-ansible-inbox-ha-'));
    const fp = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', '/etc/ssh/ssh_host_ed25519_key.pub']);
    expect(fp.code, fp.out).toBe(0);
    localFingerprint = fp.out.split(' ')[1] ?? '';
    // Both "nodes" are this machine (local connection): the first reads this machine's host key, the second one of
    // its own (rp_inbox_host_key_file), as two real servers have; equal ones (cloned VMs) fail the play.
    const made = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, 'host2_ed25519')]);
    expect(made.code, made.out).toBe(0);
    const fp2 = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(work, 'host2_ed25519.pub')]);
    secondFingerprint = fp2.out.split(' ')[1] ?? '';
    expect(secondFingerprint).toMatch(/^SHA256:/);
    expect(secondFingerprint).not.toBe(localFingerprint);
    await writeFile(join(work, 'inventory.yml'), `all:
  children:
    retention_proxy:
      hosts:
        retention1: { ansible_host: 192.0.2.11 }
        retention2: { ansible_host: 192.0.2.12, rp_inbox_host_key_file: ${join(work, 'host2_ed25519.pub')} }
  vars:
    ansible_connection: local
    ansible_python_interpreter: ${join(tools.playbook, '..', 'python3')}
`);
    await writeFile(join(work, 'play.yml'), `- name: The inbox keys and settings of two data nodes
  hosts: retention_proxy
  gather_facts: false
  become: false
  vars:
    rp_inbox_enabled: true
    rp_inbox_vendor_pubkey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHLqudCutVdg46MyPW3lubcPKL2ofLTB922GRldQqjuX vendor
    keepalived_enabled: true
    keepalived_vip: 192.0.2.20/24
    rp_inbox_collector_key_dir: ${join(work, 'collector')}
    rp_inbox_authorized_keys_dir: ${join(work, 'keys')}
  tasks:
    - name: Keys, fingerprints and the proxy's settings
      ansible.builtin.include_role: { name: sftp_inbox, tasks_from: keys.yml }
    - name: Write them down (local connection, a file per node)
      ansible.builtin.copy:
        content: "{{ {'sftp': rp_inbox_proxy_sftp, 'collectorKey': rp_inbox_collector_public_key} | to_json }}"
        dest: ${join(work, 'result-')}{{ inventory_hostname }}.json
        mode: "0600"
`);
  });

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("each node's proxy collects from its own inbox and from the other node's, each pinned to the host key read on that node", async () => {
    const res = await apply();
    expect([...res.keys()].sort()).toEqual(['retention1', 'retention2']);
    expect(res.get('retention1')?.sftp).toMatchObject({ host: '127.0.0.1', port: 22, username: 'rp-collect', remoteDir: '/upload', hostKeyFingerprint: localFingerprint, deleteAfterDownloaded: true });
    expect(res.get('retention2')?.sftp).toMatchObject({ host: '127.0.0.1', hostKeyFingerprint: secondFingerprint });
    expect(res.get('retention1')?.sftp.peers).toEqual([{ host: '192.0.2.12', port: 22, hostKeyFingerprint: secondFingerprint }]);
    expect(res.get('retention2')?.sftp.peers).toEqual([{ host: '192.0.2.11', port: 22, hostKeyFingerprint: localFingerprint }]);
    // One key pair for the group, authorised from the two nodes, the VIP the leader holds and loopback only.
    expect(res.get('retention1')?.collectorKey).toBe(res.get('retention2')?.collectorKey);
    expect(await readFile(join(work, 'keys/rp-collect'), 'utf8')).toBe(`restrict,from="127.0.0.1,::1,192.0.2.11,192.0.2.12,192.0.2.20" ${res.get('retention1')?.collectorKey ?? ''}\n`);
  });

  it('a run limited to the second node keeps the key pair and the peers', async () => {
    const before = await readFile(join(work, 'collector/collector_ed25519'), 'utf8');
    const res = await apply('retention2');
    expect([...res.keys()]).toEqual(['retention2']);
    expect(res.get('retention2')?.sftp.peers).toEqual([{ host: '192.0.2.11', port: 22, hostKeyFingerprint: localFingerprint }]);
    expect(await readFile(join(work, 'collector/collector_ed25519'), 'utf8')).toBe(before);
  });

  it("the key pair is made and read on the group's first host, not the play's, and never logged", async () => {
    const tasks = parseYaml(await readFile(join(ANSIBLE_DIR, 'roles/sftp_inbox/tasks/keys.yml'), 'utf8')) as Task[];
    const generate = tasks.find((t) => t.name?.startsWith('Generate the collector'));
    expect(generate?.delegate_to).toBe('{{ rp_inbox_hosts | first }}');
    expect(generate?.run_once).toBe(true);
    const read = tasks.find((t) => t['ansible.builtin.slurp'] !== undefined);
    expect(read?.delegate_to).toBe('{{ rp_inbox_hosts | first }}');
    expect(read?.no_log).toBe(true);
    const vars = parseYaml(await readFile(join(ANSIBLE_DIR, 'roles/sftp_inbox/vars/main.yml'), 'utf8')) as Record<string, string>;
    expect(vars.rp_inbox_hosts).toBe('{{ groups[rp_inbox_hosts_group] | default([]) }}');
    // Cloned VMs with the template's host keys are refused (the proxy would refuse the configuration anyway).
    const unique = tasks.find((t) => t.name === 'Every data node has its own host key');
    expect(JSON.stringify(unique)).toContain('unique');
    expect(JSON.stringify(unique)).toContain('Regenerate the host keys on the cloned VMs');
    // sshd is reloaded right after the checked drop-in (a later failure must not leave it written but unused), and the
    // umask must keep group read (the collector reads the vendor's uploads through the group).
    const sshd = parseYaml(await readFile(join(ANSIBLE_DIR, 'roles/sftp_inbox/tasks/sshd.yml'), 'utf8')) as Task[];
    const block = sshd.findIndex((t) => t.block !== undefined);
    expect(sshd[block + 1]?.['ansible.builtin.meta']).toBe('flush_handlers');
    const checks = parseYaml(await readFile(join(ANSIBLE_DIR, 'roles/sftp_inbox/tasks/main.yml'), 'utf8')) as Task[];
    expect((checks[0]?.['ansible.builtin.assert'] as { that: string[] }).that).toContain('(rp_inbox_umask | string | int(base=8)) // 32 % 2 == 0');
  });
});
