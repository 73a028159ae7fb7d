// @ts-check
// A read baseline of `npm run bench` (scenario b), in a process of its own as the service is:
//   node tools/bench/baseline-server.mjs bare  <file with the JSON answer>
//   node tools/bench/baseline-server.mjs redis <Redis hash key>   (REDIS_URL, default redis://127.0.0.1:6379)
// Serves every GET on a free port of 127.0.0.1 and prints the port once listening.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createClient } from 'redis';

const [kind, argument] = process.argv.slice(2);
/** @type {() => Promise<string> | string} */
let answer;
if (kind === 'bare') {
  const body = readFileSync(/** @type {string} */ (argument), 'utf8');
  answer = () => body;
} else if (kind === 'redis') {
  const redis = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
  await redis.connect();
  // What a team's handler does with session data in a Redis hash: HGETALL, then the same JSON.
  answer = async () => JSON.stringify({ variables: Object.values(await redis.hGetAll(/** @type {string} */ (argument))).map((v) => JSON.parse(v)) });
} else {
  throw new Error(`unknown baseline '${kind}' (bare or redis)`);
}
const server = createServer((request, response) => {
  Promise.resolve(answer()).then(
    (body) => {
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      response.end(body);
    },
    (error) => {
      response.writeHead(500);
      response.end(String(error));
    },
  );
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(typeof address === 'object' && address ? address.port : '');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
