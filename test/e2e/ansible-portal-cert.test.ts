import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ansibleTools, run } from '../helpers/ansible.js';

const ANSIBLE_DIR = fileURLToPath(new URL('../../ansible/', import.meta.url));
const env = { ANSIBLE_CONFIG: join(ANSIBLE_DIR, 'ansible.cfg'), ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0', PY_COLORS: '0' };

interface Task { name?: string; run_once?: boolean; delegate_to?: string; no_log?: boolean; block?: Task[]; [module: string]: unknown }

/**
 * Finding 19 (issue 13): the HA pair gets ONE generated portal certificate, with both nodes, the VIP and the portal's
 * DNS name in its subjectAltName, so a failover does not show a different certificate.
 */
describe('ansible: one generated portal certificate for the HA pair', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'rp-ansible-cert-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('the subjectAltName holds both nodes (names and addresses), the VIP and the DNS name', async () => {
    const play = join(work, 'san.yml');
    await writeFile(play, [
      '- hosts: retention_proxy',
      '  gather_facts: false',
      '  connection: local',
      `  vars_files: [${join(ANSIBLE_DIR, 'roles/retention_proxy/defaults/main.yml')}]`,
      '  tasks:',
      '    - ansible.builtin.debug: { msg: "SAN=[{{ retention_proxy_portal_tls_generated_san }}] CN=[{{ retention_proxy_portal_tls_generated_cn }}]" }',
      '',
    ].join('\n'));
    const extra = JSON.stringify({ keepalived_enabled: true, retention_proxy_portal_dns_name: 'portal.example.com' });
    const res = await run(ansibleTools().playbook, ['-i', 'inventories/ha/hosts.yml', play, '-e', extra], { cwd: ANSIBLE_DIR, env, timeoutMs: 120_000 });
    expect(res.code, res.out).toBe(0);
    const sans = [...res.out.matchAll(/SAN=\[([^\]]*)\] CN=\[([^\]]*)\]/g)].map((m) => `${m[1]} | ${m[2]}`);
    // Both hosts compute the same value.
    expect(new Set(sans), res.out).toEqual(new Set(['DNS:retention1,DNS:retention2,IP:192.0.2.11,IP:192.0.2.12,IP:192.0.2.20,DNS:portal.example.com | portal.example.com']));
  });

  it('a play limited to the second node (--limit retention2) uses the first node of the group, not a new certificate', async () => {
    const play = join(work, 'limit.yml');
    await writeFile(play, [
      '- hosts: retention_proxy',
      '  gather_facts: false',
      '  connection: local',
      `  vars_files: [${join(ANSIBLE_DIR, 'roles/retention_proxy/defaults/main.yml')}]`,
      '  tasks:',
      '    - ansible.builtin.debug: { msg: "FIRST=[{{ retention_proxy_portal_tls_first_host }}] SAN=[{{ retention_proxy_portal_tls_generated_san }}] CN=[{{ retention_proxy_portal_tls_generated_cn }}]" }',
      '',
    ].join('\n'));
    const res = await run(ansibleTools().playbook, ['-i', 'inventories/ha/hosts.yml', play, '--limit', 'retention2'], { cwd: ANSIBLE_DIR, env, timeoutMs: 120_000 });
    expect(res.code, res.out).toBe(0);
    const seen = [...res.out.matchAll(/FIRST=\[([^\]]*)\] SAN=\[([^\]]*)\] CN=\[([^\]]*)\]/g)].map((m) => `${m[1]} | ${m[2]} | ${m[3]}`);
    expect(seen, res.out).toEqual(['retention1 | DNS:retention1,DNS:retention2,IP:192.0.2.11,IP:192.0.2.12 | retention1']);
  });

  it('the certificate is generated once on the first host and the same files are copied to the others, never logged', async () => {
    const tasks = parseYaml(await readFile(join(ANSIBLE_DIR, 'roles/retention_proxy/tasks/config.yml'), 'utf8')) as Task[];
    const block = tasks.find((t) => t.name?.startsWith('Self-signed portal certificate'))?.block ?? [];
    const generate = block.find((t) => t['ansible.builtin.command'] !== undefined);
    expect(generate?.run_once).toBe(true);
    expect(generate?.delegate_to).toBe('{{ retention_proxy_portal_tls_first_host }}');
    const read = block.find((t) => t['ansible.builtin.slurp'] !== undefined);
    expect(read?.run_once).toBe(true);
    expect(read?.delegate_to).toBe('{{ retention_proxy_portal_tls_first_host }}');
    expect(read?.no_log).toBe(true);
    const copy = block.find((t) => t['ansible.builtin.copy'] !== undefined);
    expect(copy?.no_log).toBe(true);
    expect(copy?.run_once).toBeUndefined();
  });
});
