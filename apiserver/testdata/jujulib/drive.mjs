// Drives Herd's API server with @canonical/jujulib 9.1.0, an independent
// Juju client, as the Juju dashboard uses it. Reads {"host", "adminPassword"}
// as JSON on stdin, prints a JSON report on stdout, exits non-zero on the
// first step that goes wrong. TLS trust comes from NODE_EXTRA_CA_CERTS
// (the test server's certificate), never from turning checks off.
import { connectAndLogin } from "@canonical/jujulib";
import UserManagerV3 from "@canonical/jujulib/dist/api/facades/user-manager/UserManagerV3.js";
import ModelManagerV9 from "@canonical/jujulib/dist/api/facades/model-manager/ModelManagerV9.js";
import ModelManagerV10 from "@canonical/jujulib/dist/api/facades/model-manager/ModelManagerV10.js";
import ControllerV11 from "@canonical/jujulib/dist/api/facades/controller/ControllerV11.js";
import ControllerV12 from "@canonical/jujulib/dist/api/facades/controller/ControllerV12.js";
import ClientV8 from "@canonical/jujulib/dist/api/facades/client/ClientV8.js";
import ApplicationV19 from "@canonical/jujulib/dist/api/facades/application/ApplicationV19.js";
import AllWatcherV3 from "@canonical/jujulib/dist/api/facades/all-watcher/AllWatcherV3.js";
import MachineManagerV10 from "@canonical/jujulib/dist/api/facades/machine-manager/MachineManagerV10.js";
import websocket from "websocket";

const { w3cwebsocket } = websocket;

function fail(step, err) {
  process.stderr.write(`${step}: ${err && err.stack ? err.stack : JSON.stringify(err)}\n`);
  process.exit(1);
}

function check(step, cond, detail) {
  if (!cond) fail(step, new Error(`unexpected: ${JSON.stringify(detail)}`));
}

// Every step must finish well within the Go test's own timeout.
const watchdog = setTimeout(() => fail("watchdog", new Error(`stuck after step "${lastStep}"`)), 60000);
let lastStep = "start";

async function step(name, fn) {
  lastStep = name;
  try {
    return await fn();
  } catch (err) {
    fail(name, err);
  }
}

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString());
}

const cfg = await readStdin();
const base = `wss://${cfg.host}`;
const controllerFacades = [UserManagerV3, ModelManagerV9, ModelManagerV10, ControllerV11, ControllerV12];
const opts = (facades) => ({ facades, wsclass: w3cwebsocket, closeCallback: () => {} });
const report = {};

const admin = await step("admin login", () =>
  connectAndLogin(`${base}/api`, opts(controllerFacades), { username: "admin", password: cfg.adminPassword }));
const a = admin.conn;
report.serverVersion = a.info.serverVersion;
report.adminAccess = a.info.user["controller-access"];
report.facades = Object.keys(a.facades).sort();
check("facade versions", a.facades.modelManager.VERSION === 10 && a.facades.controller.VERSION === 12, report.facades);

const added = await step("add-user", () =>
  a.facades.userManager.addUser({ users: [{ username: "tom", "display-name": "Tom", password: "tom-secret" }, { username: "reg" }] }));
check("add-user", added.results.length === 2 && added.results[0].tag === "user-tom" && !added.results[0].error, added);
report.secretKeyLength = Buffer.from(added.results[1]["secret-key"], "base64").length;

const model = await step("create-model", () =>
  a.facades.modelManager.createModel({ name: "lxd-model-1", "owner-tag": "user-admin" }));
check("create-model", model.name === "lxd-model-1" && model.uuid, model);
report.modelUUID = model.uuid;

const granted = await step("grant", () =>
  a.facades.modelManager.modifyModelAccess({
    changes: [{ "user-tag": "user-tom", action: "grant", access: "write", "model-tag": `model-${model.uuid}` }],
  }));
check("grant", granted.results.length === 1 && !granted.results[0].error, granted);

const all = await step("all-models", () => a.facades.controller.allModels());
report.allModels = all["user-models"].map((m) => m.model.name).sort();

// tom: a login-only user with write on one model.
const tomConn = await step("tom login", () =>
  connectAndLogin(`${base}/api`, opts(controllerFacades), { username: "tom", password: "tom-secret" }));
const t = tomConn.conn;
report.tomAccess = t.info.user["controller-access"];
const sums = await step("tom list-model-summaries", () =>
  t.facades.modelManager.listModelSummaries({ "user-tag": "user-tom", all: false }));
report.tomModels = sums.results.map((r) => `${r.result["owner-tag"]}/${r.result.name}:${r.result["user-access"]}`);

const refused = await step("tom add-user", () => t.facades.userManager.addUser({ users: [{ username: "eve" }] }));
report.tomAddUserError = refused.results[0].error;

report.tomAllModelsError = await t.facades.controller.allModels().then(() => null, (err) => err.message);

// A wrong password: jujulib turns Juju's "invalid entity name or password"
// into its own hint.
report.wrongPasswordError = await connectAndLogin(`${base}/api`, opts(controllerFacades), { username: "tom", password: "nope" })
  .then(() => null, (err) => err.message);

// tom has no access to the default model: the model login is refused
// (jujulib words Juju's "permission denied" its own way).
const defaultModel = all["user-models"].find((m) => m.model.name === "default").model;
report.tomDefaultModelError = await connectAndLogin(`${base}/model/${defaultModel.uuid}/api`, opts([ClientV8]), { username: "tom", password: "tom-secret" })
  .then(() => null, (err) => err.message);

// tom on the model: deploy, then status.
const modelConn = await step("tom model login", () =>
  connectAndLogin(`${base}/model/${model.uuid}/api`, opts([ClientV8, ApplicationV19, AllWatcherV3, MachineManagerV10]), { username: "tom", password: "tom-secret" }));
const m = modelConn.conn;
report.tomModelAccess = m.info.user["model-access"];
const deployed = await step("deploy", () =>
  m.facades.application.deploy({
    applications: [{ application: "mysql-staging", "charm-url": "ch:mysql", "num-units": 1, channel: "stable", "config-yaml": "", constraints: {}, Force: false }],
  }));
check("deploy", deployed.results.length === 1 && !deployed.results[0].error, deployed);
const status = await step("status", () => m.facades.client.fullStatus({ patterns: [] }));
report.statusApplications = Object.keys(status.applications);
report.statusUnits = Object.keys(status.applications["mysql-staging"].units);

// tom follows the model as the dashboard does: WatchAll, then Next with
// the watcher id (the model as it is), then Stop.
const watch = await step("watch-all", () => m.facades.client.watchAll({}));
check("watch-all", typeof watch["watcher-id"] === "string" && watch["watcher-id"] !== "", watch);
const first = await step("all-watcher next", () => m.facades.allWatcher.next({ id: watch["watcher-id"] }));
check("all-watcher next", Array.isArray(first.deltas) && first.deltas.every((d) => d.length === 3 && d[1] === "change"), first);
report.watchKinds = [...new Set(first.deltas.map((d) => d[0]))].sort();
report.watchUnit = first.deltas.filter((d) => d[0] === "unit").map((d) => `${d[2].name}@${d[2]["machine-id"]}`);
await step("all-watcher stop", () => m.facades.allWatcher.stop({ id: watch["watcher-id"] }));
report.watchStoppedError = await m.facades.allWatcher.next({ id: watch["watcher-id"] }).then(() => null, (err) => err.message);

// retry-provisioning as the juju CLI calls it: failures only in results.
const retryAll = await step("retry-provisioning all", () => m.facades.machineManager.retryProvisioning({ all: true }));
const retryMissing = await step("retry-provisioning missing", () => m.facades.machineManager.retryProvisioning({ machines: ["machine-42"], all: false }));
report.retryProvisioning = [retryAll.results.length, ...retryMissing.results.map((r) => r.error && r.error.message)];

for (const c of [admin, tomConn, modelConn]) c.logout();
clearTimeout(watchdog);
process.stdout.write(JSON.stringify(report) + "\n");
process.exit(0);
