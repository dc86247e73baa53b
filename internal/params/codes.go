package params

// Error codes, as rpc/params/apierror.go spells them. These are the codes
// Herd sends; a Juju client matches on them (python-libjuju and the juju
// CLI turn "unauthorized access" into a permission error, "not found" into
// a not-found error, and so on), so they must stay byte for byte Juju's.
// Only the codes Herd has a use for are listed.
const (
	CodeNotFound            = "not found"
	CodeUserNotFound        = "user not found"
	CodeModelNotFound       = "model not found"
	CodeUnauthorized        = "unauthorized access"
	CodeLoginExpired        = "login expired"
	CodeNoCreds             = "no credentials provided"
	CodeNotImplemented      = "not implemented"
	CodeAlreadyExists       = "already exists"
	CodeOperationBlocked    = "operation is blocked"
	CodeNotSupported        = "not supported"
	CodeBadRequest          = "bad request"
	CodeMethodNotAllowed    = "method not allowed"
	CodeForbidden           = "forbidden"
	CodeRedirect            = "redirection required"
	CodeNotValid            = "not valid"
	CodeNotYetAvailable     = "not yet available; try again later"
	CodeTryAgain            = "try again"
	CodeDeadlineExceeded    = "deadline exceeded"
	CodeQuotaLimitExceeded  = "quota limit exceeded"
	CodeHasHostedModels     = "controller has hosted models"
	CodeModelNotEmpty       = "model not empty"
	CodeUnitHasSubordinates = "unit has subordinates"
	CodeAccessRequired      = "access required"
	CodeFatalLoginError     = "fatal login error"
)
