/**
 * `npm run build` ends here: the server as one file, dist/server.js, which `npm start` and the container run.
 * Started from dist/'s modules, node opened ~1,250 files before the service was ready (TypeBox ~250, Drizzle ~130,
 * Ajv ~100, yaml ~90, ...): ~400 ms of a ~700 ms start with them in the page cache, more when the host has
 * dropped them. Bundled, it reads one. Left outside, loaded from node_modules as before: native modules
 * (better-sqlite3; sharp, loaded on the first upload), and the AWS SDK, loaded only when photos go to S3. @fastify/swagger-ui is bundled and serves the reference
 * page's files from its package folder (its `baseDir`): loaded from there, with @fastify/static and yaml, it cost
 * ~60 ms of every start. Packages the service loads with `require` at run time (transliteration, sanitize-html)
 * are not bundled either. `node scripts/bundle.mjs OUTFILE` writes it elsewhere (the server test runs a bundle of the source it tests;
 * the tests run the command line, src/cli.ts, bundled the same way: a plain node child, no TypeScript loader in it).
 */
import { build } from 'esbuild'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')

export async function bundle (outfile, entry = 'src/server.ts') {
  await build({
    entryPoints: [path.join(root, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    // whitespace and syntax minified, names as written (stack traces name their functions; dist/server.js.map maps
    // lines back): 2 MB instead of 3 MB of source held in memory. Not esbuild's keepNames with renamed identifiers:
    // it names every function as it is created, closures made per request included (Fastify's, ours), and a
    // function renamed that way is slower to call: a cached article page cost 84-88 µs of server CPU with it against
    // 62-65 µs without (alternating 8-s loads, 3 rounds, one database)
    minifyWhitespace: true,
    minifySyntax: true,
    // the AWS SDK (~20 MB) is loaded only when photos are kept in S3 (see src/storage/s3.ts)
    external: ['better-sqlite3', 'sharp', '@aws-sdk/client-s3'],
    // CommonJS packages inside an ES module bundle still call require (for node's own modules)
    banner: { js: "import { createRequire as createRequireForBundle } from 'node:module'; const require = createRequireForBundle(import.meta.url);" },
    logLevel: 'warning'
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundle(path.resolve(process.argv[2] ?? path.join(root, 'dist/server.js')))
