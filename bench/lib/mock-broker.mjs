/** librdkafka's mock cluster for the Kafka benchmarks (built by test/kafka/build.sh when missing). */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './common.mjs';

/**
 * Starts the mock cluster with one topic; it exits when its stdin closes (with this process).
 * `cpuMs()` is the CPU time (user + sys, all its threads) the broker has used so far: take the
 * difference around a run to see what serving it cost.
 */
export async function startBroker(topic, partitions) {
  const bin = join(REPO, 'test/kafka/bin/mock-broker');
  if (!existsSync(bin) && spawnSync('bash', [join(REPO, 'test/kafka/build.sh')], { stdio: 'inherit' }).status !== 0) throw new Error('test/kafka/build.sh failed');
  const child = spawn(bin, [`${topic}:${partitions}`], { stdio: ['pipe', 'pipe', 'inherit'] });
  const bootstrap = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += String(d);
      if (out.includes('\n')) resolve(out.split('\n')[0].trim());
    });
    child.once('exit', (code) => reject(new Error(`mock-broker exited (${code})`)));
  });
  child.stdout.resume();
  const cpuMs = () => {
    const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // utime, stime in USER_HZ (100) ticks
  };
  return { bootstrap, stop: () => child.stdin.end(), cpuMs };
}
