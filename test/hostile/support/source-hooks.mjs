// Module resolve hook: `@pref/<name>` → packages/<name>/src/index.ts of this checkout.
const packages = new URL('../../../packages/', import.meta.url);

export async function resolve(specifier, context, next) {
  const match = /^@pref\/([a-z0-9-]+)$/.exec(specifier);
  if (match) return { url: new URL(`${match[1]}/src/index.ts`, packages).href, shortCircuit: true };
  return next(specifier, context);
}
