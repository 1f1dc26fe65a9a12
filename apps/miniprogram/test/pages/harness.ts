/** Shared set-up for page tests: compiled pages, a FakeBackend behind wx.request, and recorded navigation. */
import { inject } from 'vitest';
import { openBuilt, type BuiltMiniprogram } from '../support/built.ts';
import { API_BASE, FakeBackend } from '../support/fake-backend.ts';
import { deferred, installFakeWx, type Deferred, type FakeWx, type WxStubs } from '../support/fake-wx.ts';

export interface Navigation {
  api: 'navigateTo' | 'redirectTo' | 'reLaunch' | 'switchTab';
  url: string;
}

export interface PageEnv {
  built: BuiltMiniprogram;
  backend: FakeBackend;
  fake: FakeWx;
  nav: Navigation[];
  toasts: string[];
  /** Where wx.pageScrollTo was asked to scroll, in order. */
  scrolls: number[];
  /** Titles set with wx.setNavigationBarTitle. */
  titles: string[];
  /** The compiled config.ts the pages read (mutable, like in the app). */
  config: MiniprogramConfig;
}

export interface MiniprogramConfig {
  apiBaseUrls: { develop: string; trial: string; release: string };
  paymentConfirm: { firstDelayMs: number; maxDelayMs: number; timeoutMs: number };
  ordersPageSize: number;
}

let built: BuiltMiniprogram | null = null;

function navStub(api: Navigation['api'], nav: Navigation[]) {
  return ((opts: { url: string; success?: () => void }) => {
    nav.push({ api, url: opts.url });
    opts.success?.();
  }) as never;
}

/**
 * Fresh services (module cache cleared), a backend with a live session stored, and every wx API the pages
 * may touch stubbed: navigation and toasts are recorded, the rest comes from `stubs`.
 */
export function pageEnv(stubs: WxStubs = {}, backend = new FakeBackend()): PageEnv {
  built ??= openBuilt(inject('miniprogramRoot'));
  built.reset();
  backend.tokens.add('t');
  const nav: Navigation[] = [];
  const toasts: string[] = [];
  const scrolls: number[] = [];
  const titles: string[] = [];
  const fake = installFakeWx(
    {
      ...backend.requestStub(),
      navigateTo: navStub('navigateTo', nav),
      redirectTo: navStub('redirectTo', nav),
      reLaunch: navStub('reLaunch', nav),
      switchTab: navStub('switchTab', nav),
      showToast: ((opts: { title: string }) => {
        toasts.push(opts.title);
      }) as never,
      pageScrollTo: ((opts: { scrollTop?: number }) => {
        scrolls.push(opts.scrollTop ?? 0);
      }) as never,
      setNavigationBarTitle: ((opts: { title: string }) => {
        titles.push(opts.title);
      }) as never,
      ...stubs,
    },
    new Map<string, unknown>([['mp-pay:token', 't']]),
  );
  const { config } = built.load<{ config: MiniprogramConfig }>('config.js');
  config.apiBaseUrls.develop = API_BASE;
  // Short waits so "not confirmed yet" arrives quickly; tests that must see PAID first raise the timeout.
  config.paymentConfirm = { firstDelayMs: 5, maxDelayMs: 20, timeoutMs: 300 };
  return { built, backend, fake, nav, toasts, scrolls, titles, config };
}

/** Holds every request to `path` until the returned gate is opened. */
export function hold(backend: FakeBackend, path: string): Deferred<void> {
  const gate = deferred<void>();
  backend.intercept(async (req) => {
    if (req.path === path) await gate.promise;
    return undefined;
  });
  return gate;
}
