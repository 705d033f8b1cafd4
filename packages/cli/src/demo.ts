/**
 * `epochcast demo`: MNIST with fitOneCycle, a progress bar and Telegram + Slack + e-mail + ntfy. A
 * service whose credentials are in the environment gets the real messages; every other one gets
 * them on a local server of `@epochcast/testkit`, and the demo prints what each one received.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DEMO_CONFIG, trainMnist } from '@epochcast/cli/mnist';
import { historyCsv, ProgressCallback, selectBackend } from '@epochcast/core';
import { EmailCallback, type EmailCallbackOptions } from '@epochcast/email';
import type { Notifier } from '@epochcast/notify';
import { NtfyCallback, type NtfyCallbackOptions } from '@epochcast/ntfy';
import { SlackCallback, type SlackCallbackOptions } from '@epochcast/slack';
import { TelegramCallback, type TelegramCallbackOptions } from '@epochcast/telegram';
import type { NtfyServer, ReceivedMail, SlackServer, SmtpSink, TelegramServer } from '@epochcast/testkit';
import { EXIT, isConfigError, reportError } from './cli-errors.js';
import type { CliIo } from './program.js';

export interface DemoOptions {
  /** Output folder. Default `$EPOCHCAST_OUT/demo`, else `out/demo`. */
  out?: string;
  /** Hidden, for tests: fewer epochs and digits. */
  epochs?: number;
  samples?: number;
}

const RUN_NAME = 'mnist-mlp';
const LOCAL_CHAT = 4242;
const LOCAL_CHANNEL = { id: 'C0TRAINING', name: 'training' };
const LOCAL_TO = ['you@example.test'];
const LOCAL_TOPIC = 'mnist-runs';

interface Local {
  telegram?: TelegramServer;
  slack?: SlackServer;
  smtp?: SmtpSink;
  ntfy?: NtfyServer;
}

/** Runs the demo; 0 when it trained and every service got its end message, 1 otherwise, 2 on a configuration error. */
export async function demo(io: CliIo, options: DemoOptions): Promise<number> {
  const env = io.env;
  const local: Local = {};
  // The testkit's servers stand in only for services without credentials: loaded only then.
  const testkit = () => import('@epochcast/testkit');
  const notifiers: { label: string; notifier: Notifier }[] = [];
  try {
    try {
      // Telegram
      if (env.TELEGRAM_BOT_TOKEN) notifiers.push({ label: 'Telegram', notifier: new TelegramCallback({ runName: RUN_NAME }) });
      else {
        local.telegram = await (await testkit()).startTelegramServer();
        const o: TelegramCallbackOptions = {
          runName: RUN_NAME,
          token: local.telegram.token,
          chatId: LOCAL_CHAT,
          apiRoot: local.telegram.url,
        };
        notifiers.push({ label: 'Telegram', notifier: new TelegramCallback(o) });
      }
      // Slack
      if (env.SLACK_BOT_TOKEN || env.SLACK_WEBHOOK_URL)
        notifiers.push({ label: 'Slack', notifier: new SlackCallback({ runName: RUN_NAME }) });
      else {
        local.slack = await (await testkit()).startSlackServer({ token: 'xoxb-local-demo', channels: [LOCAL_CHANNEL] });
        const o: SlackCallbackOptions = {
          runName: RUN_NAME,
          token: local.slack.token,
          channel: `#${LOCAL_CHANNEL.name}`,
          slackApiUrl: local.slack.apiUrl,
        };
        notifiers.push({ label: 'Slack', notifier: new SlackCallback(o) });
      }
      // E-mail
      if (env.SMTP_URL) notifiers.push({ label: 'E-mail', notifier: new EmailCallback({ runName: RUN_NAME }) });
      else {
        local.smtp = await (await testkit()).startSmtpSink();
        const o: EmailCallbackOptions = {
          runName: RUN_NAME,
          smtpUrl: local.smtp.url,
          from: 'epochcast <runs@example.test>',
          to: LOCAL_TO,
        };
        notifiers.push({ label: 'E-mail', notifier: new EmailCallback(o) });
      }
      // ntfy
      if (env.NTFY_URL) notifiers.push({ label: 'ntfy', notifier: new NtfyCallback({ runName: RUN_NAME }) });
      else {
        local.ntfy = await (await testkit()).startNtfyServer();
        const o: NtfyCallbackOptions = { runName: RUN_NAME, url: `${local.ntfy.url}/${LOCAL_TOPIC}` };
        notifiers.push({ label: 'ntfy', notifier: new NtfyCallback(o) });
      }
      // EPOCHCAST_BACKEND naming a backend that does not exist or cannot load is a ConfigError too.
      await selectBackend();
    } catch (error) {
      if (!isConfigError(error)) throw error;
      return reportError(io.err, 'epochcast demo', error);
    }

    const epochs = options.epochs ?? DEMO_CONFIG.epochs;
    const samples = options.samples ?? DEMO_CONFIG.samples;
    const where = notifiers
      .map(({ label }) => {
        const isLocal = { Telegram: local.telegram, Slack: local.slack, 'E-mail': local.smtp, ntfy: local.ntfy }[label];
        return `${label} → ${isLocal ? 'local testkit server' : 'the real service'}`;
      })
      .join(', ');
    io.out(
      `MNIST: ${samples} digits, MLP 784-128-10, fitOneCycle(${epochs}, { lrMax: ${DEMO_CONFIG.lrMax} })\n` +
        `Notifiers: ${where}${local.telegram || local.slack || local.smtp || local.ntfy ? ' (set their credentials to use the real ones)' : ''}\n\n`,
    );
    const run = await trainMnist({
      ...DEMO_CONFIG,
      epochs,
      samples,
      callbacks: [new ProgressCallback(), ...notifiers.map((n) => n.notifier)],
    });
    let ok = true;
    try {
      const { learn } = run;
      io.out(
        `\nvalidation accuracy ${(run.validAccuracy * 100).toFixed(2)}% after ${epochs} epochs (${(run.fitMs / 1000).toFixed(1)} s)\n`,
      );
      await Promise.all(notifiers.map(({ notifier }) => notifier.close()));

      // What arrived where.
      io.out('\nWhat each service received:\n');
      for (const { label, notifier } of notifiers) {
        const delivered = notifier.report.delivered.includes('end');
        ok &&= delivered;
        if (label === 'Telegram' && local.telegram) io.out(telegramSummary(local.telegram, LOCAL_CHAT));
        else if (label === 'Slack' && local.slack) io.out(slackSummary(local.slack, LOCAL_CHANNEL.name));
        else if (label === 'E-mail' && local.smtp) {
          const mail = local.smtp.received.find((m) => m.status === 250);
          io.out(mail ? emailSummary(mail) : '\nE-mail (local SMTP sink): nothing arrived\n');
        } else if (label === 'ntfy' && local.ntfy) io.out(ntfySummary(local.ntfy, LOCAL_TOPIC));
        else io.out(`\n${label} (real service): ${reportLine(notifier)}\n`);
      }

      // Files.
      const outDir = path.resolve(options.out ?? path.join(env.EPOCHCAST_OUT || 'out', 'demo'));
      await mkdir(outDir, { recursive: true });
      const written: string[] = [];
      await writeFile(path.join(outDir, 'losses.png'), await learn.recorder.plotLosses().png());
      written.push('losses.png (the loss plot)');
      await writeFile(path.join(outDir, 'history.csv'), historyCsv(learn.recorder.history, learn.metricNames));
      written.push('history.csv (the epoch table)');
      const mail = local.smtp?.received.find((m) => m.status === 250);
      if (mail?.html) {
        await writeFile(path.join(outDir, 'email.html'), inlineImages(mail));
        written.push('email.html (the e-mail as sent, plot inlined: open it in a browser)');
      }
      io.out(`\nWritten to ${outDir}/:\n${written.map((w) => `  ${w}\n`).join('')}`);
    } finally {
      run.dispose();
    }
    return ok ? EXIT.ok : EXIT.failed;
  } finally {
    await Promise.all([local.telegram?.close(), local.slack?.close(), local.smtp?.close(), local.ntfy?.close()]);
  }
}

function reportLine(notifier: Notifier): string {
  const { delivered, failed } = notifier.report;
  const counts = new Map<string, number>();
  for (const e of delivered) counts.set(e, (counts.get(e) ?? 0) + 1);
  const sent = [...counts].map(([e, n]) => (n > 1 ? `${e} ×${n}` : e)).join(', ') || 'nothing';
  return `delivered ${sent}${failed.length > 0 ? `; failed: ${failed.map((f) => `${f.event} (${f.reason})`).join(', ')}` : ''}`;
}

const firstLine = (text: string | undefined, max = 110): string => {
  const line = (text ?? '').split('\n')[0] ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

/** The chat, one line per message in its final state: first line, edits, photos. */
export function telegramSummary(server: TelegramServer, chatId: number): string {
  const edits = new Map<number, number>();
  for (const call of server.received)
    if (call.method.toLowerCase() === 'editmessagetext' && call.status === 200) {
      const id = Number(call.params.message_id);
      edits.set(id, (edits.get(id) ?? 0) + 1);
    }
  const messages = server.messages(chatId);
  const lines = messages.map((m) => {
    const notes = [
      m.photo ? `photo ${m.photo.at(-1)?.width}×${m.photo.at(-1)?.height}` : '',
      edits.get(m.message_id) ? `edited ${edits.get(m.message_id)}×` : '',
    ]
      .filter(Boolean)
      .join(', ');
    return `  ${m.photo ? '🖼 ' : ''}${firstLine(m.text ?? m.caption)}${notes ? `   [${notes}]` : ''}`;
  });
  return `\nTelegram (local Bot API, chat ${chatId}): ${messages.length} messages\n${lines.join('\n')}\n`;
}

/** The channel: each top-level message, then its thread, one line each. */
export function slackSummary(server: SlackServer, channel: string): string {
  const messages = server.messages(channel);
  const lines: string[] = [];
  for (const parent of messages.filter((m) => !m.thread_ts)) {
    lines.push(`  ● ${firstLine(parent.text)}${parent.edited ? '   [edited]' : ''}`);
    for (const reply of messages.filter((m) => m.thread_ts === parent.ts)) {
      if (reply.files?.length) {
        for (const f of reply.files) {
          const file = server.files.find((x) => x.id === f.id);
          lines.push(`    └ 📎 ${f.name} (${file?.bytes?.length ?? 0} bytes)`);
        }
        continue;
      }
      lines.push(`    └ ${reply.reply_broadcast ? '[also sent to the channel] ' : ''}${firstLine(reply.text, 90)}`);
    }
  }
  return `\nSlack (local Web API, #${channel}): ${messages.length} messages\n${lines.join('\n')}\n`;
}

/** The topic, one line per notification: priority, tags, title, the text's first line or the attachment. */
export function ntfySummary(server: NtfyServer, topic: string): string {
  const messages = server.messages(topic);
  const lines = messages.map((m) => {
    const what = m.attachment ? `📎 ${m.attachment.name} (${m.attachment.size} bytes)` : firstLine(m.message, 80);
    return `  [priority ${m.priority}] ${m.tags.join(',')} · ${m.title ?? ''} — ${what}`;
  });
  return `\nntfy (local server, topic ${topic}): ${messages.length} notifications\n${lines.join('\n')}\n`;
}

/** The mail: sender, recipients, subject, parts. */
export function emailSummary(mail: ReceivedMail): string {
  const parts = mail.attachments.map((a) => `${a.filename} (${a.contentType}, ${a.size} bytes${a.cid ? `, inline as cid:${a.cid}` : ''})`);
  return (
    '\nE-mail (local SMTP sink): 1 mail\n' +
    `  From:    ${mail.from}\n  To:      ${mail.to.join(', ')}\n  Subject: ${mail.subject}\n` +
    `  Parts:   HTML (${(mail.html ?? '').length} chars), text (${(mail.text ?? '').length} chars)${parts.map((p) => `,\n           ${p}`).join('')}\n`
  );
}

/** The mail's HTML with each inline image (`cid:`) as a data: URL, so the file stands alone. */
function inlineImages(mail: ReceivedMail): string {
  let html = mail.html ?? '';
  for (const a of mail.attachments)
    if (a.cid) html = html.replaceAll(`cid:${a.cid}`, `data:${a.contentType};base64,${a.content.toString('base64')}`);
  return html;
}
