/**
 * A float as Python's `repr(float)` / `str(float)`: the shortest round-tripping digits (the same
 * digits as JavaScript's), written in positional notation when 1e-4 ≤ |x| < 1e16 and with `.0` on
 * integral values, else as `d.ddde+XX` / `de-XX` with at least two exponent digits. Non-finite values
 * are written as `json.dumps` writes them (`Infinity`, `-Infinity`, `NaN`).
 */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, exponentText] = x.toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  const sign = mantissa.startsWith('-') ? '-' : '';
  const digits = mantissa.replace('-', '').replace('.', '');
  if (exponent >= 16 || exponent < -4) {
    const head = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${head}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const fracPart = digits.slice(exponent + 1);
  return `${sign}${digits.slice(0, exponent + 1).padEnd(exponent + 1, '0')}.${fracPart === '' ? '0' : fracPart}`;
}
