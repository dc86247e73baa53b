// Package params holds the Go types for the JSON of every request and
// result Herd's network API serves, and the helpers to read and write
// Juju's tags.
//
// Herd speaks Juju's own wire protocol (spec/api.md), so these are Juju's
// shapes: field names, omitempty choices and JSON types were checked
// against rpc/params of Juju 3.6.26 (nvinuesa/juju at bc752a9e) and
// cross-checked with the TypeScript facades generated in
// @canonical/jujulib 9.1.0. The Go names are Herd's own; where a Juju
// type drags in a Juju package (life.Value, status.Status, instance.Id,
// model.MachineJob) the field is a plain string, which is what it is on
// the wire. Every type of the package is plain data: no behaviour beyond
// encoding.
//
// # Reading the shapes
//
// Every bulk result wraps each item: {"results": [{"result": {...}} or
// {"error": {...}}]} for the calls that return data (UserInfo,
// ModelInfo, ListModelSummaries, GetControllerAccess), {"results":
// [{"error": ...}]} or [{}] for the calls that do not (ErrorResults), and
// {"results": [{"tag", "secret-key"} or {"error"}]} for AddUser and
// ResetPassword. The list is in request order, one item per argument.
// CreateModel, ListModels, AllModels, ControllerVersion, FullStatus and
// AddUnits are not bulk: they return their value bare, and a failure is
// an RPC error.
//
// Keys without omitempty are always sent. In particular: ModelInfo's and
// ModelSummary's "status" (Juju's omitempty has no effect on a struct),
// "sla", "agent-version" and "last-connection" (null when unknown);
// DetailedStatus's "data" and "since"; UserModel's "last-connection";
// FullStatus's maps. A nil Go slice encodes as null, as in Juju: build []
// where Juju does (ModelInfo users, machines and secret-backends;
// ModelSummary counts) and use NewFullStatus for FullStatus's maps.
//
// Juju's own slips are kept, since clients expect them: Deploy's "Force"
// key (no JSON tag in Juju), the Go field names as keys of storage and
// device constraints ("Pool", "Size", "Count"), ApplicationStatus's scale
// under "int", and "results" omitempty in UserAccessResults,
// DestroyApplicationResults and DestroyUnitResults (an empty answer is {}).
//
// # Where Herd's shapes differ from Juju's
//
//   - LoginResult has no discharge-required fields: Herd never asks for a
//     macaroon discharge. LoginRequest.macaroons is read as opaque JSON
//     and never verified.
//   - FullStatus has no storage, filesystems or volumes (omitempty in
//     Juju, filled only for include-storage): Herd has no storage.
//   - Juju's MeterStatus and SLA fields are kept with their 3.6 shapes
//     although jujulib 9.1.0 (generated from a later Juju) no longer
//     lists them: the juju CLI 3.6 still reads them.
//   - Versions of one facade share one Go type where Juju's shapes only
//     differ by what the server fills or reads: ModelManager v9 fills
//     ModelInfo.default-series and default-base and
//     ModelSummary.default-series, v10 leaves them empty (and omitted);
//     Application v15 has no dry-run for DestroyApplication and
//     DestroyUnit (the server ignores it at v15) and v15 to v20 refuse
//     attach-storage in Deploy; Client v6 ignores include-storage.
//
// # Tags
//
// ParseTag and the Parse*Tag helpers follow juju/names v5: a user tag
// drops the "@local" domain ("user-tom@local" reads "tom", and UserTag
// writes "user-tom"), a unit tag has its last "-" for the "/" of the unit
// name ("unit-my-app-10" is "my-app/10"), a machine tag has "-" for every
// "/" ("machine-0-lxd-1"). Errors wrap herd.ErrInvalid with Juju's
// messages: `"tom" is not a valid tag`, `"user-x" is not a valid user
// tag`. User names need two characters at least, as in Juju.
//
// # Facades
//
// Facades lists the facades and versions Herd serves: the versions Juju
// 3.6.26 registers, and Herd's own HerdSession. As in Juju, a controller
// connection serves Controller, ModelManager and UserManager and refuses
// model facades; a model connection serves the rest (ServedOn,
// NotServedOn); Pinger and HerdSession are served on both, and Admin is
// served before login and never listed (FacadeList).
package params
