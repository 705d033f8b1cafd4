#!/usr/bin/env node
// MNIST training that e-mails its summary. With SMTP_URL, EMAIL_FROM and EMAIL_TO set it sends a
// real mail; without SMTP_URL it starts the testkit's local SMTP sink, delivers there, writes
// what arrived (the HTML as a mail client would show it, the loss plot, the CSV, the raw message)
// to a folder and prints the subject, the recipients, the attachments and the plain-text part.
//
//   node examples/email/dist/main.js
//   SMTP_URL='smtps://me:app-password@smtp.example.com' EMAIL_FROM=me@example.com EMAIL_TO=me@example.com node examples/email/dist/main.js
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_CONFIG, trainMnist } from '@epochcast/cli/mnist';
import { ProgressCallback, selectBackend } from '@epochcast/core';
import { EmailCallback, LOSS_PLOT_CID } from '@epochcast/email';
import { type ReceivedMail, startSmtpSink } from '@epochcast/testkit';

export interface EmailExampleOptions {
  /** Digits to train on. Default all 10,000. */
  samples?: number;
  /** Default 5. */
  epochs?: number;
  /** Where the local sink's mail is written. Default `$EPOCHCAST_OUT/email`, else `out/email`. */
  outDir?: string;
  /** Show the live progress bar and epoch table. Default true. */
  progress?: boolean;
}

export interface EmailExampleResult {
  /** The mail as the local sink received it; undefined when it went to a real SMTP_URL. */
  mail: ReceivedMail | undefined;
  /** The folder the received mail was written to (local sink only). */
  outDir: string | undefined;
  /** What the notifier delivered or gave up on. */
  report: EmailCallback['report'];
}

/** Trains MNIST with an EmailCallback; see the header of this file. */
export async function runEmailExample(options: EmailExampleOptions = {}): Promise<EmailExampleResult> {
  const local = !process.env.SMTP_URL;
  const sink = local ? await startSmtpSink() : undefined;
  try {
    const email = new EmailCallback({
      // The sink's URL has no password; a real SMTP_URL is read by EmailCallback itself.
      ...(sink ? { smtpUrl: sink.url } : {}),
      from: process.env.EMAIL_FROM || 'epochcast <runs@example.test>',
      to: process.env.EMAIL_TO || ['you@example.test', 'team@example.test'],
      runName: 'mnist-mlp',
    });
    const run = await trainMnist({
      ...DEMO_CONFIG,
      epochs: options.epochs ?? 5,
      samples: options.samples ?? DEMO_CONFIG.samples,
      callbacks: [...(options.progress === false ? [] : [new ProgressCallback()]), email],
    });
    run.dispose();
    await email.close();
    if (!sink) return { mail: undefined, outDir: undefined, report: email.report };
    const mail = await sink.waitFor();
    const outDir = path.resolve(options.outDir ?? path.join(process.env.EPOCHCAST_OUT || 'out', 'email'));
    await saveMail(mail, outDir);
    return { mail, outDir, report: email.report };
  } finally {
    await sink?.close();
  }
}

/** Writes the mail as a reader would open it: summary.html shows the plot from loss.png beside it. */
async function saveMail(mail: ReceivedMail, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  let html = mail.html ?? '';
  for (const a of mail.attachments) {
    const name = a.filename ?? (a.cid ? `${a.cid}.bin` : 'attachment.bin');
    await writeFile(path.join(dir, name), a.content);
    if (a.cid) html = html.replaceAll(`cid:${a.cid}`, name);
  }
  await writeFile(path.join(dir, 'summary.html'), html);
  await writeFile(path.join(dir, 'summary.txt'), mail.text ?? '');
  await writeFile(path.join(dir, 'message.eml'), mail.raw);
}

async function main(): Promise<void> {
  await selectBackend();
  const { mail, outDir, report } = await runEmailExample();
  if (!mail || !outDir) {
    console.log(
      report.failed.length === 0 ? `mail sent to ${process.env.EMAIL_TO}` : `not sent: ${report.failed.map((f) => f.reason).join('; ')}`,
    );
    return;
  }
  const plot = mail.attachments.find((a) => a.cid === LOSS_PLOT_CID);
  console.log(`\nNo SMTP_URL set: the mail went to the testkit's local SMTP sink. What arrived:\n`);
  console.log(`From:    ${mail.from}`);
  console.log(`To:      ${mail.to.join(', ')}`);
  console.log(`Subject: ${mail.subject}`);
  console.log(`Parts:   HTML (${(mail.html ?? '').length} chars), text (${(mail.text ?? '').length} chars)`);
  for (const a of mail.attachments)
    console.log(`         ${a.filename} (${a.contentType}, ${a.size} bytes${a.cid ? `, inline as cid:${a.cid}` : ', attached'})`);
  console.log(`\n${mail.text ?? ''}`);
  console.log(
    `Written to ${path.relative(process.cwd(), outDir) || '.'}/: summary.html (open it in a browser), summary.txt, message.eml${plot ? `, ${plot.filename}` : ''}, the CSV`,
  );
}

// Run only as the entry point, so the test can import runEmailExample.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
