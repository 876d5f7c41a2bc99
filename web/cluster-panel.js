// The dashboard's cluster panel (issue 13, CONTRACT §5): with `--redis`, this node's id, its
// Redis (up or down, the last round trip) from the `cluster` field of /api/health, and the
// nodes of GET /api/cluster: id, address (the URL its clients use: --advertise-url or where it
// is bound), alive or late, age of the last heartbeat, connections, uptime.
// Without `--redis` it says "single node" and asks for nothing more.
//
// It has no timer of its own: dashboard.js calls update() from its server poll (every 2 s, one
// request at a time) with the /api/health answer it already has. Heartbeat ages are counted on
// this node's clock: the browser's clock corrected by the welcome's serverTime.
import { adminHeaders, apiUrl, fmtDuration, fmtMs } from './common.js';

const $ = (id) => document.getElementById(id);
// Nodes write a heartbeat every second and stay listed 15 s after their last one; a node not
// heard of for this long is shown as late (dead, stopped, or cut off from Redis).
export const LATE_MS = 5000;
const MAX_ROWS = 200;

function ageText(ms) {
  return ms < 1000 ? 'now' : `${Math.round(ms / 1000)} s ago`;
}

export function createClusterPanel(client) {
  let clockOffset = 0; // this node's clock minus the browser's
  const offWelcome = client.on('welcome', (w) => {
    if (Number.isFinite(w.serverTime)) clockOffset = w.serverTime - Date.now();
  });

  function summary(text) {
    $('cluster-summary').textContent = text;
  }
  function showDetails(on) {
    $('cluster-figures').hidden = !on;
    $('cluster-table-wrap').hidden = !on;
  }

  function renderNodes(nodes, thisId) {
    const now = Date.now() + clockOffset;
    const rows = nodes.slice(0, MAX_ROWS).map((n) => {
      const age = Math.max(0, now - Date.parse(n.lastSeenAt));
      const status = age > LATE_MS ? 'late' : 'alive';
      const tr = document.createElement('tr');
      tr.dataset.nodeId = n.nodeId;
      tr.dataset.status = status;
      if (n.nodeId === thisId) tr.dataset.this = 'true';
      const id = document.createElement('td');
      id.className = 'node-id';
      id.textContent = n.nodeId;
      if (n.nodeId === thisId) {
        const b = document.createElement('span');
        b.className = 'badge this-node';
        b.textContent = 'this';
        id.append(' ', b);
      }
      // Addresses may be long URLs: they wrap like the ids, so a phone never scrolls sideways.
      const address = document.createElement('td');
      address.className = 'node-address';
      address.textContent = typeof n.address === 'string' && n.address !== '' ? n.address : '–';
      const cells = [
        [status, status === 'alive' ? 'healthy' : 'unhealthy'],
        [Number.isFinite(age) ? ageText(age) : '–', ''],
        [n.connections === undefined ? '–' : String(n.connections), ''],
        [Number.isFinite(Date.parse(n.startedAt)) ? fmtDuration(now - Date.parse(n.startedAt)) : '–', ''],
      ];
      tr.append(id, address);
      for (const [text, cls] of cells) {
        const td = document.createElement('td');
        td.textContent = text;
        if (cls) td.className = cls;
        tr.append(td);
      }
      return tr;
    });
    document.querySelector('#cluster-nodes tbody').replaceChildren(...rows);
    return rows.filter((r) => r.dataset.status === 'alive').length;
  }

  // `health`: the parsed /api/health answer, or null with the HTTP status it came with.
  async function update(health, healthStatus) {
    if (!health) {
      summary(`unknown (/api/health answered ${healthStatus ?? 'nothing'})`);
      return;
    }
    const c = health.cluster;
    if (!c) {
      summary('single node (no --redis)');
      showDetails(false);
      return;
    }
    showDetails(true);
    $('cluster-this').textContent = c.nodeId;
    const redis = $('cluster-redis');
    redis.textContent = c.redis === 'up' ? 'up' : 'down (degraded)';
    redis.className = c.redis === 'up' ? 'q-excellent' : 'q-critical';
    $('cluster-rtt').textContent = c.redis === 'up' && Number.isFinite(c.rttMs) ? fmtMs(c.rttMs, 2) : '–';
    try {
      const res = await fetch(apiUrl('/api/cluster'), { cache: 'no-store', headers: adminHeaders() });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}${res.status === 401 ? ': needs a token' : ''}`);
      const nodes = (await res.json()).nodes || [];
      const alive = renderNodes(nodes, c.nodeId);
      $('cluster-count').textContent = String(alive);
      const late = nodes.length - alive;
      summary(
        `${nodes.length} node${nodes.length === 1 ? '' : 's'}${late ? `, ${late} late` : ''} · Redis ${c.redis}` +
          (nodes.length > MAX_ROWS ? ` · showing ${MAX_ROWS}` : ''),
      );
    } catch (e) {
      summary(`node list unavailable (${e.message}) · Redis ${c.redis}`);
    }
  }

  return { update, stop: offWelcome };
}
