// Builds avatar URLs with npm's `gravatar` or `gravatar-url` as their READMEs show, aimed at the service.
//
// Usage: node npm_client.mjs <gravatar|gravatar-url> '<plan JSON>'
//
// The plan is {"mode": "build" | "fetch", "base": "http://127.0.0.1:PORT", "cases": [...]},
// each case {"name", "email", and optionally "size", "default", "rating", "force_default"}.
// `gravatar` takes the base itself (its `cdn` option); `gravatar-url` always builds
// https://gravatar.com/avatar/..., so an app that moves to this service replaces only the
// scheme and host, as `rebase` does. "build" prints [{"name", "url"}]; "fetch" also fetches
// each URL (bounded timeout) and adds "status", "content_type" and the body in base64. Any
// failure exits non-zero with the reason on stderr.

import gravatar from 'gravatar';
import gravatarUrl from 'gravatar-url';

// Every request is bounded: a hung server fails the case instead of the whole run.
const TIMEOUT_MS = 30000;

/** `gravatar.url(email, {s, d, r, f, cdn})`, the options its README lists. */
function buildGravatar(caseSpec, base) {
  const options = { cdn: base };
  if ('size' in caseSpec) options.s = String(caseSpec.size);
  if ('default' in caseSpec) options.d = caseSpec.default;
  if ('rating' in caseSpec) options.r = caseSpec.rating;
  if (caseSpec.force_default) options.f = 'y';
  if ('extension' in caseSpec) throw new Error('gravatar builds no file extension');
  return gravatar.url(caseSpec.email, options);
}

/** `gravatarUrl(email, {size, default, rating})`, the options its README lists, rebased. */
function buildGravatarUrl(caseSpec, base) {
  const options = {};
  if ('size' in caseSpec) options.size = caseSpec.size;
  if ('default' in caseSpec) options.default = caseSpec.default;
  if ('rating' in caseSpec) options.rating = caseSpec.rating;
  if (caseSpec.force_default || 'extension' in caseSpec) {
    throw new Error('gravatar-url documents neither forcedefault nor a file extension');
  }
  return rebase(gravatarUrl(caseSpec.email, options), base);
}

/** `url` with the scheme and host of `base`: path and query stay as the library made them. */
function rebase(url, base) {
  const parsed = new URL(url);
  if (parsed.host !== 'gravatar.com') throw new Error(`unexpected URL from the library: ${url}`);
  const target = new URL(base);
  parsed.protocol = target.protocol;
  parsed.host = target.host;
  return parsed.toString();
}

const builders = { gravatar: buildGravatar, 'gravatar-url': buildGravatarUrl };

async function main() {
  const [library, planText] = process.argv.slice(2);
  const builder = builders[library];
  if (!builder || planText === undefined) {
    throw new Error("usage: node npm_client.mjs <gravatar|gravatar-url> '<plan JSON>'");
  }
  const plan = JSON.parse(planText);
  if (plan.mode !== 'build' && plan.mode !== 'fetch') throw new Error(`unknown mode ${plan.mode}`);
  const results = [];
  for (const caseSpec of plan.cases) {
    const url = builder(caseSpec, plan.base);
    const result = { name: caseSpec.name, url };
    if (plan.mode === 'fetch') {
      const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
      const body = Buffer.from(await response.arrayBuffer());
      result.status = response.status;
      result.content_type = response.headers.get('content-type');
      result.body = body.toString('base64');
    }
    results.push(result);
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  console.error(error.stack ?? String(error));
  process.exit(1);
});
