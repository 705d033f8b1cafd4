import type { IncomingMessage } from 'node:http';
import { type AnsweredFault, FakeService, type ServiceCall, type ServiceRecord, type ServiceRequest } from '@epochcast/testkit';

/** One call to the pager, as recorded. */
export interface PagerCall extends ServiceRecord {
  method: string;
  params: Record<string, unknown>;
}

/** A made-up paging service: `POST /v1/<method>` with `Authorization: Key <key>`, JSON in and out. */
export class FakePager extends FakeService<PagerCall> {
  readonly pages: string[] = [];

  constructor(readonly key = 'k-123') {
    super();
  }

  protected callName(_req: IncomingMessage, url: URL): string | undefined {
    return /^\/v1\/(\w+)$/.exec(url.pathname)?.[1]; // other paths: 404, not recorded
  }

  protected newRecord({ name, params }: ServiceRequest): Omit<PagerCall, keyof ServiceRecord> {
    return { method: name, params };
  }

  protected answerFault(call: ServiceCall<PagerCall>, fault: AnsweredFault): void {
    if (fault.kind === 'rateLimit') {
      const seconds = fault.retryAfterSec;
      call.json(429, { error: 'slow_down', retry_in: seconds }, { 'retry-after': String(seconds) });
    } else if (fault.kind === 'serverError') call.json(fault.status, { error: 'try_later' });
    else call.json(401, { error: 'bad_key' });
  }

  protected route(call: ServiceCall<PagerCall>): void {
    const text = call.params.text;
    if (call.req.headers.authorization !== `Key ${this.key}`) call.json(401, { error: 'bad_key' });
    else if (call.name !== 'page') call.json(404, { error: 'no_such_method' });
    else if (call.bodyError !== undefined) call.json(400, { error: 'bad_body' });
    else if (typeof text !== 'string' || text === '') call.json(400, { error: 'no_text' });
    else call.json(200, { id: this.pages.push(text) });
  }
}
