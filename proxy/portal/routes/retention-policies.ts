import type { FastifyInstance } from 'fastify';
import { errorCodeOf } from '../../errors.js';
import type { PolicyInput, PolicyMode, PolicyPatch } from '../../retention/index.js';
import { audit, userOf } from '../access.js';
import type { PortalContext } from '../context.js';
import { AnyObjectBody, ItemsOf, PolicyCreateBody, PolicyIdParam, PolicyModeBody, PolicyPatchBody, Tags, policyView } from './retention-schemas.js';

/** Retention policies (admin; every change audited). */
export async function retentionPolicyRoutes(app: FastifyInstance, { ctx }: { ctx: PortalContext }): Promise<void> {
  const retention = ctx.retention;

  app.get('/api/v1/retention/policies', {
    config: { role: 'admin' },
    schema: { tags: Tags, summary: 'Every retention policy (portal and configuration file)', response: { 200: ItemsOf } },
  }, async () => ({ items: (await retention.listPolicies()).map(policyView) }));

  app.post('/api/v1/retention/policies', {
    config: { role: 'admin' },
    schema: { tags: Tags, summary: 'Create a policy (starts in dry-run)', body: PolicyCreateBody, response: { 201: AnyObjectBody } },
  }, async (req, reply) => {
    const input = req.body as PolicyInput;
    const policy = await retention.createPolicy(input, userOf(req).username);
    await audit(ctx, req, {
      action: 'retention.policy.create', target: `retention/policies/${policy._id}`,
      details: { name: policy.name, dataType: policy.dataType, scope: policy.scope, activeDays: policy.activeDays, archiveDays: policy.archiveDays, mode: policy.mode },
    });
    return reply.code(201).send(policyView(policy));
  });

  app.patch('/api/v1/retention/policies/:id', {
    config: { role: 'admin' },
    schema: { tags: Tags, summary: 'Change a portal policy (name, scope, days)', params: PolicyIdParam, body: PolicyPatchBody, response: { 200: AnyObjectBody } },
  }, async (req) => {
    const { id } = req.params as { id: string };
    const patch = req.body as PolicyPatch;
    const policy = await retention.updatePolicy(id, patch, userOf(req).username);
    await audit(ctx, req, { action: 'retention.policy.update', target: `retention/policies/${id}`, details: { change: patch } });
    return policyView(policy);
  });

  app.post('/api/v1/retention/policies/:id/mode', {
    config: { role: 'admin' },
    schema: {
      tags: Tags, summary: 'Switch a policy to enforce (confirm: its name) or back to dry-run',
      params: PolicyIdParam, body: PolicyModeBody, response: { 200: AnyObjectBody },
    },
  }, async (req) => {
    const { id } = req.params as { id: string };
    const { mode, confirm } = req.body as { mode: PolicyMode; confirm?: string };
    try {
      const policy = await retention.setPolicyMode(id, mode, confirm, userOf(req).username);
      await audit(ctx, req, { action: 'retention.policy.mode', target: `retention/policies/${id}`, details: { mode } });
      return policyView(policy);
    } catch (err) {
      // A refused switch (wrong typed name, config policy) is in the audit log too.
      await audit(ctx, req, { action: 'retention.policy.mode', target: `retention/policies/${id}`, outcome: 'failed', details: { mode, error: errorCodeOf(err) } });
      throw err;
    }
  });

  app.delete('/api/v1/retention/policies/:id', {
    config: { role: 'admin' },
    schema: { tags: Tags, summary: 'Delete a portal policy', params: PolicyIdParam },
  }, async (req, reply) => {
    const { id } = req.params as { id: string };
    await retention.deletePolicy(id, userOf(req).username);
    await audit(ctx, req, { action: 'retention.policy.delete', target: `retention/policies/${id}` });
    return reply.code(204).send();
  });
  await Promise.resolve();
}
