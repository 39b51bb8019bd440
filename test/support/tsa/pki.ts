/**
 * A throwaway PKI for the test TSA, made with the `openssl` CLI in a temp directory, once per test
 * process (the promise is cached; the directory is removed at exit). All keys are EC P-256.
 *
 *     Guzheng Test Root CA (valid from 2019) ─┬─ TSA (critical EKU timeStamping, KU digitalSignature)   "good"
 *                           ├─ expired TSA (2020-01-01 … 2021-01-01)                 "expired"
 *                           ├─ non-critical EKU, no EKU, EKU + codeSigning, KU keyAgreement
 *                           └─ Guzheng Test Intermediate CA ── TSA                   "viaIntermediate"
 *     Guzheng Untrusted Root CA ── TSA                                                "untrusted"
 *     impostor root (same name as the test root, another key) ── TSA                  "impostor"
 *
 * OpenSSL 3.0 has no `-not_before`, so leaf certificates are issued with `openssl ca`, whose
 * `-startdate/-enddate` set any validity, including one entirely in the past.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { opensslOk, pemToDer } from './openssl.js';

/** A key pair and its certificate, as files and as DER. */
export interface TestSigner {
  readonly name: string;
  readonly certPath: string;
  readonly keyPath: string;
  /** PEM file with the certificates above the signer (for `ts -reply -chain`). */
  readonly chainPath: string;
  readonly certDer: Uint8Array;
  /** PKCS#8 DER of the private key. */
  readonly keyPkcs8: Uint8Array;
  /** DER of the certificates in `chainPath`, nearest first. */
  readonly chainDer: readonly Uint8Array[];
}

/** The signers, by role. */
export type SignerRole = 'good' | 'expired' | 'nonCriticalEku' | 'noEku' | 'extraPurpose' | 'badKeyUsage' | 'viaIntermediate' | 'untrusted' | 'impostor';

/** The whole test PKI. */
export interface TestPki {
  readonly dir: string;
  /** The root the tests pin. */
  readonly rootPemPath: string;
  readonly rootDer: Uint8Array;
  /** The unrelated root of the "untrusted" TSA. */
  readonly untrustedRootPemPath: string;
  readonly untrustedRootDer: Uint8Array;
  /** A root with the pinned root's name but another key. */
  readonly impostorRootDer: Uint8Array;
  readonly signers: Readonly<Record<SignerRole, TestSigner>>;
  /**
   * The `openssl ts` configuration (sections `tsa_sha256`, the default, and `tsa_sha1`). Both accept
   * SHA-256 and SM3 imprints (a `gm` log's, SPEC.md#crypto-suites), as Debian's OpenSSL 3 does.
   */
  readonly tsaConfigPath: string;
}

/** The TSA policy the test TSA stamps under. */
export const TEST_POLICY = '1.3.6.1.4.1.59999.3161.1';
/** A second policy it accepts when asked. */
export const TEST_OTHER_POLICY = '1.3.6.1.4.1.59999.3161.2';
/** Policies it refuses (the `rejection` mode asks for this one). */
export const UNSUPPORTED_POLICY = '1.3.6.1.4.1.59999.3161.99';

const EXTENSIONS = `
[ca_ext]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[good]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[nonCriticalEku]
keyUsage = critical,digitalSignature
extendedKeyUsage = timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[noEku]
keyUsage = critical,digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[extraPurpose]
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping,codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[badKeyUsage]
keyUsage = critical,digitalSignature,keyAgreement
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
`;

function caConfig(dir: string): string {
  return `[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
default_ca = this_ca
[this_ca]
database = ${dir}/index.txt
new_certs_dir = ${dir}/issued
serial = ${dir}/serial
default_md = sha256
policy = any_name
unique_subject = no
copy_extensions = none
preserve = yes
[any_name]
C = optional
O = optional
OU = optional
CN = supplied
${EXTENSIONS}`;
}

function tsaConfig(dir: string): string {
  const section = (alg: string) => `dir = ${dir}
serial = ${dir}/tsaserial
crypto_device = builtin
default_policy = ${TEST_POLICY}
other_policies = ${TEST_OTHER_POLICY}
digests = sha256, sm3, sha384, sha512, sha1
accuracy = secs:1, millisecs:500, microsecs:100
clock_precision_digits = 3
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = ${alg}
signer_digest = sha256
`;
  return `[tsa]\ndefault_tsa = tsa_sha256\n[tsa_sha256]\n${section('sha256')}[tsa_sha1]\n${section('sha1')}`;
}

/** opensslDate formats a Date for `openssl ca -startdate/-enddate`. */
function opensslDate(d: Date): string {
  return `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

interface Ca {
  readonly dir: string;
  readonly certPath: string;
  readonly keyPath: string;
  /** PEM of this CA and the ones above it, nearest first. */
  readonly chainPem: string;
}

async function newKey(path: string): Promise<void> {
  await opensslOk(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
}

async function makeRoot(base: string, name: string, subject: string): Promise<Ca> {
  const dir = join(base, name);
  mkdirSync(join(dir, 'issued'), { recursive: true });
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), `${(0x1000 + Math.floor(Math.random() * 0xe000)).toString(16)}\n`);
  writeFileSync(join(dir, 'ca.cnf'), caConfig(dir));
  const keyPath = join(dir, 'ca.key');
  const certPath = join(dir, 'ca.pem');
  await newKey(keyPath);
  // Self-signed with `openssl ca -selfsign` (not `req -x509`) to date it back to 2019: tokens made in
  // 2020 by the expired TSA must chain to a root that was valid then.
  await opensslOk(['req', '-new', '-config', join(dir, 'ca.cnf'), '-key', keyPath, '-subj', subject, '-out', join(dir, 'ca.csr')]);
  await opensslOk([
    'ca', '-batch', '-notext', '-selfsign', '-config', join(dir, 'ca.cnf'), '-keyfile', keyPath, '-in', join(dir, 'ca.csr'),
    '-startdate', '20190101000000Z', '-enddate', opensslDate(new Date(Date.now() + 3650 * 86_400_000)), '-extensions', 'ca_ext', '-out', certPath,
  ]);
  return { dir, certPath, keyPath, chainPem: readFileSync(certPath, 'utf8') };
}

async function issue(ca: Ca, name: string, subject: string, ext: string, start: Date, end: Date): Promise<{ certPath: string; keyPath: string }> {
  const keyPath = join(ca.dir, `${name}.key`);
  const certPath = join(ca.dir, `${name}.pem`);
  await newKey(keyPath);
  await opensslOk(['req', '-new', '-config', join(ca.dir, 'ca.cnf'), '-key', keyPath, '-subj', subject, '-out', join(ca.dir, `${name}.csr`)]);
  await opensslOk([
    'ca', '-batch', '-notext', '-config', join(ca.dir, 'ca.cnf'), '-cert', ca.certPath, '-keyfile', ca.keyPath, '-in', join(ca.dir, `${name}.csr`),
    '-startdate', opensslDate(start), '-enddate', opensslDate(end), '-extensions', ext, '-out', certPath,
  ]);
  return { certPath, keyPath };
}

function signer(name: string, files: { certPath: string; keyPath: string }, ca: Ca): TestSigner {
  const chainPath = `${files.certPath}.chain`;
  writeFileSync(chainPath, ca.chainPem);
  const chainDer = ca.chainPem.split(/(?=-----BEGIN CERTIFICATE-----)/).filter((p) => p.includes('BEGIN')).map(pemToDer);
  return { name, ...files, chainPath, certDer: pemToDer(readFileSync(files.certPath, 'utf8')), keyPkcs8: pemToDer(readFileSync(files.keyPath, 'utf8')), chainDer };
}

async function build(): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'guzheng-tsa-pki-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const now = Date.now();
  const start = new Date(now - 86_400_000);
  const end = new Date(now + 365 * 86_400_000);
  const [root, other, impostor] = await Promise.all([
    makeRoot(dir, 'root', '/O=Guzheng Test/CN=Guzheng Test Root CA'),
    makeRoot(dir, 'untrusted-root', '/O=Guzheng Elsewhere/CN=Guzheng Untrusted Root CA'),
    makeRoot(dir, 'impostor-root', '/O=Guzheng Test/CN=Guzheng Test Root CA'),
  ]);
  const sub = await issue(root, 'intermediate', '/O=Guzheng Test/CN=Guzheng Test Intermediate CA', 'ca_ext', start, end);
  mkdirSync(join(dir, 'intermediate', 'issued'), { recursive: true });
  const interDir = join(dir, 'intermediate');
  writeFileSync(join(interDir, 'index.txt'), '');
  writeFileSync(join(interDir, 'serial'), '2000\n');
  writeFileSync(join(interDir, 'ca.cnf'), caConfig(interDir));
  const inter: Ca = { dir: interDir, certPath: sub.certPath, keyPath: sub.keyPath, chainPem: readFileSync(sub.certPath, 'utf8') + root.chainPem };
  const tsa = (name: string) => `/O=Guzheng Test/CN=Guzheng Test TSA ${name}`;
  const signers = {
    good: signer('good', await issue(root, 'good', '/C=CN/O=Guzheng Test/OU=Time Stamping/CN=Guzheng Test TSA', 'good', start, end), root),
    expired: signer('expired', await issue(root, 'expired', tsa('expired'), 'good', new Date('2020-01-01T00:00:00Z'), new Date('2021-01-01T00:00:00Z')), root),
    nonCriticalEku: signer('nonCriticalEku', await issue(root, 'noncritical', tsa('non-critical EKU'), 'nonCriticalEku', start, end), root),
    noEku: signer('noEku', await issue(root, 'noeku', tsa('no EKU'), 'noEku', start, end), root),
    extraPurpose: signer('extraPurpose', await issue(root, 'extra', tsa('extra purpose'), 'extraPurpose', start, end), root),
    badKeyUsage: signer('badKeyUsage', await issue(root, 'badku', tsa('bad key usage'), 'badKeyUsage', start, end), root),
    viaIntermediate: signer('viaIntermediate', await issue(inter, 'sub-tsa', tsa('via intermediate'), 'good', start, end), inter),
    untrusted: signer('untrusted', await issue(other, 'tsa', '/O=Guzheng Elsewhere/CN=Guzheng Untrusted TSA', 'good', start, end), other),
    impostor: signer('impostor', await issue(impostor, 'tsa', tsa('impostor'), 'good', start, end), impostor),
  };
  const tsaConfigPath = join(dir, 'tsa.cnf');
  writeFileSync(join(dir, 'tsaserial'), '01\n');
  writeFileSync(tsaConfigPath, tsaConfig(dir));
  return {
    dir,
    rootPemPath: root.certPath,
    rootDer: pemToDer(root.chainPem),
    untrustedRootPemPath: other.certPath,
    untrustedRootDer: pemToDer(other.chainPem),
    impostorRootDer: pemToDer(impostor.chainPem),
    signers,
    tsaConfigPath,
  };
}

let cached: Promise<TestPki> | undefined;

/** testPki makes the test PKI on first call and returns the same one for the rest of the process. */
export function testPki(): Promise<TestPki> {
  return (cached ??= build());
}
