package acl

// ControllerOp returns the operation that acting at a controller level
// needs (login, add-model, superuser), and the zero Op for any other level.
func ControllerOp(l Level) Op {
	switch l {
	case Login:
		return UseController
	case AddModel:
		return CreateModel
	case Superuser:
		return ControllerAccess
	}
	return opNone
}
