import { API_ROUTES } from '@mp-pay/shared/api';
import { expect, test } from 'vitest';
import { API_PATHS } from '../public/api.js';

// The pages cannot import the TypeScript contract, so they carry a copy of the paths they use.
test('every path the pages use equals the contract’s API_ROUTES', () => {
  const ids = ['ord_1', 'a b/c?d#e', '订单'];
  for (const [name, path] of Object.entries(API_PATHS)) {
    const contract = API_ROUTES[name as keyof typeof API_ROUTES];
    expect(contract, `API_ROUTES.${name}`).toBeDefined();
    if (typeof path === 'function') {
      expect(typeof contract).toBe('function');
      for (const id of ids) expect(path(id)).toBe((contract as (id: string) => string)(id));
    } else {
      expect(path).toBe(contract);
    }
  }
});
