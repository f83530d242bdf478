// One step of the shard benchmark in its own process: node step.mjs <step> <input> <output> [i/n]
import { mergeShards, parseShard } from '@pref/io';
import { marginsFile } from '@pref/margins';
import { privatizeFile } from '@pref/privacy';
import { selectFile } from '@pref/selection';

const [step, input, output, shardText] = process.argv.slice(2);
const shard = shardText && step !== 'merge' ? parseShard(shardText) : undefined;
const seed = 'shard-benchmark-seed-0123456789';
if (step === 'margins') await marginsFile(input, output, { shard });
else if (step === 'privatize') await privatizeFile(input, output, { mechanism: 'margin-sigmoid', epsilon: 1, seed, shard });
else if (step === 'select') await selectFile(input, output, { strategy: { by: 'margin' }, ratio: 0.3, shard });
else if (step === 'merge') await mergeShards(process.argv.slice(5), output);
else throw new Error(`unknown step ${step}`);
