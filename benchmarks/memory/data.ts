/** Writes `rows` scored preference pairs of ~1 KB each as JSONL (deterministic), for the memory and shard benchmarks. */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { uniformStream } from '../shared';

const words = 'the of and to in is you that it he was for on are as with his they at be this have from or one had by word but not what all were we when your can said there use an each which she do how their if will up other about out many then them these so some her would make like him into time has look two more write go see number no way could people my than first water been call who oil its now find long down day did get come made may part'.split(' ');

export async function writeScoredPairs(path: string, rows: number, seed = 1): Promise<number> {
  const random = uniformStream(seed);
  const text = (length: number) => {
    let out = '';
    while (out.length < length) out += `${words[Math.floor(random() * words.length)]} `;
    return out.trimEnd();
  };
  const out = createWriteStream(path);
  let bytes = 0;
  let buffer = '';
  for (let i = 0; i < rows; i++) {
    const line = `${JSON.stringify({ id: `q${i % 50_000}`, prompt: text(300), chosen: text(300), rejected: text(300), chosen_score: (random() - 0.3) * 8, rejected_score: (random() - 0.5) * 6 })}\n`;
    buffer += line;
    bytes += line.length;
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await once(out, 'drain');
      buffer = '';
    }
  }
  out.end(buffer);
  await once(out, 'finish');
  return bytes;
}
