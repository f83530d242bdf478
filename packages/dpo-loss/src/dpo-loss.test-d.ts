// Type tests: checked by `tsc --noEmit -p tsconfig.json` (the package's typecheck), not run by vitest.
import { expectTypeOf } from 'vitest';
import { DPO_LOSS_TYPES, dpoLoss, ktoLoss, type DpoLossResult, type DpoLossType, type DpoMetrics } from './index';

const batch = { policyChosenLogps: new Float64Array(1), policyRejectedLogps: new Float64Array(1) };

expectTypeOf<DpoLossType>().toEqualTypeOf<(typeof DPO_LOSS_TYPES)[number]>();
expectTypeOf<'robust'>().toExtend<DpoLossType>();
expectTypeOf(dpoLoss(batch)).toEqualTypeOf<DpoLossResult>();
expectTypeOf(dpoLoss(batch).gradients.policyChosenLogps).toEqualTypeOf<Float64Array>();
expectTypeOf<keyof DpoMetrics>().toEqualTypeOf<
  'rewards/chosen' | 'rewards/rejected' | 'rewards/accuracies' | 'rewards/margins' | 'logps/chosen' | 'logps/rejected'
>();
expectTypeOf(ktoLoss).parameter(0).toHaveProperty('desirable');

// @ts-expect-error kto_pair was removed from TRL; it is not a DPO loss type here either
dpoLoss(batch, { lossType: 'kto_pair' });
// @ts-expect-error log-probs are Float64Arrays, not number[]
dpoLoss({ policyChosenLogps: [0], policyRejectedLogps: [0] });
dpoLoss(batch, { lossType: ['sigmoid', 'sft'], lossWeights: [1, 0.5] });
dpoLoss(batch, { fDivergence: 'js_divergence' });
// @ts-expect-error not a TRL f-divergence
dpoLoss(batch, { fDivergence: 'hellinger' });
