import type { Logger } from 'pino';

/**
 * A mongo:4.2 single-node replica set in Docker through testcontainers, when a Docker engine answers.
 * testcontainers is a development dependency: when it is not installed (a production install) this finds nothing.
 */

const DOCKER_PROBE_TIMEOUT_MS = 5_000;
export const MONGO_IMAGE = 'mongo:4.2';

export interface RunningDockerMongo {
  uri: string;
  stop(): Promise<void>;
}

/** True when a container runtime answers within a few seconds. */
export async function dockerAnswers(log?: Logger): Promise<boolean> {
  let testcontainers: typeof import('testcontainers');
  try {
    testcontainers = await import('testcontainers');
  } catch {
    log?.debug('testcontainers is not installed; not looking for Docker');
    return false;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), DOCKER_PROBE_TIMEOUT_MS);
    timer.unref();
  });
  try {
    const probe = testcontainers.getContainerRuntimeClient().then(
      () => true,
      (err: unknown) => {
        log?.debug({ err: (err as Error).message }, 'no container runtime');
        return false;
      },
    );
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function startDockerMongo(log?: Logger): Promise<RunningDockerMongo> {
  const { MongoDBContainer } = await import('@testcontainers/mongodb');
  log?.info({ image: MONGO_IMAGE }, 'starting MongoDB in Docker');
  const container = await new MongoDBContainer(MONGO_IMAGE).start();
  const base = container.getConnectionString();
  const uri = `${base}${base.includes('?') ? '&' : '?'}directConnection=true`;
  return {
    uri,
    stop: async () => {
      await container.stop();
    },
  };
}
