/**
 * The generator's fixed catalogues, as the shop exports them: the plans (with an early typo'd price
 * fixed the next day, and a later rename) and the banks (the same bank spelled several ways).
 */
import { DAY, euTs, isoTs, plainTs } from './dirt.js';

type Row = Record<string, unknown>;

export interface Plan {
  readonly plan_id: number;
  readonly plan_code: string;
  readonly plan_name: string;
  readonly billing_period: 'monthly' | 'annual';
  readonly price: number;
  readonly weight: number;
}

export const PLANS: readonly Plan[] = [
  { plan_id: 1, plan_code: 'basic_m', plan_name: 'Basic', billing_period: 'monthly', price: 9.99, weight: 30 },
  { plan_id: 2, plan_code: 'basic_y', plan_name: 'Basic (annual)', billing_period: 'annual', price: 99.0, weight: 8 },
  { plan_id: 3, plan_code: 'pro_m', plan_name: 'Pro', billing_period: 'monthly', price: 29.0, weight: 30 },
  { plan_id: 4, plan_code: 'pro_y', plan_name: 'Pro (annual)', billing_period: 'annual', price: 290.0, weight: 10 },
  { plan_id: 5, plan_code: 'team_m', plan_name: 'Team', billing_period: 'monthly', price: 79.0, weight: 15 },
  { plan_id: 6, plan_code: 'team_y', plan_name: 'Team (annual)', billing_period: 'annual', price: 790.0, weight: 7 },
];

export const BANKS = [
  { bank_id: 1, bank_name: 'JPMorgan Chase Bank, N.A.', country_code: 'US' },
  { bank_id: 2, bank_name: '  chase ', country_code: 'us' },
  { bank_id: 3, bank_name: 'Bank of America', country_code: 'US' },
  { bank_id: 4, bank_name: 'BANK OF AMERICA N.A.', country_code: 'US ' },
  { bank_id: 5, bank_name: 'Wells Fargo & Co', country_code: 'US' },
  { bank_id: 6, bank_name: 'Barclays PLC', country_code: 'GB' },
  { bank_id: 7, bank_name: 'barclays', country_code: 'gb' },
  { bank_id: 8, bank_name: 'HSBC UK', country_code: 'GB' },
  { bank_id: 9, bank_name: 'Deutsche Bank AG', country_code: 'DE' },
  { bank_id: 10, bank_name: 'BNP Paribas', country_code: null },
];

/** The plan catalogue as exported, by day offset: an early typo'd price fixed the next day, a later rename. */
export function planRows(day: number, start: number): Row[] {
  const at = (d: number, h = 0, m = 0) => start + d * DAY + h * 3_600_000 + m * 60_000;
  const row = (plan_id: number, plan_name: string, billing_period: string, price: string, currency: string, updated_at: string): Row => ({
    plan_id, plan_code: PLANS[plan_id - 1]!.plan_code, plan_name, billing_period, price, currency, updated_at,
  });
  if (day === 0) {
    return [
      row(1, ' Basic ', 'monthly', '9.99', 'USD', plainTs(at(0))),
      row(2, 'Basic (annual)', 'yearly', '99,00', 'USD', euTs(at(0))),
      row(3, 'Pro', 'MONTHLY', '2.90', 'USD', plainTs(at(0))),
      row(4, 'Pro (annual)', 'annual', '290', ' USD', isoTs(at(0))),
      row(5, 'Team', 'monthly ', '79.00', 'USD', plainTs(at(0))),
      row(6, 'Team (annual)', 'Annual', '790,00', 'USD', plainTs(at(0))),
    ];
  }
  // The typo fixed the next day (and that row exported twice): the later row must win.
  if (day === 1) return [row(3, 'Pro', 'MONTHLY', '$29.00', 'USD', plainTs(at(1, 8, 30))), row(3, 'Pro', 'MONTHLY', '$29.00', 'USD', plainTs(at(1, 8, 30)))];
  if (day === 151) return [row(1, 'Basic', 'Monthly', '$9.99', 'usd', isoTs(at(151, 9)))];
  return [];
}
