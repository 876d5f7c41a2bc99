// Cluster figures for docs/cluster.md (issue 13, reduced): publishes/s one node pushes through
// Redis (pipelined, a window of acks in flight), fan-out to subscribers spread over the nodes,
// p50/p99 publish-to-delivery latency, Redis CPU per publish (INFO cpu before and after), and
// Redis's bytes per publish: network in (commands from the nodes) and out (replies and the
// pub/sub copy to each node with subscribers), and memory (INFO stats and memory).
// Usage: node bench/cluster/cluster-bench.mjs REDIS_PORT NODE_PORT... [--messages N]
//        [--subscribers S] [--window W]
import WebSocket from "ws";
import { execFileSync } from "node:child_process";

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const v = Number(args[i + 1]);
  args.splice(i, 2);
  return v;
};
const messages = opt("--messages", 20000);
const subscribers = opt("--subscribers", 30);
const window = opt("--window", 200);
const [redisPort, ...ports] = args.map(Number);
const redisCpu = () => {
  const info = execFileSync("redis-cli", ["-p", String(redisPort), "info", "cpu"]).toString();
  const get = (k) => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)[1]);
  return get("used_cpu_user") + get("used_cpu_sys");
};
const redisInfo = (section, keys) => {
  const info = execFileSync("redis-cli", ["-p", String(redisPort), "info", section]).toString();
  return Object.fromEntries(keys.map((k) => [k, Number(new RegExp(`${k}:([0-9.]+)`).exec(info)[1])]));
};
const redisBytes = () => ({
  ...redisInfo("stats", ["total_net_input_bytes", "total_net_output_bytes"]),
  ...redisInfo("memory", ["used_memory"]),
});
const open = (port) =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });

const channel = "bench" + Date.now();
let delivered = 0;
const latencies = [];
const subs = [];
for (let i = 0; i < subscribers; i++) {
  const ws = await open(ports[i % ports.length]);
  await new Promise((resolve) => {
    ws.on("message", (raw) => {
      const m = JSON.parse(raw);
      if (m.type === "subscribed") resolve();
      if (m.type === "message") {
        delivered++;
        if (i === 0 || i === 1 || i === 2) latencies.push(Date.now() - m.data.t);
      }
    });
    ws.send(JSON.stringify({ type: "subscribe", channel }));
  });
  subs.push(ws);
}
const pub = await open(ports[0]);
let acked = 0;
let sent = 0;
const cpu0 = redisCpu();
const bytes0 = redisBytes();
const t0 = process.hrtime.bigint();
await new Promise((resolve) => {
  pub.on("message", (raw) => {
    const m = JSON.parse(raw);
    if (m.type === "ack") {
      acked++;
      if (sent < messages) send();
      if (acked === messages) resolve();
    } else if (m.type === "error") {
      console.error("error", m);
      process.exit(1);
    }
  });
  const send = () => {
    sent++;
    pub.send(JSON.stringify({ type: "publish", channel, data: { t: Date.now(), i: sent } }));
  };
  for (let i = 0; i < window && sent < messages; i++) send();
});
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu1 = redisCpu();
const bytes1 = redisBytes();
const perPublish = (k) => Math.round((bytes1[k] - bytes0[k]) / messages);
const deadline = Date.now() + 30000;
while (delivered < messages * subscribers && Date.now() < deadline)
  await new Promise((r) => setTimeout(r, 20));
const allSecs = Number(process.hrtime.bigint() - t0) / 1e9;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))];
console.log(
  JSON.stringify({
    nodes: ports.length,
    subscribers,
    messages,
    window,
    publishesPerSec: Math.round(messages / secs),
    deliveriesPerSec: Math.round(delivered / allSecs),
    delivered,
    expected: messages * subscribers,
    latencyMsP50: pct(0.5),
    latencyMsP99: pct(0.99),
    redisCpuUsPerPublish: Math.round(((cpu1 - cpu0) * 1e6) / messages),
    redisNetInBytesPerPublish: perPublish("total_net_input_bytes"),
    redisNetOutBytesPerPublish: perPublish("total_net_output_bytes"),
    redisMemoryBytesPerPublish: perPublish("used_memory"),
  })
);
process.exit(0);
