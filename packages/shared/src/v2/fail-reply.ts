import { buildXml, xmlSafeText } from './xml.ts';

/**
 * The one `return_code=FAIL` reply of APIv2, in both directions: what a merchant answers a notification it
 * could not take (WeChat then retries on its schedule), and what WeChat (or the sandbox standing in for it)
 * answers a request it cannot or will not process. Unsigned by design. Never throws: a message holding a
 * character XML forbids is repaired, since this is usually built on an error path.
 */
export function returnFailXml(returnMsg: string): string {
  return buildXml({ return_code: 'FAIL', return_msg: xmlSafeText(returnMsg) });
}
