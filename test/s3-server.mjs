// An S3-compatible server for the storage tests (s3rver, in a process of its own as a real one would be): serves the
// folder given as argv[2], with the buckets named after it, and tells its parent the port it listens on.
// Its list continuation tokens are DES-sealed, which OpenSSL 3 only has with node's --openssl-legacy-provider.
import S3rver from '@20minutes/s3rver'

const [directory, ...buckets] = process.argv.slice(2)
// it checks signatures its own way, which the SDK's requests of today do not match (S3 and MinIO check them)
const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, allowMismatchedSignatures: true, configureBuckets: buckets.map((name) => ({ name })) })
const { port } = await server.run()
process.send({ port })
process.on('disconnect', () => process.exit(0))
