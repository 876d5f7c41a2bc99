// Certificates for the TLS suites (interop and browser), made by the test with the
// `openssl` command (installed by scripts/install-deps.sh): a test CA and a server
// certificate for 127.0.0.1 and localhost signed by it, in a fresh temp directory.
// `spki` is the base64 SHA-256 of the server key's SubjectPublicKeyInfo, the form Chromium's
// --ignore-certificate-errors-spki-list takes.
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function makeCerts() {
  const dir = mkdtempSync(join(tmpdir(), 'steadyws-tls-'));
  const p = (f) => join(dir, f);
  const ssl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', p('ca-key.pem'), '-out', p('ca.pem'), '-days', '2',
      '-subj', '/CN=steadyws test CA', '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  ssl('req', '-new', ...ec, '-keyout', p('server-key.pem'), '-out', p('server.csr'),
      '-subj', '/CN=localhost');
  writeFileSync(p('ext.cnf'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  ssl('x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca-key.pem'),
      '-set_serial', '4097', '-days', '2', '-extfile', p('ext.cnf'), '-out', p('server.pem'));
  const der = createPublicKey(readFileSync(p('server-key.pem'))).export({ type: 'spki', format: 'der' });
  return {
    dir,
    ca: readFileSync(p('ca.pem')),
    caFile: p('ca.pem'),
    cert: p('server.pem'),
    key: p('server-key.pem'),
    spki: createHash('sha256').update(der).digest('base64'),
    args: ['--tls-cert', p('server.pem'), '--tls-key', p('server-key.pem')],
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
