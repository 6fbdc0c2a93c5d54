/**
 * @module The SpendGate used when no spend policy is configured: it refuses every spend, so no
 * path can move money unguarded, not even for a day.
 */
import type { SpendGate } from '../domain/index.js';

/** Refuses everything with a reason that says how to enable spending. */
export const refusingSpendGate: SpendGate = {
  async submit() {
    return {
      status: 'denied',
      reasons: [
        {
          code: 'no_spend_policy',
          message: 'No spend policy is configured, so giftguard refuses every spend. Add a policy file under policies/ to allow sends within caps.',
        },
      ],
    };
  },
};
