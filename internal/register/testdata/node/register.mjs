// An independent client of Juju's `POST /register` exchange, written from
// Juju's wire format (rpc/params/registration.go), not from Herd's Go code.
// It reads one JSON command on stdin and writes one JSON result on stdout;
// secrets travel on stdin only, never in argv.
//
//   {"op":"request","user":"bob","key":B64,"password":P}
//       -> the request body {"user":"user-bob","nonce":B64,"cipher-text":B64}
//   {"op":"open","key":B64,"body":RESPONSE_BODY_STRING}
//       -> the opened payload {"ca-cert":...,"controller-uuid":...,"proxy-config":...}
//
// A failure prints a message (never a secret) on stderr and exits 1.
import nacl from "tweetnacl";

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on("data", (c) => chunks.push(c));
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    process.stdin.on("error", reject);
  });
}

function fromBase64(s, what) {
  if (typeof s !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) {
    throw new Error(`${what} is not base64`);
  }
  return new Uint8Array(Buffer.from(s, "base64"));
}

const toBase64 = (bytes) => Buffer.from(bytes).toString("base64");

function secretKey(b64) {
  const key = fromBase64(b64, "key");
  if (key.length !== nacl.secretbox.keyLength) {
    throw new Error(`key is ${key.length} bytes, want ${nacl.secretbox.keyLength}`);
  }
  return key;
}

function makeRequest(cmd) {
  const key = secretKey(cmd.key);
  const nonce = nacl.randomBytes(nacl.secretbox.nonceLength);
  const payload = new Uint8Array(Buffer.from(JSON.stringify({ password: cmd.password }), "utf8"));
  return {
    user: "user-" + cmd.user,
    nonce: toBase64(nonce),
    "cipher-text": toBase64(nacl.secretbox(payload, nonce, key)),
  };
}

function openResponse(cmd) {
  const key = secretKey(cmd.key);
  const resp = JSON.parse(cmd.body);
  const nonce = fromBase64(resp.nonce, "nonce");
  if (nonce.length !== nacl.secretbox.nonceLength) {
    throw new Error("response nonce not valid");
  }
  const box = fromBase64(resp["cipher-text"], "cipher-text");
  const plain = nacl.secretbox.open(box, nonce, key);
  if (plain === null) {
    throw new Error("response payload not valid");
  }
  const payload = JSON.parse(Buffer.from(plain).toString("utf8"));
  for (const field of ["ca-cert", "controller-uuid"]) {
    if (typeof payload[field] !== "string" || payload[field] === "") {
      throw new Error(`response payload has no ${field}`);
    }
  }
  if (!("proxy-config" in payload)) {
    throw new Error("response payload has no proxy-config field");
  }
  return payload;
}

try {
  const cmd = JSON.parse(await readStdin());
  const ops = { request: makeRequest, open: openResponse };
  if (!(cmd.op in ops)) {
    throw new Error(`unknown op ${JSON.stringify(cmd.op)}`);
  }
  process.stdout.write(JSON.stringify(ops[cmd.op](cmd)) + "\n");
} catch (err) {
  process.stderr.write(`register.mjs: ${err.message}\n`);
  process.exit(1);
}
