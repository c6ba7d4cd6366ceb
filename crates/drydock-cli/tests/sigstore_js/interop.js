// The Sigstore project's JavaScript libraries against drydock's bundles,
// for crates/drydock-cli/tests/sigstore_js.rs. No network, no transparency
// log: key-based verification with an empty trusted root.
//
//   node interop.js verify BUNDLE.json PUBLIC.pem
//     @sigstore/bundle parses and validates the bundle, @sigstore/verify
//     checks the DSSE signature with the public key (found by the bundle's
//     key hint, which must be base64(SHA-256(DER key))). Prints
//     {"payloadType", "payload"} (the payload as text); exits 1 when
//     verification fails.
//
//   node interop.js sign PAYLOAD PAYLOAD_TYPE OUT_BUNDLE.json OUT_PUBLIC.pem
//     makes a P-256 key, signs PAYLOAD into a DSSE bundle with
//     @sigstore/sign's DSSEBundleBuilder (no witnesses: no Rekor, no TSA),
//     writes the bundle and the public key (PEM, SPKI).
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const { bundleFromJSON, bundleToJSON } = require('@sigstore/bundle');
const { DSSEBundleBuilder } = require('@sigstore/sign');
const { toSignedEntity, toTrustMaterial, Verifier } = require('@sigstore/verify');
const { TrustedRoot } = require('@sigstore/protobuf-specs');

function hintOf(publicKey) {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return crypto.createHash('sha256').update(der).digest('base64');
}

function verify(bundlePath, publicPath) {
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
  const publicKey = crypto.createPublicKey(fs.readFileSync(publicPath, 'utf8'));
  const expectedHint = hintOf(publicKey);
  const keys = (hint) => {
    if (hint !== expectedHint) {
      throw new Error(`key hint ${hint} is not ${expectedHint}`);
    }
    return { publicKey, validFor: () => true };
  };
  const root = TrustedRoot.fromJSON({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  });
  const verifier = new Verifier(toTrustMaterial(root, keys), {
    tlogThreshold: 0,
    ctlogThreshold: 0,
    tsaThreshold: 0,
  });
  verifier.verify(toSignedEntity(bundle));
  const envelope = bundle.content.dsseEnvelope;
  process.stdout.write(
    JSON.stringify({
      payloadType: envelope.payloadType,
      payload: Buffer.from(envelope.payload).toString('utf8'),
    }) + '\n',
  );
}

async function sign(payloadPath, payloadType, bundlePath, publicPath) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' });
  const signer = {
    sign: async (data) => ({
      signature: crypto.sign('sha256', data, privateKey),
      key: { $case: 'publicKey', publicKey: publicPem, hint: hintOf(publicKey) },
    }),
  };
  const builder = new DSSEBundleBuilder({ signer, witnesses: [] });
  const bundle = await builder.create({ data: fs.readFileSync(payloadPath), type: payloadType });
  fs.writeFileSync(bundlePath, JSON.stringify(bundleToJSON(bundle)));
  fs.writeFileSync(publicPath, publicPem);
}

async function main() {
  const [command, ...args] = process.argv.slice(2);
  if (command === 'verify' && args.length === 2) {
    verify(...args);
  } else if (command === 'sign' && args.length === 4) {
    await sign(...args);
  } else {
    throw new Error('usage: interop.js verify BUNDLE PUBLIC | sign PAYLOAD TYPE BUNDLE PUBLIC');
  }
}

main().catch((error) => {
  process.stderr.write(`${error.name}: ${error.message}\n`);
  process.exit(1);
});
