import { randomBytes } from 'node:crypto';
import { SANDBOX_DEMO_SUBSCRIBE_TEMPLATE } from '@mp-pay/shared/login';
import { BoundedMap } from '../state.ts';

/**
 * What WeChat keeps for subscribe messages (README.md "Subscribe messages"): each app's access tokens, the
 * buyers' consents (one send per "accept" in wx.requestSubscribeMessage) and the messages delivered. Bounded like
 * the rest of the sandbox's state. One desk per running sandbox (created in createApp).
 */

/** WeChat's access tokens live 2 hours; expires_in says so in seconds. On the sandbox clock, not scaled. */
export const ACCESS_TOKEN_TTL_S = 7200;
/** A newly issued token leaves the previous one working this much longer (WeChat: about 5 minutes). */
export const REPLACED_TOKEN_GRACE_MS = 5 * 60_000;

export type KeywordKind = 'thing' | 'amount' | 'character_string' | 'time' | 'number' | 'phrase';

export interface Template {
  id: string;
  title: string;
  /** Keyword names, e.g. thing1; the prefix is the kind, which decides what values are allowed. */
  keywords: readonly string[];
}

/** The templates every mini-program of the sandbox has picked from the library. */
export const TEMPLATES: readonly Template[] = [
  {
    id: SANDBOX_DEMO_SUBSCRIBE_TEMPLATE.id,
    title: SANDBOX_DEMO_SUBSCRIBE_TEMPLATE.title,
    keywords: SANDBOX_DEMO_SUBSCRIBE_TEMPLATE.keywords,
  },
];

export interface TokenRecord {
  appId: string;
  token: string;
  issuedAt: number;
  expiresAt: number;
}

export interface ConsentRecord {
  appId: string;
  openid: string;
  templateId: string;
  /** Sends still allowed: one per accept, used up one by one. */
  remaining: number;
  /** The last answer given, for inspection. */
  lastAnswer: string;
  answeredAt: number;
}

export interface DeliveredMessage {
  msgid: number;
  appid: string;
  touser: string;
  template_id: string;
  page?: string;
  /** As received: keyword → {value}. */
  data: Record<string, { value: string }>;
  miniprogram_state: string;
  lang: string;
  /** ISO time on the sandbox clock. */
  sent_at: string;
}

export class SubscribeDesk {
  readonly tokens = new BoundedMap<string, TokenRecord>(10_000);
  /** appid → its newest token. */
  readonly current = new BoundedMap<string, string>(1_000);
  readonly consents = new BoundedMap<string, ConsentRecord>(100_000);
  readonly messages = new BoundedMap<number, DeliveredMessage>(10_000);
  #nextMsgid = 2_000_000_000 + Math.floor(Math.random() * 1_000_000_000);

  template(id: unknown): Template | undefined {
    return TEMPLATES.find((t) => t.id === id);
  }

  /** A fresh token for the app; its previous one keeps working REPLACED_TOKEN_GRACE_MS more at most. */
  issueToken(appId: string, now: number): TokenRecord {
    const previous = this.tokens.get(this.current.get(appId) ?? '');
    if (previous) previous.expiresAt = Math.min(previous.expiresAt, now + REPLACED_TOKEN_GRACE_MS);
    const record: TokenRecord = {
      appId,
      token: randomBytes(96).toString('base64url'),
      issuedAt: now,
      expiresAt: now + ACCESS_TOKEN_TTL_S * 1000,
    };
    this.tokens.set(record.token, record);
    this.current.set(appId, record.token);
    return record;
  }

  /** The fault: every token of the app stops working now (as if WeChat reset them). */
  expireTokens(appId: string, now: number): number {
    let count = 0;
    for (const record of this.tokens.values()) {
      if (record.appId === appId && record.expiresAt > now) {
        record.expiresAt = now;
        count++;
      }
    }
    return count;
  }

  consent(appId: string, openid: string, templateId: string): ConsentRecord | undefined {
    return this.consents.get(`${appId}:${openid}:${templateId}`);
  }

  /** What one answer of wx.requestSubscribeMessage leaves behind: an accept adds one send. */
  answer(appId: string, openid: string, templateId: string, answer: string, now: number): ConsentRecord {
    const key = `${appId}:${openid}:${templateId}`;
    const record = this.consents.get(key) ?? {
      appId,
      openid,
      templateId,
      remaining: 0,
      lastAnswer: '',
      answeredAt: 0,
    };
    if (answer === 'accept') record.remaining += 1;
    record.lastAnswer = answer;
    record.answeredAt = now;
    this.consents.set(key, record);
    return record;
  }

  deliver(message: Omit<DeliveredMessage, 'msgid'>): DeliveredMessage {
    const delivered = { msgid: this.#nextMsgid++, ...message };
    this.messages.set(delivered.msgid, delivered);
    return delivered;
  }
}
