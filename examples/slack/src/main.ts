#!/usr/bin/env node
// MNIST training reported to Slack. With SLACK_BOT_TOKEN + SLACK_CHANNEL (or SLACK_WEBHOOK_URL)
// set, it posts to your workspace; without them it starts the testkit's local Slack server, points
// the callback at it and prints what the channel received — the run's message, its thread, the
// broadcast summary and the uploaded plot.
//
//   pnpm build && node examples/slack/dist/main.js
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_CONFIG, trainMnist } from '@epochcast/cli/mnist';
import { selectBackend } from '@epochcast/core';
import { SlackCallback, type SlackCallbackOptions } from '@epochcast/slack';
import { type SlackServer, startSlackServer } from '@epochcast/testkit';

/** Trains with a SlackCallback; returns what the local server received when it used one. */
export async function main(options: { epochs?: number; samples?: number; out?: NodeJS.WritableStream } = {}): Promise<void> {
  const out = options.out ?? process.stdout;
  const configured = Boolean(process.env.SLACK_BOT_TOKEN || process.env.SLACK_WEBHOOK_URL);
  let server: SlackServer | undefined;
  const slackOptions: SlackCallbackOptions = { runName: 'mnist-mlp' };
  if (!configured) {
    server = await startSlackServer({ token: 'xoxb-local-demo', channels: [{ id: 'C0TRAINING', name: 'training' }] });
    Object.assign(slackOptions, { token: server.token, channel: '#training', slackApiUrl: server.apiUrl });
    out.write(`No SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL: posting to a local Slack at ${server.url} (#training)\n`);
  }
  try {
    await selectBackend();
    const run = await trainMnist({
      ...DEMO_CONFIG,
      ...(options.epochs ? { epochs: options.epochs } : {}),
      ...(options.samples ? { samples: options.samples } : {}),
      callbacks: [new SlackCallback(slackOptions)],
    });
    out.write(`validation accuracy ${(run.validAccuracy * 100).toFixed(2)}% after ${run.history.length} epochs\n`);
    run.dispose();
    if (server) out.write(`\nWhat #training received:\n\n${channelTranscript(server, 'training')}\n`);
  } finally {
    await server?.close();
  }
}

/** The channel as Slack shows it: each top-level message, then its thread (replies, files) indented. */
export function channelTranscript(server: SlackServer, channel: string): string {
  const messages = server.messages(channel);
  const lines: string[] = [];
  const body = (text: string, indent: string, maxLines = 14) => {
    const all = text.split('\n');
    const shown = all.slice(0, maxLines).map((l) => `${indent}${l}`);
    if (all.length > maxLines) shown.push(`${indent}… (${all.length - maxLines} more lines)`);
    return shown;
  };
  for (const parent of messages.filter((m) => !m.thread_ts)) {
    lines.push(`● ${parent.edited ? '(edited) ' : ''}${parent.text}`);
    for (const reply of messages.filter((m) => m.thread_ts === parent.ts)) {
      if (reply.files?.length) {
        for (const f of reply.files) {
          const file = server.files.find((x) => x.id === f.id);
          lines.push(
            `  └ 📎 ${f.name} (${file?.contentType ?? 'file'}, ${file?.bytes?.length ?? 0} bytes) ${f.title ?? ''} — ${reply.text}`,
          );
        }
        continue;
      }
      const [first = '', ...rest] = body(reply.text, '    ');
      lines.push(`  └ ${reply.reply_broadcast ? '[also sent to #training] ' : ''}${first.trimStart()}`, ...rest);
    }
  }
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
