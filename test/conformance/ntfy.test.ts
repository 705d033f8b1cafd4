import { NtfyCallback } from '@epochcast/ntfy';
import { type NtfyServer, startNtfyServer } from '@epochcast/testkit';
import { notifierConformance } from '@epochcast/testkit/conformance';

const TOKEN = 'tk_conformance7c1e9a0b2d4f6h8j';
const USER = { username: 'trainer', password: 'pw-conformance-3e8d' };

/** Every publish carries a message (the plot's upload aside: it follows the end message). */
const publishes = (server: NtfyServer) => server.received.filter((r) => r.attachment === undefined || r.via === 'json');

notifierConformance({
  name: 'NtfyCallback (access token)',
  start: () => startNtfyServer({ token: TOKEN }),
  notifier: (server, options) => new NtfyCallback({ ...options, url: `${server.url}/conformance-runs`, token: TOKEN }),
  delivered: (server) =>
    publishes(server)
      .filter((r) => r.status === 200)
      .map((r) => r.message),
  attempts: (server) => publishes(server).length,
  secrets: () => [TOKEN],
});

notifierConformance({
  name: 'NtfyCallback (user:password in the URL)',
  start: () => startNtfyServer({ user: USER }),
  notifier: (server, options) =>
    new NtfyCallback({ ...options, url: `${server.url.replace('://', `://${USER.username}:${USER.password}@`)}/conformance-runs` }),
  delivered: (server) =>
    publishes(server)
      .filter((r) => r.status === 200)
      .map((r) => r.message),
  attempts: (server) => publishes(server).length,
  secrets: () => [USER.password, Buffer.from(`${USER.username}:${USER.password}`).toString('base64')],
});
